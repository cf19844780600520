"""Response bodies checked against the official spec's schemas (the repository's trimmed copy, see atlas_spec).

The spec is OpenAPI 3.0: schemas become Draft 4 here (nullable -> null allowed, Java \\p{L}/\\p{N} -> \\w), and
a discriminated oneOf (OrgUserResponse: PENDING / ACTIVE subtypes that allOf the base) is dispatched on the
discriminator, with the subtypes pointed at the base without its dispatch so validation terminates.
"""

from __future__ import annotations

from typing import Any

import jsonschema

from tests.support.atlas_spec import read_document, spec_path
from tests.support.openapi_schema import format_checker

REF = "#/components/schemas/"


def response_schema(operation_id: str, status: int, media: str) -> dict[str, Any]:
    """The Draft 4 schema of one operation's answer, every $ref inlined."""
    path = spec_path()
    spec = read_document(str(path))
    for item in spec["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and operation.get("operationId") == operation_id:
                schema = operation["responses"][str(status)]["content"][media]["schema"]
                return _convert(schema, spec["components"]["schemas"], ())
    raise KeyError(f"{operation_id} is not in {path.name}: list it in scripts/trim_specs.py and run the script")


def assert_valid(body: Any, *, operation_id: str, status: int = 200, media: str) -> None:
    schema = response_schema(operation_id, status, media)
    validator = jsonschema.Draft4Validator(schema, format_checker=format_checker())
    errors = sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.absolute_path)))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:10])


def _convert(node: Any, components: dict[str, Any], stack: tuple[str, ...]) -> Any:
    if isinstance(node, list):
        return [_convert(item, components, stack) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].removeprefix(REF)
        target = components[name]
        if stack.count(name) >= 2:  # a recursive schema: accept anything below this depth
            return {}
        if name in stack:  # a subtype's allOf back to its discriminated base: the base without the dispatch
            target = {k: v for k, v in target.items() if k not in ("oneOf", "anyOf", "discriminator")}
        return _convert(target, components, (*stack, name))
    if "discriminator" in node and "oneOf" in node:
        return _dispatch(node, components, stack)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("description", "example", "externalDocs", "title", "nullable", "readOnly", "writeOnly") or \
                key.startswith("x-"):
            continue
        if key == "properties":
            out[key] = {name: _convert(sub, components, stack) for name, sub in value.items()}
        elif key == "pattern":
            out[key] = value.replace(r"\p{L}", r"\w").replace(r"\p{N}", r"\w")
        elif isinstance(value, dict | list):
            out[key] = _convert(value, components, stack)
        else:
            out[key] = value
    if node.get("nullable") is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


def _dispatch(node: dict[str, Any], components: dict[str, Any], stack: tuple[str, ...]) -> dict[str, Any]:
    prop = node["discriminator"]["propertyName"]
    branches = [{"allOf": [{"properties": {prop: {"enum": [value]}}, "required": [prop]},
                           _convert({"$ref": ref}, components, stack)]}
                for value, ref in node["discriminator"]["mapping"].items()]
    base = {k: v for k, v in node.items() if k not in ("oneOf", "discriminator")}
    return {"allOf": [_convert(base, components, stack), {"oneOf": branches}]}


def media(version: str) -> str:
    return f"application/vnd.atlas.{version}+json"
