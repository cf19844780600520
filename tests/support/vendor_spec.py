"""Checks one request a vendor sandbox (PagerDuty, Okta) received against that vendor's official OpenAPI spec:
the operation exists and is not deprecated, its query parameters are declared and their values fit their schemas,
its required headers are there (PagerDuty's versioned Accept), and it carries the auth scheme the operation asks for.

The specs are the repository's trimmed copies (tests/support/specs/, made by scripts/trim_specs.py from the files
in ../shared/pagerduty and ../shared/okta).
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

from tests.support.atlas_spec import _coerce
from tests.support.openapi_schema import format_checker, to_draft4

SPECS = Path(__file__).resolve().parent / "specs"
VENDORS = {"pagerduty": SPECS / "pagerduty-openapi.trimmed.json", "okta": SPECS / "okta-management.trimmed.json"}
# Authorization schemes by security scheme name: what the recorded (scheme-only) Authorization header may be.
SCHEMES = {"api_key": "Token", "apiToken": "SSWS", "oauth2": "Bearer"}
# Okta's OAuth 2.0 token endpoint (service apps) belongs to its OAuth spec, not the management API.
EXEMPT = {"okta": {("POST", "/oauth2/v1/token")}, "pagerduty": set()}
_METHODS = ("get", "put", "post", "delete", "patch")


@dataclass(frozen=True, kw_only=True)
class VendorOperation:
    operation_id: str
    method: str
    template: str
    pattern: re.Pattern[str]
    deprecated: bool
    query: dict[str, dict[str, Any]]
    headers: dict[str, dict[str, Any]]  # required header parameters, lower-case name -> parameter
    schemes: frozenset[str]


class VendorSpec:
    def __init__(self, document: dict[str, Any], *, vendor: str) -> None:
        self.vendor = vendor
        components = document.get("components", {})
        self._parameters: dict[str, Any] = components.get("parameters", {})
        self._schemas: dict[str, Any] = components.get("schemas", {})
        default_security = document.get("security") or []
        self.operations = [op for template, item in document.get("paths", {}).items()
                           for op in self._operations(template, item, default_security)]
        self._formats = format_checker()
        self._document = document

    def error_body_problems(self, operation_id: str, status: int, body: Any) -> list[str]:
        """How an error answer's body departs from the schema the spec gives that status of that operation (its
        properties checked as written: readOnly is what a server writes)."""
        op = next(o for item in self._document["paths"].values() for o in item.values()
                  if isinstance(o, dict) and o.get("operationId") == operation_id)
        response = self._resolve((op.get("responses") or {}).get(str(status)))
        if response is None:
            return [f"{operation_id}: the spec lists no {status} answer"]
        schema = self._resolve(((response.get("content") or {}).get("application/json") or {}).get("schema"))
        validator = jsonschema.Draft4Validator({"allOf": [schema or {}], "components": self._document["components"]})
        return [f"{operation_id} {status} body {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
                for e in validator.iter_errors(body)]

    def _resolve(self, node: Any) -> Any:
        """A `$ref` (any JSON pointer into the document) followed until it is a node."""
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            target: Any = self._document
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def _operations(self, template: str, item: dict[str, Any], security: list[Any]) -> list[VendorOperation]:
        shared = [self._parameter(p) for p in item.get("parameters") or []]
        found = []
        for method in _METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            params = shared + [self._parameter(p) for p in op.get("parameters") or []]
            schemes = {SCHEMES.get(name, name) for requirement in op.get("security", security) for name in requirement}
            parts = re.split(r"\{[^/{}]+\}", template)
            found.append(VendorOperation(
                operation_id=str(op.get("operationId")), method=method.upper(), template=template,
                pattern=re.compile("^" + "([^/]+)".join(re.escape(part) for part in parts) + "$"),
                deprecated=op.get("deprecated") is True,
                query={p["name"]: p for p in params if p.get("in") == "query"},
                headers={p["name"].lower(): p for p in params if p.get("in") == "header" and p.get("required")},
                schemes=frozenset(schemes)))
        return found

    def _parameter(self, parameter: dict[str, Any]) -> dict[str, Any]:
        ref = parameter.get("$ref")
        if isinstance(ref, str):
            resolved: dict[str, Any] = self._parameters.get(ref.rsplit("/", 1)[-1], {})
            return resolved
        return parameter

    def check(self, record: dict[str, Any]) -> list[str]:
        method, path = str(record.get("method", "")).upper(), str(record.get("path", ""))
        if (method, path) in EXEMPT[self.vendor]:
            return []
        at_path = [op for op in self.operations if op.pattern.match(path)]
        op = next((o for o in at_path if o.method == method), None)
        if op is None:
            return [f"{method} {path}: " + (f"no {method} operation at {at_path[0].template}" if at_path
                                            else "no operation in the spec has this path")]
        headers = {str(k).lower(): str(v) for k, v in (record.get("headers") or {}).items()}
        problems = []
        if op.deprecated:
            problems.append("the operation is deprecated")
        if record.get("operation_id") not in (None, op.operation_id):
            problems.append(f"the sandbox routed it as {record.get('operation_id')}, the spec says {op.operation_id}")
        scheme = headers.get("authorization", "")
        if op.schemes and scheme not in op.schemes:
            problems.append(f"Authorization {scheme or '(none)'!r} is none of {sorted(op.schemes)}")
        for name, parameter in op.headers.items():
            if name == "content-type":
                continue  # PagerDuty marks it required on GETs too; a GET has no body to describe
            default = (parameter.get("schema") or {}).get("default")
            if name not in headers:
                problems.append(f"header {name} is required")
            elif name == "accept" and default and headers[name] != default:
                problems.append(f"Accept {headers[name]!r} is not {default!r}")
        problems += self._query_problems(op, record.get("query") or [])
        return [f"{method} {path} ({op.operation_id}): {problem}" for problem in problems]

    def _query_problems(self, op: VendorOperation, query: Any) -> list[str]:
        pairs = list(query.items()) if isinstance(query, dict) else [tuple(pair) for pair in query]
        problems = []
        for name, value in pairs:
            parameter = op.query.get(name)
            if parameter is None:
                problems.append(f"query parameter {name!r} is not defined for the operation")
                continue
            schema = parameter.get("schema") or {}
            if schema.get("type") == "array":
                schema = schema.get("items") or {}
            checker = jsonschema.Draft4Validator(to_draft4(schema, self._schemas), format_checker=self._formats)
            problems += [f"query parameter {name}={value!r}: {e.message}"
                         for e in checker.iter_errors(_coerce(value, schema))]
        return problems


@functools.lru_cache(maxsize=4)
def load_vendor_spec(vendor: str) -> VendorSpec:
    return VendorSpec(json.loads(VENDORS[vendor].read_bytes()), vendor=vendor)
