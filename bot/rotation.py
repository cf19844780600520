"""Adapts atlas.rotation to the domain's CredentialAuthority port, converting between config specs and Atlas values."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import SecretStr

from access.config import ApiKeyCredentials, IntegrationSpec, IssuedCredential, ServiceAccountCredentials
from atlas.client import AtlasClient
from atlas.credentials import ApiKey, Credentials
from atlas.rotation import CredentialRotator, Issued
from bot.gateways import atlas_credentials


def as_spec(credentials: Credentials) -> ApiKeyCredentials | ServiceAccountCredentials:
    if isinstance(credentials, ApiKey):
        return ApiKeyCredentials(type="api_key", public_key=credentials.public_key,
                                 private_key=credentials.private_key)
    return ServiceAccountCredentials(type="service_account", client_id=credentials.client_id,
                                     client_secret=SecretStr(credentials.client_secret.get_secret_value()))


class AtlasCredentialAuthority:
    def __init__(self, *, base_url: str, client_options: dict[str, Any]) -> None:
        """`client_options`: what every AtlasClient is built with beyond its credentials (bot.gateways)."""
        self._base_url = base_url
        self._options = client_options

    @contextmanager
    def _rotator(self) -> Iterator[CredentialRotator]:
        clients: list[AtlasClient] = []

        def client_for(credentials: Credentials) -> AtlasClient:
            client = AtlasClient(base_url=self._base_url, credentials=credentials, **self._options)
            clients.append(client)
            return client

        try:
            yield CredentialRotator(client_for=client_for)
        finally:
            for client in clients:
                client.close()

    def issue(self, *, integration: IntegrationSpec) -> IssuedCredential:
        with self._rotator() as rotator:
            issued = rotator.issue(organization_id=integration.organization_id,
                                   current=atlas_credentials(integration))
        return IssuedCredential(credentials=as_spec(issued.credentials), new_id=issued.new_id, old_id=issued.old_id)

    def retire(self, *, integration: IntegrationSpec, old_id: str) -> None:
        with self._rotator() as rotator:
            rotator.retire(organization_id=integration.organization_id, using=atlas_credentials(integration),
                           old_id=old_id)

    def discard(self, *, integration: IntegrationSpec, issued: IssuedCredential) -> None:
        current = atlas_credentials(integration)
        with self._rotator() as rotator:
            rotator.discard(organization_id=integration.organization_id, current=current,
                            issued=Issued(credentials=current, new_id=issued.new_id, old_id=issued.old_id))
