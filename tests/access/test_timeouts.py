"""Rules of pending timeouts: which step is due for an undecided request, and how a flow's timeouts are read."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from pydantic import ValidationError

from access.config import AccessFlowSpec, PendingTimeouts
from access.errors import AlreadyDecided
from access.model import RequestStatus
from access.timeouts import apply_step, due_step
from tests.access.test_selfservice import FLOW, REQUEST, T0

H = timedelta(hours=1)


@pytest.mark.parametrize(("age", "reminded", "escalated", "step"), [
    (H * 0.5, False, False, None),
    (H, False, False, "reminded"),
    (H * 2, True, False, None),  # reminded already
    (H * 4, True, False, "escalated"),
    (H * 4, False, False, "escalated"),  # a process that was down skips straight to the later step
    (H * 5, True, True, None),
    (H * 24, True, True, "expired"),
    (H * 30, False, False, "expired"),
])  # fmt: skip
def test_the_step_due_with_the_default_timeouts(age: timedelta, reminded: bool, escalated: bool,
                                                step: str | None) -> None:
    request = replace(REQUEST, reminded_at=T0 if reminded else None, escalated_at=T0 if escalated else None)
    assert due_step(request, FLOW, T0 + age) == step


def test_decided_and_break_glass_requests_have_no_steps() -> None:
    assert due_step(replace(REQUEST, status=RequestStatus.APPROVED), FLOW, T0 + H * 48) is None
    assert due_step(replace(REQUEST, break_glass=True), FLOW, T0 + H * 48) is None


def test_a_step_on_a_decided_request_is_refused() -> None:
    with pytest.raises(AlreadyDecided):
        apply_step(replace(REQUEST, status=RequestStatus.DENIED), "reminded", T0)
    escalated = apply_step(REQUEST, "escalated", T0 + H)
    assert escalated.escalated_at == escalated.reminded_at == T0 + H


def test_flow_timeouts_read_from_yaml_words_and_stored_iso_and_must_be_in_order() -> None:
    spec = AccessFlowSpec.model_validate({**FLOW.model_dump(), "pending": {"remind_after": "15m",
                                                                           "expire_after": "2d"}})
    assert spec.pending == PendingTimeouts(remind_after=timedelta(minutes=15), expire_after=timedelta(days=2))
    stored = spec.model_dump(mode="json")["pending"]
    assert AccessFlowSpec.model_validate({**FLOW.model_dump(), "pending": stored}).pending == spec.pending
    with pytest.raises(ValidationError, match="remind_after <= escalate_after"):
        PendingTimeouts.model_validate({"remind_after": "5h", "escalate_after": "4h"})


def test_config_show_prints_custom_timeouts_as_text_and_leaves_out_the_defaults() -> None:
    from access.admin import redacted
    from access.config import ConfigDocument

    custom = AccessFlowSpec.model_validate({**FLOW.model_dump(), "name": "slow", "pending": {"expire_after": "2d"}})
    shown = redacted(ConfigDocument(integrations=[], access_flows=[FLOW, custom]))["access_flows"]
    assert "pending" not in shown[0]
    assert shown[1]["pending"] == {"remind_after": "1h", "escalate_after": "4h", "expire_after": "2d"}
    assert AccessFlowSpec.model_validate(shown[1]).pending == custom.pending  # what show prints, apply reads
