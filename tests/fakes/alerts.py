"""An in-memory AlertLedger, held to the SQL one by tests/contracts/test_alert_ledger_contract.py."""

from __future__ import annotations

import threading
from collections.abc import Collection


class MemoryAlertLedger:
    def __init__(self) -> None:
        self._told: set[tuple[str, str, str]] = set()
        self._lock = threading.Lock()

    def tell_once(self, *, round_name: str, integration: str, failure: str) -> bool:
        key = (round_name, integration, failure)
        with self._lock:
            if key in self._told:
                return False
            self._told.add(key)
            return True

    def works_again(self, *, round_name: str, integrations: Collection[str]) -> None:
        with self._lock:
            self._told = {k for k in self._told if not (k[0] == round_name and k[1] in integrations)}
