"""The configuration of the services beside Atlas: an integration's PagerDuty and Okta connections, and a flow's
on-call auto-approval rule. Validated like the rest of `access.config`, whose specs hold them.

A connection's secret is a literal (stored encrypted, write-only in the admin modal) or the name of an environment
variable (`*_env`), never both; `literal_*` swaps a variable's name for its value when an adapter calls.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from access.bounds import MAX_CREDENTIAL_ID, MAX_ENV_NAME, MAX_SECRET, Duration, at_most, first_at_most, shown
from access.errors import CredentialsMissing

ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
MAX_SCHEDULES = 20  # schedules one on-call rule names
MAX_SCHEDULE_ID = 32  # PagerDuty ids are 7 characters today (PABC123)
MAX_OKTA_URL = 255
MAX_PRIVATE_KEY = 8000  # a PEM RSA key of 4096 bits is about 3,300 characters
SCHEDULE_ID = re.compile(r"^[A-Z0-9]{2,32}$")
OKTA_URL = re.compile(r"^https://[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?/?$")
OKTA_PREFIX = "okta:"  # an integration owner naming an Okta group: `okta:DBA Team`
MAX_OKTA_GROUP = 255  # Okta allows 255 characters in a group name

EnvName = Annotated[str, first_at_most(MAX_ENV_NAME), Field(pattern=ENV_NAME_PATTERN)]
Secret = Annotated[SecretStr, first_at_most(MAX_SECRET)]
PrivateKey = Annotated[SecretStr, first_at_most(MAX_PRIVATE_KEY)]
ScheduleId = Annotated[str, first_at_most(MAX_SCHEDULE_ID), Field(pattern=SCHEDULE_ID.pattern)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _exactly_one(value: object, env: str | None, name: str) -> None:
    if (value is None) == (env is None):
        raise ValueError(f"give exactly one of {name} or {name}_env")


def _pick(value: str | SecretStr | None, name: str | None, what: str, env: Mapping[str, str], where: str) -> str:
    if value is not None:
        return value.get_secret_value() if isinstance(value, SecretStr) else value
    if name and env.get(name):
        return env[name]
    raise CredentialsMissing(f"{where}{what} is not set (environment variable {name})")


# --- PagerDuty --------------------------------------------------------------------------------------------------


class PagerDutyConnection(_Strict):
    """A PagerDuty REST API key (read-only is enough); the base URL is the process's PAGERDUTY_API_URL."""

    api_key: Secret | None = None
    api_key_env: EnvName | None = None

    @model_validator(mode="after")
    def _one_source(self) -> PagerDutyConnection:
        _exactly_one(self.api_key, self.api_key_env, "api_key")
        return self


def literal_pagerduty(connection: PagerDutyConnection, *, env: Mapping[str, str], integration: str = ""
                      ) -> PagerDutyConnection:
    """The connection with its key's variable name replaced by the value (CredentialsMissing names an unset one)."""
    where = f"integration {integration}: " if integration else ""
    key = _pick(connection.api_key, connection.api_key_env, "the PagerDuty API key", env, where)
    return PagerDutyConnection.model_construct(api_key=SecretStr(key), api_key_env=None)


class OnCallRule(_Strict):
    """Whoever is on call now in one of `schedules` is approved at once, for at most `max_duration` and never past
    their shift's end (plus `past_shift_end`, when the flow allows a margin)."""

    provider: Literal["pagerduty"]
    schedules: Annotated[list[ScheduleId], Field(min_length=1), at_most(MAX_SCHEDULES, "entries")]
    max_duration: Duration
    past_shift_end: Duration | None = None

    def limit(self, *, now_to_shift_end: timedelta | None) -> timedelta:
        """The longest an on-call grant may run from now: `max_duration`, or less when the shift ends sooner."""
        if now_to_shift_end is None:  # a permanent on-call (no end)
            return self.max_duration
        return min(self.max_duration, now_to_shift_end + (self.past_shift_end or timedelta(0)))


class AutoApprove(_Strict):
    on_call: OnCallRule


# --- Okta -------------------------------------------------------------------------------------------------------


class OktaApiToken(_Strict):
    """An Okta API token (SSWS): literal (stored encrypted) or an environment variable's name."""

    type: Literal["api_token"]
    token: Secret | None = None
    token_env: EnvName | None = None

    @model_validator(mode="after")
    def _one_source(self) -> OktaApiToken:
        _exactly_one(self.token, self.token_env, "token")
        return self


class OktaServiceApp(_Strict):
    """An Okta API service app (OAuth 2.0 client credentials with a private_key_jwt), Okta's recommended way:
    scopes okta.groups.read and okta.users.read."""

    type: Literal["service_app"]
    client_id: Annotated[str, at_most(MAX_CREDENTIAL_ID, "characters")] | None = None
    client_id_env: EnvName | None = None
    private_key: PrivateKey | None = None  # PEM (PKCS#8 or PKCS#1) RSA private key
    private_key_env: EnvName | None = None
    key_id: Annotated[str, at_most(MAX_CREDENTIAL_ID, "characters")] | None = None  # the JWK's kid, if set

    @model_validator(mode="after")
    def _one_source_each(self) -> OktaServiceApp:
        _exactly_one(self.client_id, self.client_id_env, "client_id")
        _exactly_one(self.private_key, self.private_key_env, "private_key")
        return self


OktaCredentials = Annotated[OktaApiToken | OktaServiceApp, Field(discriminator="type")]


class OktaConnection(_Strict):
    org_url: Annotated[str, first_at_most(MAX_OKTA_URL), Field(pattern=OKTA_URL.pattern)]
    credentials: OktaCredentials

    @property
    def base_url(self) -> str:
        return self.org_url.rstrip("/")


def literal_okta(connection: OktaConnection, *, env: Mapping[str, str], integration: str = "") -> OktaConnection:
    """The connection with environment variable names replaced by their values."""
    where = f"integration {integration}: " if integration else ""
    creds = connection.credentials
    if isinstance(creds, OktaApiToken):
        token = _pick(creds.token, creds.token_env, "the Okta API token", env, where)
        literal: OktaApiToken | OktaServiceApp = OktaApiToken.model_construct(
            type="api_token", token=SecretStr(token), token_env=None)
    else:
        literal = OktaServiceApp.model_construct(
            type="service_app", client_id=_pick(creds.client_id, creds.client_id_env, "the Okta client id", env, where),
            client_id_env=None, private_key_env=None, key_id=creds.key_id,
            private_key=SecretStr(_pick(creds.private_key, creds.private_key_env, "the Okta private key", env, where)))
    return OktaConnection.model_construct(org_url=connection.org_url, credentials=literal)


def okta_group_of(principal: str) -> str | None:
    """The Okta group an integration owner names (`okta:DBA Team` -> `DBA Team`), or None for a Slack principal."""
    return principal[len(OKTA_PREFIX):].strip() if principal.startswith(OKTA_PREFIX) else None


def parse_okta_principal(value: str) -> str:
    name = value.strip()[len(OKTA_PREFIX):].strip()
    if not name or len(name) > MAX_OKTA_GROUP or any(ord(c) < 32 for c in name):
        raise ValueError(f"'{shown(value)}' does not name an Okta group: write okta:<group name> (at most "
                         f"{MAX_OKTA_GROUP} characters)")
    return OKTA_PREFIX + name
