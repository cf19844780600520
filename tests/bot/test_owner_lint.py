"""The owner-tag lint with Okta groups: after a sync, the projects whose tag names an Okta group that is unknown,
has nobody Slack knows, or cannot be read now (named with why) are listed; Slack user groups as before."""

from __future__ import annotations

from access.approver_groups import ApproverGroups
from access.config import IntegrationSpec
from access.entities import InventoryResource
from access.model import ResourceKind
from bot.slack.admin.lint import lint_owner_tags, lint_words
from tests.fakes import FakeDirectory, FakeOkta

TOKEN = "00lint-token"


def project(name: str, owner: str | None) -> InventoryResource:
    return InventoryResource(integration="prod", kind=ResourceKind.PROJECT, atlas_id=name, organization_id="o",
                             organization_name="Acme", name=name, tags={"owner": owner} if owner else {})


def integration(attribute: str) -> IntegrationSpec:
    return IntegrationSpec.model_validate({
        "name": "prod", "organization_id": "5f1a2b3c4d5e6f7a8b9c0d1e", "approval_channel": "C0APPROVALS",
        "credentials": {"type": "api_key", "public_key": "pub", "private_key": "priv"},
        "integration_owners": ["@atlas-admins"], "resource_owner": {"tag_key": "owner", "attribute": attribute},
        "okta": {"org_url": "https://acme.okta.com", "credentials": {"type": "api_token", "token": TOKEN}}})


PROJECTS = [project("payments", "Payments Owners"), project("ledger", "Ghosts"), project("search", None),
            project("vault", "Contractors")]


def test_okta_groups_that_route_nowhere_are_listed() -> None:
    directory = FakeDirectory().add_user("U1", "bob@example.com")
    okta = FakeOkta(tokens={TOKEN}).add_group("Payments Owners", ["Bob@example.com"]).add_group(
        "Contractors", ["someone@elsewhere.example"])
    groups = ApproverGroups(people=directory, okta=okta)
    lint = lint_owner_tags(projects=PROJECTS, tag_key="owner", groups=groups, integration=integration("okta_group"))
    assert (lint.untagged, lint.unknown, lint.empty) == (("search",), (("ledger", "Ghosts"),),
                                                         (("vault", "Contractors"),))
    words = lint_words(lint)
    assert "unknown Okta group (1): ledger (Ghosts)" in words
    assert "Okta group with no members in Slack (1): vault (Contractors)" in words
    okta.trouble = True
    lint = lint_owner_tags(projects=PROJECTS, tag_key="owner", groups=groups, integration=integration("okta_group"))
    assert {p for p, _ in lint.unreachable} == {"payments", "ledger", "vault"}
    assert "Okta group that could not be read (Okta could not be reached) (3)" in lint_words(lint)


def test_slack_user_groups_as_before() -> None:
    directory = FakeDirectory().add_user("U1", "bob@example.com").add_group("S1", "payments-owners", ["U1"])
    groups = ApproverGroups(people=directory)
    lint = lint_owner_tags(projects=[project("payments", "@payments-owners"), project("ledger", "ghosts")],
                           tag_key="owner", groups=groups, integration=integration("slack_usergroup"))
    assert lint.unknown == (("ledger", "ghosts"),) and not lint.empty and "unknown user group" in lint_words(lint)
