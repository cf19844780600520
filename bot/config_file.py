"""Reading a config file for `config apply` within fixed limits, before anything is built from it.

A file is refused in one sentence when it is over `MAX_BYTES` (found by reading one byte past the limit, so a
huge file, a device or a pipe is never read whole), is not UTF-8, nests deeper than `MAX_DEPTH`, or holds more
than `MAX_VALUES` values once its aliases are expanded (a "billion laughs" file is a few lines that expand to
billions). The shape is checked on the parser's event stream, with a stack of our own and no recursion, so a
file nested 5,000 deep costs a loop, not a RecursionError; only then is it loaded. Anchors and aliases within
the limits are fine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from access.bounds import shown
from access.errors import FieldErrors

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 50
MAX_VALUES = 200_000
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when installed: faster


def read_config(path: Path) -> Any:
    """The file's YAML data; FieldErrors keyed by the file's name, in one sentence, when it cannot be used."""
    where = str(path)
    text = _text(path, where)
    try:
        _check_shape(text, where)
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader (CSafeLoader or SafeLoader)
    except yaml.YAMLError as error:
        raise FieldErrors({where: f"not valid YAML ({_yaml_where(error)})"}) from None
    except (ValueError, OverflowError) as error:  # a number past Python's 4,300 digits, a 13th month
        what = ("a number in it has too many digits" if "digits" in str(error)
                else f"a value in it is out of range: {shown(str(error), 60)}")
        raise FieldErrors({where: f"not valid YAML ({what})"}) from None


def _text(path: Path, where: str) -> str:
    try:
        with path.open("rb") as file:
            data = file.read(MAX_BYTES + 1)
    except OSError as error:
        raise FieldErrors({where: f"cannot read the file ({error.strerror or type(error).__name__})"}) from None
    if len(data) > MAX_BYTES:
        raise FieldErrors({where: f"the file is larger than {MAX_BYTES // 1024 // 1024} MB, the most accepted"})
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise FieldErrors({where: f"the file is not UTF-8 text (byte {error.start + 1} is not valid UTF-8)"}
                          ) from None


def _check_shape(text: str, where: str) -> None:
    """Depth and expanded size from the events: each open collection counts the values under it, an alias
    counts what its anchor held, and an alias to a collection still open (a value containing itself) is refused."""
    stack: list[list[Any]] = [[0, None]]  # [values under it so far, its anchor]
    sizes: dict[str, int] = {}
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.CollectionStartEvent):
            if len(stack) > MAX_DEPTH:
                raise FieldErrors({where: f"the file nests deeper than {MAX_DEPTH} levels{_line(event)}"})
            stack.append([1, event.anchor])
        elif isinstance(event, yaml.CollectionEndEvent):
            count, anchor = stack.pop()
            if anchor is not None:
                sizes[anchor] = count
            _add(stack, count, where, event)
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor is not None:
                sizes[event.anchor] = 1
            _add(stack, 1, where, event)
        elif isinstance(event, yaml.AliasEvent):
            if event.anchor not in sizes:
                raise FieldErrors({where: f"an alias refers to a value that contains it{_line(event)}"})
            _add(stack, sizes[event.anchor], where, event)


def _add(stack: list[list[Any]], count: int, where: str, event: yaml.Event) -> None:
    stack[-1][0] += count
    if stack[-1][0] > MAX_VALUES:
        raise FieldErrors({where: f"the file holds more than {MAX_VALUES:,} values once its aliases are "
                                  f"expanded{_line(event)}"})


def _line(event: yaml.Event) -> str:
    return f" (line {event.start_mark.line + 1})" if event.start_mark is not None else ""


def _yaml_where(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or "syntax error"
    return f"line {mark.line + 1}: {problem}" if mark is not None else str(problem)


class _PlainDumper(yaml.SafeDumper):
    """Writes every value out in full: `config show` prints no anchors, so what it prints applies back as is."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_config(data: dict[str, Any]) -> str:
    return yaml.dump(data, Dumper=_PlainDumper, sort_keys=False)
