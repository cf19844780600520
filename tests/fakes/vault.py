"""MemoryVault: the `access.ports.CredentialVault` in memory, with the SQL vault's semantics (held per grant, a
hold replacing the grant's earlier one, delete-on-read for its own requester only and within its time), held to
it by tests/contracts/test_vault_contract.py."""

from __future__ import annotations

import threading
from datetime import datetime

from access.model import HeldCredentials


class MemoryVault:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[int, HeldCredentials] = {}

    def __repr__(self) -> str:
        return "MemoryVault()"

    def hold(self, held: HeldCredentials) -> None:
        with self._lock:
            self._held[held.grant_id] = held

    def take(self, *, grant_id: int, requester_id: str, now: datetime) -> HeldCredentials | None:
        with self._lock:
            held = self._held.get(grant_id)
            if held is None or held.requester_id != requester_id or held.expires_at <= now:
                return None
            return self._held.pop(grant_id)

    def overdue(self, *, now: datetime, limit: int = 100) -> list[int]:
        with self._lock:
            due = sorted((h for h in self._held.values() if h.expires_at <= now), key=lambda h: h.expires_at)
        return [h.grant_id for h in due[:limit]]

    def drop(self, grant_id: int) -> None:
        with self._lock:
            self._held.pop(grant_id, None)

    def held(self) -> list[int]:
        """The grant ids whose credentials are held (for tests)."""
        with self._lock:
            return sorted(self._held)
