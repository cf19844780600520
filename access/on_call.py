"""On-call auto-approval: a flow whose `auto_approve.on_call` names schedules approves at once whoever is on call
in one of them now, for at most the rule's `max_duration` and never past their shift's end (plus the rule's
`past_shift_end` margin); anyone else, and everyone while the provider cannot say, waits for the owners.

Pure rules over what the OnCall port answers: the requester is matched to the provider's people by email, without
regard to case. Nothing is approved on an error: an outage is an `UNAVAILABLE` note, said in the modal and the
approval message, and the request goes to its approvers as usual.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from access.config import AccessFlowSpec, IntegrationSpec
from access.connections import OnCallRule
from access.errors import AccessError, GatewayError
from access.model import OnCallNote, OnCallOutcome, OnCallShift
from access.ports import OnCall

log = logging.getLogger(__name__)
PROVIDER_NAMES = {"pagerduty": "PagerDuty"}


def rule_of(flow: AccessFlowSpec) -> OnCallRule | None:
    return flow.auto_approve.on_call if flow.auto_approve is not None else None


def provider_name(provider: str) -> str:
    return PROVIDER_NAMES.get(provider, provider)


def check(*, rule: OnCallRule, integration: IntegrationSpec, email: str, providers: Mapping[str, OnCall],
          now: datetime) -> OnCallNote:
    """Whether the person with `email` is on call now in one of the rule's schedules (the shift ending last wins)."""
    base = OnCallNote(outcome=OnCallOutcome.NOT_ON_CALL, provider=rule.provider, schedules=tuple(rule.schedules))
    port = providers.get(rule.provider)
    if port is None:
        return _unavailable(base, f"{provider_name(rule.provider)} is not set up on this server")
    try:
        shifts = port.shifts(integration=integration, schedules=rule.schedules)
    except (GatewayError, AccessError) as error:  # AccessError: an unset key variable (CredentialsMissing)
        log.warning("on-call check of integration %s failed: %s", integration.name, error)
        return _unavailable(base, _problem(rule.provider, error))
    mine = [s for s in shifts if _same_person(s.email, email) and _covers(s, now)]
    if not mine:
        return base
    shift = max(mine, key=lambda s: s.end or datetime.max.replace(tzinfo=now.tzinfo))
    return OnCallNote(outcome=OnCallOutcome.ON_CALL, provider=rule.provider, schedules=base.schedules,
                      schedule_id=shift.schedule_id, schedule_name=shift.schedule_name or shift.schedule_id,
                      shift_start=shift.start, shift_end=shift.end)


def granted(*, rule: OnCallRule, note: OnCallNote, asked: timedelta, now: datetime) -> timedelta:
    """How long an on-call approval gives: what was asked, within the rule's limit and the shift's end."""
    until_end = (note.shift_end - now) if note.shift_end is not None else None
    return min(asked, rule.limit(now_to_shift_end=until_end))


def _same_person(provider_email: str, requester_email: str) -> bool:
    return bool(provider_email) and provider_email.strip().casefold() == requester_email.strip().casefold()


def _covers(shift: OnCallShift, now: datetime) -> bool:
    return (shift.start is None or shift.start <= now) and (shift.end is None or now < shift.end)


def _unavailable(base: OnCallNote, problem: str) -> OnCallNote:
    return OnCallNote(outcome=OnCallOutcome.UNAVAILABLE, provider=base.provider, schedules=base.schedules,
                      problem=problem)


def _problem(provider: str, error: Exception) -> str:
    """Why the provider could not say, in words safe to show (the adapters' texts carry no secret)."""
    name = provider_name(provider)
    status = getattr(error, "status", None)
    if status in (401, 403):
        return f"{name} refused the API key"
    if status == 404:
        return f"{name} knows no such schedule (or the key may not read it)"
    if status == 429:
        return f"{name} is rate-limiting us"
    if isinstance(error, AccessError):
        return str(error)
    return f"{name} could not be reached"
