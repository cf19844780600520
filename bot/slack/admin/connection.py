"""'Test connection' in words: asks the domain's CredentialCheck port whether a credential works and belongs to
the organization, and says so in one line for the integration modal and the admin home."""

from __future__ import annotations

from dataclasses import dataclass

from access.config import CredentialSpec
from access.errors import AccessError, GatewayError
from access.model import CredentialCheckResult
from access.ports import CredentialCheck
from bot.slack import mrkdwn
from bot.slack.admin import words


@dataclass(frozen=True, kw_only=True)
class ConnectionResult:
    ok: bool
    text: str


class ConnectionTester:
    def __init__(self, check: CredentialCheck) -> None:
        self._check = check

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
