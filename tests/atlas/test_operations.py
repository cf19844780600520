"""Every operation atlas-access calls is in the official spec, not deprecated, and sent at its newest live version.

The spec is the repository's trimmed copy of the official one (tests/support/specs/, made by scripts/trim_specs.py),
so these checks run on every machine; a row added to atlas/operations.py fails here until the copy is refreshed.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest

from atlas.operations import OPERATIONS, Operation
from atlas.sandbox.routing import RouteKind, resolve
from tests.support.atlas_spec import SPEC_PATH, read_document, spec_path

MEDIA_TYPE = re.compile(r"^application/vnd\.atlas\.(\d{4}-\d{2}-\d{2})\+json$")
REFRESH = "list it in scripts/trim_specs.py if it is new, and run the script"


def spec() -> dict[str, Any]:
    return read_document(str(spec_path()))


def versions(definition: dict[str, Any]) -> dict[str, str | None]:
    """Every dated version the operation lists (request and 2xx response media types) -> its x-sunset, if any."""
    found: dict[str, str | None] = {}
    contents = [definition.get("requestBody", {}).get("content", {})]
    responses = definition.get("responses", {})
    contents += [r.get("content", {}) for code, r in responses.items() if str(code).startswith("2")]
    for content in contents:
        for media_type, body in content.items():
            if match := MEDIA_TYPE.match(media_type):
                sunset = (body or {}).get("x-sunset")
                found[match.group(1)] = str(sunset) if sunset else found.get(match.group(1))
    return found


def newest_live(listed: dict[str, str | None], *, today: date) -> str:
    """The newest version not scheduled for sunset, or failing that the newest not yet past its sunset."""
    unscheduled = [v for v, sunset in listed.items() if sunset is None]
    if unscheduled:
        return max(unscheduled)
    return max(v for v, sunset in listed.items() if sunset and date.fromisoformat(sunset) > today)


def definition_of(operation: Operation) -> dict[str, Any]:
    path_item = spec()["paths"].get(operation.path)
    assert path_item is not None, f"{operation.operation_id}: no path {operation.path} in the spec ({REFRESH})"
    definition = path_item.get(operation.method.lower())
    assert definition is not None, f"{operation.operation_id}: no {operation.method} on {operation.path}"
    return definition


@pytest.mark.parametrize("operation", list(OPERATIONS.values()), ids=lambda o: o.operation_id)
def test_operation_exists_with_that_method_and_path(operation: Operation) -> None:
    # Given a row of atlas/operations.py, when we look its path and method up in the spec,
    # then the spec's operationId there is the row's.
    assert definition_of(operation)["operationId"] == operation.operation_id


@pytest.mark.parametrize("operation", list(OPERATIONS.values()), ids=lambda o: o.operation_id)
def test_operation_is_not_deprecated(operation: Operation) -> None:
    assert not definition_of(operation).get("deprecated", False), f"{operation.operation_id} is deprecated"


@pytest.mark.parametrize("operation", list(OPERATIONS.values()), ids=lambda o: o.operation_id)
def test_operation_sends_the_newest_live_version(operation: Operation) -> None:
    listed = versions(definition_of(operation))
    assert operation.version in listed, f"{operation.operation_id}: {operation.version} not in {sorted(listed)}"
    newest = newest_live(listed, today=date.today())
    assert operation.version == newest, f"{operation.operation_id}: sends {operation.version}, newest live is {newest}"


def test_newest_live_skips_versions_scheduled_for_sunset() -> None:
    listed = {"2023-01-01": "2027-07-01", "2023-02-01": "2027-07-01", "2024-08-05": None}
    assert newest_live(listed, today=date(2026, 1, 1)) == "2024-08-05"
    assert newest_live({"2023-01-01": "2027-07-01", "2022-01-01": "2024-01-01"},
                       today=date(2026, 1, 1)) == "2023-01-01"


def test_every_deprecated_operation_kept_in_the_spec_is_one_the_sandbox_refuses_by_name() -> None:
    # The trimmed copy keeps the deprecated families so that a call to one is named; the sandbox names the same ones.
    trimmed = read_document(str(SPEC_PATH))
    deprecated = [(method.upper(), template, definition["operationId"])
                  for template, item in trimmed["paths"].items() for method, definition in item.items()
                  if isinstance(definition, dict) and definition.get("deprecated")]  # fmt: skip
    assert len(deprecated) >= 20
    for method, template, operation_id in deprecated:
        route = resolve(method, re.sub(r"\{[^}]+\}", "5f1a2b3c4d5e6f7a8b9c0d1e", template))
        assert route.kind is RouteKind.DEPRECATED, f"{operation_id} ({method} {template}): {route.kind}"
        assert operation_id in route.detail


@pytest.mark.parametrize("operation", list(OPERATIONS.values()), ids=lambda o: o.operation_id)
def test_an_operation_answering_a_bare_string_is_read_as_text(operation: Operation) -> None:
    # The spec gives createGroupDatabaseUserCert's 201 as `type: string` (a PEM file) under the JSON media type:
    # the client must hand back that text rather than parse JSON; every other answer is a JSON document.
    responses = definition_of(operation).get("responses", {})
    schemas = [body.get("schema", {}) for code, r in responses.items() if str(code).startswith("2")
               for body in (r.get("content") or {}).values()]
    strings = bool(schemas) and all(schema.get("type") == "string" for schema in schemas)
    assert operation.answers_text is strings, operation.operation_id
