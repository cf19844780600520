"""'Test connection' in words: asks the domain's CredentialCheck port whether a credential works and belongs to
the organization, and the OnCallCheck and GroupSource ports whether the PagerDuty key reads each schedule the
integration's flows name and the Okta credentials each Okta group its owners name; one line each, for the
integration modal and the admin home."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from access.config import CredentialSpec
from access.connections import OktaConnection, PagerDutyConnection
from access.errors import AccessError, GatewayError
from access.model import CredentialCheckResult, OnCallCheckResult
from access.ports import CredentialCheck, GroupSource, OnCallCheck
from bot.slack import mrkdwn
from bot.slack.admin import words


@dataclass(frozen=True, kw_only=True)
class ConnectionResult:
    ok: bool
    text: str


class ConnectionTester:
    def __init__(self, check: CredentialCheck, *, on_call: OnCallCheck | None = None,
                 groups: GroupSource | None = None) -> None:
        self._check = check
        self._on_call = on_call
        self._groups = groups

    def check_pagerduty(self, *, connection: PagerDutyConnection, schedules: Sequence[str]) -> ConnectionResult:
        """The key against each schedule the integration's flows name (PagerDuty's words on a refusal)."""
        if self._on_call is None:
            return ConnectionResult(ok=False, text=":x: PagerDuty: not available on this server.")
        try:
            result = self._on_call.check_on_call(connection=connection, schedules=schedules)
        except (GatewayError, AccessError) as error:
            return ConnectionResult(ok=False, text=f":x: PagerDuty: {_vendor_problem(error)}")
        return _schedules_verdict(result)

    def check_okta(self, *, connection: OktaConnection, groups: Sequence[str]) -> ConnectionResult:
        """The credentials against each Okta group the integration's owners name."""
        if self._groups is None:
            return ConnectionResult(ok=False, text=":x: Okta: not available on this server.")
        try:
            found = self._groups.check_groups(connection=connection, groups=groups)
        except (GatewayError, AccessError) as error:
            return ConnectionResult(ok=False, text=f":x: Okta: {_vendor_problem(error)}")
        missing = [name for name, count in found.items() if count is None]
        seen = ", ".join(f"{mrkdwn.line(name)} ({count} members)" for name, count in found.items() if count is not None)
        if missing:
            return ConnectionResult(ok=False, text=(
                f":x: Okta: connected, but it knows no group {mrkdwn.line(', '.join(missing))}"
                + (f"; found {seen}" if seen else "") + "."))
        return ConnectionResult(ok=True, text=":white_check_mark: Okta: connected" + (f"; groups {seen}." if seen
                                                                                       else "."))

    def check(self, *, name: str, organization_id: str, credentials: CredentialSpec) -> ConnectionResult:
        """`credentials` as stored (literal or naming environment variables) or as typed in the modal."""
        try:
            result = self._check.check_credentials(organization_id=organization_id, credentials=credentials)
        except (GatewayError, AccessError) as error:
            problem = words.atlas_problem(error, integration=name or "these credentials")
            return ConnectionResult(ok=False, text=f":x: {problem}")
        return verdict(result)


def verdict(result: CredentialCheckResult) -> ConnectionResult:
    kind = "API key" if result.credential_type == "api_key" else "service account"
    organization_id = mrkdwn.line(result.organization_id)
    if result.organization is None:
        theirs = mrkdwn.line(", ".join(f"{org.name} ({org.id})" for org in result.visible)) or "no organization"
        return ConnectionResult(ok=False, text=(
            f":x: The {kind} works, but it belongs to {theirs}, not to organization {organization_id}."))
    return ConnectionResult(ok=True, text=(
        f":white_check_mark: Connected to organization *{mrkdwn.line(result.organization.name)}* "
        f"({organization_id}) with {kind} {mrkdwn.code(result.identity)}."))


def _schedules_verdict(result: OnCallCheckResult) -> ConnectionResult:
    missing = [s.id for s in result.schedules if s.name is None]
    found = ", ".join(f"{mrkdwn.line(s.name or '')} ({mrkdwn.line(s.id)})" for s in result.schedules if s.name)
    if missing:
        return ConnectionResult(ok=False, text=(
            f":x: PagerDuty: the key works, but it finds no schedule {mrkdwn.line(', '.join(missing))}"
            + (f"; it reads {found}" if found else "") + "."))
    return ConnectionResult(ok=True, text=":white_check_mark: PagerDuty: the key works" + (
        f"; schedules {found}." if found else " (no flow names a schedule yet)."))


def _vendor_problem(error: Exception) -> str:
    status = getattr(error, "status", None)
    if status in (401, 403):
        return f"the credentials were refused ({status}): {mrkdwn.line(str(error))}"
    return mrkdwn.line(str(error))


def combined(results: Sequence[ConnectionResult]) -> ConnectionResult:
    return ConnectionResult(ok=all(r.ok for r in results), text="\n".join(r.text for r in results if r.text))
