"""What a handler gets (the request, its caller, the state, the time) and the helpers every handler shares."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlencode

from atlas.operations import Operation
from atlas.sandbox.auth import Caller
from atlas.sandbox.errors import VALIDATION_ERROR, ApiFailure, bad_request
from atlas.sandbox.state import State

T = TypeVar("T")
Reply = tuple[int, Any]  # HTTP status and the JSON body (None: no body; a TextBody: sent as is)
Handler = Callable[["Ctx"], Reply]
MAX_ITEMS_PER_PAGE = 500
DEFAULT_ITEMS_PER_PAGE = 100


@dataclass(frozen=True)
class TextBody:
    """An answer the spec gives as a bare string (a PEM file): sent as its text, not JSON-quoted, as Atlas does."""

    text: str = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class Ctx:
    state: State
    now: datetime
    caller: Caller
    operation: Operation
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    url: str  # scheme://host/path of this request, for links

    def field(self, name: str, kind: type | tuple[type, ...] = str, *, required: bool = True) -> Any:
        """A top-level body attribute, type-checked; 400 VALIDATION_ERROR if missing (when required) or mistyped."""
        body = self.body if isinstance(self.body, dict) else None
        if body is None:
            raise bad_request(f"{self.operation.operation_id} needs a JSON object body.")
        if name not in body or body[name] is None:
            if required:
                raise bad_request(f"Missing required attribute {name}.")
            return None
        value = body[name]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise bad_request(f"Invalid attribute {name}: expected {_kind_name(kind)}.")
        return value

    def flag(self, name: str, default: bool) -> bool:
        raw = self.query.get(name)
        if raw is None:
            return default
        if raw.lower() not in ("true", "false"):
            raise bad_request(f"Invalid query parameter {name}={raw}: expected true or false.")
        return raw.lower() == "true"

    def page(self, items: Sequence[T], render: Callable[[T], dict[str, Any]]) -> Reply:
        """One page of `items`: pageNum from 1, itemsPerPage 1..500 (default 100), totalCount unless told not."""
        per_page = _int_param(self.query, "itemsPerPage", DEFAULT_ITEMS_PER_PAGE, 1, MAX_ITEMS_PER_PAGE)
        page_num = _int_param(self.query, "pageNum", 1, 1, None)
        start = (page_num - 1) * per_page
        body: dict[str, Any] = {"results": [render(item) for item in items[start:start + per_page]],
                                "links": self._links(page_num, has_next=start + per_page < len(items))}
        if self.flag("includeCount", True):
            body["totalCount"] = len(items)
        return 200, body

    def _links(self, page_num: int, *, has_next: bool) -> list[dict[str, str]]:
        links = [{"rel": "self", "href": self._href(page_num)}]
        if page_num > 1:
            links.append({"rel": "previous", "href": self._href(page_num - 1)})
        if has_next:
            links.append({"rel": "next", "href": self._href(page_num + 1)})
        return links

    def _href(self, page_num: int) -> str:
        return f"{self.url}?{urlencode({**self.query, 'pageNum': str(page_num)})}"


def _int_param(query: dict[str, str], name: str, default: int, low: int, high: int | None) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"Invalid query parameter {name}={raw}: expected an integer.") from None
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ApiFailure(400, VALIDATION_ERROR, f"Invalid query parameter {name}={raw}: must be {bounds}.")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: "a string", int: "an integer", list: "an array", dict: "an object", bool: "a boolean"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)
