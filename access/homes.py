"""What one person's App Home shows, read from stored state: their live grants, their pending requests, the
requests they may decide now (owners resolved again, as a click would), and for admins the integrations' health.

A query only: it changes nothing and needs neither Atlas nor a notifier, so the Home's publisher (which the
notifier wakes after every change) can be built before the use cases that change things.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from access import steps
from access.approver_groups import ApproverGroups
from access.config import IntegrationSpec
from access.entities import AccessRequest, Grant, InventoryResource
from access.model import GrantStatus, RequestStatus
from access.ports import Clock, GroupDirectory, Store, UnitOfWork
from access.revocation import LiveGrant, LiveGrants

LIVE_SHOWN = 8  # others' live grants on a Home (the admin list, `/atlas-admin grants`, shows every one)
# Requests waiting for a decision, and their resources by (integration, Atlas id).
Pending = tuple[list[AccessRequest], dict[tuple[str, str], InventoryResource | None]]
LIVE = (GrantStatus.GRANTING, GrantStatus.INVITED, GrantStatus.ACTIVE, GrantStatus.REVOKING, GrantStatus.FAILED)


@dataclass(frozen=True, kw_only=True)
class HomeData:
    """What one person's App Home shows, newest first in each list."""

    user_id: str
    now: datetime
    grants: tuple[Grant, ...]  # my live grants
    pending: tuple[AccessRequest, ...]  # my requests waiting for a decision
    to_decide: tuple[AccessRequest, ...]  # others' requests waiting for my decision
    health: tuple[tuple[str, dict[str, object]], ...] = ()  # (integration, status) for admins only
    # Others' live grants this person may revoke now: every one for an admin (the first of `live_total`),
    # those on resources they own for an owner.
    live: tuple[LiveGrant, ...] = ()
    live_total: int = 0
    admin: bool = False


class HomeQueries:
    def __init__(self, *, store: Store, clock: Clock, directory: GroupDirectory,
                 groups: ApproverGroups | None = None) -> None:
        self._store = store
        self._clock = clock
        self._directory = directory
        self._groups = groups  # the Directory of approver groups (Okta ones too), as a click resolves them

    def home(self, *, user_id: str, admin: bool = False, limit: int = 50) -> HomeData:
        """My live grants, my pending requests, the requests waiting for me, and (admins) integration health.

        What does not depend on the directory is read in one transaction (a Home is rendered after each change
        concerning its person: a holder's Home cost 4.0 ms of CPU in three transactions, 2.8 in one, against 2,000
        live grants on PostgreSQL); the owners are resolved after it, since the directory may ask Slack."""
        live_grants = LiveGrants(store=self._store, directory=self._directory, groups=self._groups)
        with self._store.unit_of_work() as uow:
            grants = uow.grants.for_requester(user_id, statuses=LIVE)
            mine = [r for r in uow.requests.for_requester(user_id, limit=limit) if r.status is RequestStatus.PENDING]
            health = tuple((spec.name, uow.integrations.status(spec.name)) for spec in uow.integrations.list()) \
                if admin else ()
            pending = self._pending(uow, user_id)
            places = None if admin else live_grants.places(uow)
        if admin:
            page = live_grants.page(limit=LIVE_SHOWN)
            live, total = page.items, page.total
        else:
            live = live_grants.owned(user_id=user_id, limit=LIVE_SHOWN + 1, places=places)
            total = len(live)
        return HomeData(user_id=user_id, now=self._clock.now(), grants=tuple(grants[:limit]), pending=tuple(mine),
                        to_decide=self._waiting(user_id, pending, limit=limit), health=health,
                        live=live[:LIVE_SHOWN], live_total=total, admin=admin)

    def to_decide(self, *, user_id: str, limit: int = 50) -> tuple[AccessRequest, ...]:
        """Pending requests `user_id` may decide now (newest first): their approvers resolved again, as a click
        would resolve them, so the Home offers no buttons to someone who left the owners and shows the request
        to someone who joined them."""
        with self._store.unit_of_work() as uow:
            pending = self._pending(uow, user_id)
        return self._waiting(user_id, pending, limit=limit)

    @staticmethod
    def _pending(uow: UnitOfWork, user_id: str) -> Pending:
        """Pending requests someone other than `user_id` asked for and `user_id` has not approved yet, with their
        resources: what `_waiting` narrows down."""
        pending = [r for r in uow.requests.pending(limit=1000) if user_id not in (r.requester_id, r.requested_by)
                   and all(a.user_id != user_id for a in r.approvals)]
        return pending, {(r.integration, r.resource_id): uow.inventory.resource(
            integration=r.integration, atlas_id=r.resource_id, kind=r.resource_kind) for r in pending}

    def _waiting(self, user_id: str, pending: Pending, *, limit: int) -> tuple[AccessRequest, ...]:
        requests, resources = pending
        # Only the integrations of what is pending, from the store's cache of decrypted specs: a Home is rendered
        # after each change concerning its person, and decrypting every integration each time was a tenth of it.
        specs = _specs(self._store, (r.integration for r in requests))
        # The directory may ask Slack: outside the transaction.
        waiting = [r for r in requests if r.integration in specs and user_id in steps.approvers_for(
            r, integration=specs[r.integration], resource=resources[(r.integration, r.resource_id)],
            directory=self._directory, groups=self._groups).user_ids]
        return tuple(sorted(waiting, key=lambda r: r.created_at, reverse=True)[:limit])


def _specs(store: Store, names: Iterable[str]) -> dict[str, IntegrationSpec]:
    """The named integrations that exist, from the store's cache (seconds old at most when another process
    changed one: as a Home's offers go, since each click checks anew)."""
    return {name: spec for name in dict.fromkeys(names) if (spec := store.integration(name)) is not None}
