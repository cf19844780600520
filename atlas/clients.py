"""Atlas clients for credentials known only at call time: a credential check, a rotation's old and new keys.

The composition root builds one `AtlasClients` with what every client shares (base URL, clock, transport,
retry options); the adapters that work with credentials given per call (`atlas.connection`, `atlas.rotation`)
ask it for a client, and close it when done.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TypedDict, Unpack

import httpx

from access.config import ApiKeyCredentials, CredentialSpec
from access.ports import Clock
from atlas.client import DEFAULT_BASE_URL, AtlasClient, OnCall
from atlas.credentials import Credentials, from_spec


class ClientOptions(TypedDict, total=False):
    """AtlasClient's tuning, as the composition root (or a test: `sleep`, `max_retries`) sets it."""

    timeout: httpx.Timeout
    max_concurrency: int
    max_retries: int
    backoff_base: float
    backoff_cap: float
    sleep: Callable[[float], None]
    on_call: OnCall


def _no_transport() -> httpx.BaseTransport | None:
    return None


def _no_options() -> ClientOptions:
    return {}


class AtlasClients:
    """Makes clients with shared settings for credentials given per call.

    `transport` and `options` are read at each client made, since tests and the demo swap the Atlas transport
    in after start-up. `env` resolves credentials that name environment variables (the process's environment,
    read at each call, when None).
    """

    def __init__(self, *, base_url: str = DEFAULT_BASE_URL, clock: Clock,
                 transport: Callable[[], httpx.BaseTransport | None] = _no_transport,
                 options: Callable[[], ClientOptions] = _no_options, env: Mapping[str, str] | None = None) -> None:
        self._base_url = base_url
        self._clock = clock
        self._transport = transport
        self._options = options
        self._env = env

    def __repr__(self) -> str:
        return f"AtlasClients(base_url={self._base_url!r})"

    def credentials(self, spec: CredentialSpec, *, integration: str = "") -> Credentials:
        """The credentials `spec` describes (CredentialsMissing when it names a variable that is not set)."""
        return from_spec(spec, env=os.environ if self._env is None else self._env, integration=integration)

    def variables(self, spec: CredentialSpec) -> tuple[str | None, ...]:
        """The values of the environment variables `spec` names, as `credentials` reads them now (None: not set): the
        credentials of a spec are the same as long as these are."""
        env = os.environ if self._env is None else self._env
        return tuple(env.get(name) if name else None for name in _variable_names(spec))

    def client(self, credentials: Credentials, **overrides: Unpack[ClientOptions]) -> AtlasClient:
        """A new client for `credentials`; the caller closes it."""
        options: ClientOptions = {**self._options(), **overrides}
        return AtlasClient(base_url=self._base_url, credentials=credentials, transport=self._transport(),
                           clock=self._clock, **options)


def _variable_names(spec: CredentialSpec) -> tuple[str | None, ...]:
    if isinstance(spec, ApiKeyCredentials):
        return spec.public_key_env, spec.private_key_env
    return spec.client_id_env, spec.client_secret_env
