"""Checks one recorded Atlas request against the official Admin API v2 spec: operation, version, query, body.

The spec is the repository's trimmed copy (tests/support/specs/, made by scripts/trim_specs.py from the official
file: the operations this project uses and every schema they reach), or the file ATLAS_OPENAPI_SPEC names, e.g. a
newer full spec to try.
"""

from __future__ import annotations

import functools
import json
import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from tests.support.openapi_schema import REF, convert_components, format_checker, to_draft4

SPEC_PATH = Path(__file__).resolve().parent / "specs" / "atlas-openapi-v2.trimmed.json"
SPEC_ENV = "ATLAS_OPENAPI_SPEC"  # another copy of the spec, e.g. a newer one to try
OAUTH_PATHS = frozenset({"/api/oauth/token", "/api/oauth/revoke"})  # service-account OAuth: not in the v2 spec
_VERSIONED = re.compile(r"^application/vnd\.atlas\.(\d{4}-\d{2}-\d{2})\+json$")
_METHODS = ("get", "put", "post", "delete", "patch")


@dataclass(frozen=True, kw_only=True)
class SpecOperation:
    """What the spec says about one operation, indexed for checking requests."""

    operation_id: str
    method: str
    template: str
    pattern: re.Pattern[str]
    deprecated: bool
    versions: dict[str, str | None]  # response media type -> sunset date (None: no sunset)
    body_types: dict[str, Any]  # request media type -> schema
    body_required: bool
    query: dict[str, dict[str, Any]]  # query parameter name -> parameter object


def _pattern(template: str) -> re.Pattern[str]:
    # A path parameter is one segment and never holds ':' (that starts a custom method such as :addRole).
    parts = re.split(r"\{[^/{}]+\}", template)
    return re.compile("^" + "([^/:]+)".join(re.escape(part) for part in parts) + "$")


class AtlasSpec:
    """The operations of an Atlas OpenAPI document, and a request checker over them."""

    def __init__(self, document: dict[str, Any]) -> None:
        components = document.get("components", {})
        self._parameters: dict[str, Any] = components.get("parameters", {})
        self._schemas = convert_components(components.get("schemas", {}))
        self._raw_schemas: dict[str, Any] = components.get("schemas", {})
        self.operations = sorted(
            (op for template, item in document.get("paths", {}).items() for op in self._operations(template, item)),
            key=lambda op: -len(re.sub(r"\{[^}]+\}", "", op.template)),  # most literal (most specific) first
        )
        self._validators: dict[tuple[str, str], jsonschema.Draft4Validator] = {}
        self._formats = format_checker()

    def _operations(self, template: str, item: dict[str, Any]) -> list[SpecOperation]:
        shared = item.get("parameters") or []
        found = []
        for method in _METHODS:
            op = item.get(method)
            if isinstance(op, dict):
                found.append(self._operation(template, method.upper(), op, shared))
        return found

    def _operation(self, template: str, method: str, op: dict[str, Any], shared: list[Any]) -> SpecOperation:
        versions: dict[str, str | None] = {}
        for status, response in (op.get("responses") or {}).items():
            if str(status).startswith("2") and isinstance(response, dict):
                for media, content in (response.get("content") or {}).items():
                    versions[media] = (content or {}).get("x-sunset")
        body = op.get("requestBody") or {}
        params = [self._parameter(p) for p in [*shared, *(op.get("parameters") or [])]]
        return SpecOperation(
            operation_id=str(op.get("operationId")), method=method, template=template, pattern=_pattern(template),
            deprecated=op.get("deprecated") is True, versions=versions,
            body_types={media: (c or {}).get("schema") for media, c in (body.get("content") or {}).items()},
            body_required=body.get("required") is True,
            query={p["name"]: p for p in params if p.get("in") == "query"},
        )  # fmt: skip

    def _parameter(self, parameter: dict[str, Any]) -> dict[str, Any]:
        ref = parameter.get("$ref")
        if isinstance(ref, str):
            resolved: dict[str, Any] = self._parameters.get(ref.rsplit("/", 1)[-1], {})
            return resolved
        return parameter

    def find(self, method: str, path: str) -> tuple[SpecOperation | None, list[SpecOperation]]:
        """The operation for a method and concrete path, and every operation whose path matched (any method)."""
        at_path = [op for op in self.operations if op.pattern.match(path)]
        chosen = next((op for op in at_path if op.method == method.upper()), None)
        return chosen, at_path

    # checking

    def check(self, record: dict[str, Any], *, today: date | None = None) -> list[str]:
        """Every way the recorded request departs from the spec (empty when it conforms)."""
        method, path = str(record.get("method", "")).upper(), str(record.get("path", ""))
        headers = {str(k).lower(): str(v) for k, v in (record.get("headers") or {}).items()}
        if record.get("status") == 401 and "authorization" not in headers:
            return []  # the Digest challenge: httpx asks again with credentials
        if path in OAUTH_PATHS:
            return [] if method == "POST" else [f"{method} {path}: the OAuth endpoints take only POST"]
        op, at_path = self.find(method, path)
        if op is None:
            if at_path:
                return [f"{method} {path}: no {method} operation at {at_path[0].template}"]
            return [f"{method} {path}: no operation in the spec has this path"]
        where = f"{method} {path} ({op.operation_id})"
        problems = self._operation_problems(op, record, headers, today or date.today())
        return [f"{where}: {problem}" for problem in problems]

    def _operation_problems(
        self, op: SpecOperation, record: dict[str, Any], headers: dict[str, str], today: date
    ) -> list[str]:
        problems = []
        if op.deprecated:
            problems.append("the operation is deprecated")
        recorded_id = record.get("operation_id")
        if recorded_id and recorded_id != op.operation_id:
            problems.append(f"the sandbox routed it as {recorded_id}, the spec says {op.operation_id}")
        media = _versioned(headers.get("accept", ""))
        if media is None:
            problems.append(f"Accept {headers.get('accept')!r} names no application/vnd.atlas.YYYY-MM-DD+json version")
        else:
            problems += self._version_problems(op, media, today)
        problems += self._query_problems(op, record.get("query") or {})
        problems += self._body_problems(op, record.get("body"), media, headers)
        return problems

    def _version_problems(self, op: SpecOperation, media: str, today: date) -> list[str]:
        listed = op.versions or dict.fromkeys(op.body_types)
        if media not in listed:
            return [f"version {media} is not listed; the spec lists {sorted(listed)}"]
        sunset = listed[media]
        if sunset and date.fromisoformat(str(sunset)) <= today:
            return [f"version {media} was sunset on {sunset}"]
        return []

    def _query_problems(self, op: SpecOperation, query: dict[str, Any]) -> list[str]:
        problems = []
        for name, raw in query.items():
            parameter = op.query.get(name)
            if parameter is None:
                problems.append(f"query parameter {name!r} is not defined for the operation")
                continue
            if parameter.get("deprecated") is True:
                problems.append(f"query parameter {name!r} is deprecated")
            schema = to_draft4(parameter.get("schema") or {}, self._raw_schemas)
            for value in raw if isinstance(raw, list) else [raw]:
                checker = jsonschema.Draft4Validator(schema, format_checker=self._formats)
                error = checker.iter_errors(_coerce(value, schema))
                problems += [f"query parameter {name}={value!r}: {e.message}" for e in error]
        return problems

    def _body_problems(self, op: SpecOperation, body: Any, media: str | None, headers: dict[str, str]) -> list[str]:
        if body is None:
            return ["the operation requires a body"] if op.body_required else []
        if not op.body_types:
            return ["the operation takes no request body"]
        content_type = headers.get("content-type", "").split(";")[0].strip()
        if media is not None and content_type != media:
            return [f"Content-Type {content_type!r} differs from the Accept version {media}"]
        if content_type not in op.body_types:
            if content_type == media and media not in op.versions and op.versions:
                return []  # already reported as an unlisted version
            return [f"request body type {content_type!r} is not listed; the spec lists {sorted(op.body_types)}"]
        validator = self._validator(op, content_type)
        return [
            f"body {'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
            for error in sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.absolute_path)))
        ]

    def _validator(self, op: SpecOperation, media: str) -> jsonschema.Draft4Validator:
        key = (op.operation_id, media)
        if key not in self._validators:
            schema = to_draft4(op.body_types[media] or {}, self._raw_schemas)
            # Draft 4 ignores the siblings of a root $ref; the wrapper keeps the components resolvable.
            root = {"allOf": [schema], "components": {"schemas": self._schemas}}
            self._validators[key] = jsonschema.Draft4Validator(root, format_checker=self._formats)
        return self._validators[key]


def _versioned(accept: str) -> str | None:
    for part in accept.split(","):
        media = part.split(";")[0].strip()
        if _VERSIONED.match(media):
            return media
    return None


def _coerce(value: Any, schema: dict[str, Any]) -> Any:
    """Query values arrive as text; read them as the type the parameter declares, when they spell one."""
    kind = schema.get("type")
    if not isinstance(value, str) or kind not in ("integer", "number", "boolean"):
        return value
    if kind == "boolean":
        return {"true": True, "false": False}.get(value, value)
    try:
        return int(value) if kind == "integer" else float(value)
    except ValueError:
        return value


def spec_path() -> Path:
    """The spec the checks read: the one ATLAS_OPENAPI_SPEC names, else the repository's trimmed copy."""
    return Path(os.environ.get(SPEC_ENV) or SPEC_PATH)


@functools.lru_cache(maxsize=4)
def read_document(path: str) -> dict[str, Any]:
    """The spec as parsed data, read once per process: JSON (the trimmed copy, quick) or YAML (a full spec)."""
    with open(path, encoding="utf-8") as handle:
        if path.endswith(".json"):
            document = json.load(handle)
        else:
            document = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 (safe)
    if not isinstance(document, dict) or not isinstance(document.get("paths"), dict):
        raise ValueError(f"{path} is not an OpenAPI document")
    return document


def load_spec(path: str | None = None) -> AtlasSpec:
    """The checker over a spec (by default `spec_path()`), built once per process."""
    return _checker(path or str(spec_path()))


@functools.lru_cache(maxsize=4)
def _checker(path: str) -> AtlasSpec:
    return AtlasSpec(read_document(path))


__all__ = ["OAUTH_PATHS", "REF", "SPEC_ENV", "SPEC_PATH", "AtlasSpec", "SpecOperation", "load_spec", "read_document",
           "spec_path"]  # fmt: skip
