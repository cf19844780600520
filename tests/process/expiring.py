"""Many ACTIVE grants that fall due over a stretch of seconds, seeded straight into Atlas, Slack and the database.

Shared by the replica tests and `bench/revocation.py`. Person i is `p{i}@example.com` (Slack `UP{i}`) and holds
GROUP_READ_ONLY on the project through a grant; every other person also holds GROUP_DATA_ACCESS_READ_ONLY of
their own (the baseline), so revocations take both paths: remove a role, or remove the person from the project.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from access.entities import AccessRequest, Grant
from access.model import GrantStatus, RequestStatus, ResourceKind
from atlas.sandbox import Sandbox
from bot.slack_sim import FakeSlackWebAPI
from storage.store import SqlStore

READ = "GROUP_READ_ONLY"
DATA_READ = "GROUP_DATA_ACCESS_READ_ONLY"
REMOVALS = ("removeGroupUserRole", "removeGroupUser", "removeOrgUser")
Person = tuple[str, str, str, tuple[str, ...]]  # Slack id, username, Atlas user id, baseline roles


@dataclass(frozen=True, kw_only=True)
class Seeded:
    grant_id: int
    username: str
    atlas_user_id: str
    expires_at: datetime
    baseline: tuple[str, ...]


def seed_people(*, sandbox: Sandbox, sim: FakeSlackWebAPI, org_id: str, group_id: str, count: int,
                offset: int = 0) -> list[Person]:
    """(Slack id, username, Atlas user id, baseline) for `count` people holding READ (and maybe more) in Atlas."""
    people: list[Person] = []
    for i in range(offset, offset + count):
        username, slack_id = f"p{i}@example.com", f"UP{i}"
        baseline: tuple[str, ...] = (DATA_READ,) if i % 2 else ()
        user_id = sandbox.add_user(org_id=org_id, username=username, org_roles=["ORG_MEMBER"],
                                   project_roles={group_id: [READ, *baseline]})
        sim.add_user(slack_id, name=f"p{i}", email=username)
        people.append((slack_id, username, user_id, baseline))
    return people


def seed_grants(*, store: SqlStore, org_id: str, group_id: str, people: list[Person],
                expiries: Iterable[datetime], approver: str = "U2") -> list[Seeded]:
    """One approved request and its ACTIVE grant of READ per person, expiring at the given moments."""
    seeded = []
    with store.unit_of_work() as uow:
        for (slack_id, username, user_id, baseline), expires_at in zip(people, expiries, strict=True):
            started = expires_at - timedelta(hours=1)
            request = uow.requests.add(AccessRequest(
                requester_id=slack_id, requester_email=username, integration="prod", flow="prod-projects",
                resource_kind=ResourceKind.PROJECT, organization_id=org_id, resource_id=group_id,
                resource_name="payments", roles=(READ,), duration_seconds=3600, justification="load",
                status=RequestStatus.APPROVED, approvers=(approver,), decided_by=approver, decided_at=started,
                created_at=started, updated_at=started))
            grant = uow.grants.add(Grant(
                request_id=request.id or 0, integration="prod", resource_kind=ResourceKind.PROJECT,
                organization_id=org_id, resource_id=group_id, resource_name="payments", username=username,
                requester_id=slack_id, roles=(READ,), duration_seconds=3600, atlas_user_id=user_id,
                baseline_roles=baseline, added_roles=(READ,), added_user=not baseline, status=GrantStatus.ACTIVE,
                granted_at=started, starts_at=started, expires_at=expires_at, created_at=started,
                updated_at=started))
            seeded.append(Seeded(grant_id=grant.id or 0, username=username, atlas_user_id=user_id,
                                 expires_at=expires_at, baseline=baseline))
    return seeded


def evenly(start: datetime, over: timedelta, count: int) -> list[datetime]:
    """`count` moments spread evenly from `start` over `over`."""
    step = over / max(1, count - 1) if count > 1 else timedelta(0)
    return [start + step * i for i in range(count)]


def removals_by_user(sandbox: Sandbox, *, injected: frozenset[int] = frozenset({429, 503})) -> Counter[str]:
    """Removal calls Atlas received per Atlas user id, the ones refused by an injected fault left out."""
    counts: Counter[str] = Counter()
    for call in sandbox.calls:
        if call.operation_id in REMOVALS and call.status not in injected:
            counts[call.path.rstrip("/").split("/")[-1].split(":")[0]] += 1
    return counts
