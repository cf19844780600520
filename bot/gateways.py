"""The Atlas side of each integration: its credentials resolved (literal or from the environment) and one client
and gateway per integration, built on first use and rebuilt when the credentials change."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from access.config import ApiKeyCredentials, IntegrationSpec
from access.ports import AtlasGateway, Clock
from atlas.client import AtlasClient
from atlas.credentials import ApiKey, ServiceAccount
from atlas.gateway import AtlasGateway as HttpAtlasGateway
from bot.errors import ConfigurationError
from bot.settings import Settings
from storage.store import SqlStore


def atlas_credentials(spec: IntegrationSpec, env: dict[str, str] | None = None) -> ApiKey | ServiceAccount:
    """Resolve an integration's credentials: literal (decrypted) values or environment variables."""
    env = dict(os.environ) if env is None else env
    creds = spec.credentials

    def pick(value: Any, env_name: str | None, what: str) -> str:
        if value is not None:
            return value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
        if env_name and env.get(env_name):
            return env[env_name]
        raise ConfigurationError(f"integration {spec.name}: {what} is not set (environment variable {env_name})")

    if isinstance(creds, ApiKeyCredentials):
        return ApiKey(public_key=pick(creds.public_key, creds.public_key_env, "the API public key"),
                      private_key=pick(creds.private_key, creds.private_key_env, "the API private key"))
    return ServiceAccount(client_id=pick(creds.client_id, creds.client_id_env, "the service account client id"),
                          client_secret=pick(creds.client_secret, creds.client_secret_env,
                                             "the service account secret"))


@dataclass(kw_only=True)
class GatewayFactory:
    """One Atlas client and gateway per integration, built on first use and rebuilt when credentials change."""

    store: SqlStore
    settings: Settings
    clock: Clock
    transport: httpx.BaseTransport | None = None
    on_call: Callable[[str, float, int], None] | None = None
    sleep: Callable[[float], None] | None = None  # the clients' retry waits (tests record them instead)
    _cache: dict[str, tuple[object, HttpAtlasGateway]] = field(default_factory=dict)

    @property
    def client_options(self) -> dict[str, Any]:
        """What every AtlasClient of this process is built with beyond its credentials (transport, clock, waits)."""
        options: dict[str, Any] = {"transport": self.transport, "clock": self.clock}
        return options | ({"sleep": self.sleep} if self.sleep is not None else {})

    def __call__(self, integration: str) -> AtlasGateway:
        spec = self.store.integration(integration)
        if spec is None:
            raise ConfigurationError(f"no integration named {integration}")
        credentials = atlas_credentials(spec)
        cached = self._cache.get(integration)
        if cached and cached[0] == credentials:
            return cached[1]
        client = AtlasClient(base_url=self.settings.atlas_base_url, credentials=credentials,
                             max_concurrency=self.settings.atlas_max_concurrency, on_call=self.on_call,
                             **self.client_options)
        gateway = HttpAtlasGateway(client)
        self._cache[integration] = (credentials, gateway)
        return gateway
