"""The secret-leak watch of the end-to-end suite: every story runs with it (see conftest), and fails when a
secret of its world appears in a log line at any level (tracebacks included), a call or response_url post the
fake Slack received, or any row of the database (the audit trail, a grant's last error).

The secrets are the world's own, each distinctive: the Slack bot token and signing secret, the Fernet key,
and every Atlas private key and service-account secret the sandbox ever issued (rotations included).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import create_engine, inspect, text


@dataclass
class LeakWatch:
    """A DEBUG-level capture of every log line while a story runs, then the scan of what its worlds hold."""

    lines: list[str] = field(default_factory=list)
    _handler: logging.Handler | None = None
    _level: int = logging.WARNING

    def start(self) -> LeakWatch:
        lines = self.lines
        formatter = logging.Formatter()

        class _Capture(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                try:
                    text = f"{record.name}: {record.getMessage()}"
                except Exception:  # a bad format string is not ours to judge here; keep what there is
                    text = f"{record.name}: {record.msg!r} {record.args!r}"
                if record.exc_info:
                    text += "\n" + formatter.formatException(record.exc_info)
                if record.stack_info:
                    text += "\n" + record.stack_info
                lines.append(text)

        root = logging.getLogger()
        self._handler, self._level = _Capture(logging.DEBUG), root.level
        root.addHandler(self._handler)
        root.setLevel(logging.DEBUG)  # secrets leak at DEBUG too: operators turn it on in production
        return self

    def stop(self) -> None:
        root = logging.getLogger()
        if self._handler is not None:
            root.removeHandler(self._handler)
        root.setLevel(self._level)

    def findings(self, worlds: Iterable[Any]) -> list[str]:
        """Where each secret of each world was seen: ["log: <line start>", "slack: chat.postMessage", ...]."""
        found: list[str] = []
        for world in worlds:
            needles = secrets_of(world)
            for where, haystack in self._haystacks(world):
                found += [f"{where} holds {_hint(n)}" for n in needles if n in haystack]
        return found

    def _haystacks(self, world: Any) -> Iterable[tuple[str, str]]:
        for number, line in enumerate(self.lines):
            yield f"log line {number} of {line.partition(':')[0]}", line  # never the line itself: it has the secret
        for call in world.sim.calls:
            yield f"Slack call {call.method}", json.dumps(call.args, default=str)
        for response in world.sim.responses:
            yield "response_url post", json.dumps(response, default=str)
        yield from database_rows(world.database_url)


def secrets_of(world: Any) -> set[str]:
    """Every secret a world's app held: its settings', the seeded Atlas key, and every credential the sandbox
    still knows (a key rotated away in between is deleted there, so a later leak of it would go unseen)."""
    settings = world.settings
    values = {settings.slack_bot_token.get_secret_value(), settings.slack_signing_secret.get_secret_value(),
              world.atlas.private_key}  # the seeded key, even once a rotation has deleted it in the sandbox
    for optional in (settings.atlas_access_secret_key, settings.slack_app_token):
        if optional is not None:
            values.add(optional.get_secret_value())
    with world.sb._seeding() as state:  # the sandbox's own records: every key, rotations included
        values |= {key.private_key for key in state.api_keys.values()}
        values |= {s.value for account in state.service_accounts.values() for s in account.secrets.values()}
    values |= set(getattr(world, "vendor_secrets", ()))  # PagerDuty API keys, Okta tokens and private keys
    return {v for v in values if v and len(v) >= 8}


def database_rows(url: str) -> Iterable[tuple[str, str]]:
    """Every row of every table, as text."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            for name in inspect(connection).get_table_names():
                for row in connection.execute(text(f'SELECT * FROM "{name}"')):
                    yield f"table {name}", " ".join(map(str, row))
    finally:
        engine.dispose()


def _hint(secret: str) -> str:
    """Which secret, without printing it in the failure (the report is a log too)."""
    return f"a secret ({len(secret)} chars, ending …{secret[-2:]})"
