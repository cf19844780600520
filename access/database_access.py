"""The grant worker's cluster branch: one temporary Atlas database user per grant, with Atlas's own expiry.

Granting: the username is chosen and saved before Atlas is called, so a retry reuses it; each attempt makes
a fresh password; the user is created with `deleteAfterDate` at the grant's expiry, so Atlas removes it even
while no replica of the bot is running. The sign-in (username, password, connection string) is then held in
the CredentialVault, encrypted, for HOLD_FOR, before the grant is saved ACTIVE; the requester gets a DM with a
"Show credentials" button that shows it once (access.reveal), and no password is ever posted in a chat.
If the DM cannot be delivered, the user is deleted again at once: a user nobody can sign in as is no access.
If the sign-in is not shown within HOLD_FOR (or the DM never went: a crash after the grant was saved), the
sweep (`sweep_unrevealed`, at the start of every worker round) ends the grant, which deletes the user, and tells
the requester. A crash before the grant is saved ACTIVE leaves it GRANTING: the retry sets a new password on
the same user and holds that instead.
Revoking (expiry, "I'm done", a grant that kept failing) deletes the user; a 404 means Atlas already did.

A flow with `auth: x509` makes an Atlas-managed X.509 user instead (`$external`, no password), then a certificate
for it (`create_user_certificate`) valid for the grant's length rounded up to whole months (Atlas's granularity,
`certificate_months`): the certificate may outlive the grant, the user does not, as Atlas still deletes it at
`deleteAfterDate` and revocation deletes it from `$external`. The PEM file (certificate and private key) is held
and shown exactly as a password is. A crash between the user and its certificate leaves the grant GRANTING with
its username saved: the retry updates the same user and makes a new certificate; a grant that never gets that far
is revoked as any failed one, which deletes the user.

The bookkeeping (save, finish with an audit row, failure back-off) is the worker's, shared through
`access.grant_records.GrantRecords`: the state machine and its guarantees are the same; only the Atlas side differs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TypedDict

from access import lifecycle
from access.database_roles import (
    AUTH_DATABASE,
    MAX_LIFETIME,
    X509,
    DatabaseRole,
    certificate_months,
    custom_role_name,
    new_password,
    parse_database_role,
    temporary_username,
)
from access.entities import Grant
from access.errors import GatewayRefused
from access.grant_records import GrantRecords
from access.model import GrantStatus, HeldCredentials, utc_iso
from access.ports import AtlasGateway, Clock, CredentialVault, Notifier, Store

log = logging.getLogger(__name__)
G = GrantStatus
# Atlas checks "within 7 days" against its own clock: a request for the full 7 days keeps a minute in hand.
CLOCK_MARGIN = timedelta(minutes=1)
HOLD_FOR = timedelta(minutes=10)  # how long a sign-in waits to be shown before its user is deleted


def expiry(now: datetime, duration_seconds: int) -> datetime:
    """When the grant ends and Atlas deletes the user: whole seconds (as sent), never past Atlas's limit."""
    wanted = now + timedelta(seconds=duration_seconds)
    return min(wanted, now + MAX_LIFETIME - CLOCK_MARGIN).replace(microsecond=0)


class DatabaseUserSteps:
    """access.grant_records.GrantSteps for clusters."""

    def __init__(self, *, store: Store, gateways: Callable[[str], AtlasGateway], notifier: Notifier, clock: Clock,
                 records: GrantRecords, vault: CredentialVault) -> None:
        self._store = store
        self._vault = vault
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
        if grant.ends_at is not None:  # an item of a request of several resources ends with the others
            until = min(until, grant.ends_at.replace(microsecond=0))
        x509 = grant.database_auth == X509
        password = None if x509 else new_password()
        gateway = self._gateways(grant.integration)
        username = grant.database_user or ""
        try:
            grant = self._network_baseline(grant, gateway)
        except Exception as error:  # nothing was changed in Atlas: the next attempt looks again
            self._records.grant_failed(grant, error)
            return
        try:
            self._open_network(grant, gateway, until)
            address = gateway.cluster_address(cluster=grant.resource)
            roles = [parse_database_role(role) for role in grant.roles]
            _check_custom_roles(gateway, grant, roles)
            for index, role in enumerate(roles):  # collection-level roles: a custom role each, before the user
                if role.collection is not None:
                    gateway.create_custom_role(cluster=grant.resource, name=custom_role_name(username, index),
                                               role=role)
            gateway.create_database_user(
                cluster=grant.resource, username=username, password=password, roles=_as_user_roles(roles, username),
                delete_after=until, description=f"atlas-access request #{grant.request_id} for {grant.username}"[:100],
            )
            certificate = gateway.create_user_certificate(
                cluster=grant.resource, username=username, months=certificate_months(now, until)) if x509 else None
            self._vault.hold(HeldCredentials(
                grant_id=grant.id or 0, requester_id=grant.requester_id, username=username, password=password,
                certificate=certificate, connection_string=connection_string(address, username, x509=x509),
                expires_at=min(now + HOLD_FOR, until)))
        except Exception as error:
            self._records.grant_failed(grant, error)
            return
        active = lifecycle.move_grant(
            grant, G.ACTIVE, now, granted_at=now, starts_at=now, expires_at=until, added_roles=grant.roles,
            added_user=True, next_attempt_at=None, attempts=0, last_error=None, lease_owner=None, lease_until=None,
        )
        self._records.finish(active, "granted", notify=False, database_user=active.database_user,
                             delete_after=utc_iso(until), roles=list(active.roles), **_auth_detail(active),
                             **_network_detail(active, active.network_added or None), **_roles_detail(active))
        self._deliver(active)

    # --- the network path ------------------------------------------------------------------------------

    def _network_baseline(self, grant: Grant, gateway: AtlasGateway) -> Grant:
        """Whether the grant's CIDR block is the grant's to add and remove, decided at the first look and saved
        before anything is added (a retry keeps to it): an entry already there that no live grant of the bot put
        there is someone's own (the office network, say) and is left alone, now and at revocation; one another
        live grant put there is shared."""
        if not grant.network_entry or grant.network_added is not None:
            return grant
        found = gateway.access_list_entry(cluster=grant.resource, cidr=grant.network_entry)
        added = found is None or bool(self._needing(grant))
        return self._records.save(replace(grant, network_added=added, updated_at=self._clock.now()))

    def _open_network(self, grant: Grant, gateway: AtlasGateway, until: datetime) -> None:
        """Put the grant's CIDR block on the project's IP access list until `until` (Atlas deletes it then), or,
        shared, until the latest expiry of the grants needing it. The comment names the request."""
        if not grant.network_entry or not grant.network_added:
            return
        needing = self._needing(grant)
        latest = max([until, *(g.expires_at for g in needing if g.expires_at is not None)])
        gateway.put_access_list_entry(cluster=grant.resource, cidr=grant.network_entry, delete_after=latest,
                                      comment=f"atlas-access request #{grant.request_id} ({grant.username})"[:80])

    def _close_network(self, grant: Grant, gateway: AtlasGateway) -> bool | None:
        """Take the grant's entry off the access list unless it was there before or another live grant needs it
        (then its date is moved to the latest expiry they need). True/False: deleted (False if already gone);
        None: left in place."""
        if not grant.network_entry or not grant.network_added:
            return None
        needing = self._needing(grant)
        if needing:
            dates = [g.expires_at for g in needing if g.expires_at is not None]
            if dates:
                gateway.put_access_list_entry(cluster=grant.resource, cidr=grant.network_entry,
                                              delete_after=max(dates), comment=f"atlas-access request "
                                              f"#{needing[-1].request_id} ({needing[-1].username})"[:80])
            return None
        return not gateway.delete_access_list_entry(cluster=grant.resource, cidr=grant.network_entry)

    def _needing(self, grant: Grant) -> list[Grant]:
        """The other grants, granting or active and not yet expired, that put the same entry on the same project."""
        now = self._clock.now()
        with self._store.unit_of_work() as uow:
            found = uow.grants.live_with_network(group_id=grant.resource_id.split("/", 1)[0],
                                                 cidr=grant.network_entry or "")
        return [g for g in found if g.id != grant.id and g.status in (G.GRANTING, G.ACTIVE)
                and (g.expires_at is None or g.expires_at > now)]

    def _attempt(self, grant: Grant) -> Grant:
        """Count the attempt, naming the database user on the first one (saved before Atlas hears of it)."""
        username = grant.database_user or temporary_username(email=grant.username, grant_id=grant.id or 0)
        return self._records.save(replace(grant, database_user=username, attempts=grant.attempts + 1,
                                          updated_at=self._clock.now()))

    def _deliver(self, grant: Grant) -> None:
        with self._store.unit_of_work() as uow:
            request = uow.requests.get(grant.request_id)
            spec = uow.integrations.get(grant.integration)
            current = uow.grants.get(grant.id or 0)
        delivered = False
        if request is not None and spec is not None and current is not None:
            try:
                delivered = self._notifier.offer_database_credentials(
                    request=request, grant=current, integration=spec,
                    until=min(self._clock.now() + HOLD_FOR, current.expires_at or self._clock.now()))
            except Exception as error:  # the type only: the message could quote what was being sent
                log.warning("delivering grant %s's credentials failed: %s", grant.id, type(error).__name__)
        if not delivered and current is not None:
            log.warning("grant %s: the credentials could not be offered; deleting its database user", grant.id)
            self._records.finish(lifecycle.end_early(current, now=self._clock.now()), "credentials_undelivered",
                                 notify=False, database_user=current.database_user)
            with self._store.unit_of_work() as uow:
                ending = uow.grants.get(grant.id or 0)
            if ending is not None:
                self.revoke(ending, reason="credentials_undelivered")

    def sweep_unrevealed(self) -> int:
        """End the grants whose sign-in was held past HOLD_FOR without being shown (their requester is told); the
        worker then deletes their users. Returns how many grants were ended."""
        ended = 0
        for grant_id in self._vault.overdue(now=self._clock.now()):
            with self._store.unit_of_work() as uow:
                grant = uow.grants.get(grant_id)
            if grant is not None and grant.status is G.ACTIVE:
                self._records.finish(lifecycle.end_early(grant, now=self._clock.now()), "credentials_unrevealed",
                                     database_user=grant.database_user)
                ended += 1
            # A grant still granting holds anew when its retry lands; one already ending needs nothing more.
            self._vault.drop(grant_id)
        return ended

    # --- revoking -------------------------------------------------------------------------------------

    def revoke(self, grant: Grant, *, reason: str) -> None:
        if grant.status is G.ACTIVE:
            now = self._clock.now()
            grant = self._records.save(lifecycle.start_revocation(grant, now))
        self._vault.drop(grant.id or 0)  # nobody is shown the sign-in of a user being deleted
        already_gone, network = True, None
        gateway = self._gateways(grant.integration)
        try:
            if grant.database_user:
                already_gone = gateway.delete_database_user(cluster=grant.resource, username=grant.database_user,
                                                            x509=grant.database_auth == X509)
                for name in _custom_role_names(grant):  # after the user: nothing is left holding them
                    gateway.delete_custom_role(cluster=grant.resource, name=name)
            network = self._close_network(grant, gateway)
        except Exception as error:
            self._records.revoke_failed(grant, error)
            return
        now = self._clock.now()
        done = lifecycle.move_grant(grant, G.REVOKED, now, revoked_at=now, lease_owner=None, lease_until=None,
                                    next_attempt_at=None, last_error=None)
        why = lifecycle.revocation_reason(grant, reason)
        self._records.finish(done, "revoked", **why, database_user=grant.database_user,
                             removed=[] if already_gone else list(grant.roles), removed_user=not already_gone,
                             already_gone=already_gone, **_network_detail(grant, network))


def _check_custom_roles(gateway: AtlasGateway, grant: Grant, roles: list[DatabaseRole]) -> None:
    """Existing custom roles a flow names (`role:<name>`) must exist in the project: GatewayRefused otherwise, which
    fails the attempt with words for people (Atlas would refuse the user with less clear ones)."""
    wanted = {role.role_name for role in roles if role.custom}
    if not wanted:
        return
    missing = sorted(wanted - gateway.custom_role_names(cluster=grant.resource))
    if missing:
        raise GatewayRefused(f"the project has no custom database role named {', '.join(missing)}", status=400)


def _as_user_roles(roles: list[DatabaseRole], username: str) -> list[DatabaseRole]:
    """The user's roles: a collection-level one is its temporary custom role (filed under admin)."""
    return [DatabaseRole(role_name=custom_role_name(username, i), database_name=AUTH_DATABASE)
            if role.collection is not None else role for i, role in enumerate(roles)]


def _custom_role_names(grant: Grant) -> list[str]:
    """The temporary custom roles the grant makes (whether or not an attempt got that far)."""
    names = []
    for index, text in enumerate(grant.roles):
        try:
            role = parse_database_role(text)
        except ValueError:
            continue
        if role.collection is not None and grant.database_user:
            names.append(custom_role_name(grant.database_user, index))
    return names


class RolesDetail(TypedDict, total=False):
    custom_roles: list[str]


def _roles_detail(grant: Grant) -> RolesDetail:
    """The audit detail of the temporary custom roles a grant made, if any."""
    names = _custom_role_names(grant)
    return {"custom_roles": names} if names else {}


class NetworkDetail(TypedDict, total=False):
    network_entry: str
    network_changed: bool


def _network_detail(grant: Grant, changed: bool | None) -> NetworkDetail:
    """The audit detail of the grant's access list entry: which, and whether this step added or removed it."""
    if not grant.network_entry:
        return {}
    return {"network_entry": grant.network_entry, "network_changed": bool(changed)}


class AuthDetail(TypedDict, total=False):
    auth: str


def _auth_detail(grant: Grant) -> AuthDetail:
    """The audit detail of how the user signs in, for an X.509 one (never its certificate)."""
    return {"auth": X509} if grant.database_auth == X509 else {}


def connection_string(address: str | None, username: str, *, x509: bool = False) -> str | None:
    """`mongodb+srv://<user>@<host>/?authSource=admin` (the password is asked for by the client), or for an X.509
    user `mongodb+srv://<host>/?authMechanism=MONGODB-X509&authSource=%24external` (the user is the certificate's
    subject; the client is given the PEM file); None without an address."""
    if not address or not address.startswith("mongodb+srv://"):
        return None
    host = address.removeprefix("mongodb+srv://").rstrip("/")
    if x509:
        return f"mongodb+srv://{host}/?authMechanism=MONGODB-X509&authSource=%24external"
    return f"mongodb+srv://{username}@{host}/?authSource=admin"
