"""The Atlas simulator's front: seed it, point a transport or server at it, inspect what happened.

Both SandboxTransport (in-process) and SandboxServer (loopback HTTP) call `Sandbox.handle`, so they behave
the same. State sits behind one lock; injected latency is slept outside it, so concurrent requests overlap.
"""

from __future__ import annotations

import ipaddress
import json
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Protocol

from atlas.sandbox import handlers_db, handlers_network, keys, members, routing, views
from atlas.sandbox.context import TextBody
from atlas.sandbox.errors import ApiFailure
from atlas.sandbox.faults import Faults
from atlas.sandbox.pipeline import Incoming, parsed_body, refresh, serve
from atlas.sandbox.recording import RecordedRequest, Recorder, safe_body, safe_headers
from atlas.sandbox.records import NetworkEntry, Team
from atlas.sandbox.routing import RouteKind
from atlas.sandbox.state import State

SEED_INVITER = "sandbox-admin@example.com"


class _Clock(Protocol):
    def now(self) -> datetime: ...


class Sandbox:
    def __init__(self, clock: _Clock | None = None, record_path: str | None = None, *, seed: int = 0) -> None:
        self._clock = clock
        self._lock = threading.RLock()
        self._state = State(seed=seed)
        self._recorder = Recorder(record_path=record_path)
        self.faults = Faults(now=self._now)

    def __repr__(self) -> str:
        return f"Sandbox(orgs={len(self._state.orgs)}, projects={len(self._state.projects)}, calls={len(self.calls)})"

    @contextmanager
    def _seeding(self) -> Iterator[State]:
        """The state under the lock; a rule the seed breaks (unknown org, bad role) is a ValueError."""
        with self._lock:
            try:
                yield self._state
            except ApiFailure as failure:
                raise ValueError(failure.detail) from None

    def _now(self) -> datetime:
        now = self._clock.now() if self._clock is not None else datetime.now(UTC)
        return now if now.tzinfo is not None else now.replace(tzinfo=UTC)

    # --- seeding ---------------------------------------------------------------------------------------------

    def add_org(self, *, name: str) -> str:
        with self._seeding():
            return self._state.add_org(name=name, now=self._now()).id

    def add_project(self, *, org_id: str, name: str, tags: Mapping[str, str] | None = None) -> str:
        with self._seeding():
            return self._state.add_project(org_id=org_id, name=name, tags=dict(tags or {}), now=self._now()).id

    def add_cluster(self, *, group_id: str, name: str, state: str = "IDLE", multi_cloud: bool = False) -> str:
        """A cluster; a `multi_cloud` one is listed by listGroupClusters but left out of listClusterDetails."""
        with self._seeding():
            return self._state.add_cluster(group_id=group_id, name=name, state=state, now=self._now(),
                                           multi_cloud=multi_cloud).id

    def remove_project(self, *, group_id: str) -> None:
        """Delete a project, as someone in the Atlas UI might in the middle of a sync."""
        with self._seeding():
            self._state.remove_project(group_id)

    def add_org_reader(self, *, org_id: str, identity: str) -> None:
        """Let a credential (public key or client id) of another organization see `org_id`'s projects and clusters.

        Only what spans organizations shows it (listClusterDetails); calls naming `org_id` stay refused.
        """
        with self._seeding():
            self._state.org(org_id)
            self._state.org_readers.setdefault(identity, set()).add(org_id)

    def add_user(self, *, org_id: str, username: str, org_roles: Iterable[str] = ("ORG_MEMBER",),
                 project_roles: Mapping[str, Iterable[str]] | None = None, status: str = "ACTIVE") -> str:
        """A person in the org: ACTIVE (joined long ago), or PENDING / INVITATION_EXPIRED / _REJECTED (invited)."""
        if status not in members.STATUSES:
            raise ValueError(f"status must be one of {members.STATUSES}")
        projects = {gid: set(roles) for gid, roles in (project_roles or {}).items()}
        with self._seeding():
            state, now, roles = self._state, self._now(), members.org_roles(org_roles)
            if status == members.ACTIVE:
                membership = members.join(state, org_id=org_id, username=username, roles=roles, projects=projects,
                                          now=now)
            else:
                existing = state.membership_of(org_id, username)
                if existing is not None:
                    state.drop_membership(existing)
                membership = members.invite(state, org_id=org_id, username=username, roles=roles,
                                            projects=projects, inviter=SEED_INVITER, now=now)
                if status != members.PENDING:
                    membership.status = status
                    state.pending.pop((org_id, membership.user_id), None)
            return membership.user_id

    def add_api_key(self, *, org_id: str, roles: Iterable[str] = ("ORG_OWNER",),
                    desc: str = "atlas-access") -> tuple[str, str]:
        """An org API key; (public key, private key)."""
        with self._seeding():
            key = keys.new_api_key(self._state, org_id=org_id, roles=list(roles), desc=desc)
            return key.public_key, key.private_key

    def add_service_account(self, *, org_id: str, roles: Iterable[str] = ("ORG_OWNER",), name: str = "atlas-access",
                            secret_hours: int = keys.MAX_SECRET_HOURS) -> tuple[str, str]:
        """A service account with one secret; (client id, secret)."""
        with self._seeding():
            account, secret = keys.new_service_account(
                self._state, org_id=org_id, name=name, description=name, roles=list(roles),
                secret_hours=secret_hours, now=self._now())
            return account.client_id, secret.value

    def add_team(self, *, org_id: str, name: str, usernames: Iterable[str] = ()) -> str:
        with self._seeding():
            team = Team(id=self._state.new_id(), org_id=self._state.org(org_id).id, name=name)
            self._state.teams[team.id] = team
            for username in usernames:
                membership = self._state.membership_of(org_id, username)
                if membership is None:
                    raise ValueError(f"{username} is not in organization {org_id}")
                team.user_ids.add(membership.user_id)
                membership.team_ids.add(team.id)
            return team.id

    def assign_team(self, *, group_id: str, team_id: str, roles: Iterable[str]) -> None:
        with self._seeding():
            project = self._state.project(group_id)
            self._state.team(project.org_id, team_id).group_roles[group_id] = members.group_roles(roles)

    def accept_invitation(self, *, org_id: str, username: str) -> None:
        """The person clicked the invitation email: PENDING -> ACTIVE with the invitation's roles."""
        with self._seeding():
            refresh(self._state, now=self._now())
            members.accept(self._state, org_id=org_id, username=username)

    def set_membership_status(self, *, org_id: str, username: str, status: str) -> None:
        """Force a status, e.g. INVITATION_REJECTED (the person declined) or INVITATION_EXPIRED."""
        with self._seeding():
            membership = self._state.membership_of(org_id, username)
            if membership is None or status not in members.STATUSES:
                raise ValueError(f"no membership of {username} in {org_id}, or unknown status {status}")
            membership.status = status
            if status != members.PENDING:
                self._state.pending.pop((org_id, membership.user_id), None)

    def remove_api_key(self, *, public_key: str) -> None:
        with self._seeding():
            keys.delete_api_key(self._state, self._state.keys_by_public[public_key])

    # --- inspection --------------------------------------------------------------------------------------------

    def org_user(self, org_id: str, username: str) -> dict[str, Any] | None:
        """The org user as getOrgUser would return it, or None if not in the org."""
        with self._seeding():
            refresh(self._state, now=self._now())
            membership = self._state.membership_of(org_id, username)
            if membership is None:
                return None
            return views.org_user(self._state.people[membership.user_id], membership)

    def group_user(self, group_id: str, username: str) -> dict[str, Any] | None:
        with self._seeding():
            refresh(self._state, now=self._now())
            project = self._state.project(group_id)
            membership = self._state.membership_of(project.org_id, username)
            if membership is None or group_id not in membership.group_roles:
                return None
            return views.group_user(self._state.people[membership.user_id], membership, group_id)

    def user_id(self, username: str) -> str | None:
        with self._seeding():
            person = self._state.people_by_name.get(username)
            return None if person is None else person.id

    def org_roles(self, org_id: str, username: str) -> set[str]:
        with self._seeding():
            membership = self._state.membership_of(org_id, username)
            return set() if membership is None else set(membership.org_roles)

    def project_roles(self, group_id: str, username: str) -> set[str]:
        with self._seeding():
            membership = self._state.membership_of(self._state.project(group_id).org_id, username)
            return set() if membership is None else set(membership.group_roles.get(group_id, ()))

    def database_users(self, group_id: str) -> list[dict[str, Any]]:
        with self._seeding():
            refresh(self._state, now=self._now())
            return [views.database_user(u) for u in self._state.db_users[self._state.project(group_id).id].values()]

    def custom_roles(self, group_id: str) -> list[dict[str, Any]]:
        """The project's custom database roles as listGroupCustomDbRoleRoles would return them."""
        with self._seeding():
            return list(self._state.custom_roles.get(self._state.project(group_id).id, {}).values())

    def access_list(self, group_id: str) -> list[dict[str, Any]]:
        """The project's IP access list as listGroupAccessListEntries would return it."""
        with self._seeding():
            refresh(self._state, now=self._now())
            group = self._state.project(group_id).id
            return [handlers_network.view(e, group) for e in self._state.access_lists.get(group, {}).values()]

    def add_access_entry(self, *, group_id: str, cidr: str, comment: str = "") -> None:
        """A permanent entry put there by hand (the office network, say)."""
        with self._seeding():
            network = ipaddress.ip_network(cidr, strict=True)
            self._state.access_lists.setdefault(self._state.project(group_id).id, {})[str(network)] = NetworkEntry(
                network=network, comment=comment, created=self._now())

    def expire_database_users(self) -> int:
        """Remove the database users whose deleteAfterDate has passed on the sandbox clock; how many went."""
        with self._seeding():
            return handlers_db.expire(self._state, now=self._now())

    def tokens_issued(self, client_id: str) -> int:
        with self._seeding():
            return self._state.tokens_issued[client_id]

    def live_tokens(self, client_id: str) -> int:
        with self._seeding():
            now = self._now()
            return sum(1 for t in self._state.tokens.values()
                       if t.client_id == client_id and (t.expires_at is None or t.expires_at > now))

    @property
    def calls(self) -> list[RecordedRequest]:
        """Every request received, in order, except the credential-less first half of a Digest handshake."""
        return self._recorder.calls

    @property
    def challenges(self) -> list[RecordedRequest]:
        """The requests without credentials that were answered 401 with a Digest challenge."""
        return self._recorder.challenges

    def count(self, operation_id: str) -> int:
        """How many requests of `operation_id` were answered (any status)."""
        return self._recorder.count(operation_id)

    # --- serving ---------------------------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str],
               body_bytes: bytes, *, scheme: str = "https") -> tuple[int, dict[str, str], bytes]:
        """Answer one request: (status, headers, body bytes). `path` is as sent (percent-encoded)."""
        lowered = {name.lower(): value for name, value in headers.items()}
        raw_path = path.split("?", 1)[0]
        request = Incoming(method=method.upper(), path=raw_path, query=dict(query), headers=lowered,
                           body=body_bytes or b"", base=f"{scheme}://{lowered.get('host', 'cloud.mongodb.com')}")
        route = routing.resolve(request.method, raw_path)
        delay = self.faults.delay()
        if delay > 0:
            time.sleep(delay)  # on the serving thread, outside the lock: concurrent requests wait in parallel
        with self._lock:
            now = self._now()
            answer = serve(self._state, self.faults, route, request, now=now)
        challenge = answer.status == 401 and "authorization" not in lowered and route.kind is RouteKind.API
        self._recorder.add(RecordedRequest(
            method=request.method, path=raw_path, query=dict(query), headers=safe_headers(lowered),
            body=safe_body(parsed_body(request)), operation_id=route.operation_id, status=answer.status),
            at=now, challenge=challenge)
        if answer.payload is None:
            content = b""
        elif isinstance(answer.payload, TextBody):
            content = answer.payload.text.encode()
        else:
            content = json.dumps(answer.payload).encode()
        return answer.status, answer.headers, content
