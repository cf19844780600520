"""Everything the sandbox knows, with the indexes that keep lists fast, deterministic ids, and 404-raising lookups."""

from __future__ import annotations

import random
import string
from collections import Counter
from datetime import datetime
from typing import Any

from atlas.sandbox.errors import (
    GROUP_NOT_FOUND,
    ORG_NOT_FOUND,
    TEAM_NOT_FOUND,
    USER_NOT_FOUND,
    bad_request,
    not_found,
)
from atlas.sandbox.records import (
    ApiKeyRecord,
    Cluster,
    DatabaseUser,
    Membership,
    NetworkEntry,
    Org,
    Person,
    Project,
    ServiceAccountRecord,
    Team,
    TokenRecord,
)


class State:
    """The simulated Atlas. Not thread-safe by itself: the Sandbox holds its lock around every use."""

    def __init__(self, *, seed: int = 0) -> None:
        self._rng = random.Random(seed)
        self._id_prefix = f"{0x65A00000 + seed % 0x100000:08x}"
        self._counter = 0
        self.orgs: dict[str, Org] = {}
        self.projects: dict[str, Project] = {}
        self.clusters: dict[str, dict[str, Cluster]] = {}  # group id -> name -> cluster
        self.org_readers: dict[str, set[str]] = {}  # credential identity -> other orgs whose projects it can read
        self.people: dict[str, Person] = {}
        self.people_by_name: dict[str, Person] = {}
        self.members: dict[str, dict[str, Membership]] = {}  # org id -> user id -> membership
        self.group_members: dict[str, dict[str, None]] = {}  # group id -> user ids holding a role there (ordered)
        self.pending: dict[tuple[str, str], datetime] = {}  # (org id, user id) -> invitation expiry
        self.teams: dict[str, Team] = {}
        self.api_keys: dict[str, ApiKeyRecord] = {}
        self.keys_by_public: dict[str, ApiKeyRecord] = {}
        self.service_accounts: dict[str, ServiceAccountRecord] = {}
        self.tokens: dict[str, TokenRecord] = {}
        self.tokens_issued: Counter[str] = Counter()
        self.db_users: dict[str, dict[tuple[str, str], DatabaseUser]] = {}  # group id -> (db, username) -> user
        self.db_expiring: dict[tuple[str, str, str], datetime] = {}  # (group id, db, username) -> deleteAfterDate
        self.access_lists: dict[str, dict[str, NetworkEntry]] = {}  # group id -> network -> entry
        self.custom_roles: dict[str, dict[str, dict[str, Any]]] = {}  # group id -> role name -> UserCustomDBRole
        self.nonce_key = self.random_text(32, string.ascii_letters + string.digits).encode()

    # --- ids and secrets --------------------------------------------------------------------------------------

    def new_id(self) -> str:
        """The next 24-hex id: a per-seed prefix and a counter, so runs are repeatable."""
        self._counter += 1
        return f"{self._id_prefix}{self._counter:016x}"

    def random_text(self, length: int, alphabet: str = string.hexdigits[:16]) -> str:
        return "".join(self._rng.choice(alphabet) for _ in range(length))

    def new_private_key(self) -> str:
        hexes = self.random_text(32)
        return f"{hexes[:8]}-{hexes[8:12]}-{hexes[12:16]}-{hexes[16:20]}-{hexes[20:]}"

    # --- organizations and projects ---------------------------------------------------------------------------

    def add_org(self, *, name: str, now: datetime) -> Org:
        org = Org(id=self.new_id(), name=name, created=now)
        self.orgs[org.id] = org
        self.members[org.id] = {}
        return org

    def add_project(self, *, org_id: str, name: str, tags: dict[str, str], now: datetime) -> Project:
        self.org(org_id)
        project = Project(id=self.new_id(), org_id=org_id, name=name, tags=dict(tags), created=now)
        self.projects[project.id] = project
        self.clusters[project.id] = {}
        self.group_members[project.id] = {}
        self.db_users[project.id] = {}
        return project

    def add_cluster(self, *, group_id: str, name: str, state: str, now: datetime, multi_cloud: bool = False) -> Cluster:
        clusters = self.clusters[self.project(group_id).id]
        if name in clusters:
            raise bad_request(f"A cluster named {name} already exists in group {group_id}.", "DUPLICATE_CLUSTER_NAME")
        cluster = Cluster(id=self.new_id(), group_id=group_id, name=name, state=state, created=now,
                          multi_cloud=multi_cloud)
        clusters[name] = cluster
        return cluster

    def remove_project(self, group_id: str) -> None:
        """The project and everything in it gone (its users keep their other roles)."""
        project = self.project(group_id)
        for membership in self.members[project.org_id].values():
            self.set_group_roles(membership, group_id, set())
        for team in self.teams.values():
            team.group_roles.pop(group_id, None)
        for index in (self.clusters, self.group_members, self.db_users):
            index.pop(group_id, None)
        del self.projects[group_id]

    def visible_projects(self, *, org_id: str, identity: str) -> list[Project]:
        """The projects a credential can see: its own organization's, then those of orgs it was made a reader of."""
        orgs = [org_id, *sorted(self.org_readers.get(identity, set()) - {org_id})]
        by_org: dict[str, list[Project]] = {o: [] for o in orgs}
        for project in self.projects.values():
            if project.org_id in by_org:
                by_org[project.org_id].append(project)
        return [p for o in orgs for p in by_org[o]]

    def org(self, org_id: str) -> Org:
        if org_id not in self.orgs:
            raise not_found(f"No organization with ID {org_id} exists.", ORG_NOT_FOUND)
        return self.orgs[org_id]

    def project(self, group_id: str) -> Project:
        if group_id not in self.projects:
            raise not_found(f"No group with ID {group_id} exists.", GROUP_NOT_FOUND)
        return self.projects[group_id]

    def org_projects(self, org_id: str) -> list[Project]:
        return [p for p in self.projects.values() if p.org_id == org_id]

    # --- people and memberships -------------------------------------------------------------------------------

    def person(self, username: str, *, now: datetime) -> Person:
        """The person with this username, created on first sight (Atlas accounts are global)."""
        if username not in self.people_by_name:
            first, last = _names(username)
            person = Person(id=self.new_id(), username=username, first_name=first, last_name=last, created=now)
            self.people[person.id] = person
            self.people_by_name[username] = person
        return self.people_by_name[username]

    def membership_of(self, org_id: str, username: str) -> Membership | None:
        person = self.people_by_name.get(username)
        return None if person is None else self.members.get(org_id, {}).get(person.id)

    def membership(self, org_id: str, user_id: str) -> Membership:
        found = self.members[self.org(org_id).id].get(user_id)
        if found is None:
            raise not_found(f"No user with ID {user_id} exists in organization {org_id}.", USER_NOT_FOUND)
        return found

    def group_membership(self, group_id: str, user_id: str) -> Membership:
        project = self.project(group_id)
        found = self.members[project.org_id].get(user_id)
        if found is None or group_id not in found.group_roles:
            raise not_found(f"No user with ID {user_id} exists in group {group_id}.", USER_NOT_FOUND)
        return found

    def set_group_roles(self, membership: Membership, group_id: str, roles: set[str]) -> None:
        """Give `membership` exactly `roles` in the group (none: out of the group), keeping the index true."""
        if roles:
            membership.group_roles[group_id] = set(roles)
            self.group_members[group_id][membership.user_id] = None
        else:
            membership.group_roles.pop(group_id, None)
            self.group_members[group_id].pop(membership.user_id, None)

    def group_users(self, group_id: str) -> list[Membership]:
        org_members = self.members[self.project(group_id).org_id]
        return [org_members[uid] for uid in self.group_members[group_id]]

    def drop_membership(self, membership: Membership) -> None:
        for group_id in list(membership.group_roles):
            self.set_group_roles(membership, group_id, set())
        for team_id in membership.team_ids:
            self.teams[team_id].user_ids.discard(membership.user_id)
        self.pending.pop((membership.org_id, membership.user_id), None)
        del self.members[membership.org_id][membership.user_id]

    # --- teams --------------------------------------------------------------------------------------------------

    def team(self, org_id: str, team_id: str) -> Team:
        team = self.teams.get(team_id)
        if team is None or team.org_id != org_id:
            raise not_found(f"No team with ID {team_id} exists in organization {org_id}.", TEAM_NOT_FOUND)
        return team


def _names(username: str) -> tuple[str, str]:
    local = username.split("@", 1)[0]
    parts = [p for p in local.replace("_", ".").replace("-", ".").split(".") if p]
    first = parts[0].capitalize() if parts else "Sandbox"
    last = parts[-1].capitalize() if len(parts) > 1 else "User"
    return first, last
