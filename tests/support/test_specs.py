"""The spec copies the tests read are whole, say where they came from, and match the official files when those are here.

tests/support/specs/ holds the Atlas Admin API v2 spec trimmed to what the project uses and Slack's manifest schema,
both made by scripts/trim_specs.py from the files in ../shared/ (which a fresh clone does not have).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "tests" / "support" / "specs"
ATLAS = SPECS / "atlas-openapi-v2.trimmed.json"
SHARED = ROOT.parent / "shared"
REF = re.compile(r"^#/components/([^/]+)/(.+)$")


@functools.cache
def _script() -> ModuleType:
    """scripts/trim_specs.py as a module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location("trim_specs", ROOT / "scripts" / "trim_specs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while they are built
    spec.loader.exec_module(module)
    return module


def _strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for value in node.values() for s in _strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in _strings(value)]
    return [node] if isinstance(node, str) else []


@pytest.fixture(scope="module")
def atlas() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(ATLAS.read_bytes())
    return loaded


def test_every_reference_in_the_trimmed_atlas_spec_resolves_inside_it(atlas: dict[str, Any]) -> None:
    components = atlas["components"]
    dangling = [s for s in _strings({"paths": atlas["paths"], "components": components})
                if (m := REF.match(s)) and m.group(2) not in components.get(m.group(1), {})]  # fmt: skip
    assert dangling == []
    assert ATLAS.stat().st_size < 1_500_000, "the trimmed spec is meant to stay small and quick to parse"


def test_the_trimmed_atlas_spec_records_its_source_and_what_it_keeps(atlas: dict[str, Any]) -> None:
    header = atlas["x-trimmed"]
    assert header["source"]["path"] == "../shared/atlas/openapi-v2.yaml"
    assert re.fullmatch(r"[0-9a-f]{64}", header["source"]["sha256"])
    assert header["source"]["infoVersion"] == atlas["info"]["version"]
    assert header["source"]["upstream"]["repository"] == "mongodb/mongodb-atlas-cli"
    assert header["source"]["upstream"]["commit"] == "6fd452a0"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", header["date"])
    kept = sorted(op["operationId"] for item in atlas["paths"].values() for op in item.values() if "operationId" in op)
    assert header["operations"] == kept == sorted(_script().operation_ids())


def test_the_slack_schema_is_a_byte_for_byte_copy_of_the_recorded_source() -> None:
    note = json.loads((SPECS / "slack-manifest.schema.source.json").read_bytes())
    copy = (SPECS / "slack-manifest.schema.json").read_bytes()
    assert hashlib.sha256(copy).hexdigest() == note["source"]["sha256"]
    assert note["source"]["upstream"]["repository"] == "slackapi/manifest-schema"


def test_trimming_keeps_what_the_operations_reach_and_nothing_else() -> None:
    ref = "#/components/schemas/"
    ok = {"200": {"$ref": "#/components/responses/Ok"}}
    document = {
        "openapi": "3.0.1", "info": {"version": "2.0"},
        "paths": {
            "/a": {"get": {"operationId": "getA", "tags": ["A"], "responses": ok}, "put": {"operationId": "putA"}},
            "/b": {"get": {"operationId": "getB"}},
        },
        "tags": [{"name": "A"}, {"name": "B"}],
        "components": {
            "responses": {"Ok": {"headers": {"Retry": {"$ref": "#/components/headers/Retry"}},
                                 "content": {"x": {"schema": {"$ref": ref + "Pet"}}}}},
            "headers": {"Retry": {"schema": {"type": "integer"}}},
            "schemas": {
                "Pet": {"discriminator": {"propertyName": "kind", "mapping": {"cat": ref + "Cat"}}},
                "Cat": {"allOf": [{"$ref": ref + "Pet"}]},
                "Unused": {"type": "string"},
            },
        },
    }  # fmt: skip
    trim = _script().trim
    trimmed = trim(document, ["getA"])
    assert trimmed["paths"] == {"/a": {"get": document["paths"]["/a"]["get"]}}
    assert set(trimmed["components"]["schemas"]) == {"Pet", "Cat"}  # Cat only through the discriminator mapping
    assert set(trimmed["components"]["headers"]) == {"Retry"}
    assert trimmed["tags"] == [{"name": "A"}]
    with pytest.raises(Exception, match="no operation getC"):
        trim(document, ["getA", "getC"])


@pytest.mark.skipif(not (SHARED / "atlas" / "openapi-v2.yaml").is_file(), reason="../shared is not beside the repo")
def test_the_copies_are_what_the_script_makes_from_the_official_files() -> None:
    # Running the script again changes no byte: the copies are fresh, and the output is deterministic.
    result = subprocess.run([sys.executable, "scripts/trim_specs.py", "--check"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("name", "repository", "vendor_operations"), [
    ("pagerduty-openapi.trimmed.json", "PagerDuty/api-schema", "PAGERDUTY_OPERATIONS"),
    ("okta-management.trimmed.json", "okta/okta-management-openapi-spec", "OKTA_OPERATIONS"),
])
def test_the_vendor_specs_keep_what_their_adapters_call_and_say_where_they_came_from(
        name: str, repository: str, vendor_operations: str) -> None:
    document = json.loads((SPECS / name).read_bytes())
    header = document["x-trimmed"]
    assert header["source"]["upstream"]["repository"] == repository
    assert re.fullmatch(r"[0-9a-f]{64}", header["source"]["sha256"])
    kept = sorted(op["operationId"] for item in document["paths"].values() for op in item.values()
                  if isinstance(op, dict) and "operationId" in op)
    assert header["operations"] == kept == sorted(getattr(_script(), vendor_operations))
    components = document["components"]
    dangling = [s for s in _strings({"paths": document["paths"], "components": components})
                if (m := REF.match(s)) and m.group(2).split("/")[0].replace("~1", "/") not in components.get(
                    m.group(1), {})]
    assert dangling == []
