"""The gateway against the sandbox: discovery, look-ups, grants that add only what is missing, careful revocations."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from access.errors import OWN_IDENTITY, GatewayRefused, GatewayUnauthorized
from access.model import (
    DiscoveryType,
    GrantResult,
    MembershipStatus,
    ResourceKind,
    ResourceRef,
    RevokeResult,
    UserAccess,
)
from atlas.gateway import AtlasGateway
from tests.atlas.helpers import World

ANN = "ann@example.com"
ACTIVE, PENDING = MembershipStatus.ACTIVE, MembershipStatus.PENDING
WRITES = ("createOrgUser", "addOrgUserRole", "removeOrgUserRole", "removeOrgUser", "addGroupUsers",
          "addGroupUserRole", "removeGroupUserRole", "removeGroupUser", "updateOrgUser")


@dataclass
class Org:
    world: World
    gateway: AtlasGateway
    payments: str
    search: str

    @property
    def sandbox(self):  # type: ignore[no-untyped-def]
        return self.world.sandbox

    @property
    def org_ref(self) -> ResourceRef:
        return ResourceRef(kind=ResourceKind.ORGANIZATION, organization_id=self.world.org_id,
                           atlas_id=self.world.org_id, name="Acme")

    def project(self, group_id: str) -> ResourceRef:
        return ResourceRef(kind=ResourceKind.PROJECT, organization_id=self.world.org_id, atlas_id=group_id,
                           name="payments" if group_id == self.payments else "search")

    def add_user(self, username: str = ANN, *, org_roles: list[str] | None = None,
                 project_roles: dict[str, list[str]] | None = None, status: str = "ACTIVE") -> str:
        return self.sandbox.add_user(org_id=self.world.org_id, username=username,
                                     org_roles=org_roles or ["ORG_MEMBER"], project_roles=project_roles or {},
                                     status=status)

    def writes(self) -> list[str]:
        return [c.operation_id for c in self.world.answered() if c.operation_id in WRITES]


@pytest.fixture
def org(world: World) -> Org:
    sb = world.sandbox
    payments = sb.add_project(org_id=world.org_id, name="payments", tags={"owner": "payments-oncall", "env": "prod"})
    search = sb.add_project(org_id=world.org_id, name="search", tags={})
    sb.add_cluster(group_id=payments, name="payments-main", state="IDLE")
    sb.add_cluster(group_id=payments, name="payments-analytics", state="UPDATING")
    return Org(world=world, gateway=world.gateway(own_identity="atlas-bot@example.com"), payments=payments,
               search=search)


# --- discover ------------------------------------------------------------------------------------------------


def test_discover_returns_the_org_projects_tags_clusters_and_users(org: Org) -> None:
    org.add_user(ANN, org_roles=["ORG_MEMBER"], project_roles={org.search: ["GROUP_READ_ONLY"]})
    org.add_user("bob@example.com", org_roles=["ORG_OWNER"])
    org.add_user("cy@example.com", org_roles=["ORG_MEMBER"], status="PENDING")
    org.sandbox.calls.clear()

    inventory = org.gateway.discover(organization_id=org.world.org_id,
                                     types=[DiscoveryType.ORGANIZATIONS, DiscoveryType.PROJECTS])

    assert inventory.organization_id == org.world.org_id and inventory.organization_name == "Acme"
    projects = {p.name: p for p in inventory.projects}
    assert set(projects) == {"payments", "search"}
    payments = projects["payments"]
    assert payments.id == org.payments and payments.organization_id == org.world.org_id
    assert {(t.key, t.value) for t in payments.tags} == {("owner", "payments-oncall"), ("env", "prod")}
    # seen by listClusterDetails, whose CloudCluster says `availability` (it has no stateName)
    assert {(c.name, c.state) for c in payments.clusters} == {("payments-main", "available"),
                                                               ("payments-analytics", "available")}
    assert projects["search"].tags == () and projects["search"].clusters == ()
    users = {u.username: u for u in inventory.users}
    assert users[ANN].status is ACTIVE and users[ANN].org_roles == {"ORG_MEMBER"}
    assert users[ANN].project_roles == {org.search: frozenset({"GROUP_READ_ONLY"})}
    assert users["bob@example.com"].org_roles == {"ORG_OWNER"}
    assert users["cy@example.com"].status is PENDING
    # In the fewest calls: no getGroup (the list has the tags), no per-project cluster or user listing
    assert sorted(c.operation_id for c in org.world.answered()) == sorted(
        ["getOrg", "getOrgGroups", "listClusterDetails", "listOrgUsers"])


def test_discover_without_projects_reads_only_the_org_and_its_users(org: Org) -> None:
    org.sandbox.calls.clear()
    inventory = org.gateway.discover(organization_id=org.world.org_id, types=[DiscoveryType.ORGANIZATIONS])
    assert inventory.projects == ()
    assert {c.operation_id for c in org.world.answered()} == {"getOrg", "listOrgUsers"}


def test_discover_fails_whole_when_a_call_fails(org: Org) -> None:
    org.sandbox.faults.fail_next(status=403, count=1, operation_id="listClusterDetails")
    with pytest.raises(GatewayUnauthorized, match="403") as refused:
        org.gateway.discover(organization_id=org.world.org_id, types=[DiscoveryType.PROJECTS])
    assert refused.value.status == 403 and refused.value.operation == "listClusterDetails"


# --- user_access ---------------------------------------------------------------------------------------------


def test_user_access_on_the_org_and_on_a_project(org: Org) -> None:
    uid = org.add_user(ANN, org_roles=["ORG_MEMBER"], project_roles={org.search: ["GROUP_READ_ONLY"]})
    gw = org.gateway
    assert gw.user_access(resource=org.org_ref, username=ANN) == UserAccess(
        user_id=uid, status=ACTIVE, roles=frozenset({"ORG_MEMBER"}))
    assert gw.user_access(resource=org.project(org.search), username=ANN) == UserAccess(
        user_id=uid, status=ACTIVE, roles=frozenset({"GROUP_READ_ONLY"}))
    assert gw.user_access(resource=org.project(org.payments), username=ANN) == UserAccess(
        user_id=None, status=None, roles=frozenset())
    assert gw.user_access(resource=org.org_ref, username="nobody@example.com").user_id is None


def test_user_access_matches_the_username_without_regard_to_case(org: Org) -> None:
    uid = org.add_user(ANN)
    assert org.gateway.user_access(resource=org.org_ref, username="Ann@Example.com").user_id == uid


# --- grant ---------------------------------------------------------------------------------------------------


def test_org_grant_to_a_member_adds_only_the_missing_roles(org: Org) -> None:
    uid = org.add_user(ANN, org_roles=["ORG_MEMBER"])
    result = org.gateway.grant(resource=org.org_ref, username=ANN, roles=["ORG_MEMBER", "ORG_READ_ONLY"])
    assert result == GrantResult(user_id=uid, status=ACTIVE, roles_before=frozenset({"ORG_MEMBER"}),
                                 added_roles=frozenset({"ORG_READ_ONLY"}), added_user=False)
    assert org.writes() == ["addOrgUserRole"]
    assert org.sandbox.org_roles(org.world.org_id, ANN) == {"ORG_MEMBER", "ORG_READ_ONLY"}


def test_org_grant_to_a_non_member_is_an_invitation(org: Org) -> None:
    result = org.gateway.grant(resource=org.org_ref, username=ANN, roles=["ORG_READ_ONLY"])
    assert result.status is PENDING and result.added_user and result.roles_before == frozenset()
    assert result.added_roles == {"ORG_READ_ONLY"}
    assert org.writes() == ["createOrgUser"]
    assert org.sandbox.org_user(org.world.org_id, ANN)["orgMembershipStatus"] == "PENDING"


def test_org_grant_of_roles_already_held_changes_nothing(org: Org) -> None:
    org.add_user(ANN, org_roles=["ORG_MEMBER", "ORG_READ_ONLY"])
    result = org.gateway.grant(resource=org.org_ref, username=ANN, roles=["ORG_READ_ONLY"])
    assert result.added_roles == frozenset() and not result.added_user and org.writes() == []


@dataclass(frozen=True)
class ProjectCase:
    name: str
    org_roles: list[str] | None  # None: not in the organization
    project_roles: list[str]  # on payments, before the grant
    expect_status: MembershipStatus
    expect_before: frozenset[str]
    expect_added: frozenset[str]
    expect_added_user: bool
    expect_writes: list[str]


PROJECT_CASES = [
    ProjectCase("org member not in the project joins at once", ["ORG_MEMBER"], [], ACTIVE, frozenset(),
                frozenset({"GROUP_READ_ONLY", "GROUP_DATA_ACCESS_READ_ONLY"}), True, ["addGroupUsers"]),
    ProjectCase("project member keeps the role they had", ["ORG_MEMBER"], ["GROUP_READ_ONLY"], ACTIVE,
                frozenset({"GROUP_READ_ONLY"}), frozenset({"GROUP_DATA_ACCESS_READ_ONLY"}), False,
                ["addGroupUserRole"]),
    ProjectCase("non-member is invited to the org and the project", None, [], PENDING, frozenset(),
                frozenset({"GROUP_READ_ONLY", "GROUP_DATA_ACCESS_READ_ONLY"}), True, ["addGroupUsers"]),
]


@pytest.mark.parametrize("case", PROJECT_CASES, ids=lambda c: c.name)
def test_project_grant(org: Org, case: ProjectCase) -> None:
    # Given ann's standing before the grant
    if case.org_roles is not None:
        org.add_user(ANN, org_roles=case.org_roles,
                     project_roles={org.payments: case.project_roles} if case.project_roles else {})
    # When she is granted read-only and data read-only on payments
    result = org.gateway.grant(resource=org.project(org.payments), username=ANN,
                               roles=["GROUP_READ_ONLY", "GROUP_DATA_ACCESS_READ_ONLY"])
    # Then only the missing roles were added, and her previous roles are reported as the baseline
    assert (result.status, result.roles_before, result.added_roles, result.added_user) == (
        case.expect_status, case.expect_before, case.expect_added, case.expect_added_user)
    assert org.writes() == case.expect_writes
    assert org.sandbox.project_roles(org.payments, ANN) == {"GROUP_READ_ONLY", "GROUP_DATA_ACCESS_READ_ONLY"}
    assert result.user_id == org.sandbox.org_user(org.world.org_id, ANN)["id"]


def test_a_conflict_while_adding_is_looked_up_again(org: Org) -> None:
    # Given Atlas answers 409 once (someone added her between our look-up and our add)
    org.sandbox.faults.fail_next(status=409, count=1, operation_id="createOrgUser")
    result = org.gateway.grant(resource=org.org_ref, username=ANN, roles=["ORG_MEMBER"])
    assert result.status is PENDING and org.world.count("createOrgUser") == 2


def test_an_expired_invitation_is_replaced_by_a_new_one(org: Org) -> None:
    org.add_user(ANN, org_roles=["ORG_READ_ONLY"], status="INVITATION_EXPIRED")
    assert org.gateway.user_access(resource=org.org_ref, username=ANN).roles == frozenset()
    result = org.gateway.grant(resource=org.org_ref, username=ANN, roles=["ORG_READ_ONLY"])
    assert result.added_user and result.status is PENDING and result.roles_before == frozenset()


# --- revoke --------------------------------------------------------------------------------------------------


def test_org_revoke_removes_only_the_given_roles(org: Org) -> None:
    org.add_user(ANN, org_roles=["ORG_MEMBER", "ORG_READ_ONLY", "ORG_BILLING_READ_ONLY"])
    result = org.gateway.revoke(resource=org.org_ref, username=ANN, roles=["ORG_READ_ONLY"], remove_user=False)
    assert result == RevokeResult(removed_roles=frozenset({"ORG_READ_ONLY"}), removed_user=False)
    assert org.sandbox.org_roles(org.world.org_id, ANN) == {"ORG_MEMBER", "ORG_BILLING_READ_ONLY"}


def test_project_revoke_keeps_the_baseline(org: Org) -> None:
    # Given she had read-only before a grant added data read-only
    org.add_user(ANN, project_roles={org.payments: ["GROUP_READ_ONLY"]})
    org.gateway.grant(resource=org.project(org.payments), username=ANN, roles=["GROUP_DATA_ACCESS_READ_ONLY"])
    # When the grant's roles are revoked
    result = org.gateway.revoke(resource=org.project(org.payments), username=ANN,
                                roles=["GROUP_DATA_ACCESS_READ_ONLY"], remove_user=False)
    # Then what she had before stays
    assert result.removed_roles == {"GROUP_DATA_ACCESS_READ_ONLY"} and not result.removed_user
    assert org.sandbox.project_roles(org.payments, ANN) == {"GROUP_READ_ONLY"}


def test_revoke_with_remove_user_removes_an_org_member(org: Org) -> None:
    org.add_user(ANN, org_roles=["ORG_READ_ONLY"])
    result = org.gateway.revoke(resource=org.org_ref, username=ANN, roles=["ORG_READ_ONLY"], remove_user=True)
    assert result.removed_user and org.sandbox.org_user(org.world.org_id, ANN) is None


def test_revoke_with_remove_user_withdraws_an_org_invitation(org: Org) -> None:
    org.gateway.grant(resource=org.org_ref, username=ANN, roles=["ORG_READ_ONLY"])
    result = org.gateway.revoke(resource=org.org_ref, username=ANN, roles=["ORG_READ_ONLY"], remove_user=True)
    assert result.removed_user and org.sandbox.org_user(org.world.org_id, ANN) is None


def test_revoke_with_remove_user_withdraws_a_project_invitation_entirely(org: Org) -> None:
    # Given a non-member invited through a project grant
    org.gateway.grant(resource=org.project(org.payments), username=ANN, roles=["GROUP_READ_ONLY"])
    # When the grant ends before she accepted
    result = org.gateway.revoke(resource=org.project(org.payments), username=ANN, roles=["GROUP_READ_ONLY"],
                                remove_user=True)
    # Then no invitation is left, to the project or the organization
    assert result.removed_user and org.sandbox.org_user(org.world.org_id, ANN) is None


def test_revoke_with_remove_user_takes_an_active_member_out_of_the_project_only(org: Org) -> None:
    org.add_user(ANN, project_roles={org.payments: ["GROUP_READ_ONLY"]})
    result = org.gateway.revoke(resource=org.project(org.payments), username=ANN, roles=["GROUP_READ_ONLY"],
                                remove_user=True)
    assert result.removed_user and org.writes() == ["removeGroupUser"]
    assert org.sandbox.project_roles(org.payments, ANN) == set()
    assert org.sandbox.org_roles(org.world.org_id, ANN) == {"ORG_MEMBER"}


@pytest.mark.parametrize("kind", ["org", "project"])
def test_removing_the_last_role_removes_the_user_instead(org: Org, kind: str) -> None:
    # Given her only role on the resource is the one being revoked
    if kind == "org":
        org.add_user(ANN, org_roles=["ORG_READ_ONLY"])
        resource, roles, removal = org.org_ref, ["ORG_READ_ONLY"], "removeOrgUser"
    else:
        org.add_user(ANN, project_roles={org.payments: ["GROUP_READ_ONLY"]})
        resource, roles, removal = org.project(org.payments), ["GROUP_READ_ONLY"], "removeGroupUser"
    # When it is revoked without remove_user
    result = org.gateway.revoke(resource=resource, username=ANN, roles=roles, remove_user=False)
    # Then Atlas's one-role rule is kept by removing her from the resource
    assert result.removed_user and result.removed_roles == frozenset(roles)
    assert org.writes() == [removal]


def test_a_404_on_revoke_means_done(org: Org) -> None:
    org.add_user(ANN, org_roles=["ORG_MEMBER", "ORG_READ_ONLY"])
    org.sandbox.faults.fail_next(status=404, count=1, operation_id="removeOrgUserRole")
    result = org.gateway.revoke(resource=org.org_ref, username=ANN, roles=["ORG_READ_ONLY"], remove_user=False)
    assert result.already_gone and not result.removed_user


def test_a_404_on_removing_the_user_means_done(org: Org) -> None:
    org.add_user(ANN, org_roles=["ORG_READ_ONLY"])
    org.sandbox.faults.fail_next(status=404, count=1, operation_id="removeOrgUser")
    result = org.gateway.revoke(resource=org.org_ref, username=ANN, roles=["ORG_READ_ONLY"], remove_user=True)
    assert result.removed_user and result.already_gone


@pytest.mark.parametrize("remove_user", [False, True])
def test_revoke_is_idempotent(org: Org, remove_user: bool) -> None:
    org.add_user(ANN, project_roles={org.payments: ["GROUP_READ_ONLY", "GROUP_DATA_ACCESS_READ_ONLY"]})
    kwargs = dict(resource=org.project(org.payments), username=ANN, roles=["GROUP_DATA_ACCESS_READ_ONLY"],
                  remove_user=remove_user)
    first = org.gateway.revoke(**kwargs)  # type: ignore[arg-type]
    writes = len(org.writes())
    second = org.gateway.revoke(**kwargs)  # type: ignore[arg-type]
    assert not first.already_gone and second.already_gone and second.removed_roles == frozenset()
    assert len(org.writes()) == writes  # the second revocation changed nothing


def test_revoking_someone_who_was_never_there_is_done(org: Org) -> None:
    result = org.gateway.revoke(resource=org.org_ref, username=ANN, roles=["ORG_READ_ONLY"], remove_user=True)
    assert result == RevokeResult(removed_roles=frozenset(), removed_user=False, already_gone=True)


# --- the bot's own identity ----------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["atlas-bot@example.com", "ATLAS-BOT@example.com"])
def test_the_bots_own_identity_is_never_touched(org: Org, username: str) -> None:
    org.add_user("atlas-bot@example.com", org_roles=["ORG_OWNER"])
    with pytest.raises(GatewayRefused) as refused:
        org.gateway.grant(resource=org.org_ref, username=username, roles=["ORG_MEMBER"])
    assert refused.value.code == OWN_IDENTITY and "identity atlas-access calls Atlas as" in str(refused.value)
    with pytest.raises(GatewayRefused):
        org.gateway.revoke(resource=org.org_ref, username=username, roles=["ORG_OWNER"], remove_user=True)
    assert org.writes() == []
    assert org.sandbox.org_roles(org.world.org_id, "atlas-bot@example.com") == {"ORG_OWNER"}


def test_the_credentials_own_name_is_refused_too(org: Org) -> None:
    public_key = org.world.api_key.public_key
    with pytest.raises(GatewayRefused, match="identity atlas-access calls Atlas as"):
        org.gateway.revoke(resource=org.org_ref, username=public_key, roles=["ORG_OWNER"], remove_user=True)


def test_a_missing_project_is_an_error_not_a_success(org: Org) -> None:
    org.add_user(ANN)
    with pytest.raises(GatewayRefused) as refused:
        org.gateway.grant(resource=org.project("f" * 24), username=ANN, roles=["GROUP_READ_ONLY"])
    assert refused.value.status == 404


def test_a_pending_invitee_already_in_the_project_gets_the_missing_role_added(org: Org) -> None:
    # Given ann was invited with read-only on payments and has not accepted yet
    org.gateway.grant(resource=org.project(org.payments), username=ANN, roles=["GROUP_READ_ONLY"])
    # When a second grant asks for data read-only too
    result = org.gateway.grant(resource=org.project(org.payments), username=ANN,
                               roles=["GROUP_READ_ONLY", "GROUP_DATA_ACCESS_READ_ONLY"])
    # Then only that role is added to the pending invitation
    assert result.status is PENDING and not result.added_user
    assert result.roles_before == {"GROUP_READ_ONLY"} and result.added_roles == {"GROUP_DATA_ACCESS_READ_ONLY"}
    assert org.writes() == ["addGroupUsers", "addGroupUserRole"]
    # And once she accepts, user_access sees her ACTIVE with both
    org.sandbox.accept_invitation(org_id=org.world.org_id, username=ANN)
    access = org.gateway.user_access(resource=org.project(org.payments), username=ANN)
    assert access.status is ACTIVE and access.roles == {"GROUP_READ_ONLY", "GROUP_DATA_ACCESS_READ_ONLY"}


# --- revoking by the recorded user id ------------------------------------------------------------------------

DATA_READ, READ = "GROUP_DATA_ACCESS_READ_ONLY", "GROUP_READ_ONLY"


@dataclass(frozen=True)
class ByIdCase:
    name: str
    held: list[str] | None  # her roles in payments when the grant ends (None: she left the organization)
    remove_user: bool
    calls: list[str]  # what reached Atlas, in order
    left: set[str]  # her roles in payments afterwards
    result: RevokeResult
    roles: list[str] = field(default_factory=lambda: [DATA_READ])  # what the grant added and revokes


BY_ID_CASES = [
    ByIdCase("she keeps a role of her own: one call, no look-up", [READ, DATA_READ], False,
             ["removeGroupUserRole"], {READ},
             RevokeResult(removed_roles=frozenset({DATA_READ}), removed_user=False)),
    ByIdCase("her own role was taken away meanwhile: Atlas refuses the last role, the look-up path removes her",
             [DATA_READ], False, ["removeGroupUserRole", "listOrgUsers", "removeGroupUser"], set(),
             RevokeResult(removed_roles=frozenset({DATA_READ}), removed_user=True)),
    ByIdCase("she left the organization: a 404, and the look-up finds her gone", None, False,
             ["removeGroupUserRole", "listOrgUsers"], set(),
             RevokeResult(removed_roles=frozenset(), removed_user=False, already_gone=True)),
    ByIdCase("two roles, her own taken away meanwhile: the first goes by id, the last takes her out",
             [READ, DATA_READ], False, ["removeGroupUserRole", "removeGroupUserRole", "listOrgUsers",
                                        "removeGroupUser"], set(),
             RevokeResult(removed_roles=frozenset({DATA_READ, READ}), removed_user=True), roles=[READ, DATA_READ]),
    ByIdCase("the grant added her: out of the project by id, one call, no look-up", [DATA_READ], True,
             ["removeGroupUser"], set(),
             RevokeResult(removed_roles=frozenset({DATA_READ}), removed_user=True)),
    ByIdCase("the grant added her and she left the organization: a 404, and the look-up finds her gone", None, True,
             ["removeGroupUser", "listOrgUsers"], set(),
             RevokeResult(removed_roles=frozenset(), removed_user=False, already_gone=True)),
]


@pytest.mark.parametrize("case", BY_ID_CASES, ids=lambda c: c.name)
def test_a_role_removal_by_the_recorded_user_id(org: Org, case: ByIdCase) -> None:
    # given ann's user id as her grant recorded it, and her roles in payments when the grant ends
    user_id = org.add_user(ANN, project_roles={org.payments: [READ, DATA_READ]})
    admin = org.gateway.client  # an admin changing things in Atlas meanwhile, outside the bot
    if case.held is None:
        admin.call("removeOrgUser", path_params={"orgId": org.world.org_id, "userId": user_id})
    for role in {READ, DATA_READ} - set(case.held or [READ, DATA_READ]):
        admin.call("removeGroupUserRole", path_params={"groupId": org.payments, "userId": user_id},
                   json={"groupRole": role})
    org.sandbox.calls.clear()

    # when the grant's roles are revoked with that id
    result = org.gateway.revoke(resource=org.project(org.payments), username=ANN, roles=case.roles,
                                remove_user=case.remove_user, user_id=user_id)

    # then Atlas saw exactly these calls, and she is left with what she should have
    assert [c.operation_id for c in org.sandbox.calls] == case.calls
    assert result == case.result
    assert org.sandbox.project_roles(org.payments, ANN) == case.left
