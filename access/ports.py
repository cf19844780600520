"""The Protocols the domain needs from the outside: Atlas, a clock, Slack directory and notifications, storage.

Adapters raise the domain's words at these ports, never their own exceptions (see access.errors): Atlas's
failures as GatewayError, a database that is away as StoreUnavailable.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from access.config import AccessFlowSpec, CredentialSpec, IntegrationSpec, IssuedCredential
from access.connections import OktaConnection, PagerDutyConnection
from access.database_roles import DatabaseRole
from access.entities import AccessRequest, AuditEvent, Grant, InventoryResource, InventoryUser, SyncChanges
from access.model import (
    AccessListEntry,
    CredentialCheckResult,
    DiscoveryType,
    GrantFigures,
    GrantResult,
    GrantStatus,
    HeldCredentials,
    Inventory,
    OnCallCheckResult,
    OnCallShift,
    Parcel,
    ResourceKind,
    ResourceRef,
    RevokeResult,
    UserAccess,
)


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


# Discovery progress: (what was just counted, running totals of organizations, projects, clusters and users).
# Called from discovery's worker threads; it must be quick and thread-safe.
Progress = Callable[[str, dict[str, int]], None]
# Hears what the person holds on the resource, from the look-up a grant makes anyway, before the grant changes
# anything in Atlas (the worker records the baseline there: no look-up of its own). What it raises stops the grant.
BeforeChange = Callable[[UserAccess], None]


class AtlasGateway(Protocol):
    """Atlas as the domain sees it: one organization's resources and who may use them.

    Every method raises GatewayError when Atlas fails (GatewayUnauthorized, GatewayUnreachable,
    GatewayRateLimited, GatewayRefused), with a text that is safe to show, log and store.
    """

    def discover(
        self, *, organization_id: str, types: Sequence[DiscoveryType], progress: Progress | None = None
    ) -> Inventory: ...

    def user_access(self, *, resource: ResourceRef, username: str) -> UserAccess: ...

    def grant(self, *, resource: ResourceRef, username: str, roles: Sequence[str],
              before_change: BeforeChange | None = None) -> GrantResult:
        """Give `username` the `roles` on `resource`, adding only the missing ones.

        A user who is not an ACTIVE member of the organization is invited (status PENDING). `before_change`, if
        given, is called once with what the person held (as `user_access` says it) before any change is asked.
        """
        ...

    def revoke(
        self, *, resource: ResourceRef, username: str, roles: Sequence[str], remove_user: bool,
        user_id: str | None = None,
    ) -> RevokeResult:
        """Take `roles` away from `username` on `resource`; idempotent (a 404 means done). `user_id`, the
        Atlas id the grant recorded, lets a plain role removal skip the look-up, and so a project user's removal
        (`remove_user`); pass it with `remove_user` only for a person who was an active member when granted
        (no invitation to withdraw). What the id path cannot do (Atlas refuses it) goes through the look-up.

        With `remove_user` (the grant added the user and nothing else keeps them) the user is removed
        from the resource, which also withdraws a pending invitation. A role removal that would leave
        the user with no role removes the user instead, as Atlas requires at least one.
        """
        ...

    def create_database_user(
        self, *, cluster: ResourceRef, username: str, password: str | None, roles: Sequence[DatabaseRole],
        delete_after: datetime, description: str,
    ) -> None:
        """Create a temporary database user scoped to `cluster`, which Atlas deletes itself at `delete_after`:
        a SCRAM user on admin with `password`, or, with password None, an Atlas-managed X.509 user on $external
        (its certificate from `create_user_certificate`).

        Idempotent for a retry: a user of that name already there (made by an attempt whose answer was
        lost) is updated to this password, roles, scope and date. The password appears in no error or log.
        """
        ...

    def create_user_certificate(self, *, cluster: ResourceRef, username: str, months: int) -> str:
        """A new certificate for the Atlas-managed X.509 user, valid `months` (1 to 24): the PEM file with the
        certificate and its private key. Atlas gives it once; it appears in no error or log."""
        ...

    def extend_database_user(
        self, *, cluster: ResourceRef, username: str, roles: Sequence[DatabaseRole], delete_after: datetime,
        x509: bool = False,
    ) -> None:
        """Move the user's deletion to `delete_after` (an extended grant; at most 7 days from now)."""
        ...

    def delete_database_user(self, *, cluster: ResourceRef, username: str, x509: bool = False) -> bool:
        """Delete the temporary database user (an X.509 one from $external); True if it was already gone (Atlas
        deleted it at its date)."""
        ...

    def create_custom_role(self, *, cluster: ResourceRef, name: str, role: DatabaseRole) -> None:
        """A temporary custom database role in the cluster's project holding exactly the actions of the
        collection-level `role` (access.database_roles.COLLECTION_ACTIONS) on its namespace; one of that name
        already there (an attempt whose answer was lost) counts as made."""
        ...

    def custom_role_names(self, *, cluster: ResourceRef) -> frozenset[str]:
        """The names of the custom database roles the cluster's project has."""
        ...

    def delete_custom_role(self, *, cluster: ResourceRef, name: str) -> bool:
        """Delete the custom role; True if it was already gone."""
        ...

    def access_list_entry(self, *, cluster: ResourceRef, cidr: str) -> AccessListEntry | None:
        """The entry `cidr` of the cluster's project's IP access list, or None when it is not there."""
        ...

    def put_access_list_entry(self, *, cluster: ResourceRef, cidr: str, delete_after: datetime, comment: str) -> None:
        """Add `cidr` to the cluster's project's IP access list until `delete_after` (Atlas deletes it then, within
        7 days); an entry already there is updated to this date and comment."""
        ...

    def delete_access_list_entry(self, *, cluster: ResourceRef, cidr: str) -> bool:
        """Take `cidr` off the project's IP access list; True if it was already gone."""
        ...

    def cluster_address(self, *, cluster: ResourceRef) -> str | None:
        """The cluster's `mongodb+srv://` address (no user in it), for a connection string; None if Atlas has no
        such cluster or gives none yet."""
        ...


class CredentialCheck(Protocol):
    """Atlas asked whether a credential works and which organizations it belongs to ("Test connection"), for
    stored credentials (environment variable names are read here) and for ones typed but not saved yet."""

    def check_credentials(self, *, organization_id: str, credentials: CredentialSpec) -> CredentialCheckResult:
        """A credential that works, whether it belongs to `organization_id` or not (see CredentialCheckResult).

        Quick, since someone is looking at the answer: few retries, short timeouts. Raises GatewayError when
        Atlas refuses the credential or does not answer, CredentialsMissing when it names an environment
        variable that is not set.
        """
        ...


class GroupDirectory(Protocol):
    """Slack's users and user groups, as far as approver resolution needs them."""

    def group_members(self, handle_or_id: str) -> frozenset[str] | None:
        """The Slack user ids in a user group named by handle (`payments-oncall`) or id (`S…`); None if unknown."""
        ...

    def user_id_for_email(self, email: str) -> str | None: ...

    def email_for_user(self, user_id: str) -> str | None: ...

    def user_ids_for_emails(self, emails: Collection[str]) -> dict[str, str]:
        """The Slack user ids of those `emails` Slack knows (keys lower-case); the others are left out. Meant for
        many at once (an identity provider group's members), matched without regard to case."""
        ...


class OnCall(Protocol):
    """An on-call provider (PagerDuty today; Opsgenie and others would be one adapter each): who is on call now.

    Raises GatewayError when the provider cannot say (no answer, a refused key, a schedule it does not know, a
    rate limit): the caller then treats nobody as on call. Answers may be up to a minute old (a cache).
    """

    def shifts(self, *, integration: IntegrationSpec, schedules: Sequence[str]) -> tuple[OnCallShift, ...]:
        """Everyone on call now in `schedules`, with the provider's email address for each."""
        ...


class OnCallCheck(Protocol):
    """"Test connection" of an on-call provider with a connection as stored or as typed: the key, each schedule."""

    def check_on_call(self, *, connection: PagerDutyConnection, schedules: Sequence[str]) -> OnCallCheckResult:
        """Raises GatewayError when the key is refused or the provider does not answer; CredentialsMissing when
        the connection names an environment variable that is not set."""
        ...


class GroupSource(Protocol):
    """An identity provider's groups (Okta today; Entra ID and others would be one adapter each), as the members'
    email addresses, which the Directory matches to Slack users (see access.approver_groups)."""

    def member_emails(self, *, connection: OktaConnection, group: str) -> frozenset[str] | None:
        """The members' emails of the group named `group` (its exact name); None when there is no such group.
        Raises GatewayError when the provider cannot say. Answers may be cached for a short while."""
        ...

    def check_groups(self, *, connection: OktaConnection, groups: Sequence[str]) -> dict[str, int | None]:
        """"Test connection": each group's member count (None: no such group); raises GatewayError when the
        credentials are refused or the provider does not answer."""
        ...


# --- persistence -------------------------------------------------------------------------------------------
# Repositories take the unit of work's session and never commit; the unit of work commits once.



class StaleWrite(Exception):  # noqa: N818 - a domain outcome, not a bug
    """A compare-and-set found the row changed (or gone) since it was read."""


class Duplicate(Exception):  # noqa: N818 - a domain outcome, not a bug
    """An add found a row already holding one of its unique keys (see access.once_only); nothing was added."""


class MissingSecret(ValueError):  # noqa: N818 - a refusal of the input, named as before
    """IntegrationRepository.upsert(keep_secrets=True) was asked to keep a stored secret that does not exist (or
    belongs to another credential type): the secret has to be given."""


class RequestRepository(Protocol):
    def add(self, request: AccessRequest) -> AccessRequest:
        """Store a new request; it comes back with its id and version 1.

        Raises Duplicate when another request holds its `submission_key` or `pending_key` (the unit of work is
        then spoilt: leave it and read in a new one).
        """
        ...

    def get(self, request_id: int) -> AccessRequest | None: ...

    def get_many(self, request_ids: Collection[int]) -> dict[int, AccessRequest]:
        """The requests of these ids that exist, by id, in one read (the grant worker's claim reads those of all the
        grants it claims at once, rather than one read a grant as each finishes)."""
        ...

    def save(self, request: AccessRequest) -> AccessRequest:
        """Write `request` if the stored version equals `request.version`; return it with version+1.

        Raises StaleWrite otherwise.
        """
        ...

    def for_requester(self, requester_id: str, *, limit: int = 50) -> list[AccessRequest]: ...  # newest first

    def pending(self, *, limit: int = 1000) -> list[AccessRequest]: ...

    def pending_for(self, requester_id: str, *, limit: int = 1000) -> list[AccessRequest]: ...  # oldest first

    def hold_requester(self, requester_id: str) -> None:
        """Until this unit of work ends, make any other unit of work that holds the same person wait here.

        Counting one person's pending requests and adding one is then one step across replicas: two requests
        arriving at once on two replicas cannot both see room under the cap (`access.once_only.check_cap`).
        """
        ...

    def by_submission_key(self, key: str) -> AccessRequest | None: ...

    def in_group(self, group_id: str) -> list[AccessRequest]:
        """The items of a request of several resources (access.several), by id."""
        ...


class GrantRepository(Protocol):
    def add(self, grant: Grant) -> Grant: ...

    def get(self, grant_id: int) -> Grant | None: ...

    def for_request(self, request_id: int) -> Grant | None: ...

    def save(self, grant: Grant, *, since: Grant | None = None) -> Grant:
        """Compare-and-set on version, as RequestRepository.save. `since`: the grant as stored at that version;
        only what differs from it is written (the rest is as stored: the version says nothing changed it)."""
        ...

    def save_many(self, changes: Sequence[tuple[Grant, Grant | None]]) -> list[Grant]:
        """`save(grant, since=stored)` of each (grant, stored) pair, in as few statements as their changed columns
        allow; the saved grants in order. StaleWrite if any one's version moved (leave the unit of work then: the
        others may be written)."""
        ...

    def live_for(self, *, username: str, resource_id: str) -> list[Grant]:
        """Grants of `username` on `resource_id` in GRANTING, INVITED, ACTIVE, REVOKING or FAILED."""
        ...

    def live_for_each(self, keys: list[tuple[str, str]], *, excluding: Collection[int] = ()) -> list[Grant]:
        """`live_for` of each (username, resource_id) in `keys`, in one read, but for the grants `excluding` names;
        by id."""
        ...

    def for_requester(self, requester_id: str, *, statuses: tuple[GrantStatus, ...]) -> list[Grant]: ...

    def live_with_network(self, *, group_id: str, cidr: str) -> list[Grant]:
        """Live grants (as `live_for`) of anyone on a cluster of project `group_id` that put `cidr` on its IP access
        list (network_added), by id: the entry stays while one of them needs it."""
        ...

    def live_resources(self) -> list[tuple[str, str, ResourceKind]]:
        """The distinct (integration, resource id, kind) that live grants are on, in that order."""
        ...

    def live(self, *, integration: str | None = None, resource: str = "", person: str | None = None,
             offset: int = 0, limit: int = 20) -> tuple[list[Grant], int]:
        """Grants in GRANTING, INVITED, ACTIVE, REVOKING or FAILED matching every filter given (`integration`
        exactly, `resource` within the resource name in any case, `person` the holder's Slack id or Atlas
        username in any case), oldest first: the page from `offset`, and how many match in all."""
        ...

    def claim_due_starting_revocations(self, *, now: datetime, owner: str, lease_seconds: float,
                                       limit: int) -> tuple[list[Grant], frozenset[int]]:
        """Lease up to `limit` grants whose work is due (the lease set, the version bumped), and in the same write
        move each claimed ACTIVE grant on an organization or a project (expired: that is why it is due) to REVOKING
        as `lifecycle.start_revocation` moves it: the grants as written, oldest due first, and the ids of those this
        claim moved. (A grant on a cluster is revoked its own way, from ACTIVE.)

        Due: ACTIVE with expires_at <= now; INVITED with next_attempt_at <= now (poll the invitation, or
        withdraw it once expires_at passed); GRANTING/REVOKING/FAILED with next_attempt_at <= now. Never a
        row whose lease (lease_until > now) is still live. PostgreSQL: SELECT ... FOR UPDATE SKIP
        LOCKED; SQLite: inside a BEGIN IMMEDIATE transaction. A live lease is respected whoever holds it, this
        owner included (threads of one process share an owner id).
        """
        ...

    def next_due_at(self) -> datetime | None:
        """The earliest moment a claim would return something (a live lease postpones its row); None: nothing is
        scheduled."""
        ...

    def expiring(self, *, before: datetime, limit: int) -> list[Grant]:
        """ACTIVE grants expiring at or before `before` whose expiry reminder is not sent yet; soonest first."""
        ...

    def count_by_status(self) -> dict[GrantStatus, int]: ...

    def figures(self, *, now: datetime, grace: timedelta) -> GrantFigures:
        """Counts by status, and the grants whose revocation is owed (REVOCATION_OWED) with an expiry at or
        before `now - grace`: how many, and how long ago the oldest of them expired (0 when none)."""
        ...


class AuditLog(Protocol):
    def add(self, event: AuditEvent) -> None: ...

    def add_many(self, events: Sequence[AuditEvent]) -> None:
        """`add` of each, in order, in one statement (the grant worker writes the steps of several grants at once)."""
        ...

    def query(
        self, *, since: datetime | None = None, integration: str | None = None, limit: int | None = None
    ) -> Iterator[AuditEvent]: ...  # oldest first


class IntegrationRepository(Protocol):
    def get(self, name: str) -> IntegrationSpec | None:
        """The spec with literal secrets decrypted (SecretStr)."""
        ...

    def names(self, *, enabled_only: bool = False) -> list[str]:
        """The names in order, without reading the specs (one unreadable spec cannot hide the others)."""
        ...

    def list(self) -> list[IntegrationSpec]: ...

    def upsert(self, spec: IntegrationSpec, *, keep_secrets: bool = False) -> bool:
        """Insert or update by name (True if created). Literal secrets are stored encrypted.

        With keep_secrets, a spec whose literal secret fields are None keeps the stored ones (MissingSecret when
        there are none to keep). SecretKeyError when the store's key cannot encrypt.
        """
        ...

    def status(self, name: str) -> dict[str, object]: ...  # last_sync_at, last_sync_error, last_rotation_at, counts

    def set_status(self, name: str, **fields: object) -> None: ...


class FlowRepository(Protocol):
    def get(self, name: str) -> AccessFlowSpec | None: ...

    def list(self, *, enabled_only: bool = False) -> list[AccessFlowSpec]: ...

    def upsert(self, spec: AccessFlowSpec) -> bool: ...


class InventoryRepository(Protocol):
    def apply(self, *, integration: str, inventory: Inventory, now: datetime) -> SyncChanges:
        """Upsert what a discovery found, mark what vanished (present=False), return what changed."""
        ...

    def resources(
        self, *, integration: str | None = None, kind: ResourceKind | None = None, query: str = "", limit: int = 100
    ) -> list[InventoryResource]: ...  # present organizations, projects, clusters; query matches the name (any case)

    def resource(self, *, integration: str, atlas_id: str,
                 kind: ResourceKind | None = None) -> InventoryResource | None:
        """The resource with that id (a cluster by `<group id>/<name>`), present or not; with `kind`, only one of
        that kind (one read where the id alone tries organizations, teams and projects in turn)."""
        ...

    def clusters(self, *, integration: str, project_id: str) -> list[tuple[str, str]]: ...  # (name, state)

    def users(self, *, integration: str) -> list[InventoryUser]: ...

    def counts(self, *, integration: str) -> dict[str, int]: ...


class UnitOfWork(Protocol):
    requests: RequestRepository
    grants: GrantRepository
    audit: AuditLog
    integrations: IntegrationRepository
    flows: FlowRepository
    inventory: InventoryRepository

    def commit(self) -> None: ...


class DatabaseHealth(StrEnum):
    OK = "ok"
    UNREACHABLE = "database_unreachable"
    READ_ONLY = "database_read_only"  # it answers, but refuses writes


class StoreHealth(Protocol):
    """Whether the database answers and takes writes (for /healthz and start-up), without raising."""

    def health(self) -> DatabaseHealth: ...


class Store(Protocol):
    def unit_of_work(self) -> AbstractContextManager[UnitOfWork]:
        """A transaction: commits when the block ends without an exception, rolls back otherwise.

        On SQLite the transaction starts with BEGIN IMMEDIATE (one writer at a time, no upgrade deadlocks).
        """
        ...

    def integration(self, name: str) -> IntegrationSpec | None:
        """One integration as stored a moment ago (a cached read, at most seconds old when another process
        changed it, current when this one did): for paths that read one per grant step."""
        ...

    def ping(self) -> bool: ...


class AlertLedger(Protocol):
    """What the timer rounds told integration owners, shared by every replica and kept across restarts
    (`access.rounds`): a lasting failure is told once, not once per replica or per restart."""

    def tell_once(self, *, round_name: str, integration: str, failure: str) -> bool:
        """Mark `failure` of `round_name` on `integration` as told; True when nobody had told it since that
        integration's work in the round last went through (the caller then tells it), False otherwise."""
        ...

    def works_again(self, *, round_name: str, integrations: Collection[str]) -> None:
        """`integrations`' work in `round_name` went through: forget what was told of them, so the next failure is
        news again."""
        ...


class RateBudget(Protocol):
    """Token buckets shared by every replica: a rate a third party sets for the whole workspace or organisation
    (Slack's views.publish tier) is kept by all the replicas together, not by each on its own."""

    def take(self, name: str, *, per_second: float, burst: float) -> float:
        """Take one token from bucket `name`, which holds at most `burst` (full when first used) and gains
        `per_second`: 0.0 when taken, else the seconds until one will be there (none is taken then)."""
        ...


class Outbox(Protocol):
    """Messages Slack refused through every retry, kept (in the database) until they go through.

    A parcel is taken by one replica at a time, for a lease; one whose sender died is taken again after it.
    A put on a key already waiting replaces its payload; `sent` and `again` then leave the row due, so the
    newer payload goes by the next round.
    """

    def put(self, key: str, payload: dict[str, Any]) -> None:
        """Send `payload` under `key` at the next round."""
        ...

    def take(self, *, lease: timedelta, limit: int = 200) -> list[Parcel]:
        """The parcels due now, oldest first, each claimed for `lease` with its attempt counted."""
        ...

    def sent(self, parcel: Parcel) -> None:
        """Done with `parcel` (delivered, or given up): it goes, unless it was put again meanwhile."""
        ...

    def again(self, parcel: Parcel, *, after: timedelta) -> None:
        """Refused again: due `after` from now (a parcel put again meanwhile is due already)."""
        ...

    def waiting(self) -> int:
        """How many parcels wait."""
        ...


class CredentialVault(Protocol):
    """Temporary database users' sign-ins between their creation and their one showing (see access.reveal).

    Held encrypted where every replica can read it (the database), so whichever replica Slack sends the click
    to can show it; `take` deletes as it reads, so it is shown once, whoever asks twice or at the same moment.
    """

    def hold(self, held: HeldCredentials) -> None:
        """Keep `held` until it is taken or dropped; it replaces what was held for the same grant (a retry)."""
        ...

    def take(self, *, grant_id: int, requester_id: str, now: datetime) -> HeldCredentials | None:
        """The grant's credentials, deleted as they are read, if held for `requester_id` and not past their time;
        None otherwise (nothing is deleted then)."""
        ...

    def overdue(self, *, now: datetime, limit: int = 100) -> list[int]:
        """The grant ids whose credentials are held past their time (never shown), oldest first."""
        ...

    def drop(self, grant_id: int) -> None:
        """Forget the grant's credentials, if any (its user was deleted, or they were never shown)."""
        ...


class Notifier(Protocol):
    """What people see: the approval message, DMs to the requester, alerts to integration owners.

    Every method renders from the stored request/grant it is given; failures are the notifier's to log,
    the domain's state never depends on them.
    """

    def post_request(self, *, request: AccessRequest, integration: IntegrationSpec) -> tuple[str, str] | None:
        """Post the approval message; return (channel, ts) to update it later."""
        ...

    def update_request(self, *, request: AccessRequest, grant: Grant | None, integration: IntegrationSpec) -> None: ...

    def tell_requester(
        self, *, request: AccessRequest, grant: Grant | None, event: str, integration: IntegrationSpec,
        kept_by_other_grants: tuple[str, ...] = (),
    ) -> None:
        """A DM to the requester; on "revoked", `kept_by_other_grants` names the grant's roles that another
        live grant of theirs keeps (so the DM does not say they were removed)."""
        ...

    def alert_owners(self, *, integration: IntegrationSpec, text: str) -> None: ...

    def remind_approvers(self, *, request: AccessRequest, integration: IntegrationSpec, escalated: bool) -> None:
        """Nudge the undecided request's approvers (and with `escalated`, the integration owners) where its
        approval message is."""
        ...

    def offer_database_credentials(
        self, *, request: AccessRequest, grant: Grant, integration: IntegrationSpec, until: datetime
    ) -> bool:
        """DM the requester that their temporary database user is ready, with a "Show credentials" button that
        shows the held sign-in once, until `until`; True if Slack took it. The DM carries no secret."""
        ...


class CredentialAuthority(Protocol):
    """Atlas, as far as rotating the bot's own credential goes; every method raises GatewayError when Atlas
    fails or refuses (a key that is not the organization's, a new credential that does not work yet)."""

    def issue(self, *, integration: IntegrationSpec) -> IssuedCredential:
        """Create a credential like the current one and prove it works (nothing stored yet)."""
        ...

    def retire(self, *, integration: IntegrationSpec, old_id: str) -> None:
        """Delete the old key or secret, calling with the integration's (new) credentials."""
        ...

    def discard(self, *, integration: IntegrationSpec, issued: IssuedCredential) -> None:
        """Delete a new credential that could not be stored, calling with the current ones."""
        ...
