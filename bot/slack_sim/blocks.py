"""The Block Kit and view limits the fake Slack enforces, reported in Slack's words with JSON pointers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

MESSAGE_BLOCKS = 50
SURFACE_BLOCKS = 100  # modals and the Home tab

_TEXT_TYPES = {"plain_text", "mrkdwn"}
_NO_CHECKS = {"divider", "rich_text", "markdown", "file", "video"}
_SELECTS_WITH_OPTIONS = {"static_select", "multi_static_select"}
_PLAIN_ELEMENTS = {
    "external_select", "multi_external_select", "users_select", "multi_users_select", "conversations_select",
    "multi_conversations_select", "channels_select", "multi_channels_select", "datepicker", "timepicker",
    "datetimepicker", "number_input", "email_text_input", "url_text_input", "rich_text_input", "file_input",
    "workflow_button",
}  # fmt: skip


class _Report:
    """Collects problems as Slack words them: `[ERROR] <what> [json-pointer:<where>]`."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, pointer: str, what: str) -> None:
        self.problems.append(f"[ERROR] {what} [json-pointer:{pointer}]")

    def max_length(self, pointer: str, value: Any, limit: int) -> None:
        if isinstance(value, str) and len(value) > limit:
            self.add(pointer, f"must be less than {limit + 1} characters")

    def max_items(self, pointer: str, value: Any, limit: int, minimum: int = 0) -> None:
        if not isinstance(value, list):
            self.add(pointer, "must be an array")
        elif len(value) > limit:
            self.add(pointer, f"must provide an array of no more than {limit} items")
        elif len(value) < minimum:
            self.add(pointer, f"must provide an array of at least {minimum} items")


def message_block_problems(blocks: Any) -> list[str]:
    """Problems with the blocks of a message (chat.postMessage, chat.update, ephemerals, response_url)."""
    report = _Report()
    _blocks(report, "/blocks", blocks, MESSAGE_BLOCKS)
    return report.problems


def view_problems(view: Any) -> list[str]:
    """Problems with a modal or Home tab view (views.open/push/update/publish)."""
    report = _Report()
    if not isinstance(view, dict):
        report.add("/view", "must be an object")
        return report.problems
    kind = view.get("type")
    if kind is None:
        report.add("/view/type", "missing required field: type")
    elif kind not in ("modal", "home"):
        report.add("/view/type", f"unsupported view type: {kind}")
    if kind == "modal":
        _modal_chrome(report, view)
    report.max_length("/view/private_metadata", view.get("private_metadata"), 3000)
    report.max_length("/view/callback_id", view.get("callback_id"), 255)
    report.max_length("/view/external_id", view.get("external_id"), 255)
    _blocks(report, "/view/blocks", view.get("blocks"), SURFACE_BLOCKS)
    return report.problems


def _modal_chrome(report: _Report, view: dict[str, Any]) -> None:
    if "title" not in view:
        report.add("/view/title", "missing required field: title")
    for field in ("title", "submit", "close"):
        if field in view:
            _text(report, f"/view/{field}", view[field], limit=24, plain=True)
    has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in view.get("blocks") or [])
    if has_input and "submit" not in view:
        report.add("/view/submit", "submit is required when an input block is present")


def _blocks(report: _Report, pointer: str, blocks: Any, limit: int) -> None:
    if blocks is None:
        if pointer.startswith("/view"):
            report.add(pointer, "missing required field: blocks")
        return
    report.max_items(pointer, blocks, limit)
    if not isinstance(blocks, list):
        return
    seen_block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        where = f"{pointer}/{index}"
        if not isinstance(block, dict):
            report.add(where, "must be an object")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            report.max_length(f"{where}/block_id", block_id, 255)
            if block_id in seen_block_ids:
                report.add(f"{where}/block_id", f"duplicate block_id: {block_id}")
            seen_block_ids.add(block_id)
        _block(report, where, block)


def _block(report: _Report, where: str, block: dict[str, Any]) -> None:
    kind = block.get("type")
    check = _BLOCK_CHECKS.get(str(kind))
    if check is not None:
        check(report, where, block)
    elif kind not in _NO_CHECKS:
        report.add(f"{where}/type", f"unsupported block type: {kind}")


def _section(report: _Report, where: str, block: dict[str, Any]) -> None:
    if "text" not in block and "fields" not in block:
        report.add(where, "must provide either text or fields")
    if "text" in block:
        _text(report, f"{where}/text", block["text"], limit=3000)
    if "fields" in block:
        report.max_items(f"{where}/fields", block["fields"], 10, minimum=1)
        for index, field in enumerate(block["fields"] if isinstance(block["fields"], list) else []):
            _text(report, f"{where}/fields/{index}", field, limit=2000)
    if "accessory" in block:
        _element(report, f"{where}/accessory", block["accessory"])


def _header(report: _Report, where: str, block: dict[str, Any]) -> None:
    _text(report, f"{where}/text", block.get("text"), limit=150, plain=True)


def _context(report: _Report, where: str, block: dict[str, Any]) -> None:
    elements = block.get("elements")
    report.max_items(f"{where}/elements", elements, 10, minimum=1)
    for index, element in enumerate(elements if isinstance(elements, list) else []):
        if isinstance(element, dict) and element.get("type") in _TEXT_TYPES:
            _text(report, f"{where}/elements/{index}", element, limit=3000)


def _actions(report: _Report, where: str, block: dict[str, Any]) -> None:
    elements = block.get("elements")
    report.max_items(f"{where}/elements", elements, 25, minimum=1)
    _unique_action_ids(report, f"{where}/elements", elements)
    for index, element in enumerate(elements if isinstance(elements, list) else []):
        _element(report, f"{where}/elements/{index}", element)


def _input(report: _Report, where: str, block: dict[str, Any]) -> None:
    _text(report, f"{where}/label", block.get("label"), limit=2000, plain=True)
    if "hint" in block:
        _text(report, f"{where}/hint", block["hint"], limit=2000, plain=True)
    if "element" not in block:
        report.add(f"{where}/element", "missing required field: element")
    else:
        _element(report, f"{where}/element", block["element"])


def _image(report: _Report, where: str, block: dict[str, Any]) -> None:
    if "image_url" not in block and "slack_file" not in block:
        report.add(where, "must provide either image_url or slack_file")
    report.max_length(f"{where}/alt_text", block.get("alt_text"), 2000)


_BLOCK_CHECKS: dict[str, Callable[[_Report, str, dict[str, Any]], None]] = {
    "section": _section, "header": _header, "context": _context, "actions": _actions, "input": _input,
    "image": _image,
}  # fmt: skip


def _unique_action_ids(report: _Report, where: str, elements: Any) -> None:
    seen: set[str] = set()
    for index, element in enumerate(elements if isinstance(elements, list) else []):
        action_id = element.get("action_id") if isinstance(element, dict) else None
        if action_id is not None and action_id in seen:
            report.add(f"{where}/{index}/action_id", f"duplicate action_id: {action_id}")
        if action_id is not None:
            seen.add(action_id)


def _element(report: _Report, where: str, element: Any) -> None:
    if not isinstance(element, dict):
        report.add(where, "must be an object")
        return
    kind = element.get("type")
    report.max_length(f"{where}/action_id", element.get("action_id"), 255)
    if "placeholder" in element:
        _text(report, f"{where}/placeholder", element["placeholder"], limit=150, plain=True)
    if "confirm" in element:
        _confirm(report, f"{where}/confirm", element["confirm"])
    if kind == "button":
        _text(report, f"{where}/text", element.get("text"), limit=75, plain=True)
        report.max_length(f"{where}/value", element.get("value"), 2000)
        report.max_length(f"{where}/url", element.get("url"), 3000)
    elif kind in _SELECTS_WITH_OPTIONS:
        _static_options(report, where, element)
    elif kind in ("overflow", "radio_buttons", "checkboxes"):
        limit, minimum = (5, 1) if kind == "overflow" else (10, 1)
        report.max_items(f"{where}/options", element.get("options"), limit, minimum=minimum)
        _options(report, f"{where}/options", element.get("options"))
    elif kind == "plain_text_input":
        report.max_length(f"{where}/initial_value", element.get("initial_value"), 3000)
        for bound in ("min_length", "max_length"):
            if isinstance(element.get(bound), int) and not 0 <= element[bound] <= 3000:
                report.add(f"{where}/{bound}", "must be between 0 and 3000")
    elif kind not in _PLAIN_ELEMENTS and kind != "image":
        report.add(f"{where}/type", f"unsupported element type: {kind}")
    if "initial_option" in element:
        _option(report, f"{where}/initial_option", element["initial_option"])


def _static_options(report: _Report, where: str, element: dict[str, Any]) -> None:
    has_options, has_groups = "options" in element, "option_groups" in element
    if has_options == has_groups:
        report.add(where, "must provide exactly one of options or option_groups")
    if has_options:
        report.max_items(f"{where}/options", element["options"], 100, minimum=1)
        _options(report, f"{where}/options", element["options"])
    if has_groups:
        groups = element["option_groups"]
        report.max_items(f"{where}/option_groups", groups, 100, minimum=1)
        for index, group in enumerate(groups if isinstance(groups, list) else []):
            options = group.get("options") if isinstance(group, dict) else None
            report.max_items(f"{where}/option_groups/{index}/options", options, 100, minimum=1)
            _options(report, f"{where}/option_groups/{index}/options", options)


def _options(report: _Report, where: str, options: Any) -> None:
    for index, option in enumerate(options if isinstance(options, list) else []):
        _option(report, f"{where}/{index}", option)


def _option(report: _Report, where: str, option: Any) -> None:
    if not isinstance(option, dict):
        report.add(where, "must be an object")
        return
    _text(report, f"{where}/text", option.get("text"), limit=75)
    report.max_length(f"{where}/value", option.get("value"), 150)
    if "description" in option:
        _text(report, f"{where}/description", option["description"], limit=75)


def _confirm(report: _Report, where: str, confirm: Any) -> None:
    if not isinstance(confirm, dict):
        report.add(where, "must be an object")
        return
    for field, limit in (("title", 100), ("text", 300), ("confirm", 30), ("deny", 30)):
        _text(report, f"{where}/{field}", confirm.get(field), limit=limit, plain=field != "text")


def _text(report: _Report, where: str, text: Any, *, limit: int, plain: bool = False) -> None:
    if not isinstance(text, dict):
        report.add(where, "must be a text object" if text is not None else "missing required field")
        return
    kind = text.get("type")
    if kind not in (("plain_text",) if plain else _TEXT_TYPES):
        report.add(f"{where}/type", f"must be {'plain_text' if plain else 'plain_text or mrkdwn'}")
    value = text.get("text")
    if not isinstance(value, str) or not value:
        report.add(f"{where}/text", "must be more than 0 characters")
    report.max_length(f"{where}/text", value, limit)
