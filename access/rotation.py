"""Credential rotation as a use case: issue, store, retire, with a working credential stored at every step.

A failure at any step leaves the integration able to call Atlas, tells the integration owners, is recorded
in the audit trail, and is retried by the next scheduled run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from access.bounds import ROTATION_DAYS, shown
from access.config import IntegrationSpec, IssuedCredential, with_literal_credentials
from access.entities import AuditEvent
from access.errors import NotFound, RequestRefused
from access.ports import Clock, CredentialAuthority, Notifier, Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class RotationOutcome:
    integration: str
    rotated: bool
    retired_old: bool
    message: str


class RotationService:
    def __init__(self, *, store: Store, authority: Callable[[], CredentialAuthority], notifier: Notifier,
                 clock: Clock, in_use: Callable[[str], bool] = lambda _name: False) -> None:
        self._store = store
        # A long piece of work holding the old credential (a sync reading the whole organization): the old
        # one is then retired by the next check instead, not under its feet.
        self._in_use = in_use
        self._authority = authority
        self._notifier = notifier
        self._clock = clock
        self._running: set[str] = set()
        self._lock = threading.Lock()

    def candidates(self) -> list[str]:
        """The enabled integrations, by name: the timers check each on its own (`is_due`)."""
        with self._store.unit_of_work() as uow:
            return uow.integrations.names(enabled_only=True)

    def is_due(self, name: str) -> bool:
        """The rotation period has passed, or the old credential still waits to be retired.

        A period that cannot be counted (a `credential_rotation_days` stored before it was bounded, too large
        for a date) is a ValueError saying so, for the timers to report.
        """
        with self._store.unit_of_work() as uow:
            spec = uow.integrations.get(name)
            status = uow.integrations.status(name)
        if spec is None or not spec.enabled:
            return False
        return bool(status.get("pending_retire_id")) or _overdue(spec, status, self._clock.now())

    def due(self) -> list[str]:
        """Integrations whose rotation period has passed, or whose old credential still waits to be retired."""
        return [name for name in self.candidates() if self.is_due(name)]

    def rotate(self, name: str, *, actor: str = "schedule") -> RotationOutcome:
        """Rotate one integration's credential; one rotation per integration at a time (RequestRefused otherwise).

        Two at once would each issue a new credential, and the one stored first would be lost in Atlas.
        """
        with self._lock:
            if name in self._running:
                raise RequestRefused(f"A credential rotation of {name} is already running.")
            self._running.add(name)
        try:
            return self._rotate(name, actor)
        finally:
            with self._lock:
                self._running.discard(name)

    def _rotate(self, name: str, actor: str) -> RotationOutcome:
        spec, pending = self._load(name)
        if pending and self._in_use(name):
            return RotationOutcome(integration=name, rotated=False, retired_old=False,
                                   message="the previous credential waits for the running sync to finish")
        if pending:
            return self._retire(spec, pending, actor=actor, rotated=False)
        authority = self._authority()
        try:
            issued = authority.issue(integration=spec)
        except Exception as error:
            return self._failed(spec, f"could not create a new credential: {error}", actor)
        try:
            stored = self._store_new(spec, issued, actor)
        except Exception as error:
            _quietly(lambda: authority.discard(integration=spec, issued=issued))
            return self._failed(spec, f"could not store the new credential: {type(error).__name__}", actor)
        if issued.old_id is None:
            return self._outcome(spec, "rotated; the previous credential could not be identified and was left in "
                                       "place: delete it in Atlas", actor, rotated=True, retired=False)
        if self._in_use(name):
            return self._outcome(spec, "rotated; the previous credential is deleted by the next check, once the "
                                       "sync still using it has finished", actor, rotated=True, retired=False,
                                 old_id=issued.old_id)
        return self._retire(stored, issued.old_id, actor=actor, rotated=True)

    def _load(self, name: str) -> tuple[IntegrationSpec, str | None]:
        with self._store.unit_of_work() as uow:
            spec = uow.integrations.get(name)
            if spec is None:
                raise NotFound(f"integration {name}")
            pending = uow.integrations.status(name).get("pending_retire_id")
        return spec, str(pending) if pending else None

    def _store_new(self, spec: IntegrationSpec, issued: IssuedCredential, actor: str) -> IntegrationSpec:
        updated = with_literal_credentials(spec, issued.credentials)
        with self._store.unit_of_work() as uow:
            uow.integrations.upsert(updated)
            uow.integrations.set_status(spec.name, last_rotation_at=self._clock.now(), last_rotation_error=None,
                                        pending_retire_id=issued.old_id)
            uow.audit.add(AuditEvent(at=self._clock.now(), actor=actor, action="credential_issued",
                                     integration=spec.name, detail={"new_id": issued.new_id}))
        return updated

    def _retire(self, spec: IntegrationSpec, old_id: str, *, actor: str, rotated: bool) -> RotationOutcome:
        try:
            self._authority().retire(integration=spec, old_id=old_id)
        except Exception as error:
            message = f"the new credential is stored and works, but the old one could not be deleted yet: {error}"
            news = self._record_error(spec.name, message)
            self._audit(spec, "credential_retire_failed", actor, error=str(error))
            if news:
                self._tell_owners(spec, f"Credential rotation for {spec.name}: {message}. It will be retried.")
            return RotationOutcome(integration=spec.name, rotated=rotated, retired_old=False, message=message)
        with self._store.unit_of_work() as uow:
            uow.integrations.set_status(spec.name, pending_retire_id=None, last_rotation_error=None)
        if not rotated:  # a retry of the last step of an earlier rotation
            self._audit(spec, "credential_retired", actor, old_id=old_id)
            return RotationOutcome(integration=spec.name, rotated=False, retired_old=True,
                                   message="the previous credential, left from the last rotation, was deleted")
        return self._outcome(spec, "rotated; the previous credential was deleted", actor, rotated=True, retired=True,
                             old_id=old_id)

    def _failed(self, spec: IntegrationSpec, message: str, actor: str) -> RotationOutcome:
        news = self._record_error(spec.name, message)
        self._audit(spec, "credential_rotation_failed", actor, error=message)
        if news:
            self._tell_owners(spec, f"Credential rotation for {spec.name} failed: {message}. The current "
                                    "credential still works and stays in use; it will be retried.")
        return RotationOutcome(integration=spec.name, rotated=False, retired_old=False, message=message)

    def _record_error(self, name: str, message: str) -> bool:
        """Store the rotation's error; True unless it is the one stored already (the owners heard of it: a
        failure that lasts is told once, not at every retry; a success clears it)."""
        with self._store.unit_of_work() as uow:
            news = uow.integrations.status(name).get("last_rotation_error") != message
            uow.integrations.set_status(name, last_rotation_error=message)
        return news

    def _outcome(self, spec: IntegrationSpec, message: str, actor: str, *, rotated: bool, retired: bool,
                 **detail: object) -> RotationOutcome:
        self._audit(spec, "credential_rotated", actor, retired_old=retired, **detail)
        return RotationOutcome(integration=spec.name, rotated=rotated, retired_old=retired, message=message)

    def _audit(self, spec: IntegrationSpec, action: str, actor: str, **detail: object) -> None:
        with self._store.unit_of_work() as uow:
            uow.audit.add(AuditEvent(at=self._clock.now(), actor=actor, action=action, integration=spec.name,
                                     detail=dict(detail)))

    def _tell_owners(self, spec: IntegrationSpec, text: str) -> None:
        _quietly(lambda: self._notifier.alert_owners(integration=spec, text=text))


def _overdue(spec: IntegrationSpec, status: dict[str, object], now: datetime) -> bool:
    if not spec.credential_rotation_days:
        return False
    try:
        period = timedelta(days=spec.credential_rotation_days)
    except OverflowError:
        low, high = ROTATION_DAYS
        raise ValueError(f"credential_rotation_days ({shown(str(spec.credential_rotation_days))}) is too large to "
                         f"count: set {low} to {high} days (config apply or /atlas-admin)") from None
    last = status.get("last_rotation_at") or status.get("created_at")
    if not isinstance(last, datetime):
        return True
    return now - last >= period


def _quietly(action: Callable[[], object]) -> None:
    try:
        action()
    except Exception:  # best effort by design; the caller already reports the real failure
        log.exception("rotation clean-up or notification failed")
