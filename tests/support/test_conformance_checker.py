"""The Atlas conformance checker: conforming requests pass; each kind of departure from the spec is reported.

"The real spec" is the repository's trimmed copy of the official one (or ATLAS_OPENAPI_SPEC): these checks run on
every machine.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from tests.support.atlas_spec import AtlasSpec, load_spec

V2025 = "application/vnd.atlas.2025-02-19+json"
V2023 = "application/vnd.atlas.2023-01-01+json"
ORG, USER = "5f1a2b3c4d5e6f7a8b9c0d1e", "6a1b2c3d4e5f6a7b8c9d0e1f"


@pytest.fixture(scope="module")
def spec() -> AtlasSpec:
    return load_spec()


def request(method: str, path: str, *, version: str = V2025, body: Any = None, **extra: Any) -> dict[str, Any]:
    headers = {"accept": version, "authorization": "Digest"}
    if body is not None:
        headers["content-type"] = version
    record = {"method": method, "path": path, "query": {}, "headers": headers, "body": body, "status": 200}
    return {**record, **extra}


ADD_ROLE = f"/api/atlas/v2/orgs/{ORG}/users/{USER}:addRole"


# with the real spec


def test_given_a_conforming_request_then_nothing_is_reported(spec: AtlasSpec) -> None:
    assert spec.check(request("POST", ADD_ROLE, body={"orgRole": "ORG_READ_ONLY"}, operation_id="addOrgUserRole")) == []
    listing = request("GET", f"/api/atlas/v2/orgs/{ORG}/users", query={"itemsPerPage": "500", "username": "a@b.co"})
    assert spec.check(listing) == []
    assert spec.check(request("DELETE", f"/api/atlas/v2/groups/{ORG}/users/{USER}")) == []


def test_a_deprecated_operation_is_reported(spec: AtlasSpec) -> None:
    invite = request("POST", f"/api/atlas/v2/orgs/{ORG}/invites", version=V2023,
                     body={"username": "ann@example.com", "roles": ["ORG_MEMBER"]})  # fmt: skip
    assert any("createOrgInvite" in p and "deprecated" in p for p in spec.check(invite))


def test_an_unknown_path_or_method_is_reported(spec: AtlasSpec) -> None:
    assert spec.check(request("GET", "/api/atlas/v2/orgs/x/nothing")) == [
        "GET /api/atlas/v2/orgs/x/nothing: no operation in the spec has this path"
    ]
    assert (
        "no PUT operation at /api/atlas/v2/orgs/{orgId}" in spec.check(request("PUT", f"/api/atlas/v2/orgs/{ORG}"))[0]
    )
    # A path parameter never swallows a ':' custom method.
    assert "no operation" in spec.check(request("POST", f"/api/atlas/v2/orgs/{ORG}/users/{USER}:promote", body={}))[0]


def test_a_version_the_operation_does_not_list_is_reported(spec: AtlasSpec) -> None:
    [problem] = spec.check(request("POST", ADD_ROLE, version=V2023, body={"orgRole": "ORG_READ_ONLY"}))
    assert "version application/vnd.atlas.2023-01-01+json is not listed" in problem
    [unversioned] = spec.check(request("GET", f"/api/atlas/v2/orgs/{ORG}", version="application/json"))
    assert "names no application/vnd.atlas.YYYY-MM-DD+json version" in unversioned


def test_a_version_past_its_sunset_is_reported(spec: AtlasSpec) -> None:
    old = request("DELETE", f"/api/atlas/v2/orgs/{ORG}/users/{USER}", version=V2023)
    assert spec.check(old, today=date(2027, 6, 30)) == []
    assert "was sunset on 2027-07-01" in spec.check(old, today=date(2027, 7, 1))[0]


def test_an_invalid_body_is_reported_with_where(spec: AtlasSpec) -> None:
    problems = spec.check(request("POST", ADD_ROLE, body={"orgRole": "ORG_GOD"}))
    assert len(problems) == 1 and "body orgRole: 'ORG_GOD' is not one of" in problems[0]
    missing = spec.check(request("POST", f"/api/atlas/v2/orgs/{ORG}/users", body={"username": "not-an-email"}))
    assert any("'roles' is a required property" in p for p in missing)
    assert any("is not a 'email'" in p for p in missing)


def test_body_headers_must_match_the_version(spec: AtlasSpec) -> None:
    mismatched = request("POST", ADD_ROLE, body={"orgRole": "ORG_READ_ONLY"})
    mismatched["headers"]["content-type"] = "application/json"
    assert "Content-Type 'application/json' differs from the Accept version" in spec.check(mismatched)[0]
    assert "requires a body" in spec.check(request("POST", ADD_ROLE))[0]
    assert "takes no request body" in spec.check(request("GET", f"/api/atlas/v2/orgs/{ORG}", version=V2023, body={}))[0]


def test_query_parameters_must_be_declared_and_in_range(spec: AtlasSpec) -> None:
    problems = spec.check(request("GET", f"/api/atlas/v2/orgs/{ORG}/users", query={"itemsPerPage": "501", "x": "1"}))
    assert any("itemsPerPage='501': 501 is greater than the maximum of 500" in p for p in problems)
    assert any("query parameter 'x' is not defined" in p for p in problems)


def test_oauth_endpoints_and_digest_challenges_are_allowed(spec: AtlasSpec) -> None:
    token = {"method": "POST", "path": "/api/oauth/token", "query": {}, "headers": {"authorization": "Basic"},
             "body": None, "status": 200}  # fmt: skip
    assert spec.check(token) == [] and spec.check({**token, "path": "/api/oauth/revoke"}) == []
    assert spec.check({**token, "method": "GET"}) == ["GET /api/oauth/token: the OAuth endpoints take only POST"]
    challenge = request("POST", ADD_ROLE, version="application/json", status=401)
    del challenge["headers"]["authorization"]
    assert spec.check(challenge) == []


def test_the_sandboxs_routing_is_cross_checked(spec: AtlasSpec) -> None:
    routed = request("POST", ADD_ROLE, body={"orgRole": "ORG_MEMBER"}, operation_id="addGroupUserRole")
    assert "the sandbox routed it as addGroupUserRole, the spec says addOrgUserRole" in spec.check(routed)[0]


# OpenAPI 3.0 semantics, on a small spec


def small_spec(schemas: dict[str, Any], body_schema: dict[str, Any]) -> AtlasSpec:
    content = {V2025: {"schema": body_schema}}
    operation = {"operationId": "make", "requestBody": {"content": content, "required": True},
                 "responses": {"200": {"content": {V2025: {}}}}}  # fmt: skip
    return AtlasSpec({"paths": {"/api/atlas/v2/things": {"post": operation}}, "components": {"schemas": schemas}})


def body_problems(checker: AtlasSpec, body: Any) -> list[str]:
    return checker.check(request("POST", "/api/atlas/v2/things", body=body))


def test_nullable_allows_null() -> None:
    properties = {
        "note": {"type": "string", "nullable": True},
        "kind": {"type": "string", "enum": ["A"], "nullable": True},
    }
    checker = small_spec({}, {"type": "object", "properties": properties})
    assert body_problems(checker, {"note": None, "kind": None}) == []
    assert body_problems(checker, {"note": 3}) != []


def test_an_enum_with_a_placeholder_documents_values_and_takes_any_other() -> None:
    checker = small_spec({}, {"type": "object", "properties": {
        "roleName": {"type": "string", "enum": ["read", "readWrite", "<a custom role name>"]},
        "kind": {"type": "string", "enum": ["A", "B"]}}})
    assert body_problems(checker, {"roleName": "ann-g1-abc-c0"}) == []
    assert body_problems(checker, {"roleName": 3}) != [] and body_problems(checker, {"kind": "C"}) != []


def test_read_only_properties_are_neither_required_nor_checked_in_requests() -> None:
    checker = small_spec(
        {"Link": {"type": "object", "readOnly": True}},
        {"type": "object", "required": ["id", "name", "links"], "properties": {
            "id": {"type": "string", "readOnly": True}, "links": {"$ref": "#/components/schemas/Link"},
            "name": {"type": "string"}}},
    )  # fmt: skip
    assert body_problems(checker, {"name": "n", "id": 42}) == []
    assert any("'name' is a required property" in p for p in body_problems(checker, {}))


def test_a_discriminator_picks_the_subtype_even_when_subtypes_include_the_base() -> None:
    ref = "#/components/schemas/"
    schemas = {
        "Store": {"type": "object", "required": ["provider"], "properties": {"provider": {"type": "string"}},
                  "discriminator": {"propertyName": "provider", "mapping": {"s3": ref + "S3", "gcs": ref + "Gcs"}},
                  "oneOf": [{"$ref": ref + "S3"}, {"$ref": ref + "Gcs"}]},
        "S3": {"allOf": [{"$ref": ref + "Store"}, {"type": "object", "required": ["bucket"],
                                                   "properties": {"bucket": {"type": "string"}}}]},
        "Gcs": {"allOf": [{"$ref": ref + "Store"}, {"type": "object", "properties": {"bucket": {"type": "string"}}}]},
    }  # fmt: skip
    checker = small_spec(schemas, {"$ref": ref + "Store"})
    assert body_problems(checker, {"provider": "s3", "bucket": "b"}) == []
    assert body_problems(checker, {"provider": "gcs"}) == []
    assert body_problems(checker, {"provider": "s3"}) != []  # S3 needs a bucket
    assert body_problems(checker, {"provider": "azure"}) != []


def test_overlapping_alternatives_and_formats_are_read_leniently() -> None:
    checker = small_spec({}, {"type": "object", "properties": {
        "spec": {"oneOf": [{"type": "object", "properties": {"size": {"type": "string"}}},
                           {"type": "object", "properties": {"size": {"type": "string"}}}]},
        "region": {"type": "object", "oneOf": [{"type": "string", "enum": ["US_EAST_1"]}]},
        "count": {"type": "integer", "format": "int32"}, "ratio": {"type": "number", "format": "double"},
        "when": {"type": "string", "format": "date-time"},
        "name": {"type": "string", "pattern": r"^[\p{L}\p{N} ]*$"}}})  # fmt: skip
    good = {"spec": {"size": "M10"}, "region": "US_EAST_1", "count": 3, "ratio": 0.5, "when": "2026-01-05T09:00:00Z",
            "name": "Café 2"}  # fmt: skip
    assert body_problems(checker, good) == []
    assert body_problems(checker, {"count": 2**31}) != []
    assert body_problems(checker, {"when": "tomorrow"}) != []
    assert body_problems(checker, {"name": "semi;colon"}) != []
