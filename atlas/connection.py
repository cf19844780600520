"""'Test connection' at the domain's port: does a credential work, and does it belong to the organization?

One `listOrgs` call with the credential as stored or as typed: Atlas answers with the organizations the credential
belongs to, so a wrong key and a key of another organization tell apart. One retry and a short timeout, since
someone is looking at the modal while this runs. Failures leave as the domain's GatewayError.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from access.config import ApiKeyCredentials, CredentialSpec
from access.model import SHOWN_ORGANIZATIONS, CredentialCheckResult, OrganizationSeen
from access.ports import CredentialCheck
from atlas.clients import AtlasClients
from atlas.errors import at_the_port

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
RETRIES = 1


class AtlasCredentialCheck:
    """access.ports.CredentialCheck over Atlas."""

    def __init__(self, clients: AtlasClients) -> None:
        self._clients = clients

    def __repr__(self) -> str:
        return f"AtlasCredentialCheck({self._clients!r})"

    @at_the_port
    def check_credentials(self, *, organization_id: str, credentials: CredentialSpec) -> CredentialCheckResult:
        resolved = self._clients.credentials(credentials)
        with self._clients.client(resolved, max_retries=RETRIES, timeout=TIMEOUT) as client:
            orgs = [OrganizationSeen(id=str(org.get("id", "")), name=str(org.get("name", "")))
                    for org in client.paginate("listOrgs")]
        mine = next((org for org in orgs if org.id.casefold() == organization_id.casefold()), None)
        return CredentialCheckResult(
            organization_id=organization_id,
            credential_type="api_key" if isinstance(credentials, ApiKeyCredentials) else "service_account",
            identity=resolved.identity, organization=mine, visible=tuple(orgs[:SHOWN_ORGANIZATIONS]))


if TYPE_CHECKING:

    def _implements_the_port(check: AtlasCredentialCheck) -> CredentialCheck:
        return check  # mypy proves it satisfies access.ports.CredentialCheck
