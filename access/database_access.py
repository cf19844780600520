"""The grant worker's cluster branch: one temporary Atlas database user per grant, with Atlas's own expiry.

Granting: the username is chosen and saved before Atlas is called, so a retry reuses it; each attempt makes
a fresh password that is never stored; the user is created with `deleteAfterDate` at the grant's expiry, so
Atlas removes it even while no replica of the bot is running. Once the grant is saved ACTIVE the password
goes to the requester once, by DM. If the DM cannot be delivered, the user is deleted again at once: a user
nobody can sign in as is no access, and its password must not turn up anywhere later.
Revoking (expiry, "I'm done", a grant that kept failing) deletes the user; a 404 means Atlas already did.

The bookkeeping (save, finish with an audit row, failure back-off) is the worker's, shared through
`access.grant_records.GrantRecords`: the state machine and its guarantees are the same; only the Atlas side differs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from access import lifecycle
from access.database_roles import MAX_LIFETIME, new_password, parse_database_role, temporary_username
from access.entities import Grant
from access.grant_records import GrantRecords
from access.model import GrantStatus, utc_iso
from access.ports import AtlasGateway, Clock, Notifier, Store

log = logging.getLogger(__name__)
G = GrantStatus
# Atlas checks "within 7 days" against its own clock: a request for the full 7 days keeps a minute in hand.
CLOCK_MARGIN = timedelta(minutes=1)


def expiry(now: datetime, duration_seconds: int) -> datetime:
    """When the grant ends and Atlas deletes the user: whole seconds (as sent), never past Atlas's limit."""
    wanted = now + timedelta(seconds=duration_seconds)
    return min(wanted, now + MAX_LIFETIME - CLOCK_MARGIN).replace(microsecond=0)


class DatabaseUserSteps:
    """access.grant_records.GrantSteps for clusters."""

    def __init__(self, *, store: Store, gateways: Callable[[str], AtlasGateway], notifier: Notifier, clock: Clock,
                 records: GrantRecords) -> None:
        self._store = store
        self._gateways = gateways
        self._notifier = notifier
        self._clock = clock
        self._records = records

    def work(self, grant: Grant) -> None:
        if grant.status is G.GRANTING:
            self.grant(grant)
        else:
            self.revoke(grant, reason="expired")

    # --- granting -------------------------------------------------------------------------------------

    def grant(self, grant: Grant) -> None:
        grant = self._attempt(grant)
        now = self._clock.now()
        until = expiry(now, grant.duration_seconds)
        password = new_password()
        try:
            self._gateways(grant.integration).create_database_user(
                cluster=grant.resource, username=grant.database_user or "", password=password,
                roles=[parse_database_role(role) for role in grant.roles], delete_after=until,
                description=f"atlas-access request #{grant.request_id} for {grant.username}"[:100],
            )
        except Exception as error:
            self._records.grant_failed(grant, error)
            return
        active = lifecycle.move_grant(
            grant, G.ACTIVE, now, granted_at=now, starts_at=now, expires_at=until, added_roles=grant.roles,
            added_user=True, next_attempt_at=None, attempts=0, last_error=None, lease_owner=None, lease_until=None,
        )
        self._records.finish(active, "granted", notify=False, database_user=active.database_user,
                             delete_after=utc_iso(until), roles=list(active.roles))
        self._deliver(active, password)

    def _attempt(self, grant: Grant) -> Grant:
        """Count the attempt, naming the database user on the first one (saved before Atlas hears of it)."""
        username = grant.database_user or temporary_username(email=grant.username, grant_id=grant.id or 0)
        return self._records.save(replace(grant, database_user=username, attempts=grant.attempts + 1,
                                          updated_at=self._clock.now()))

    def _deliver(self, grant: Grant, password: str) -> None:
        with self._store.unit_of_work() as uow:
            request = uow.requests.get(grant.request_id)
            spec = uow.integrations.get(grant.integration)
            current = uow.grants.get(grant.id or 0)
        delivered = False
        if request is not None and spec is not None and current is not None:
            try:
                delivered = self._notifier.deliver_database_credentials(
                    request=request, grant=current, password=password, integration=spec)
            except Exception as error:  # the type only: the message could quote what was being sent
                log.warning("delivering grant %s's credentials failed: %s", grant.id, type(error).__name__)
        if not delivered and current is not None:
            log.warning("grant %s: the password could not be delivered; deleting its database user", grant.id)
            self._records.finish(lifecycle.end_early(current, now=self._clock.now()), "credentials_undelivered",
                                 notify=False, database_user=current.database_user)
            with self._store.unit_of_work() as uow:
                ending = uow.grants.get(grant.id or 0)
            if ending is not None:
                self.revoke(ending, reason="credentials_undelivered")

    # --- revoking -------------------------------------------------------------------------------------

    def revoke(self, grant: Grant, *, reason: str) -> None:
        if grant.status is G.ACTIVE:
            now = self._clock.now()
            grant = self._records.save(lifecycle.move_grant(grant, G.REVOKING, now, next_attempt_at=now))
        already_gone = True
        if grant.database_user:
            try:
                already_gone = self._gateways(grant.integration).delete_database_user(
                    cluster=grant.resource, username=grant.database_user)
            except Exception as error:
                self._records.revoke_failed(grant, error)
                return
        now = self._clock.now()
        done = lifecycle.move_grant(grant, G.REVOKED, now, revoked_at=now, lease_owner=None, lease_until=None,
                                    next_attempt_at=None, last_error=None)
        why = lifecycle.revocation_reason(grant, reason)
        self._records.finish(done, "revoked", **why, database_user=grant.database_user,
                             removed=[] if already_gone else list(grant.roles), removed_user=not already_gone,
                             already_gone=already_gone)
