"""The AtlasGateway contract, run on the FakeGateway and on the real gateway over the Atlas sandbox: what the
grant worker, reconciliation and sync rely on (discovery, look-ups, grants that add only what is missing,
revocations that keep the baseline and are idempotent, temporary database users, and failures as GatewayErrors).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from access.database_roles import parse_database_role
from access.errors import GatewayError, GatewayRateLimited, GatewayRefused, GatewayUnauthorized, GatewayUnreachable
from access.model import (
    TEAM_MEMBER,
    DiscoveryType,
    GrantResult,
    MembershipStatus,
    ResourceKind,
    ResourceRef,
    RevokeResult,
    UserAccess,
)
from tests.contracts.world_atlas import BOT, AtlasWorld, ref

ANN = "ann@example.com"
ORG, PROJECT, CLUSTER = ResourceKind.ORGANIZATION, ResourceKind.PROJECT, ResourceKind.CLUSTER
ACTIVE, PENDING = MembershipStatus.ACTIVE, MembershipStatus.PENDING
READ, DATA_READ = "GROUP_READ_ONLY", "GROUP_DATA_ACCESS_READ_ONLY"


def project(world: AtlasWorld, name: str = "payments") -> str:
    return world.add_project(name, tags={"owner": "payments-oncall", "env": "prod"},
                             clusters=("payments-main",) if name == "payments" else ())


# --- discovery -----------------------------------------------------------------------------------------------


def test_discover_finds_the_org_its_projects_tags_clusters_and_users(atlas_world: AtlasWorld) -> None:
    payments, search = project(atlas_world), atlas_world.add_project("search")
    atlas_world.add_user(ANN, project_roles={search: [READ]})
    atlas_world.add_user("bob@example.com", org_roles=["ORG_OWNER"])
    atlas_world.add_user("cy@example.com", status="PENDING")
    heard: list[tuple[str, dict[str, int]]] = []

    inventory = atlas_world.gateway.discover(organization_id=atlas_world.org_id,
                                             types=[DiscoveryType.ORGANIZATIONS, DiscoveryType.PROJECTS],
                                             progress=lambda kind, counts: heard.append((kind, counts)))

    assert (inventory.organization_id, inventory.organization_name) == (atlas_world.org_id, "Acme")
    projects = {p.id: p for p in inventory.projects}
    assert set(projects) == {payments, search}
    assert {(t.key, t.value) for t in projects[payments].tags} == {("owner", "payments-oncall"), ("env", "prod")}
    # The state is informational and its words depend on the listing that saw the cluster (see
    # atlas.cluster_listing): the contract holds the names, and that a state is there.
    assert [c.name for c in projects[payments].clusters] == ["payments-main"]
    assert all(c.state for c in projects[payments].clusters)
    assert projects[search].tags == () and projects[search].clusters == ()
    users = {u.username: u for u in inventory.users}
    assert (users[ANN].status, users[ANN].org_roles, users[ANN].project_roles) == (
        ACTIVE, {"ORG_MEMBER"}, {search: {READ}})
    assert users["bob@example.com"].org_roles == {"ORG_OWNER"} and users["cy@example.com"].status is PENDING
    assert users[ANN].id == atlas_world.user_id(ANN)
    final = {kind: max(counts[kind] for _, counts in heard) for kind in ("organizations", "projects", "clusters")}
    assert final == {"organizations": 1, "projects": 2, "clusters": 1}


def test_discover_without_projects_reads_the_org_and_its_users_only(atlas_world: AtlasWorld) -> None:
    project(atlas_world)
    atlas_world.add_user(ANN)
    inventory = atlas_world.gateway.discover(organization_id=atlas_world.org_id,
                                             types=[DiscoveryType.ORGANIZATIONS])
    assert inventory.projects == () and [u.username for u in inventory.users] == [ANN]


# --- user_access ---------------------------------------------------------------------------------------------


def test_user_access_on_the_org_and_on_projects(atlas_world: AtlasWorld) -> None:
    payments, search = project(atlas_world), atlas_world.add_project("search")
    uid = atlas_world.add_user(ANN, project_roles={search: [READ]})
    gw = atlas_world.gateway
    assert gw.user_access(resource=ref(atlas_world, ORG), username=ANN) == UserAccess(
        user_id=uid, status=ACTIVE, roles=frozenset({"ORG_MEMBER"}))
    assert gw.user_access(resource=ref(atlas_world, PROJECT, search), username=ANN) == UserAccess(
        user_id=uid, status=ACTIVE, roles=frozenset({READ}))
    nobody = UserAccess(user_id=None, status=None, roles=frozenset())
    assert gw.user_access(resource=ref(atlas_world, PROJECT, payments), username=ANN) == nobody
    assert gw.user_access(resource=ref(atlas_world, ORG), username="nobody@example.com") == nobody
    assert gw.user_access(resource=ref(atlas_world, ORG), username="Ann@Example.COM").user_id == uid


@pytest.mark.parametrize(("status", "roles_held"), [
    ("PENDING", True), ("INVITATION_EXPIRED", False), ("INVITATION_REJECTED", False)])
def test_an_invitee_holds_the_invitations_roles_only_while_it_is_pending(
        atlas_world: AtlasWorld, status: str, roles_held: bool) -> None:
    payments = project(atlas_world)
    uid = atlas_world.add_user(ANN, org_roles=["ORG_MEMBER"], project_roles={payments: [READ]}, status=status)
    access = atlas_world.gateway.user_access(resource=ref(atlas_world, PROJECT, payments), username=ANN)
    assert (access.user_id, access.status.value if access.status else None) == (uid, status)
    assert access.roles == (frozenset({READ}) if roles_held else frozenset())


def test_an_invitation_expires_after_30_days(atlas_world: AtlasWorld) -> None:
    atlas_world.gateway.grant(resource=ref(atlas_world, ORG), username=ANN, roles=["ORG_READ_ONLY"])
    atlas_world.advance(timedelta(days=29))
    assert atlas_world.status(ANN) == "PENDING"
    atlas_world.advance(timedelta(days=1, seconds=1))
    access = atlas_world.gateway.user_access(resource=ref(atlas_world, ORG), username=ANN)
    assert access.status is MembershipStatus.INVITATION_EXPIRED and access.roles == frozenset()


# --- grant ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GrantCase:
    name: str
    kind: ResourceKind
    standing: dict[str, object] | None  # add_user arguments before the grant (None: not in the org)
    roles: tuple[str, ...]
    status: MembershipStatus
    before: frozenset[str]
    added: frozenset[str]
    added_user: bool
    after: set[str]  # her roles on the resource afterwards
    after_status: str = "ACTIVE"


def _standing(payments_roles: list[str] | None = None, **rest: object) -> dict[str, object]:
    return {"project_roles": {"PAYMENTS": payments_roles}} if payments_roles else dict(rest)


GRANT_CASES = [
    GrantCase("org member gets only the missing org roles", ORG, {"org_roles": ["ORG_MEMBER"]},
              ("ORG_MEMBER", "ORG_READ_ONLY"), ACTIVE, frozenset({"ORG_MEMBER"}), frozenset({"ORG_READ_ONLY"}), False,
              {"ORG_MEMBER", "ORG_READ_ONLY"}),
    GrantCase("org roles already held: nothing added", ORG, {"org_roles": ["ORG_MEMBER", "ORG_READ_ONLY"]},
              ("ORG_READ_ONLY",), ACTIVE, frozenset({"ORG_MEMBER", "ORG_READ_ONLY"}), frozenset(), False,
              {"ORG_MEMBER", "ORG_READ_ONLY"}),
    GrantCase("a non-member is invited to the org", ORG, None, ("ORG_READ_ONLY",), PENDING, frozenset(),
              frozenset({"ORG_READ_ONLY"}), True, {"ORG_READ_ONLY"}, "PENDING"),
    GrantCase("an expired invitation is replaced by a new one", ORG,
              {"org_roles": ["ORG_READ_ONLY"], "status": "INVITATION_EXPIRED"}, ("ORG_READ_ONLY",), PENDING,
              frozenset(), frozenset({"ORG_READ_ONLY"}), True, {"ORG_READ_ONLY"}, "PENDING"),
    GrantCase("a rejected invitation is replaced too", ORG,
              {"org_roles": ["ORG_MEMBER"], "status": "INVITATION_REJECTED"}, ("ORG_MEMBER",), PENDING,
              frozenset(), frozenset({"ORG_MEMBER"}), True, {"ORG_MEMBER"}, "PENDING"),
    GrantCase("a pending invitee gets the missing org role", ORG, {"org_roles": ["ORG_MEMBER"], "status": "PENDING"},
              ("ORG_READ_ONLY",), PENDING, frozenset({"ORG_MEMBER"}), frozenset({"ORG_READ_ONLY"}), False,
              {"ORG_MEMBER", "ORG_READ_ONLY"}, "PENDING"),
    GrantCase("an org member not in the project joins it at once", PROJECT, {"org_roles": ["ORG_MEMBER"]},
              (READ, DATA_READ), ACTIVE, frozenset(), frozenset({READ, DATA_READ}), True, {READ, DATA_READ}),
    GrantCase("a project member keeps the role they had", PROJECT, _standing([READ]), (READ, DATA_READ), ACTIVE,
              frozenset({READ}), frozenset({DATA_READ}), False, {READ, DATA_READ}),
    GrantCase("a non-member is invited to the org and the project", PROJECT, None, (READ,), PENDING, frozenset(),
              frozenset({READ}), True, {READ}, "PENDING"),
    GrantCase("a pending org invitee joins the project, still pending", PROJECT,
              {"org_roles": ["ORG_MEMBER"], "status": "PENDING"}, (READ,), PENDING, frozenset(), frozenset({READ}),
              True, {READ}, "PENDING"),
    GrantCase("an expired invitee is invited anew", PROJECT, {"org_roles": ["ORG_MEMBER"],
                                                              "status": "INVITATION_EXPIRED"},
              (READ,), PENDING, frozenset(), frozenset({READ}), True, {READ}, "PENDING"),
    GrantCase("project roles already held: nothing added", PROJECT, _standing([READ, DATA_READ]), (READ,), ACTIVE,
              frozenset({READ, DATA_READ}), frozenset(), False, {READ, DATA_READ}),
]


def standing_of(atlas_world: AtlasWorld, case: GrantCase) -> tuple[str, ResourceRef]:
    """Ann's standing as the case says, in a payments project; (the project's id, the resource to grant)."""
    payments = project(atlas_world)
    if case.standing is not None:
        standing = dict(case.standing)
        if "project_roles" in standing:
            standing["project_roles"] = {payments: standing["project_roles"]["PAYMENTS"]}  # type: ignore[index]
        atlas_world.add_user(ANN, **standing)
    return payments, ref(atlas_world, case.kind, payments if case.kind is PROJECT else None)


@pytest.mark.parametrize("case", GRANT_CASES, ids=lambda c: c.name)
def test_a_grant_adds_only_what_is_missing_and_invites_non_members(atlas_world: AtlasWorld, case: GrantCase) -> None:
    # given ann's standing in Atlas
    payments, resource = standing_of(atlas_world, case)
    # when she is granted the roles
    result = atlas_world.gateway.grant(resource=resource, username=ANN, roles=list(case.roles))
    # then only the missing roles were added, her previous ones are the baseline, and Atlas shows the outcome
    assert result == GrantResult(user_id=atlas_world.user_id(ANN) or "", status=case.status,
                                 roles_before=case.before, added_roles=case.added, added_user=case.added_user)
    held = atlas_world.org_roles(ANN) if case.kind is ORG else atlas_world.project_roles(payments, ANN)
    assert held == case.after and atlas_world.status(ANN) == case.after_status


@pytest.mark.parametrize("case", GRANT_CASES, ids=lambda c: c.name)
def test_a_grant_hands_on_its_look_up_before_it_changes_anything(atlas_world: AtlasWorld, case: GrantCase) -> None:
    # given ann's standing in Atlas, and what a separate look-up says she holds
    payments, resource = standing_of(atlas_world, case)
    looked_up = atlas_world.gateway.user_access(resource=resource, username=ANN)
    held_before = atlas_world.org_roles(ANN) if case.kind is ORG else atlas_world.project_roles(payments, ANN)
    seen: list[tuple[UserAccess, object]] = []

    def before_change(access: UserAccess) -> None:  # what the worker saves as the baseline
        now = atlas_world.org_roles(ANN) if case.kind is ORG else atlas_world.project_roles(payments, ANN)
        seen.append((access, now))

    # when she is granted the roles
    atlas_world.gateway.grant(resource=resource, username=ANN, roles=list(case.roles), before_change=before_change)
    # then the grant's own look-up was handed on once, the same as the look-up, with Atlas still unchanged
    assert seen == [(looked_up, held_before)]


def test_a_grant_stopped_by_before_change_changes_nothing(atlas_world: AtlasWorld) -> None:
    payments = project(atlas_world)
    atlas_world.add_user(ANN, org_roles=["ORG_MEMBER"], project_roles={payments: [READ]})
    resource = ref(atlas_world, PROJECT, payments)

    class Stop(Exception):
        pass

    def before_change(access: UserAccess) -> None:
        raise Stop  # the worker's compare-and-set lost: another worker has the grant

    with pytest.raises(Stop):
        atlas_world.gateway.grant(resource=resource, username=ANN, roles=[READ, DATA_READ],
                                  before_change=before_change)
    assert atlas_world.project_roles(payments, ANN) == {READ}


def test_a_pending_invitee_in_the_project_gets_the_missing_role_and_keeps_it_on_accepting(
        atlas_world: AtlasWorld) -> None:
    payments = project(atlas_world)
    resource = ref(atlas_world, PROJECT, payments)
    atlas_world.gateway.grant(resource=resource, username=ANN, roles=[READ])
    result = atlas_world.gateway.grant(resource=resource, username=ANN, roles=[READ, DATA_READ])
    assert (result.status, result.added_user, result.roles_before, result.added_roles) == (
        PENDING, False, {READ}, {DATA_READ})
    atlas_world.accept_invitation(ANN)
    access = atlas_world.gateway.user_access(resource=resource, username=ANN)
    assert access.status is ACTIVE and access.roles == {READ, DATA_READ}


def test_a_person_keeps_one_user_id_through_leaving_and_coming_back(atlas_world: AtlasWorld) -> None:
    first = atlas_world.gateway.grant(resource=ref(atlas_world, ORG), username=ANN, roles=["ORG_MEMBER"])
    atlas_world.gateway.revoke(resource=ref(atlas_world, ORG), username=ANN, roles=["ORG_MEMBER"], remove_user=True)
    again = atlas_world.gateway.grant(resource=ref(atlas_world, ORG), username=ANN, roles=["ORG_MEMBER"])
    assert first.user_id == again.user_id


# --- revoke --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RevokeCase:
    name: str
    kind: ResourceKind
    org_roles: list[str] | None  # her org roles before (None: not in the org)
    payments: list[str]  # her roles on payments before
    roles: list[str]  # revoked
    remove_user: bool
    result: RevokeResult
    after: set[str]  # her roles on the resource afterwards
    after_status: str | None = "ACTIVE"
    status: str = "ACTIVE"
    other_project: bool = False  # she also has a role on another project


REVOKE_CASES = [
    RevokeCase("org: only the given roles go", ORG, ["ORG_MEMBER", "ORG_READ_ONLY", "ORG_BILLING_READ_ONLY"], [],
               ["ORG_READ_ONLY"], False, RevokeResult(removed_roles=frozenset({"ORG_READ_ONLY"}), removed_user=False),
               {"ORG_MEMBER", "ORG_BILLING_READ_ONLY"}),
    RevokeCase("org: with remove_user the member goes", ORG, ["ORG_READ_ONLY", "ORG_MEMBER"], [], ["ORG_READ_ONLY"],
               True, RevokeResult(removed_roles=frozenset({"ORG_READ_ONLY", "ORG_MEMBER"}), removed_user=True),
               set(), None),
    RevokeCase("org: removing the last role removes the user", ORG, ["ORG_READ_ONLY"], [], ["ORG_READ_ONLY"], False,
               RevokeResult(removed_roles=frozenset({"ORG_READ_ONLY"}), removed_user=True), set(), None),
    RevokeCase("org: a pending invitation is withdrawn", ORG, ["ORG_READ_ONLY"], [], ["ORG_READ_ONLY"], True,
               RevokeResult(removed_roles=frozenset({"ORG_READ_ONLY"}), removed_user=True), set(), None,
               status="PENDING"),
    RevokeCase("org: someone never there is done", ORG, None, [], ["ORG_READ_ONLY"], True,
               RevokeResult(removed_roles=frozenset(), removed_user=False, already_gone=True), set(), None),
    RevokeCase("org: roles not held: nothing to do", ORG, ["ORG_MEMBER"], [], ["ORG_READ_ONLY"], False,
               RevokeResult(removed_roles=frozenset(), removed_user=False, already_gone=True), {"ORG_MEMBER"}),
    RevokeCase("project: the baseline stays", PROJECT, ["ORG_MEMBER"], [READ, DATA_READ], [DATA_READ], False,
               RevokeResult(removed_roles=frozenset({DATA_READ}), removed_user=False), {READ}),
    RevokeCase("project: removing the last role removes her from the project", PROJECT, ["ORG_MEMBER"], [READ],
               [READ], False, RevokeResult(removed_roles=frozenset({READ}), removed_user=True), set()),
    RevokeCase("project: an active member with remove_user leaves the project only", PROJECT, ["ORG_MEMBER"],
               [READ], [READ], True, RevokeResult(removed_roles=frozenset({READ}), removed_user=True), set()),
    RevokeCase("project: a project-only invitation is withdrawn from the org", PROJECT, ["ORG_MEMBER"], [READ],
               [READ], True, RevokeResult(removed_roles=frozenset({READ}), removed_user=True), set(), None,
               status="PENDING"),
    RevokeCase("project: an invitee with another project stays invited to it", PROJECT, ["ORG_MEMBER"], [READ],
               [READ], True, RevokeResult(removed_roles=frozenset({READ}), removed_user=True), set(), "PENDING",
               status="PENDING", other_project=True),
    RevokeCase("project: not in the project is done", PROJECT, ["ORG_MEMBER"], [], [READ], True,
               RevokeResult(removed_roles=frozenset(), removed_user=False, already_gone=True), set()),
    RevokeCase("project: someone never there is done", PROJECT, None, [], [READ], False,
               RevokeResult(removed_roles=frozenset(), removed_user=False, already_gone=True), set(), None),
]


@pytest.mark.parametrize("case", REVOKE_CASES, ids=lambda c: c.name)
def test_a_revocation_takes_away_only_what_it_names(atlas_world: AtlasWorld, case: RevokeCase) -> None:
    payments, search = project(atlas_world), atlas_world.add_project("search")
    if case.org_roles is not None:
        roles = {payments: case.payments} if case.payments else {}
        if case.other_project:
            roles[search] = [READ]
        atlas_world.add_user(ANN, org_roles=case.org_roles, project_roles=roles, status=case.status)
    resource = ref(atlas_world, case.kind, payments if case.kind is PROJECT else None)
    result = atlas_world.gateway.revoke(resource=resource, username=ANN, roles=case.roles,
                                        remove_user=case.remove_user)
    assert result == case.result
    held = atlas_world.org_roles(ANN) if case.kind is ORG else atlas_world.project_roles(payments, ANN)
    assert held == case.after and atlas_world.status(ANN) == case.after_status


@pytest.mark.parametrize("remove_user", [False, True])
def test_revoking_twice_changes_nothing_the_second_time(atlas_world: AtlasWorld, remove_user: bool) -> None:
    payments = project(atlas_world)
    atlas_world.add_user(ANN, project_roles={payments: [READ, DATA_READ]})
    kwargs = {"resource": ref(atlas_world, PROJECT, payments), "username": ANN, "roles": [DATA_READ],
              "remove_user": remove_user}
    first = atlas_world.gateway.revoke(**kwargs)
    left = atlas_world.project_roles(payments, ANN)
    second = atlas_world.gateway.revoke(**kwargs)
    assert not first.already_gone and second.already_gone and second.removed_roles == frozenset()
    assert atlas_world.project_roles(payments, ANN) == left


@dataclass(frozen=True)
class ByIdCase:
    name: str
    held: list[str] | None  # her roles in payments when the grant ends (None: she left the organization)
    remove_user: bool
    left: set[str]
    result: RevokeResult
    roles: list[str] = field(default_factory=lambda: [DATA_READ])


BY_ID_CASES = [
    ByIdCase("she keeps a role of her own", [READ, DATA_READ], False, {READ},
             RevokeResult(removed_roles=frozenset({DATA_READ}), removed_user=False)),
    ByIdCase("her own role was taken away meanwhile: she is removed from the project", [DATA_READ], False, set(),
             RevokeResult(removed_roles=frozenset({DATA_READ}), removed_user=True)),
    ByIdCase("she left the organization: done", None, False, set(),
             RevokeResult(removed_roles=frozenset(), removed_user=False, already_gone=True)),
    ByIdCase("two roles, her own taken away meanwhile", [READ, DATA_READ], False, set(),
             RevokeResult(removed_roles=frozenset({DATA_READ, READ}), removed_user=True), roles=[READ, DATA_READ]),
    ByIdCase("the grant added her: removed as a whole", [DATA_READ], True, set(),
             RevokeResult(removed_roles=frozenset({DATA_READ}), removed_user=True)),
    ByIdCase("a role she no longer holds", [READ], False, {READ},
             RevokeResult(removed_roles=frozenset({DATA_READ}), removed_user=False)),
    ByIdCase("the grant added her and she left the organization: done", None, True, set(),
             RevokeResult(removed_roles=frozenset(), removed_user=False, already_gone=True)),
    ByIdCase("the grant added her, someone gave her another role meanwhile: out with it, as by the look-up",
             [READ, DATA_READ], True, set(), RevokeResult(removed_roles=frozenset({DATA_READ}), removed_user=True)),
]


@pytest.mark.parametrize("case", BY_ID_CASES, ids=lambda c: c.name)
def test_a_revocation_by_the_recorded_user_id(atlas_world: AtlasWorld, case: ByIdCase) -> None:
    # given ann's user id as her grant recorded it, and her roles in payments as they are when it ends
    payments = project(atlas_world)
    user_id = atlas_world.add_user(ANN, project_roles={payments: [READ, DATA_READ]})
    if case.held is None:
        atlas_world.remove_from_org(ANN)
    else:
        atlas_world.set_project_roles(payments, ANN, case.held)
    # when the grant's roles are revoked with that id
    result = atlas_world.gateway.revoke(resource=ref(atlas_world, PROJECT, payments), username=ANN, roles=case.roles,
                                        remove_user=case.remove_user, user_id=user_id)
    # then she is left with what she should have
    assert result == case.result and atlas_world.project_roles(payments, ANN) == case.left


# --- temporary database users --------------------------------------------------------------------------------

ROLES = [parse_database_role("read@orders"), parse_database_role("readAnyDatabase")]


def cluster_ref(world: AtlasWorld, group_id: str, name: str = "payments-main") -> ResourceRef:
    return ref(world, CLUSTER, f"{group_id}/{name}", name=f"payments/{name}")


def test_a_database_user_is_created_scoped_to_the_cluster_until_its_date(atlas_world: AtlasWorld) -> None:
    payments = project(atlas_world)
    until = (atlas_world.now() + timedelta(hours=2)).replace(microsecond=0)
    atlas_world.gateway.create_database_user(cluster=cluster_ref(atlas_world, payments), username="ann-g1-abc",
                                             password="p" * 32, roles=ROLES, delete_after=until, description="d")
    user = atlas_world.database_user(payments, "ann-g1-abc")
    assert user is not None and user.cluster == "payments-main" and user.delete_after == until
    assert user.roles == {"read@orders", "readAnyDatabase@admin"}


def test_creating_a_database_user_again_updates_it(atlas_world: AtlasWorld) -> None:
    payments = project(atlas_world)
    cluster = cluster_ref(atlas_world, payments)
    first, second = atlas_world.now() + timedelta(hours=1), atlas_world.now() + timedelta(hours=3)
    for until in (first, second):  # a retry after an attempt whose answer was lost
        atlas_world.gateway.create_database_user(cluster=cluster, username="ann-g1-abc", password="q" * 32,
                                                 roles=ROLES[:1], delete_after=until, description="d")
    user = atlas_world.database_user(payments, "ann-g1-abc")
    assert user is not None and user.delete_after == second.replace(microsecond=0) and user.roles == {"read@orders"}


def test_a_database_user_is_extended_and_deleted_once(atlas_world: AtlasWorld) -> None:
    payments = project(atlas_world)
    cluster = cluster_ref(atlas_world, payments)
    gw = atlas_world.gateway
    gw.create_database_user(cluster=cluster, username="ann-g1-abc", password="r" * 32, roles=ROLES,
                            delete_after=atlas_world.now() + timedelta(hours=1), description="d")
    later = (atlas_world.now() + timedelta(days=2)).replace(microsecond=0)
    gw.extend_database_user(cluster=cluster, username="ann-g1-abc", roles=ROLES, delete_after=later)
    user = atlas_world.database_user(payments, "ann-g1-abc")
    assert user is not None and user.delete_after == later
    assert gw.delete_database_user(cluster=cluster, username="ann-g1-abc") is False
    assert gw.delete_database_user(cluster=cluster, username="ann-g1-abc") is True
    assert atlas_world.database_user(payments, "ann-g1-abc") is None


def test_atlas_deletes_a_database_user_at_its_date(atlas_world: AtlasWorld) -> None:
    payments = project(atlas_world)
    cluster = cluster_ref(atlas_world, payments)
    atlas_world.gateway.create_database_user(cluster=cluster, username="ann-g1-abc", password="s" * 32,
                                             roles=ROLES, delete_after=atlas_world.now() + timedelta(hours=1),
                                             description="d")
    atlas_world.advance(timedelta(hours=1, seconds=1))
    assert atlas_world.database_user(payments, "ann-g1-abc") is None
    assert atlas_world.gateway.delete_database_user(cluster=cluster, username="ann-g1-abc") is True


def test_an_x509_user_gets_a_pem_and_is_deleted_from_external(atlas_world: AtlasWorld) -> None:
    payments = project(atlas_world)
    cluster = cluster_ref(atlas_world, payments)
    gw = atlas_world.gateway
    until = (atlas_world.now() + timedelta(hours=2)).replace(microsecond=0)
    gw.create_database_user(cluster=cluster, username="ann-g1-abc", password=None, roles=ROLES, delete_after=until,
                            description="d")
    user = atlas_world.database_user(payments, "ann-g1-abc")
    assert user is not None and user.x509 and user.delete_after == until
    pem = gw.create_user_certificate(cluster=cluster, username="ann-g1-abc", months=1)
    assert pem.startswith("-----BEGIN CERTIFICATE-----") and "PRIVATE KEY-----" in pem
    assert gw.delete_database_user(cluster=cluster, username="ann-g1-abc") is True  # not a SCRAM user on admin
    assert atlas_world.database_user(payments, "ann-g1-abc") is not None
    assert gw.delete_database_user(cluster=cluster, username="ann-g1-abc", x509=True) is False
    assert atlas_world.database_user(payments, "ann-g1-abc") is None


def test_a_certificate_needs_an_x509_user_that_exists(atlas_world: AtlasWorld) -> None:
    payments = project(atlas_world)
    cluster = cluster_ref(atlas_world, payments)
    gw = atlas_world.gateway
    with pytest.raises(GatewayRefused) as missing:
        gw.create_user_certificate(cluster=cluster, username="nobody", months=1)
    assert missing.value.status == 404
    gw.create_database_user(cluster=cluster, username="ann-g1-abc", password="p" * 32, roles=ROLES,
                            delete_after=atlas_world.now() + timedelta(hours=1), description="d")
    with pytest.raises(GatewayRefused) as scram:
        gw.create_user_certificate(cluster=cluster, username="ann-g1-abc", months=1)
    assert scram.value.status == 400


# --- refusals and trouble ------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", [
    "a grant on a project that does not exist", "a database user past 7 days", "a database user on no cluster",
    "extending a database user that is gone", "a grant to the bot's own identity",
])
def test_what_atlas_refuses_is_a_gateway_refusal_and_changes_nothing(
        request: pytest.FixtureRequest, atlas_world: AtlasWorld, case: str) -> None:
    payments = project(atlas_world)
    gw, now = atlas_world.gateway, atlas_world.now()
    calls = {
        "a grant on a project that does not exist": lambda: gw.grant(
            resource=ref(atlas_world, PROJECT, "f" * 24), username=ANN, roles=[READ]),
        "a database user past 7 days": lambda: gw.create_database_user(
            cluster=cluster_ref(atlas_world, payments), username="u1", password="t" * 32, roles=ROLES,
            delete_after=now + timedelta(days=8), description="d"),
        "a database user on no cluster": lambda: gw.create_database_user(
            cluster=cluster_ref(atlas_world, payments, "ghost"), username="u1", password="t" * 32, roles=ROLES,
            delete_after=now + timedelta(hours=1), description="d"),
        "extending a database user that is gone": lambda: gw.extend_database_user(
            cluster=cluster_ref(atlas_world, payments), username="u1", roles=ROLES,
            delete_after=now + timedelta(hours=1)),
        "a grant to the bot's own identity": lambda: gw.grant(resource=ref(atlas_world, ORG), username=BOT,
                                                              roles=["ORG_OWNER"]),
    }
    with pytest.raises(GatewayRefused):
        calls[case]()
    assert atlas_world.status(ANN) is None and atlas_world.status(BOT) is None
    assert atlas_world.database_user(payments, "u1") is None


@pytest.mark.parametrize(("kind", "error"), [
    ("unauthorized", GatewayUnauthorized), ("rate_limited", GatewayRateLimited), ("unreachable", GatewayUnreachable)])
def test_atlas_trouble_is_the_gateway_error_of_its_kind_on_every_call(
        request: pytest.FixtureRequest, atlas_world: AtlasWorld, kind: str, error: type[GatewayError]) -> None:
    payments = project(atlas_world)
    atlas_world.add_user(ANN, project_roles={payments: [READ]})
    gw, resource = atlas_world.gateway, ref(atlas_world, PROJECT, payments)
    calls = [
        lambda: gw.discover(organization_id=atlas_world.org_id, types=[DiscoveryType.PROJECTS]),
        lambda: gw.user_access(resource=resource, username=ANN),
        lambda: gw.grant(resource=resource, username=ANN, roles=[DATA_READ]),
        lambda: gw.revoke(resource=resource, username=ANN, roles=[READ], remove_user=True),
        lambda: gw.create_database_user(cluster=cluster_ref(atlas_world, payments), username="u1",
                                        password="t" * 32, roles=ROLES,
                                        delete_after=atlas_world.now() + timedelta(hours=1), description="d"),
        lambda: gw.delete_database_user(cluster=cluster_ref(atlas_world, payments), username="u1"),
    ]
    for call in calls:
        atlas_world.fail(kind)
        with pytest.raises(error):
            call()
        atlas_world.recover()
    assert atlas_world.project_roles(payments, ANN) == {READ} and atlas_world.database_user(payments, "u1") is None


def test_once_the_trouble_is_over_calls_work_again(atlas_world: AtlasWorld) -> None:
    payments = project(atlas_world)
    atlas_world.fail("unreachable")
    with pytest.raises(Exception):  # noqa: B017 - its kind is the subject of the test above
        atlas_world.gateway.grant(resource=ref(atlas_world, PROJECT, payments), username=ANN, roles=[READ])
    atlas_world.recover()
    result = atlas_world.gateway.grant(resource=ref(atlas_world, PROJECT, payments), username=ANN, roles=[READ])
    assert result.added_roles == {READ} and atlas_world.project_roles(payments, ANN) == {READ}


def test_a_clusters_address_is_its_srv_seed_list_and_none_for_a_missing_cluster(atlas_world: AtlasWorld) -> None:
    payments = project(atlas_world)
    address = atlas_world.gateway.cluster_address(cluster=cluster_ref(atlas_world, payments))
    assert address is not None and address.startswith("mongodb+srv://payments-main.")
    assert address.endswith(".mongodb.net") and "@" not in address
    assert atlas_world.gateway.cluster_address(cluster=cluster_ref(atlas_world, payments, "gone")) is None


# --- teams -------------------------------------------------------------------------------------------------------


def team_ref(world: AtlasWorld, team_id: str) -> ResourceRef:
    return ref(world, ResourceKind.TEAM, team_id, name="dbas")


def test_teams_are_discovered_with_the_project_roles_they_hold(atlas_world: AtlasWorld) -> None:
    payments, orders = project(atlas_world), project(atlas_world, "orders")
    team = atlas_world.add_team("dbas", projects={payments: ["GROUP_OWNER"], orders: ["GROUP_OWNER", READ]})
    found = atlas_world.gateway.discover(organization_id=atlas_world.org_id,
                                         types=[DiscoveryType.PROJECTS, DiscoveryType.TEAMS])
    [dbas] = found.teams
    assert (dbas.id, dbas.name) == (team, "dbas")
    assert dbas.project_roles == {payments: frozenset({"GROUP_OWNER"}), orders: frozenset({"GROUP_OWNER", READ})}
    assert atlas_world.gateway.discover(organization_id=atlas_world.org_id, types=[DiscoveryType.PROJECTS]).teams == ()


def test_a_team_grant_adds_a_member_and_its_revocation_removes_them(atlas_world: AtlasWorld) -> None:
    payments = project(atlas_world)
    atlas_world.add_user(ANN)
    team = atlas_world.add_team("dbas", projects={payments: ["GROUP_OWNER"]})
    gw, where = atlas_world.gateway, team_ref(atlas_world, team)
    assert gw.user_access(resource=where, username=ANN).roles == frozenset()
    result = gw.grant(resource=where, username=ANN, roles=[TEAM_MEMBER])
    assert (result.added_roles, result.added_user, result.status) == ({TEAM_MEMBER}, False, MembershipStatus.ACTIVE)
    assert atlas_world.in_team(team, ANN) and gw.user_access(resource=where, username=ANN).roles == {TEAM_MEMBER}
    again = gw.grant(resource=where, username=ANN, roles=[TEAM_MEMBER])
    assert again.added_roles == frozenset() and again.roles_before == {TEAM_MEMBER}
    gone = gw.revoke(resource=where, username=ANN, roles=[TEAM_MEMBER], remove_user=True)
    assert gone.removed_roles == {TEAM_MEMBER} and not atlas_world.in_team(team, ANN)
    assert atlas_world.status(ANN) == "ACTIVE"  # still in the organization
    assert gw.revoke(resource=where, username=ANN, roles=[TEAM_MEMBER], remove_user=True).already_gone


def test_a_stranger_is_invited_with_the_team_and_the_invitation_withdrawn(atlas_world: AtlasWorld) -> None:
    team = atlas_world.add_team("dbas", projects={project(atlas_world): ["GROUP_OWNER"]})
    gw, where = atlas_world.gateway, team_ref(atlas_world, team)
    result = gw.grant(resource=where, username=ANN, roles=[TEAM_MEMBER])
    assert (result.status, result.added_user) == (MembershipStatus.PENDING, True)
    assert atlas_world.status(ANN) == "PENDING" and atlas_world.in_team(team, ANN)
    gw.revoke(resource=where, username=ANN, roles=[TEAM_MEMBER], remove_user=True)
    assert atlas_world.status(ANN) is None


def test_a_team_deleted_in_atlas_is_already_gone_for_a_revocation_and_refused_for_a_grant(
        atlas_world: AtlasWorld) -> None:
    atlas_world.add_user(ANN)
    team = atlas_world.add_team("dbas", projects={project(atlas_world): ["GROUP_OWNER"]}, members=[ANN])
    atlas_world.delete_team(team)
    gw, where = atlas_world.gateway, team_ref(atlas_world, team)
    assert gw.revoke(resource=where, username=ANN, roles=[TEAM_MEMBER], remove_user=True).already_gone
    with pytest.raises(GatewayRefused) as refused:
        gw.grant(resource=where, username=ANN, roles=[TEAM_MEMBER])
    assert refused.value.status == 404


# --- the project's IP access list ---------------------------------------------------------------------------------


def test_an_access_list_entry_is_added_until_its_date_and_deleted_once(atlas_world: AtlasWorld) -> None:
    payments = project(atlas_world)
    gw, cluster = atlas_world.gateway, cluster_ref(atlas_world, payments)
    until = (atlas_world.now() + timedelta(hours=2)).replace(microsecond=0)
    assert gw.access_list_entry(cluster=cluster, cidr="203.0.113.7/32") is None
    gw.put_access_list_entry(cluster=cluster, cidr="203.0.113.7/32", delete_after=until, comment="request #7")
    entry = gw.access_list_entry(cluster=cluster, cidr="203.0.113.7/32")
    assert entry is not None and (entry.delete_after, entry.comment) == (until, "request #7")
    assert atlas_world.access_list(payments) == {"203.0.113.7/32": until}
    later = until + timedelta(hours=1)
    gw.put_access_list_entry(cluster=cluster, cidr="203.0.113.7/32", delete_after=later, comment="request #8")
    assert atlas_world.access_list(payments) == {"203.0.113.7/32": later}
    assert gw.delete_access_list_entry(cluster=cluster, cidr="203.0.113.7/32") is False
    assert gw.delete_access_list_entry(cluster=cluster, cidr="203.0.113.7/32") is True


def test_atlas_deletes_a_temporary_entry_at_its_date_and_keeps_a_permanent_one(atlas_world: AtlasWorld) -> None:
    payments = project(atlas_world)
    atlas_world.add_access_entry(payments, "198.51.100.0/24")
    gw, cluster = atlas_world.gateway, cluster_ref(atlas_world, payments)
    gw.put_access_list_entry(cluster=cluster, cidr="203.0.113.0/28", comment="request #9",
                             delete_after=atlas_world.now() + timedelta(hours=1))
    office = gw.access_list_entry(cluster=cluster, cidr="198.51.100.0/24")
    assert office is not None and office.delete_after is None
    atlas_world.advance(timedelta(hours=1))
    assert atlas_world.access_list(payments) == {"198.51.100.0/24": None}


def test_an_entry_past_seven_days_is_refused(atlas_world: AtlasWorld) -> None:
    cluster = cluster_ref(atlas_world, project(atlas_world))
    with pytest.raises(GatewayRefused) as refused:
        atlas_world.gateway.put_access_list_entry(cluster=cluster, cidr="203.0.113.7/32", comment="x",
                                                  delete_after=atlas_world.now() + timedelta(days=8))
    assert refused.value.status == 400


# --- temporary custom roles ----------------------------------------------------------------------------------------


def test_a_custom_role_holds_exactly_the_collections_actions_and_a_user_can_hold_it(atlas_world: AtlasWorld) -> None:
    payments = project(atlas_world)
    gw, cluster = atlas_world.gateway, cluster_ref(atlas_world, payments)
    gw.create_custom_role(cluster=cluster, name="ann-g1-abc-c0", role=parse_database_role("readWrite@orders.pay"))
    gw.create_custom_role(cluster=cluster, name="ann-g1-abc-c0", role=parse_database_role("readWrite@orders.pay"))
    assert atlas_world.custom_roles(payments) == {
        "ann-g1-abc-c0": {"FIND@orders.pay", "INSERT@orders.pay", "UPDATE@orders.pay", "REMOVE@orders.pay"}}
    custom = parse_database_role("read@x").__class__(role_name="ann-g1-abc-c0", database_name="admin")
    gw.create_database_user(cluster=cluster, username="ann-g1-abc", password="p" * 32, roles=[custom],
                            delete_after=atlas_world.now() + timedelta(hours=1), description="d")
    assert gw.delete_database_user(cluster=cluster, username="ann-g1-abc") is False
    assert gw.delete_custom_role(cluster=cluster, name="ann-g1-abc-c0") is False
    assert gw.delete_custom_role(cluster=cluster, name="ann-g1-abc-c0") is True
    assert atlas_world.custom_roles(payments) == {}


def test_a_user_cannot_hold_a_custom_role_that_does_not_exist(atlas_world: AtlasWorld) -> None:
    cluster = cluster_ref(atlas_world, project(atlas_world))
    missing = parse_database_role("read@x").__class__(role_name="nobody-made-me", database_name="admin")
    with pytest.raises(GatewayRefused) as refused:
        atlas_world.gateway.create_database_user(cluster=cluster, username="u1", password="p" * 32, roles=[missing],
                                                 delete_after=atlas_world.now() + timedelta(hours=1), description="d")
    assert refused.value.status == 400


def test_the_projects_custom_role_names_are_listed(atlas_world: AtlasWorld) -> None:
    payments = project(atlas_world)
    gw, cluster = atlas_world.gateway, cluster_ref(atlas_world, payments)
    assert gw.custom_role_names(cluster=cluster) == frozenset()
    gw.create_custom_role(cluster=cluster, name="analytics-reader", role=parse_database_role("read@analytics.events"))
    assert gw.custom_role_names(cluster=cluster) == {"analytics-reader"}
