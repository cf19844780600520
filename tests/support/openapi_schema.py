"""Turns OpenAPI 3.0 schemas into JSON Schema Draft 4 so jsonschema can check request bodies the way Atlas reads them.

OpenAPI 3.0 is Draft 4 (boolean exclusiveMinimum, `$ref` siblings ignored) plus a few keywords of its own:
- `nullable: true` adds null to the type (or the enum);
- `readOnly` properties are what the server writes: in a request they are neither required nor checked;
- an undiscriminated `oneOf` is read as `anyOf` (the generated spec's alternatives overlap), see below;
- `discriminator` picks the one schema a payload must match from the value of a property, so a `oneOf` over
  subtypes that overlap (each subtype `allOf`s the base) is not ambiguous. Subtypes that refer back to the base
  are pointed at a copy of it without the dispatch (`<Name>__base`), or validation would never end.
Unknown formats (int32 is checked, double, password, ...) pass, as in Atlas's own validation.
An enum that lists a placeholder in angle brackets (DatabaseUserRole.roleName: `<a custom role name>`) documents
its usual values and means any other string too: it is not checked as an enum.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Any

import jsonschema

REF = "#/components/schemas/"
BASE_SUFFIX = "__base"
_DROPPED = {"description", "example", "examples", "externalDocs", "title", "xml", "deprecated", "discriminator",
            "nullable", "readOnly", "writeOnly"}  # fmt: skip
_DISPATCH = ("oneOf", "anyOf")


def convert_components(schemas: dict[str, Any]) -> dict[str, Any]:
    """Every component schema converted, plus `<Name>__base` for each discriminated one."""
    converted = {name: to_draft4(schema, schemas) for name, schema in schemas.items()}
    for name, schema in schemas.items():
        if not isinstance(schema, dict) or "discriminator" not in schema:
            continue
        converted[name + BASE_SUFFIX] = to_draft4(_without_dispatch(schema), schemas)
        for child in set(_mapping(schema).values()):
            child_name = child.removeprefix(REF)
            if child_name in converted and child_name != name:
                converted[child_name] = _retarget(converted[child_name], REF + name, REF + name + BASE_SUFFIX)
    return converted


def to_draft4(node: Any, components: dict[str, Any]) -> Any:
    """One OpenAPI schema object as Draft 4 (its `$ref`s keep pointing at #/components/schemas/...)."""
    if not isinstance(node, dict):
        return node
    if "discriminator" in node:
        return _discriminated(node, components)
    read_only = _read_only_properties(node, components)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED or key.startswith("x-"):
            continue
        if key in ("properties", "patternProperties") and isinstance(value, dict):
            out[key] = {name: to_draft4(sub, components) for name, sub in value.items() if name not in read_only}
        elif key in ("items", "not") or (key == "additionalProperties" and isinstance(value, dict)):
            out[key] = to_draft4(value, components)
        elif key in ("allOf", "anyOf", "oneOf") and isinstance(value, list):
            out[key] = [to_draft4(sub, components) for sub in value]
        elif key == "enum" and isinstance(value, list) and any(_placeholder(v) for v in value):
            continue  # documented values plus "any other": see the module docstring
        elif key == "pattern" and isinstance(value, str):
            python_pattern = _python_pattern(value)
            if python_pattern is not None:
                out[key] = python_pattern
        else:
            out[key] = value
    if "required" in out:
        out["required"] = [name for name in out["required"] if name not in read_only]
        if not out["required"]:
            del out["required"]  # Draft 4 wants a non-empty list
    _alternatives_as_generated(out)
    return _nullable(out) if node.get("nullable") is True else out


def _placeholder(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("<") and value.endswith(">")


def _alternatives_as_generated(out: dict[str, Any]) -> None:
    """Atlas's generated spec uses an undiscriminated oneOf for "one of these shapes" even where the shapes
    overlap (three hardware specs with the same fields), and puts `type: object` beside a oneOf of string enums
    (regionName): read such a oneOf as anyOf, and let the alternatives, not the stray type, decide."""
    if "oneOf" in out:
        out["anyOf"] = out.pop("oneOf")
    if "anyOf" in out:
        out.pop("type", None)


def _python_pattern(pattern: str) -> str | None:
    """Atlas patterns use Java's \\p{L} (letter) and \\p{N} (number), which Python's re lacks: read both as \\w
    (a little more lenient: it also lets `_` through). A pattern re still cannot compile is not checked."""
    translated = pattern.replace(r"\p{L}", r"\w").replace(r"\p{N}", r"\w")
    try:
        re.compile(translated)
    except re.error:
        return None
    return translated


def _read_only_properties(node: dict[str, Any], components: dict[str, Any]) -> set[str]:
    properties = node.get("properties")
    if not isinstance(properties, dict):
        return set()
    return {name for name, sub in properties.items() if _is_read_only(sub, components)}


def _is_read_only(schema: Any, components: dict[str, Any]) -> bool:
    if not isinstance(schema, dict):
        return False
    if schema.get("readOnly") is True:
        return True
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(REF):
        target = components.get(ref.removeprefix(REF))
        return isinstance(target, dict) and target.get("readOnly") is True
    return False


def _nullable(out: dict[str, Any]) -> dict[str, Any]:
    if "enum" in out and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]
    if isinstance(out.get("type"), str) and "$ref" not in out:
        out["type"] = [out["type"], "null"]
        return out
    return {"anyOf": [{"type": "null"}, out]}


def _mapping(node: dict[str, Any]) -> dict[str, str]:
    """discriminator value -> $ref; without an explicit mapping, each oneOf/anyOf target is named by its schema."""
    explicit = node["discriminator"].get("mapping")
    if explicit:
        return dict(explicit)
    refs = [sub["$ref"] for key in _DISPATCH for sub in node.get(key) or [] if isinstance(sub, dict) and "$ref" in sub]
    return {ref.removeprefix(REF): ref for ref in refs}


def _without_dispatch(node: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in node.items() if key not in (*_DISPATCH, "discriminator")}


def _discriminated(node: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    prop = node["discriminator"]["propertyName"]
    mapping = _mapping(node)
    branches: list[dict[str, Any]] = [
        {"allOf": [{"properties": {prop: {"enum": [value]}}, "required": [prop]}, {"$ref": ref}]}
        for value, ref in mapping.items()
    ]
    if not any(key in node for key in _DISPATCH):
        # A base type that names its subtypes: an unmapped value is just the base type.
        branches.append({"not": {"properties": {prop: {"enum": list(mapping)}}, "required": [prop]}})
    base = to_draft4(_without_dispatch(node), components)
    return {"allOf": [base, {"oneOf": branches}]}


def _retarget(node: Any, old: str, new: str) -> Any:
    if isinstance(node, dict):
        return {
            key: (new if key == "$ref" and value == old else _retarget(value, old, new)) for key, value in node.items()
        }
    if isinstance(node, list):
        return [_retarget(item, old, new) for item in node]
    return node


def format_checker() -> jsonschema.FormatChecker:
    """The formats Atlas checks that matter here; every other format passes."""
    checker = jsonschema.FormatChecker(formats=())

    def strings(check: Any) -> Any:
        return lambda value: not isinstance(value, str) or check(value) is not False

    def integers(bits: int) -> Any:
        return lambda value: not isinstance(value, int) or -(2 ** (bits - 1)) <= value < 2 ** (bits - 1)

    checker.checks("date-time", raises=ValueError)(strings(lambda v: datetime.fromisoformat(v.replace("Z", "+00:00"))))
    checker.checks("date", raises=ValueError)(strings(date.fromisoformat))
    checker.checks("uuid", raises=ValueError)(strings(uuid.UUID))
    checker.checks("email")(strings(lambda v: "@" in v and " " not in v))
    checker.checks("int32")(integers(32))
    checker.checks("int64")(integers(64))
    return checker
