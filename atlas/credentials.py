"""The bot's own Atlas credentials as values whose secret half never shows in a repr, str or log line."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import SecretStr


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
