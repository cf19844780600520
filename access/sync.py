"""Discovery: pull an integration's organization from Atlas into the inventory and say what changed."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from access.entities import AuditEvent, SyncChanges
from access.errors import NotFound, RequestRefused
from access.ports import AtlasGateway, Clock, Progress, Store


@dataclass(frozen=True, kw_only=True)
class SyncReport:
    integration: str
    changes: SyncChanges


class SyncService:
    def __init__(self, *, store: Store, gateways: Callable[[str], AtlasGateway], clock: Clock) -> None:
        self._store = store
        self._gateways = gateways
        self._clock = clock
        self._running: set[str] = set()
        self._lock = threading.Lock()

    def integrations(self) -> list[str]:
        """The enabled integrations' names (read without their specs: one unreadable spec hides no other)."""
        with self._store.unit_of_work() as uow:
            return uow.integrations.names(enabled_only=True)

    def run(self, integration: str, *, actor: str = "system", progress: Progress | None = None) -> SyncReport:
        """Discover and store; one sync per integration at a time in this process (RequestRefused otherwise).

        `progress` hears the running counts while Atlas is read (see `access.ports.Progress`).
        """
        with self._lock:
            if integration in self._running:
                raise RequestRefused(f"A sync of {integration} is already running.")
            self._running.add(integration)
        try:
            return self._run(integration, actor, progress)
        finally:
            with self._lock:
                self._running.discard(integration)

    def running(self, integration: str) -> bool:
        with self._lock:
            return integration in self._running

    def _run(self, integration: str, actor: str, progress: Progress | None) -> SyncReport:
        with self._store.unit_of_work() as uow:
            spec = uow.integrations.get(integration)
        if spec is None:
            raise NotFound(f"integration {integration}")
        try:
            gateway = self._gateways(integration)
            if progress is None:
                inventory = gateway.discover(organization_id=spec.organization_id, types=spec.discovery)
            else:
                inventory = gateway.discover(organization_id=spec.organization_id, types=spec.discovery,
                                             progress=progress)
        except Exception as error:
            with self._store.unit_of_work() as uow:
                uow.integrations.set_status(integration, last_sync_error=str(error))
                uow.audit.add(AuditEvent(at=self._clock.now(), actor=actor, action="sync_failed",
                                         integration=integration, detail={"error": str(error)}))
            raise
        now = self._clock.now()
        with self._store.unit_of_work() as uow:
            changes = uow.inventory.apply(integration=integration, inventory=inventory, now=now)
            uow.integrations.set_status(integration, last_sync_at=now, last_sync_error=None)
            uow.audit.add(AuditEvent(at=now, actor=actor, action="synced", integration=integration,
                                     detail={"counts": dict(changes.counts),
                                             "added_projects": len(changes.added_projects),
                                             "removed_projects": len(changes.removed_projects)}))
        return SyncReport(integration=integration, changes=changes)
