"""A clock that moves only when a test moves it (the `access.ports.Clock` port): the app's own ManualClock,
starting at the fakes' T0."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.clock import ManualClock

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

__all__ = ["T0", "ManualClock"]
