"""App Home refreshes off the caller's thread, each person's at most once per `spacing` seconds.

A change concerning a person (a request, a decision, a grant's step) marks their Home stale; one thread
publishes stale Homes, letting Slack acks in flight go first. A person concerned by many changes at once
(the approver of a hundred requests expiring together) gets one publish per `spacing`, showing the latest
state, instead of one per change: building a Home reads their requests and grants, and each publish is a
`views.publish` call, which Slack rate-limits. The grant worker so never waits on a Home: the Homes were a
third of a revocation's time when they were published inline (bench/revocation.py).

A change that lands while a person's Home is being published marks it stale again, so the last publish
always follows the last change. Opening the Home tab publishes at once, outside this queue. A publish that
fails (its Home could not be built: the database away, say) is tried again `retry` seconds later, until it
goes through.

Publishes are also paced to `per_minute` (Slack's tier 4 for views.publish: about 100 a minute per
workspace), after a first `burst`: a burst of changes concerning many people then refreshes their Homes
over the next minutes, oldest change first, instead of running into 429s; each Home shows the state of
its publish, not of its change. The pace is a `RateBudget` the replicas share (the database's, in the app):
Slack counts a workspace's publishes, not a replica's, and two replicas pacing each on its own sent twice what
it allows (in bench/revocation.py, each replica published as many Homes as the limit allows one).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from access.ports import RateBudget
from bot.slack.pacing import AckGate

log = logging.getLogger(__name__)
BUCKET = "slack:views.publish"  # the RateBudget's bucket for the App Home publishes
_PACED = -1.0  # HomeRefresher._napping: waiting for the pace to allow a publish (a mark cannot make it sooner)


class HomeRefresher:
    def __init__(self, publish: Callable[[str], None], *, spacing: float = 1.0, gate: AckGate | None = None,
                 budget: RateBudget | None = None, per_minute: float = 100.0, burst: int = 50, retry: float = 5.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        """`budget`: the pace's tokens (`per_minute`, `burst`), shared with the other replicas; None: no pace."""
        self._publish, self._spacing, self._gate, self._monotonic = publish, spacing, gate, monotonic
        self._retry, self._budget = retry, budget
        self._rate, self._burst = per_minute / 60.0, float(burst)
        self._state = threading.Condition()
        self._stale: dict[str, None] = {}  # in the order marked
        self._ready_at: dict[str, float] = {}  # when each may be published again (after a publish or a failure)
        self._busy = 0  # Homes being published now
        self._thread: threading.Thread | None = None
        self._closed = False
        self._flushing = False  # closing: stale Homes go out now, their spacing no longer waited for
        # What the thread waits for, if it waits: the pace (_PACED), or the moment it wakes by itself; None: awake.
        self._napping: float | None = None

    def __call__(self, user_id: str) -> None:
        """Mark `user_id`'s Home stale; it is published as soon as its spacing allows.

        The thread is woken only when this mark lets it publish sooner than it would wake by itself: not for a
        Home already stale, nor while it publishes (it looks again after), waits for the pace, or sleeps past
        this Home's spacing. In an expiry burst every revocation marks two Homes, and each mark woke the thread
        to find nothing to do: some three context switches a revocation (bench/revocation.py)."""
        with self._state:
            if self._closed or user_id in self._stale:
                return
            self._stale[user_id] = None
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="home-refresh", daemon=True)
                self._thread.start()
            napping = self._napping
            if napping is None or napping == _PACED:
                return
            if self._flushing or self._ready_at.get(user_id, float("-inf")) < napping:
                self._state.notify_all()

    def idle(self, timeout: float | None = None) -> bool:
        """Wait until no Home is stale or being published; False if `timeout` passed first."""
        with self._state:
            return self._state.wait_for(lambda: not self._stale and not self._busy, timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Publish what is stale (for up to `timeout` seconds, without waiting out any Home's spacing: nothing will
        come after it to coalesce), then stop."""
        with self._state:
            self._flushing = True
            self._state.notify_all()
        self.idle(timeout)
        with self._state:
            self._closed = True
            self._state.notify_all()

    def _run(self) -> None:
        while (user_id := self._next()) is not None:
            wait = self._take()  # outside the state's lock: a mark never waits on the database
            if wait > 0:  # the pace allows none yet: this Home goes first once it does
                with self._state:
                    self._busy -= 1
                    self._stale = {user_id: None, **self._stale}
                    if not self._closed:
                        self._nap(wait, paced=True)
                continue
            if self._gate is not None:
                self._gate.wait_turn()
            failed = False
            try:
                self._publish(user_id)
            except Exception as error:  # this thread must outlive any failure; the Home is tried again later
                log.warning("publishing the App Home of %s failed (%s); trying again in %gs", user_id,
                            type(error).__name__, self._retry)
                failed = True
            with self._state:
                self._ready_at[user_id] = self._monotonic() + (self._retry if failed else self._spacing)
                if failed and not self._closed:
                    self._stale.setdefault(user_id, None)
                self._busy -= 1
                self._state.notify_all()

    def _next(self) -> str | None:
        """The next stale Home whose spacing has passed, when the pace allows, waiting for both; None once closed."""
        with self._state:
            while not self._closed:
                now = self._monotonic()
                self._forget(now)
                wake: float | None = None
                for user_id in self._stale:
                    ready_at = float("-inf") if self._flushing else self._ready_at.get(user_id, float("-inf"))
                    if ready_at <= now:
                        del self._stale[user_id]
                        self._busy += 1
                        return user_id
                    wake = ready_at if wake is None else min(wake, ready_at)
                self._nap(None if wake is None else wake - now, until=float("inf") if wake is None else wake)
            return None

    def _nap(self, seconds: float | None, *, until: float = 0.0, paced: bool = False) -> None:
        """Wait (holding `_state`) for `seconds` or a notify, saying meanwhile what for: the pace, or `until` (a
        monotonic moment; infinity: nothing is stale)."""
        self._napping = _PACED if paced else until
        try:
            self._state.wait(seconds)
        finally:
            self._napping = None

    def _take(self) -> float:
        """A token of the pace: 0 when taken, else the seconds until one is there. A budget that cannot be read (the
        database away) holds the publishes `retry` seconds: the Home could not be built either."""
        if self._budget is None:
            return 0.0
        try:
            return self._budget.take(BUCKET, per_second=self._rate, burst=self._burst)
        except Exception as error:
            log.warning("the App Home publishes' pace could not be read (%s); trying again in %gs",
                        type(error).__name__, self._retry)
            return self._retry

    def _forget(self, now: float) -> None:
        if len(self._ready_at) > 1000:
            self._ready_at = {u: t for u, t in self._ready_at.items() if t > now}
