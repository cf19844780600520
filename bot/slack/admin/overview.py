"""What the admin home shows: each integration's public settings and health, and the access flows.

Read through the ConfigService in one unit of work. `IntegrationHealth` copies only public fields out of the spec
(the spec holds decrypted secrets in memory), so a view built from it cannot show a secret by mistake.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from access.admin import ConfigService
from access.config import AccessFlowSpec, ApiKeyCredentials, IntegrationSpec
from access.connections import OktaApiToken


@dataclass(frozen=True, kw_only=True)
class IntegrationHealth:
    name: str
    organization_id: str
    enabled: bool
    credential: str  # e.g. "API key abcdefgh", "service account mdb_sa_id_…", "API key from $ATLAS_PUBLIC_KEY"
    rotation_days: int | None
    owners: tuple[str, ...]
    resource_owner_tag: str | None
    connections: str = ""  # "PagerDuty: API key stored (encrypted) · Okta: https://acme.okta.com, …": never a secret
    last_sync_at: datetime | None = None
    last_sync_error: str | None = None
    last_rotation_at: datetime | None = None
    last_rotation_error: str | None = None
    pending_retire: bool = False
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Overview:
    integrations: tuple[IntegrationHealth, ...]
    flows: tuple[AccessFlowSpec, ...]

    def integration(self, name: str) -> IntegrationHealth | None:
        return next((i for i in self.integrations if i.name == name), None)


def load_overview(config: ConfigService) -> Overview:
    integrations, flows = config.standing()
    return Overview(integrations=tuple(health_of(spec, status) for spec, status in integrations), flows=tuple(flows))


def credential_words(spec: IntegrationSpec) -> str:
    creds = spec.credentials
    if isinstance(creds, ApiKeyCredentials):
        kind, shown, env = "API key", creds.public_key, creds.public_key_env
    else:
        kind, shown, env = "service account", creds.client_id, creds.client_id_env
    return f"{kind} {shown}" if shown else f"{kind} from ${env}"


def connection_words(spec: IntegrationSpec) -> str:
    """The PagerDuty and Okta connections as the admin home shows them: where the secret is, never what it is."""
    parts = []
    if spec.pagerduty is not None:
        env = spec.pagerduty.api_key_env
        parts.append(f"PagerDuty: API key from ${env}" if env else "PagerDuty: API key stored (encrypted)")
    if spec.okta is not None:
        creds = spec.okta.credentials
        if isinstance(creds, OktaApiToken):
            kind, env = "API token", creds.token_env
        else:
            kind, env = f"service app {creds.client_id or '$' + str(creds.client_id_env)}", creds.private_key_env
        where = f"from ${env}" if env else "stored (encrypted)"
        parts.append(f"Okta: {spec.okta.org_url}, {kind} {where}")
    return " · ".join(parts)


def health_of(spec: IntegrationSpec, status: dict[str, object]) -> IntegrationHealth:
    counts = status.get("counts")
    return IntegrationHealth(
        name=spec.name, organization_id=spec.organization_id, enabled=spec.enabled, credential=credential_words(spec),
        rotation_days=spec.credential_rotation_days, owners=tuple(spec.integration_owners),
        resource_owner_tag=spec.resource_owner.tag_key if spec.resource_owner else None,
        connections=connection_words(spec),
        last_sync_at=_moment(status.get("last_sync_at")), last_sync_error=_text(status.get("last_sync_error")),
        last_rotation_at=_moment(status.get("last_rotation_at")),
        last_rotation_error=_text(status.get("last_rotation_error")),
        pending_retire=bool(status.get("pending_retire_id")),
        counts=dict(counts) if isinstance(counts, dict) else {},
    )  # fmt: skip


def _moment(value: object) -> datetime | None:
    return value if isinstance(value, datetime) else None


def _text(value: object) -> str | None:
    return str(value) if value else None
