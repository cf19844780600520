"""Reconciliation: compare Atlas with the grants of one integration and repair or report the drift.

Three kinds of drift, each with its audit row:
- `revocation_redone`: a grant revoked recently whose roles Atlas still shows (a revocation Atlas did not
  apply, or someone put them back) has them taken away again (baseline and other live grants kept);
- `grant_closed_user_left`: an active grant whose user is no longer in the organization is closed;
- `unmanaged_role`: a role that some access flow hands out, held with no live grant and not part of the
  person's baseline, is reported to the integration owners once, and removed only when the integration
  says so (`IntegrationSpec.remove_unmanaged_roles`, or the deprecated `ReconcileOptions.remove_unmanaged`).
  Membership of an Atlas team that a team flow offers counts as its role TEAM_MEMBER on that team: read from
  the synced users' team ids (listOrgUsers' `teamIds`, which discovery reads anyway: no extra Atlas call), and
  removed, when the integration says so, with removeOrgTeamUser.
It reads the inventory as the last sync left it, so the job runs a sync first (see `bot.scheduler`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from access import lifecycle
from access.config import AccessFlowSpec
from access.entities import AuditEvent, Grant, InventoryResource, InventoryUser
from access.model import TEAM_MEMBER, GrantStatus, ResourceKind, ResourceRef
from access.policy import resource_matches
from access.ports import AtlasGateway, Clock, Notifier, Store

log = logging.getLogger(__name__)
G = GrantStatus
HELD_BY_GRANT = (G.GRANTING, G.INVITED, G.ACTIVE, G.REVOKING, G.FAILED)


class GrantLedger(Protocol):
    """The grants of an integration by status (the store's grant repository answers only per person)."""

    def grants(self, *, integration: str, statuses: tuple[GrantStatus, ...],
               updated_since: datetime | None = None) -> list[Grant]: ...


@dataclass(frozen=True, kw_only=True)
class ReconcileOptions:
    recheck_revoked_for: timedelta = timedelta(days=7)  # how far back revocations are checked again
    # Deprecated (RECONCILE_REMOVE_UNMANAGED): integrations whose unmanaged roles are taken away even when their
    # spec does not say so. Only ever adds removal; `IntegrationSpec.remove_unmanaged_roles` is the setting.
    remove_unmanaged: frozenset[str] = frozenset()


@dataclass(frozen=True, kw_only=True)
class Drift:
    """One unmanaged holding: `username` holds `role` on `resource` with no grant behind it."""

    username: str
    resource: ResourceRef
    role: str


@dataclass(frozen=True, kw_only=True)
class ReconcileReport:
    integration: str
    redone: tuple[int, ...] = ()  # grant ids
    closed: tuple[int, ...] = ()  # grant ids
    unmanaged: tuple[Drift, ...] = ()  # newly reported
    removed: tuple[Drift, ...] = ()
    errors: tuple[str, ...] = field(default=())


class ReconcileService:
    def __init__(self, *, store: Store, ledger: GrantLedger, gateways: Callable[[str], AtlasGateway],
                 notifier: Notifier, clock: Clock, options: ReconcileOptions | None = None) -> None:
        self._store, self._ledger, self._gateways = store, ledger, gateways
        self._notifier, self._clock = notifier, clock
        self.options = options or ReconcileOptions()

    def run(self, integration: str) -> ReconcileReport:
        """One pass over one integration; one failing grant does not stop the others."""
        errors: list[str] = []
        redone = self._recheck_revoked(integration, errors)
        closed = self._close_departed(integration, errors)
        unmanaged, removed = self._unmanaged(integration, errors)
        report = ReconcileReport(integration=integration, redone=tuple(redone), closed=tuple(closed),
                                 unmanaged=tuple(unmanaged), removed=tuple(removed), errors=tuple(errors))
        self._audit(None, "reconciled", integration, redone=len(redone), closed=len(closed),
                    unmanaged=len(unmanaged), removed=len(removed), errors=len(errors))
        return report

    # --- revocations Atlas did not apply ---------------------------------------------------------------

    def _recheck_revoked(self, integration: str, errors: list[str]) -> list[int]:
        since = self._clock.now() - self.options.recheck_revoked_for
        revoked = self._ledger.grants(integration=integration, statuses=(G.REVOKED,), updated_since=since)
        redone = []
        for grant in revoked:
            if grant.resource_kind is ResourceKind.CLUSTER:
                continue  # temporary database users expire in Atlas itself
            try:
                if self._redo(grant):
                    redone.append(grant.id or 0)
            except Exception as error:
                errors.append(f"grant {grant.id}: {type(error).__name__}")
                log.warning("reconciling grant %s failed: %s", grant.id, type(error).__name__)
        return redone

    def _redo(self, grant: Grant) -> bool:
        gateway = self._gateways(grant.integration)
        access = gateway.user_access(resource=grant.resource, username=grant.username)
        with self._store.unit_of_work() as uow:
            others = uow.grants.live_for(username=grant.username, resource_id=grant.resource_id)
        leftover = set(lifecycle.roles_to_remove(grant, others)) & set(access.roles)
        if not leftover:
            return False
        result = gateway.revoke(resource=grant.resource, username=grant.username, roles=sorted(leftover),
                                remove_user=False)
        self._audit(grant, "revocation_redone", grant.integration, roles=sorted(leftover),
                    removed=sorted(result.removed_roles))
        return True

    # --- people who left the organization --------------------------------------------------------------

    def _close_departed(self, integration: str, errors: list[str]) -> list[int]:
        closed = []
        for grant in self._ledger.grants(integration=integration, statuses=(G.ACTIVE,)):
            try:
                if self._left_organization(grant):
                    self._close(grant)
                    closed.append(grant.id or 0)
            except Exception as error:
                errors.append(f"grant {grant.id}: {type(error).__name__}")
                log.warning("reconciling grant %s failed: %s", grant.id, type(error).__name__)
        return closed

    def _left_organization(self, grant: Grant) -> bool:
        org = ResourceRef(kind=ResourceKind.ORGANIZATION, organization_id=grant.organization_id,
                          atlas_id=grant.organization_id, name=grant.organization_id)
        return self._gateways(grant.integration).user_access(resource=org, username=grant.username).status is None

    def _close(self, grant: Grant) -> None:
        now = self._clock.now()
        revoking = lifecycle.move_grant(grant, G.REVOKING, now)
        closed = lifecycle.move_grant(revoking, G.REVOKED, now, revoked_at=now, next_attempt_at=None,
                                      lease_owner=None, lease_until=None, last_error=None)
        with self._store.unit_of_work() as uow:
            uow.grants.save(closed)
            uow.audit.add(self._event(closed, "grant_closed_user_left", grant.integration,
                                      {"resource": grant.resource_name, "username": grant.username}))

    # --- roles nobody granted --------------------------------------------------------------------------

    def _unmanaged(self, integration: str, errors: list[str]) -> tuple[list[Drift], list[Drift]]:
        with self._store.unit_of_work() as uow:
            spec = uow.integrations.get(integration)
            flows = [f for f in uow.flows.list(enabled_only=True) if f.integration == integration]
            users = uow.inventory.users(integration=integration)
            reported = {(e.detail.get("username"), e.detail.get("resource_id"), e.detail.get("role"))
                        for e in uow.audit.query(integration=integration) if e.action == "unmanaged_role"}
            resources = uow.inventory.resources(integration=integration, limit=100_000)
        if spec is None:
            return [], []
        names = {r.atlas_id: r.name for r in resources}
        granted = self._ledger.grants(integration=integration, statuses=(*HELD_BY_GRANT, G.REVOKED))
        holdings = _holdings(users, spec.organization_id, flows, granted, lambda i: names.get(i, i),
                             teams=_offered_teams(flows, resources))
        drifts = [d for d in holdings if (d.username, d.resource.atlas_id, d.role) not in reported]
        removing = spec.remove_unmanaged_roles or integration in self.options.remove_unmanaged
        removed = [d for d in drifts if removing and self._remove(integration, d, errors)]
        for drift in drifts:
            self._audit(None, "unmanaged_role", integration, username=drift.username, role=drift.role,
                        resource=drift.resource.name, resource_id=drift.resource.atlas_id,
                        removed=drift in removed)
        if drifts:
            self._tell_owners(integration, drifts, removed)
        return drifts, removed

    def _remove(self, integration: str, drift: Drift, errors: list[str]) -> bool:
        try:
            self._gateways(integration).revoke(resource=drift.resource, username=drift.username,
                                               roles=[drift.role], remove_user=False)
            return True
        except Exception as error:
            errors.append(f"{drift.username} {drift.role}: {type(error).__name__}")
            return False

    def _tell_owners(self, integration: str, drifts: list[Drift], removed: list[Drift]) -> None:
        lines = [f"• {d.username}: " + (f"member of team {d.resource.name}" if d.resource.kind is ResourceKind.TEAM
                                          else f"`{d.role}` on {d.resource.kind.value} {d.resource.name}")
                 + (" (removed)" if d in removed else "") for d in drifts[:20]]
        more = f"\n…and {len(drifts) - 20} more (see the audit trail)" if len(drifts) > 20 else ""
        text = (f"Reconciliation of *{integration}* found roles in Atlas that no access request granted:\n"
                + "\n".join(lines) + more)
        with self._store.unit_of_work() as uow:
            spec = uow.integrations.get(integration)
        if spec is not None:
            try:
                self._notifier.alert_owners(integration=spec, text=text)
            except Exception:
                log.exception("telling the owners of %s about unmanaged roles failed", integration)

    # --- audit -----------------------------------------------------------------------------------------

    def _audit(self, grant: Grant | None, action: str, integration: str, **detail: object) -> None:
        with self._store.unit_of_work() as uow:
            uow.audit.add(self._event(grant, action, integration, detail))

    def _event(self, grant: Grant | None, action: str, integration: str, detail: dict[str, object]) -> AuditEvent:
        return AuditEvent(at=self._clock.now(), actor="reconcile", action=action, integration=integration,
                          request_id=grant.request_id if grant else None, grant_id=grant.id if grant else None,
                          detail=({"resource": grant.resource_name} if grant else {}) | detail)


def _offered_teams(flows: list[AccessFlowSpec], resources: Iterable[InventoryResource]) -> frozenset[str]:
    """The ids of the present teams some team flow offers: membership of another team is none of the bot's."""
    team_flows = [f for f in flows if ResourceKind.TEAM in f.resources.types]
    return frozenset(r.atlas_id for r in resources if r.kind is ResourceKind.TEAM and r.present
                     and any(resource_matches(f, r) for f in team_flows))


def _holdings(users: Iterable[InventoryUser], organization_id: str, flows: list[AccessFlowSpec],
              granted: list[Grant], names: Callable[[str], str], teams: frozenset[str] = frozenset()) -> list[Drift]:
    """Flow roles held with no live grant giving them and not in any grant's baseline for that person (team
    membership, of the `teams` a flow offers, as TEAM_MEMBER on the team)."""
    kinds = {ResourceKind.PROJECT: set[str](), ResourceKind.ORGANIZATION: set[str](),
             ResourceKind.TEAM: {TEAM_MEMBER} if teams else set[str]()}
    for flow in flows:
        for kind in flow.resources.types:
            key = ResourceKind(getattr(kind, "value", kind))
            if key in kinds and key is not ResourceKind.TEAM:
                kinds[key] |= set(flow.roles)
    covered: dict[tuple[str, str], set[str]] = {}
    for grant in granted:
        keep = set(grant.baseline_roles) | (set(grant.roles) if grant.status in HELD_BY_GRANT else set())
        covered.setdefault((grant.username, grant.resource_id), set()).update(keep)
    drifts = []
    for user in users:
        if not user.present:
            continue
        held = [(ResourceKind.ORGANIZATION, organization_id, names(organization_id), user.org_roles)]
        held += [(ResourceKind.PROJECT, project, names(project), roles)
                 for project, roles in user.project_roles.items()]
        held += [(ResourceKind.TEAM, team, names(team), (TEAM_MEMBER,))
                 for team in sorted(set(user.team_ids) & teams)]
        for kind, atlas_id, name, roles in held:
            for role in sorted(set(roles) & kinds[kind] - covered.get((user.username, atlas_id), set())):
                drifts.append(Drift(username=user.username, role=role, resource=ResourceRef(
                    kind=kind, organization_id=organization_id, atlas_id=atlas_id, name=name)))
    return drifts
