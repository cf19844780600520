"""Fault isolation for the timer rounds: one integration's (or one item's) failure stays its own.

A round (credential rotation, sync, reconciliation, expiry reminders, pending-request timeouts, announcing
stranded requests) runs each integration's or item's work through `Round.attempt`. A failure is logged in one
line naming the integration and the error, without the input, SQL or parameters behind it (`describe`); it
is told to that integration's owners once while it lasts, and the round goes on with the next one. A failure
that persists is not told again every round; a different one is; once that integration's work in the round
goes through, the next failure is news again.

What was told is remembered in this process and, given an `AlertLedger` (the database's, in the app), for every
replica and across restarts: of two replicas meeting the same lasting failure one tells it, and a restart does not
tell it again. A ledger that cannot be reached (the database is away) does not silence an alert: it is told, at
most once while this process remembers it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from pydantic import ValidationError

from access.admin import validation_errors
from access.bounds import shown
from access.errors import AccessError
from access.ports import AlertLedger, Notifier, Store

log = logging.getLogger(__name__)
T = TypeVar("T")


def describe(error: BaseException) -> str:
    """An error in one line for a log or a Slack alert: its kind and the first line of its message, which for a
    database error is the driver's own words (the SQL and its parameters follow on later lines), and for a
    stored spec that does not validate, the fields at fault (never their values)."""
    if isinstance(error, ValidationError):
        fields = "; ".join(f"{field}: {message}" for field, message in list(validation_errors(error).items())[:3])
        return f"its stored configuration is not valid ({fields})"
    lines = str(error).strip().splitlines()
    if lines and (type(error) is ValueError or isinstance(error, AccessError)):
        return shown(lines[0], 300)  # written for people already (a bound, a refusal): no class name needed
    return shown(f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__, 300)


class FaultIsolation:
    """Remembers, per round and integration, the failures its owners were told of (see the module's doc)."""

    def __init__(self, *, store: Store, notifier: Notifier | None, ledger: AlertLedger | None = None) -> None:
        self._store = store
        self._notifier = notifier
        self._ledger = ledger
        self._told: dict[tuple[str, str], set[str]] = {}
        self._lock = threading.Lock()

    @contextmanager
    def round(self, name: str) -> Iterator[Round]:
        """One pass of the round called `name` (`"sync"`, ...); its integrations' failures are settled at the end."""
        current = Round(name=name, isolation=self)
        yield current
        working = current.succeeded - current.failed
        for integration in working:
            with self._lock:
                cleared = self._told.pop((name, integration), None)
            if cleared:
                log.info("%s of %s works again", name, integration)
        if working and self._ledger is not None:
            try:
                self._ledger.works_again(round_name=name, integrations=working)
            except Exception as error:  # kept until a later round gets through: a later failure may go untold
                log.warning("could not record that the %s round works again: %s", name, describe(error))

    def failed(self, round_name: str, integration: str, error: Exception, what: str) -> None:
        description = describe(error)
        with self._lock:
            told = self._told.setdefault((round_name, integration), set())
            news_here = description not in told
            told.add(description)
        where = f" ({what})" if what else ""
        if news_here:
            log.warning("%s of %s failed%s: %s; the next round tries again", round_name, integration, where,
                        description)
        else:
            log.debug("%s of %s failed again%s: %s", round_name, integration, where, description)
        if self._first_to_tell(round_name, integration, description, news_here=news_here):
            self._tell_owners(round_name, integration, description)
        elif news_here:
            log.info("%s of %s: its owners were told of this failure already", round_name, integration)

    def _first_to_tell(self, round_name: str, integration: str, description: str, *, news_here: bool) -> bool:
        """Whether nobody told this failure yet: the ledger says, for every replica and across restarts (another
        replica's round that went through makes it news again here too); without a ledger, or when it cannot be
        reached, this process's memory alone (so the alert is not lost)."""
        if self._ledger is None:
            return news_here
        try:
            return self._ledger.tell_once(round_name=round_name, integration=integration, failure=description)
        except Exception as error:
            log.warning("could not check whether the %s failure of %s was told already: %s", round_name,
                        integration, describe(error))
            return news_here

    def _tell_owners(self, round_name: str, integration: str, description: str) -> None:
        if self._notifier is None or not integration:
            return
        text = (f"The {round_name} of *{integration}* failed: {_plain(description)}. Each round tries again; "
                "you will hear of it again only if the failure changes.")
        try:
            spec = self._store.integration(integration)
            if spec is not None:
                self._notifier.alert_owners(integration=spec, text=text)
        except Exception as error:  # an integration that cannot be read has no owners to tell: the log says it
            log.warning("could not tell the owners of %s: %s", integration, describe(error))


class Round:
    """One pass of a round: `attempt` each integration's or item's work; a failure stays that item's."""

    def __init__(self, *, name: str, isolation: FaultIsolation) -> None:
        self.name = name
        self._isolation = isolation
        self.succeeded: set[str] = set()
        self.failed: set[str] = set()

    def attempt(self, integration: str, action: Callable[[], T], *, what: str = "") -> T | None:
        """`action()`, or None when it raised (logged, and told to the integration's owners once)."""
        try:
            result = action()
        except Exception as error:
            self.failed.add(integration)
            self._isolation.failed(self.name, integration, error, what)
            return None
        self.succeeded.add(integration)
        return result


def _plain(text: str) -> str:
    """Error text inside a Slack message: `<`, `>` and `&` are shown, never read as links or mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
