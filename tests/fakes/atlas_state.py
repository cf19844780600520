"""FakeAtlas: an Atlas organization's state and the rules that matter to the gateway, without HTTP.

The rules are the sandbox's (`atlas.sandbox`): adding someone to an organization invites them (PENDING, for 30
days), adding a non-member to a project invites them to the organization with ORG_MEMBER, a user keeps at least
one role, a person keeps one user id however often they come and go, temporary database users are deleted by
Atlas at their date (at most 7 days ahead). A rule broken is a GatewayRefused with Atlas's status and errorCode.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from access.database_roles import DatabaseRole
from access.errors import GatewayError
from access.model import ORG_ROLES, AccessListEntry, MembershipStatus
from access.ports import Clock
from tests.fakes.faults import refused

ACTIVE, PENDING = MembershipStatus.ACTIVE, MembershipStatus.PENDING
MEMBER = (ACTIVE, PENDING)
INVITATION_TTL = timedelta(days=30)
DATABASE_USER_LIFETIME = timedelta(days=7)
DATABASE_USERS_PER_PROJECT = 100
_GROUP_ROLE = re.compile(r"^GROUP_[A-Z0-9_]+$")


@dataclass
class Member:
    user_id: str
    username: str
    status: MembershipStatus
    org_roles: set[str]
    projects: dict[str, set[str]] = field(default_factory=dict)  # group id -> roles (never empty)
    invitation_expires_at: datetime | None = None
    teams: set[str] = field(default_factory=set)  # team ids


@dataclass
class Team:
    id: str
    org_id: str
    name: str
    projects: dict[str, set[str]] = field(default_factory=dict)  # group id -> the roles the team holds there


@dataclass
class Project:
    id: str
    org_id: str
    name: str
    tags: dict[str, str]
    clusters: dict[str, str] = field(default_factory=dict)  # name -> state


@dataclass
class DatabaseUser:
    username: str
    cluster: str
    roles: tuple[DatabaseRole, ...]
    delete_after: datetime
    description: str
    x509: bool = False  # an Atlas-managed X.509 user on $external (else SCRAM on admin)
    certificates: int = 0  # how many certificates Atlas made for it


def not_found(operation: str, code: str, detail: str) -> GatewayError:
    return refused(operation, status=404, code=code, detail=detail)


def bad_request(operation: str, detail: str, code: str = "VALIDATION_ERROR") -> GatewayError:
    return refused(operation, status=400, code=code, detail=detail)


class FakeAtlas:
    def __init__(self, *, clock: Clock | None = None) -> None:
        self._clock = clock
        self._ids = itertools.count(1)
        self.orgs: dict[str, str] = {}
        self.projects: dict[str, Project] = {}
        self.members: dict[str, dict[str, Member]] = {}  # org id -> user id -> member
        self.people: dict[str, str] = {}  # username (any case) -> user id: an Atlas account is global
        self.database_users: dict[str, dict[str, DatabaseUser]] = {}  # group id -> username -> user
        self.teams: dict[str, Team] = {}  # team id -> team
        self.access_lists: dict[str, dict[str, AccessListEntry]] = {}  # group id -> cidr -> entry
        self.custom_roles: dict[str, dict[str, DatabaseRole]] = {}  # group id -> role name -> what it gives

    def now(self) -> datetime:
        return self._clock.now() if self._clock is not None else datetime.now(UTC)

    def new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):022x}"

    # --- seeding -------------------------------------------------------------------------------------------

    def add_org(self, name: str = "Acme", *, org_id: str | None = None) -> str:
        org_id = org_id or self.new_id("5f")
        self.orgs[org_id] = name
        self.members[org_id] = {}
        return org_id

    def add_project(self, org_id: str, name: str, *, tags: Mapping[str, str] | None = None,
                    clusters: Mapping[str, str] | Iterable[str] = (), group_id: str | None = None) -> str:
        group_id = group_id or self.new_id("6a")
        states = dict(clusters) if isinstance(clusters, Mapping) else dict.fromkeys(clusters, "IDLE")
        self.projects[group_id] = Project(id=group_id, org_id=org_id, name=name, tags=dict(tags or {}),
                                          clusters=states)
        self.database_users[group_id] = {}
        return group_id

    def add_team(self, org_id: str, name: str, *, projects: Mapping[str, Iterable[str]] | None = None,
                 members: Iterable[str] = ()) -> str:
        """A team holding roles on projects (group id -> roles), with these usernames (org members) in it."""
        team = Team(id=self.new_id("6c"), org_id=org_id, name=name,
                    projects={g: set(r) for g, r in (projects or {}).items()})
        self.teams[team.id] = team
        for username in members:
            member = self.member(org_id, username)
            assert member is not None, username
            member.teams.add(team.id)
        return team.id

    def delete_team(self, team_id: str) -> None:
        """An admin deleting the team in Atlas: nobody is in it any more."""
        team = self.teams.pop(team_id)
        for member in self.members.get(team.org_id, {}).values():
            member.teams.discard(team_id)

    def in_team(self, team_id: str, username: str) -> bool:
        team = self.teams.get(team_id)
        member = self.member(team.org_id, username) if team is not None else None
        return member is not None and member.status in MEMBER and team_id in member.teams

    def team(self, org_id: str, team_id: str, operation: str) -> Team:
        team = self.teams.get(team_id)
        if team is None or team.org_id != org_id:
            raise not_found(operation, "TEAM_NOT_FOUND", f"No team with ID {team_id} exists in organization {org_id}.")
        return team

    def add_cluster(self, group_id: str, name: str, state: str = "IDLE") -> None:
        self.projects[group_id].clusters[name] = state

    def add_user(self, org_id: str, username: str, *, org_roles: Iterable[str] = ("ORG_MEMBER",),
                 project_roles: Mapping[str, Iterable[str]] | None = None,
                 status: MembershipStatus | str = ACTIVE) -> str:
        """Someone in the organization: ACTIVE (joined long ago), or invited (PENDING, EXPIRED, REJECTED)."""
        existing = self.member(org_id, username)
        if existing is not None:
            del self.members[org_id][existing.user_id]
        status = MembershipStatus(status)
        member = Member(user_id=self.person(username), username=username, status=status, org_roles=set(org_roles),
                        projects={g: set(r) for g, r in (project_roles or {}).items() if r},
                        invitation_expires_at=self.now() + INVITATION_TTL if status is PENDING else None)
        self.members[org_id][member.user_id] = member
        return member.user_id

    def accept_invitation(self, org_id: str, username: str) -> None:
        member = self.member(org_id, username)
        if member is None or member.status is not PENDING:
            raise LookupError(f"no pending invitation for {username}")
        member.status, member.invitation_expires_at = ACTIVE, None

    def set_status(self, org_id: str, username: str, status: MembershipStatus | str) -> None:
        member = self.member(org_id, username)
        assert member is not None, username
        member.status = MembershipStatus(status)

    def remove_user(self, org_id: str, username: str) -> None:
        """Someone left (or was removed by hand in Atlas)."""
        member = self.member(org_id, username)
        if member is not None:
            del self.members[org_id][member.user_id]

    def set_project_roles(self, group_id: str, username: str, roles: Iterable[str]) -> None:
        """An admin changing someone's project roles by hand in Atlas."""
        member = self.member(self.projects[group_id].org_id, username)
        assert member is not None, username
        if roles:
            member.projects[group_id] = set(roles)
        else:
            member.projects.pop(group_id, None)

    # --- inspection ----------------------------------------------------------------------------------------

    def person(self, username: str) -> str:
        key = username.strip().casefold()
        if key not in self.people:
            self.people[key] = self.new_id("6b")
        return self.people[key]

    def member(self, org_id: str, username: str) -> Member | None:
        """The live entry (PENDING or ACTIVE) before an expired or rejected one; None if not in the org."""
        self.refresh()
        wanted = username.strip().casefold()
        found = [m for m in self.members.get(org_id, {}).values() if m.username.strip().casefold() == wanted]
        return next((m for m in found if m.status in MEMBER), found[0] if found else None)

    def org_roles(self, org_id: str, username: str) -> set[str]:
        member = self.member(org_id, username)
        return set() if member is None else set(member.org_roles)

    def project_roles(self, group_id: str, username: str) -> set[str]:
        member = self.member(self.projects[group_id].org_id, username)
        return set() if member is None else set(member.projects.get(group_id, ()))

    def status(self, org_id: str, username: str) -> MembershipStatus | None:
        member = self.member(org_id, username)
        return None if member is None else member.status

    def database_user(self, group_id: str, username: str) -> DatabaseUser | None:
        self.refresh()
        return self.database_users[group_id].get(username)

    def refresh(self) -> None:
        """What Atlas does as time passes: invitations expire after 30 days, temporary database users go."""
        now = self.now()
        for members in self.members.values():
            for member in members.values():
                if member.status is PENDING and member.invitation_expires_at and member.invitation_expires_at <= now:
                    member.status, member.invitation_expires_at = MembershipStatus.INVITATION_EXPIRED, None
        for users in self.database_users.values():
            for name in [n for n, u in users.items() if u.delete_after <= now]:
                del users[name]
        for entries in self.access_lists.values():
            for cidr in [c for c, e in entries.items() if e.delete_after is not None and e.delete_after <= now]:
                del entries[cidr]

    # --- rules (raise GatewayRefused as Atlas answers) -----------------------------------------------------

    def project(self, group_id: str, operation: str) -> Project:
        if group_id not in self.projects:
            raise not_found(operation, "GROUP_NOT_FOUND", f"No group with ID {group_id} exists.")
        return self.projects[group_id]

    def org(self, org_id: str, operation: str) -> dict[str, Member]:
        if org_id not in self.orgs:
            raise not_found(operation, "ORG_NOT_FOUND", f"No organization with ID {org_id} exists.")
        return self.members[org_id]

    @staticmethod
    def check_org_roles(roles: Iterable[str], operation: str) -> set[str]:
        checked = set(roles)
        if not checked or not checked <= set(ORG_ROLES):
            raise bad_request(operation, f"Invalid organization roles {sorted(checked)}.", "INVALID_ROLE")
        return checked

    @staticmethod
    def check_group_roles(roles: Iterable[str], operation: str) -> set[str]:
        checked = set(roles)
        if not checked or not all(_GROUP_ROLE.match(r) for r in checked):
            raise bad_request(operation, f"Invalid project roles {sorted(checked)}.", "INVALID_ROLE")
        return checked

    def invite(self, org_id: str, username: str, org_roles: set[str], projects: dict[str, set[str]],
               teams: Iterable[str] = ()) -> Member:
        """An invitation (PENDING for 30 days), replacing an expired or rejected one."""
        old = self.member(org_id, username)
        if old is not None:
            del self.members[org_id][old.user_id]
        member = Member(user_id=self.person(username), username=username, status=PENDING, org_roles=org_roles,
                        projects=projects, invitation_expires_at=self.now() + INVITATION_TTL, teams=set(teams))
        self.members[org_id][member.user_id] = member
        return member
