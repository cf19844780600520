"""Recovery of requests stranded before their approval message: stored (and acked), but never announced.

A request is stored before its approval message is posted. If the process died in between, or Slack was down
through every retry, it would wait unseen for ever. Each round, the pending requests without a message that
nobody touched for `quiet_for` (a lease: an announcement may still be on its way) are claimed, one at a time,
by a compare-and-set on `updated_at`, so of several replicas exactly one announces each; then announced. One
request's failure is its own (see access.rounds); a store that is away raises StoreUnavailable for the round.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from functools import partial
from typing import Protocol

from access.entities import AccessRequest
from access.ports import Clock, StaleWrite, Store
from access.rounds import FaultIsolation

log = logging.getLogger(__name__)
ROUND = "announcement of stranded requests"


class Announcer(Protocol):
    """What a stored request still needs said (AccessService.announce): its approval message, and the rest."""

    def announce(self, *, request_id: int) -> None: ...


class StrandedRequests:
    def __init__(self, *, store: Store, announcer: Announcer, clock: Clock, quiet_for: timedelta,
                 isolation: FaultIsolation) -> None:
        self._store = store
        self._announcer = announcer
        self._clock = clock
        self._quiet_for = quiet_for
        self._isolation = isolation

    def run(self) -> int:
        """Claim the stranded requests and announce each; how many were announced."""
        announced = 0
        with self._isolation.round(ROUND) as round_:
            for request in self.claim():
                log.info("request %s has no approval message yet; announcing it", request.id)
                done = round_.attempt(request.integration, partial(self._announce, request.id or 0),
                                      what=f"request #{request.id}")
                announced += bool(done)
        return announced

    def claim(self) -> list[AccessRequest]:
        """The stranded requests this replica won, each by a compare-and-set on `updated_at`."""
        now = self._clock.now()
        quiet_since = now - self._quiet_for
        with self._store.unit_of_work() as uow:
            stranded = [r for r in uow.requests.pending() if r.message_ts is None and r.updated_at <= quiet_since]
        claimed = []
        for request in stranded:
            try:
                with self._store.unit_of_work() as uow:
                    uow.requests.save(replace(request, updated_at=now))
            except StaleWrite:
                continue  # another replica took it, or it moved on
            claimed.append(request)
        return claimed

    def _announce(self, request_id: int) -> bool:
        self._announcer.announce(request_id=request_id)
        return True
