"""The bot's own Atlas credentials as values whose secret half never shows in a repr, str or log line.

The domain describes credentials as config specs (`access.config.ApiKeyCredentials`, `ServiceAccountCredentials`,
literal or naming environment variables); `from_spec` and `as_spec` convert between the two.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import SecretStr

from access.config import ApiKeyCredentials, CredentialSpec, ServiceAccountCredentials, literal_credentials


@dataclass(frozen=True, kw_only=True, init=False)
class ApiKey:
    """A programmatic API key (HTTP Digest): the public key names it, the private key proves it."""

    public_key: str
    private_key: SecretStr = field(repr=False)

    def __init__(self, *, public_key: str, private_key: str | SecretStr) -> None:
        object.__setattr__(self, "public_key", public_key)
        object.__setattr__(self, "private_key", _secret(private_key))

    @property
    def identity(self) -> str:
        """What Atlas knows the caller as (safe to log)."""
        return self.public_key

    def __repr__(self) -> str:
        return f"ApiKey(public_key={self.public_key!r}, private_key='**********')"

    __str__ = __repr__


@dataclass(frozen=True, kw_only=True, init=False)
class ServiceAccount:
    """A service account (OAuth 2.0 client credentials): the client id names it, the secret proves it."""

    client_id: str
    client_secret: SecretStr = field(repr=False)

    def __init__(self, *, client_id: str, client_secret: str | SecretStr) -> None:
        object.__setattr__(self, "client_id", client_id)
        object.__setattr__(self, "client_secret", _secret(client_secret))

    @property
    def identity(self) -> str:
        return self.client_id

    def __repr__(self) -> str:
        return f"ServiceAccount(client_id={self.client_id!r}, client_secret='**********')"

    __str__ = __repr__


Credentials = ApiKey | ServiceAccount


def _secret(value: str | SecretStr) -> SecretStr:
    return value if isinstance(value, SecretStr) else SecretStr(value)


def secrets_of(credentials: Credentials) -> tuple[str, ...]:
    """The secret strings a message must never contain (used to scrub error text)."""
    if isinstance(credentials, ApiKey):
        return (credentials.private_key.get_secret_value(),)
    return (credentials.client_secret.get_secret_value(),)


def from_spec(spec: CredentialSpec, *, env: Mapping[str, str], integration: str = "") -> Credentials:
    """The credentials a spec describes, environment variable names read from `env` (CredentialsMissing when
    one is not set)."""
    literal = literal_credentials(spec, env=env, integration=integration)
    if isinstance(literal, ApiKeyCredentials):
        return ApiKey(public_key=str(literal.public_key), private_key=_secret(literal.private_key or ""))
    return ServiceAccount(client_id=str(literal.client_id), client_secret=_secret(literal.client_secret or ""))


def as_spec(credentials: Credentials) -> CredentialSpec:
    """The literal spec of `credentials` (stored encrypted by the caller)."""
    if isinstance(credentials, ApiKey):
        return ApiKeyCredentials(type="api_key", public_key=credentials.public_key,
                                 private_key=credentials.private_key)
    return ServiceAccountCredentials(type="service_account", client_id=credentials.client_id,
                                     client_secret=credentials.client_secret)
