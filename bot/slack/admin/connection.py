"""'Test connection': do these credentials work against Atlas, and do they belong to the given organization?

One `listOrgs` call with the credentials as typed (or as stored): Atlas answers with the organizations the
credential belongs to, so a wrong key and a key of another organization tell apart. Few retries and a short
timeout: someone is looking at the modal while this runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from atlas.client import AtlasClient
from atlas.credentials import ApiKey, Credentials
from atlas.errors import AtlasError
from bot.slack import mrkdwn
from bot.slack.admin import words

TIMEOUT = httpx.Timeout(10.0, connect=5.0)


@dataclass(frozen=True, kw_only=True)
class ConnectionResult:
    ok: bool
    text: str


class ConnectionTester:
    def __init__(self, *, base_url: str, client_options: dict[str, Any]) -> None:
        """`client_options`: what every AtlasClient is built with beyond its credentials (bot.gateways)."""
        self._base_url = base_url
        self._options = client_options

    def check(self, *, name: str, organization_id: str, credentials: Credentials) -> ConnectionResult:
        options = {**self._options, "max_retries": 1, "timeout": TIMEOUT}
        client = AtlasClient(base_url=self._base_url, credentials=credentials, **options)
        try:
            orgs = list(client.paginate("listOrgs"))
        except AtlasError as error:
            problem = words.atlas_problem(error, integration=name or "these credentials")
            return ConnectionResult(ok=False, text=f":x: {problem}")
        finally:
            client.close()
        return _verdict(orgs, organization_id, credentials)


def _verdict(orgs: list[dict[str, Any]], organization_id: str, credentials: Credentials) -> ConnectionResult:
    kind = "API key" if isinstance(credentials, ApiKey) else "service account"
    mine = next((org for org in orgs if str(org.get("id", "")).lower() == organization_id.lower()), None)
    if mine is None:
        theirs = mrkdwn.line(", ".join(f"{org.get('name')} ({org.get('id')})" for org in orgs[:3])) or "no organization"
        return ConnectionResult(ok=False, text=(
            f":x: The {kind} works, but it belongs to {theirs}, not to organization {mrkdwn.line(organization_id)}."))
    return ConnectionResult(ok=True, text=(
        f":white_check_mark: Connected to organization *{mrkdwn.line(mine.get('name'))}* "
        f"({mrkdwn.line(organization_id)}) with {kind} {mrkdwn.code(credentials.identity)}."))
