"""Live grants for admins and owners, and "Revoke now": ending someone else's grant at once, with a reason.

Who may revoke is settled at the click, from the stored grant and the directory as it answers then: an admin
(ATLAS_ACCESS_ADMINS, asked through `is_admin`), or an owner of the resource, resolved as a click on an
approval resolves its approvers (`policy.approvers_now`: the owner group named by the owner tag, else the
integration owners; never the holder). Anyone else is refused, and the refusal is audited.

Revoke now is one transaction (load, check the clicker and the grant's state, move the grant to REVOKING due
now with who ended it, as what, and why, save with a compare-and-set, audit `revoked_by_admin` or
`revoked_by_owner`), then the worker revokes it at once through the same path as an expiry: leased, crash-safe,
restoring exactly the baseline, and once only. Two people revoking at once: the second save loses the
compare-and-set, and a retry finds the grant ending already and says so; a grant that has just ended says so.
The holder's DM (with the reason) and the approval message come from the worker's `revoked` step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from access import lifecycle, policy
from access.approver_groups import ApproverGroups
from access.entities import AccessRequest, AuditEvent, Grant, InventoryResource
from access.errors import NotAllowed, NotFound
from access.model import GrantStatus, ResourceKind
from access.ports import Clock, GroupDirectory, Store, UnitOfWork
from access.text import one_line
from access.worker import GrantWorker

G = GrantStatus
REVOCABLE = (G.INVITED, G.ACTIVE)  # GRANTING is left to finish (as "I'm done" leaves it): roles may be landing
PAGE = 20  # grants on one page of the admin list (a section block each: well within a modal's 100 blocks)
OWNED_SCAN = 1000  # live grants looked through for the ones a person owns (the App Home)
SCAN_PAGE = 50  # read at a time while looking
Role = Literal["admin", "owner"]


@dataclass(frozen=True, kw_only=True)
class GrantFilter:
    """What the admin list is narrowed to: an integration, part of a resource name, a person (id or email)."""

    integration: str | None = None
    resource: str = ""
    person: str | None = None

    @property
    def empty(self) -> bool:
        return self.integration is None and not self.resource and self.person is None


@dataclass(frozen=True, kw_only=True)
class LiveGrant:
    """A live grant with who approved it (Slack ids, or `auto` / `break_glass`)."""

    grant: Grant
    approved_by: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Places:
    """The distinct (integration, resource id, kind) that live grants are on, and each one's inventory entry."""

    places: tuple[tuple[str, str, ResourceKind], ...]
    resources: dict[tuple[str, str], InventoryResource | None]


@dataclass(frozen=True, kw_only=True)
class LivePage:
    items: tuple[LiveGrant, ...]
    total: int
    offset: int
    limit: int

    @property
    def more(self) -> bool:
        return self.offset + len(self.items) < self.total


class LiveGrants:
    """The queries: a page of every live grant (admins), and the live grants a person owns (owners)."""

    def __init__(self, *, store: Store, directory: GroupDirectory, groups: ApproverGroups | None = None) -> None:
        self._store = store
        self._directory = directory
        self._groups = groups

    def page(self, *, where: GrantFilter = GrantFilter(), offset: int = 0, limit: int = PAGE) -> LivePage:
        """A page of every live grant matching `where` (for admins: the caller checks who asks)."""
        with self._store.unit_of_work() as uow:
            grants, total = uow.grants.live(integration=where.integration, resource=where.resource,
                                            person=where.person, offset=offset, limit=limit)
            items = _with_approvers(uow, grants)
        return LivePage(items=items, total=total, offset=max(offset, 0), limit=limit)

    @staticmethod
    def places(uow: UnitOfWork) -> Places:
        """Where live grants are, for `owned`: read in the caller's transaction (a Home reads the rest of itself
        in the same one), each resource by its kind (one read, not three)."""
        places = uow.grants.live_resources()
        return Places(places=tuple(places), resources={
            (i, r): uow.inventory.resource(integration=i, atlas_id=r, kind=k) for i, r, k in places})

    def owned(self, *, user_id: str, limit: int = PAGE, places: Places | None = None) -> tuple[LiveGrant, ...]:
        """The live grants of others on resources `user_id` owns now (as a click would find them), oldest first.
        `places`: read by the caller in its own transaction just now (else read here)."""
        if places is None:
            with self._store.unit_of_work() as uow:
                places = self.places(uow)
        # The integrations from the store's cache of decrypted specs (decrypting every one at each render of a Home
        # was a tenth of it during an expiry burst); each Revoke click checks its owners anew.
        specs = {name: spec for name in dict.fromkeys(i for i, _, _ in places.places)
                 if (spec := self._store.integration(name)) is not None}
        where = [(i, r, k) for i, r, k in places.places if i in specs]
        if not where:
            return ()
        found = places.resources
        # Most people own nothing anyone holds: asked once per resource with live grants (not per grant), and
        # once per integration for its owners (who decide when the owner group's sole member asked), they read
        # no grant at all. The scan below asks per holder, as a click would.
        if not any(user_id in policy.approvers_now(integration=specs[i], kind=k, resource=found[(i, r)],
                                                   requester_id="", directory=self._directory,
                                                   groups=self._groups).user_ids for i, r, k in where) \
                and not any(user_id in policy.owners_via(specs[i].integration_owners, self._directory,
                                                         groups=self._groups, integration=specs[i])
                            for i in dict.fromkeys(i for i, _, _ in where)):
            return ()
        # Live grants read a page at a time, and each resource once, only as far as the scan goes: reading a
        # thousand grants and their resources up front at every render of an owner's Home, during an expiry burst,
        # was a fifth of a replica's CPU (py-spy on bench/revocation.py).
        resources: dict[tuple[str, str], InventoryResource | None] = dict(found)
        mine: list[Grant] = []
        owners: dict[tuple[str, str, str], tuple[str, ...]] = {}
        for grant in self._scan(user_id):  # the directory may ask Slack: outside the transaction
            if grant.integration not in specs:
                continue
            if (grant.integration, grant.resource_id) not in resources:
                with self._store.unit_of_work() as uow:
                    resources[(grant.integration, grant.resource_id)] = uow.inventory.resource(
                        integration=grant.integration, atlas_id=grant.resource_id, kind=grant.resource_kind)
            key = (grant.integration, grant.resource_id, grant.requester_id)
            if key not in owners:
                owners[key] = policy.approvers_now(
                    integration=specs[grant.integration], kind=grant.resource_kind,
                    resource=resources[(grant.integration, grant.resource_id)], requester_id=grant.requester_id,
                    directory=self._directory, groups=self._groups).user_ids
            if user_id in owners[key]:
                mine.append(grant)
            if len(mine) >= limit:
                break
        if not mine:
            return ()
        with self._store.unit_of_work() as uow:
            return _with_approvers(uow, mine)

    def _scan(self, user_id: str) -> Iterator[Grant]:
        """Live grants of people other than `user_id`, oldest first, up to OWNED_SCAN, read SCAN_PAGE at a time."""
        for offset in range(0, OWNED_SCAN, SCAN_PAGE):
            with self._store.unit_of_work() as uow:
                page = uow.grants.live(offset=offset, limit=SCAN_PAGE)[0]
            yield from (g for g in page if g.requester_id != user_id)
            if len(page) < SCAN_PAGE:
                return


class GrantControl:
    def __init__(self, *, store: Store, clock: Clock, worker: GrantWorker, directory: GroupDirectory,
                 is_admin: Callable[[str], bool], groups: ApproverGroups | None = None) -> None:
        self._store = store
        self._clock = clock
        self._worker = worker
        self._directory = directory
        self._is_admin = is_admin  # ATLAS_ACCESS_ADMINS, asked at each click
        self._groups = groups
        self.queries = LiveGrants(store=store, directory=directory, groups=groups)

    # --- queries --------------------------------------------------------------------------------------

    def live(self, *, where: GrantFilter = GrantFilter(), offset: int = 0, limit: int = PAGE) -> LivePage:
        return self.queries.page(where=where, offset=offset, limit=limit)

    def grant(self, grant_id: int) -> Grant:
        with self._store.unit_of_work() as uow:
            return _load(uow, grant_id)

    def role_of(self, *, grant_id: int, user_id: str) -> Role:
        """As what `user_id` may revoke the grant now; else raises why not (the refusal audited). For the
        Revoke button: its modal opens only for someone whose submission could be taken."""
        with self._store.unit_of_work() as uow:
            grant = _load(uow, grant_id)
        return self._authorise(grant, user_id)

    # --- the command ----------------------------------------------------------------------------------

    def revoke_now(self, *, grant_id: int, user_id: str, reason: str, run: bool = True) -> Grant:
        """End the grant at once for `reason`; with `run`, the revocation runs before this returns.

        Raises FieldErrors for a reason that says nothing (or too much), NotAllowed for someone who may not (or
        a grant that has ended or is ending), NotFound; StaleWrite when another click won the race.
        """
        text = policy.check_reason(reason)
        with self._store.unit_of_work() as uow:
            grant = _load(uow, grant_id)
        role = self._authorise(grant, user_id)  # the directory may ask Slack: outside the transaction
        now = self._clock.now()
        with self._store.unit_of_work() as uow:
            current = _load(uow, grant_id)
            _check_revocable(current)  # it may have moved on while the directory was asked
            saved = uow.grants.save(lifecycle.revoke_now(current, now=now, by=user_id, role=role, reason=text))
            uow.audit.add(AuditEvent(
                at=now, actor=user_id, action=f"revoked_by_{role}", integration=saved.integration,
                request_id=saved.request_id, grant_id=saved.id,
                detail={"resource": saved.resource_name, "holder": saved.requester_id, "roles": list(saved.roles),
                        "reason": text}))
        if run:
            self._worker.run_due()
        return saved

    def finish(self) -> None:
        """What `revoke_now(..., run=False)` left: the worker's revocation, now."""
        self._worker.run_due()

    # --- helpers --------------------------------------------------------------------------------------

    def _authorise(self, grant: Grant, user_id: str) -> Role:
        try:
            _check_revocable(grant)
            if self._is_admin(user_id):
                return "admin"
            if user_id != grant.requester_id and user_id in self._owners(grant):
                return "owner"
            raise NotAllowed("Only an admin or an owner of the resource can revoke someone's access (owners are "
                             "settled when you click, as for approvals): you are neither.")
        except NotAllowed as refusal:
            with self._store.unit_of_work() as uow:
                uow.audit.add(AuditEvent(at=self._clock.now(), actor=user_id, action="refused",
                                         integration=grant.integration, request_id=grant.request_id,
                                         grant_id=grant.id, detail={"resource": grant.resource_name,
                                                                    "action": "revoke_now",
                                                                    "reason": refusal.reason}))
            raise

    def _owners(self, grant: Grant) -> tuple[str, ...]:
        with self._store.unit_of_work() as uow:
            spec = uow.integrations.get(grant.integration)
            resource = uow.inventory.resource(integration=grant.integration, atlas_id=grant.resource_id)
        if spec is None:
            return ()
        return policy.approvers_now(integration=spec, kind=grant.resource_kind, resource=resource,
                                    requester_id=grant.requester_id, directory=self._directory,
                                    groups=self._groups).user_ids


def parse_filter(text: str) -> GrantFilter | str:
    """`integration:prod resource:payments person:<@U1>` (any order, any subset; a bare word is part of a
    resource name) as a GrantFilter; or what is wrong with it, to tell the person."""
    integration: str | None = None
    person: str | None = None
    resource: list[str] = []
    for word in one_line(text).split():
        key, colon, value = word.partition(":")
        if not colon:
            key, value = "resource", word
        key = key.lower()
        if not value:
            return f"Say what {key} to look for: {key}:<value>."
        if key == "integration":
            integration = value[:64]
        elif key == "resource":
            resource.append(value[:100])
        elif key in ("person", "user", "for"):
            person = _person(value)
            if person is None:
                return "Name the person as @mention, a Slack user id or an email address."
        else:
            return f"I don't know the filter `{key[:30]}`: use integration:, resource: or person:."
    return GrantFilter(integration=integration, resource=" ".join(resource)[:100], person=person)


def _person(value: str) -> str | None:
    """A Slack mention `<@U1|ann>` or `<@U1>`, a user id, or an email; None for anything else."""
    if value.startswith("<@") and value.endswith(">"):
        value = value[2:-1].partition("|")[0]
    if "@" in value and not value.startswith("@") and len(value) <= 254:
        return value
    if value[:1] in ("U", "W") and value.isalnum() and len(value) <= 32:
        return value
    return None


def _check_revocable(grant: Grant) -> None:
    if grant.status is G.GRANTING:
        raise NotAllowed("This access is still being granted in Atlas: try again in a moment.")
    if grant.status not in REVOCABLE:
        raise NotAllowed("This access has already ended, or is ending now: there is nothing left to revoke.")


def _with_approvers(uow: UnitOfWork, grants: list[Grant]) -> tuple[LiveGrant, ...]:
    """Each grant with who approved it, its requests in one read."""
    requests = uow.requests.get_many([g.request_id for g in grants]) if grants else {}
    return tuple(LiveGrant(grant=g, approved_by=approved_by(r) if (r := requests.get(g.request_id)) else ())
                 for g in grants)


def approved_by(request: AccessRequest) -> tuple[str, ...]:
    if request.approvals:
        return tuple(a.user_id for a in request.approvals)
    return (request.decided_by,) if request.decided_by else ()


def _load(uow: UnitOfWork, grant_id: int) -> Grant:
    grant = uow.grants.get(grant_id)
    if grant is None:
        raise NotFound(f"grant {grant_id}")
    return grant
