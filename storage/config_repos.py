"""The configuration repositories: integrations (with their secret encrypted at rest) and access flows.

An integration's literal secret (`private_key` / `client_secret`) is stored as Fernet ciphertext in
`credential_secret`; its public part (public key or client id, or the names of environment variables) is
plain JSON in `credential_public`. Reading an integration decrypts the secret back into a SecretStr.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pydantic import SecretStr
from sqlalchemy import Connection, Table, insert, select, update

from access.bounds import STORED
from access.config import AccessFlowSpec, IntegrationSpec, ResourceOwner
from access.connections import OktaConnection, PagerDutyConnection
from access.ports import MissingSecret as MissingSecret  # the port's word; importable here as before
from storage.crypto import SecretBox
from storage.inventory import inventory_counts
from storage.rows import table_of
from storage.tables import AccessFlowRow, IntegrationRow

INTEGRATION = table_of(IntegrationRow)
FLOW = table_of(AccessFlowRow)
SECRET_FIELD = {"api_key": "private_key", "service_account": "client_secret"}
STATUS_FIELDS = ("last_sync_at", "last_sync_error", "last_rotation_at", "last_rotation_error", "pending_retire_id")

log = logging.getLogger(__name__)


class SpecCache:
    """Decrypted integration specs by name, kept `ttl` seconds, for `SqlStore.integration`: the worker
    and the Atlas gateways read one per grant step, where a spec a moment old will do.

    A write through this process drops them all at once and again after its commit (`invalidate`), so
    this process reads its own writes; another replica's write shows here within `ttl`. A read that
    raced with a write is not kept: it carries the generation it started in, and a write moves that on.
    """

    def __init__(self, ttl: float = 2.0, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._ttl, self._monotonic = ttl, monotonic
        self._lock = threading.Lock()
        self._specs: dict[str, tuple[float, IntegrationSpec | None]] = {}
        self._reading: dict[str, threading.Event] = {}  # the reads under way, each set when its read has ended
        self.generation = 0

    def get(self, name: str) -> tuple[bool, IntegrationSpec | None]:
        """(found, spec); a spec found may be None (no integration of that name)."""
        with self._lock:
            entry = self._specs.get(name)
        if entry is None or self._monotonic() - entry[0] >= self._ttl:
            return False, None
        return True, entry[1]

    def get_or_read(self, name: str, read: Callable[[], IntegrationSpec | None]) -> IntegrationSpec | None:
        """The spec while fresh, else `read()`'s, kept. Threads that miss the same name at once wait for the first
        one's read rather than each reading: when the ttl ran out during an expiry burst, every grant worker read
        and decrypted the spec (some seventy reads a replica where a dozen do, in bench/revocation.py). A read that
        failed, or raced with a write, is not kept: those waiting for it then read for themselves."""
        found, spec = self.get(name)
        if found:
            return spec
        with self._lock:
            reading = self._reading.get(name)
            first = reading is None
            if reading is None:
                reading = self._reading[name] = threading.Event()
        if not first:
            reading.wait()
            found, spec = self.get(name)
            if found:
                return spec
        try:
            generation = self.generation
            spec = read()
            self.put(name, spec, generation=generation)
            return spec
        finally:
            if first:
                with self._lock:
                    del self._reading[name]
                reading.set()

    def put(self, name: str, spec: IntegrationSpec | None, *, generation: int) -> None:
        with self._lock:
            if generation == self.generation and self._ttl > 0:
                self._specs[name] = (self._monotonic(), spec)

    def invalidate(self) -> None:
        with self._lock:
            self.generation += 1
            self._specs.clear()


class SqlIntegrationRepository:
    def __init__(self, session: Connection, secrets: SecretBox, now: Callable[[], datetime],
                 cache: SpecCache | None = None) -> None:
        self._session = session
        self._secrets = secrets
        self._now = now
        self._cache = cache  # written through: an upsert drops it (SqlStore.integration reads from it)
        self.written = False  # this unit of work changed an integration: the cache is dropped again at commit

    def get(self, name: str) -> IntegrationSpec | None:
        """The stored spec, read now (admin views and config need the latest; hot paths use the cache)."""
        row = self._session.execute(select(INTEGRATION).where(INTEGRATION.c.name == name)).first()
        return None if row is None else self._spec(row._mapping)

    def _wrote(self) -> None:
        self.written = True
        if self._cache is not None:
            self._cache.invalidate()

    def names(self, *, enabled_only: bool = False) -> list[str]:
        """The integrations' names, without reading their specs (a timer round reads each on its own)."""
        statement = select(INTEGRATION.c.name).order_by(INTEGRATION.c.name)
        if enabled_only:
            statement = statement.where(INTEGRATION.c.enabled.is_(True))
        return [str(name) for name in self._session.execute(statement).scalars()]

    def list(self) -> list[IntegrationSpec]:
        rows = self._session.execute(select(INTEGRATION).order_by(INTEGRATION.c.name))
        return [self._spec(row._mapping) for row in rows]

    def upsert(self, spec: IntegrationSpec, *, keep_secrets: bool = False) -> bool:
        """Insert or update by name (True if created); see `access.ports.IntegrationRepository.upsert`.

        With keep_secrets, a spec that has neither a literal secret nor its environment variable (the
        admin modal's blank secret field, built with `model_construct`) keeps the stored ciphertext.
        """
        stored = self._session.execute(
            select(INTEGRATION.c.id, INTEGRATION.c.credential_type, INTEGRATION.c.credential_secret,
                   INTEGRATION.c.pagerduty, INTEGRATION.c.pagerduty_secret, INTEGRATION.c.okta,
                   INTEGRATION.c.okta_secret)
            .where(INTEGRATION.c.name == spec.name)
        ).first()
        data = self._columns(spec, stored if keep_secrets else None)
        self._wrote()
        now = self._now()
        if stored is None:
            self._session.execute(insert(INTEGRATION).values(**data, created_at=now, updated_at=now))
            return True
        self._session.execute(update(INTEGRATION).where(INTEGRATION.c.id == stored.id).values(**data, updated_at=now))
        return False

    def status(self, name: str) -> dict[str, object]:
        """The status fields (see STATUS_FIELDS), created_at, updated_at and the inventory counts; {} if unknown."""
        columns = (*STATUS_FIELDS, "created_at", "updated_at")
        row = self._session.execute(
            select(*(INTEGRATION.c[f] for f in columns)).where(INTEGRATION.c.name == name)
        ).first()
        if row is None:
            return {}
        return {**row._mapping, "counts": inventory_counts(self._session, integration=name)}

    def set_status(self, name: str, **fields: object) -> None:
        """Record sync and rotation outcomes; configuration fields are refused (they change only by upsert)."""
        unknown = set(fields) - set(STATUS_FIELDS)
        if unknown:
            raise ValueError(f"not status fields: {', '.join(sorted(unknown))}")
        if fields:
            self._session.execute(update(INTEGRATION).where(INTEGRATION.c.name == name).values(**fields))

    def _columns(self, spec: IntegrationSpec, stored: Any) -> dict[str, Any]:
        credentials = spec.credentials.model_dump(exclude_none=True)
        kind = credentials.pop("type")
        secret = credentials.pop(SECRET_FIELD[kind], None)
        owner = spec.resource_owner
        return {
            "name": spec.name,
            "organization_id": spec.organization_id,
            "credential_type": kind,
            "credential_public": credentials,
            "credential_secret": self._secret(spec, kind, secret, credentials, stored),
            "discovery": tuple(spec.discovery),
            "approval_channel": spec.approval_channel,
            "credential_rotation_days": spec.credential_rotation_days,
            "custom_access_details": spec.custom_access_details,
            "integration_owners": tuple(spec.integration_owners),
            "resource_owner_tag_key": owner.tag_key if owner else None,
            "resource_owner_attribute": owner.attribute if owner else None,
            "extra_project_roles": tuple(spec.extra_project_roles),
            "remove_unmanaged_roles": spec.remove_unmanaged_roles,
            **self._connections(spec, stored),
            "enabled": spec.enabled,
        }

    def _connections(self, spec: IntegrationSpec, stored: Any) -> dict[str, Any]:
        """The PagerDuty and Okta connections' columns: public part, and the literal secret encrypted (a connection
        whose secret is None and names no variable keeps the stored ciphertext, as the Atlas secret does)."""
        pagerduty, pagerduty_secret = None, None
        if spec.pagerduty is not None:
            public = spec.pagerduty.model_dump(mode="json", exclude={"api_key"}, exclude_none=True)
            pagerduty_secret = self._kept(spec.pagerduty.api_key, "api_key_env" in public, spec.name,
                                          "pagerduty.api_key", stored, "pagerduty")
            pagerduty = public
        okta, okta_secret = None, None
        if spec.okta is not None:
            credentials = spec.okta.credentials
            field = "token" if credentials.type == "api_token" else "private_key"
            okta = spec.okta.model_dump(mode="json", exclude={"credentials": {field}}, exclude_none=True)
            stored_kind = (stored.okta or {}).get("credentials", {}).get("type") if stored is not None else None
            same_kind = stored_kind == credentials.type
            okta_secret = self._kept(getattr(credentials, field), f"{field}_env" in okta["credentials"], spec.name,
                                     f"okta.credentials.{field}", stored if same_kind else None, "okta")
        return {"pagerduty": pagerduty, "pagerduty_secret": pagerduty_secret, "okta": okta, "okta_secret": okta_secret}

    def _kept(self, secret: SecretStr | None, from_env: bool, name: str, field: str, stored: Any, column: str
              ) -> str | None:
        if secret is not None:
            return self._secrets.encrypt(secret.get_secret_value())
        if from_env:
            return None
        kept = getattr(stored, f"{column}_secret", None) if stored is not None else None
        if kept is not None:
            return str(kept)
        raise MissingSecret(f"integration {name}: {field} is required (nothing stored to keep)")

    def _secret(
        self, spec: IntegrationSpec, kind: str, secret: SecretStr | None, public: dict[str, Any], stored: Any
    ) -> str | None:
        if secret is not None:
            return self._secrets.encrypt(secret.get_secret_value())
        if f"{SECRET_FIELD[kind]}_env" in public:
            return None  # the secret comes from the environment now
        if stored is not None and stored.credential_type == kind and stored.credential_secret is not None:
            return str(stored.credential_secret)
        raise MissingSecret(f"integration {spec.name}: {SECRET_FIELD[kind]} is required (nothing stored to keep)")

    def _spec(self, row: Any) -> IntegrationSpec:
        credentials: dict[str, Any] = {"type": row["credential_type"], **row["credential_public"]}
        if row["credential_secret"] is not None:
            plaintext = self._secrets.decrypt(row["credential_secret"])
            credentials[SECRET_FIELD[row["credential_type"]]] = SecretStr(plaintext)
        owner = None
        if row["resource_owner_tag_key"] is not None:
            owner = ResourceOwner(tag_key=row["resource_owner_tag_key"], attribute=row["resource_owner_attribute"])
        return IntegrationSpec.model_validate({  # limits added after it was stored are not applied again
            "name": row["name"],
            "organization_id": row["organization_id"],
            "credentials": credentials,
            "discovery": list(row["discovery"]),
            "approval_channel": row["approval_channel"],
            "credential_rotation_days": row["credential_rotation_days"],
            "custom_access_details": row["custom_access_details"],
            "integration_owners": list(row["integration_owners"]),
            "resource_owner": owner,
            "extra_project_roles": list(row["extra_project_roles"]),
            "remove_unmanaged_roles": row["remove_unmanaged_roles"],
            "pagerduty": self._pagerduty(row),
            "okta": self._okta(row),
            "enabled": row["enabled"],
        }, context=STORED)

    def _pagerduty(self, row: Any) -> PagerDutyConnection | None:
        if row["pagerduty"] is None:
            return None
        data = dict(row["pagerduty"])
        if row["pagerduty_secret"] is not None:
            data["api_key"] = SecretStr(self._secrets.decrypt(row["pagerduty_secret"]))
        return PagerDutyConnection.model_validate(data, context=STORED)

    def _okta(self, row: Any) -> OktaConnection | None:
        if row["okta"] is None:
            return None
        data = dict(row["okta"])
        credentials = dict(data.get("credentials") or {})
        if row["okta_secret"] is not None:
            field = "token" if credentials.get("type") == "api_token" else "private_key"
            credentials[field] = SecretStr(self._secrets.decrypt(row["okta_secret"]))
        return OktaConnection.model_validate({**data, "credentials": credentials}, context=STORED)


class SqlFlowRepository:
    def __init__(self, session: Connection, now: Callable[[], datetime]) -> None:
        self._session = session
        self._now = now

    def get(self, name: str) -> AccessFlowSpec | None:
        row = self._session.execute(select(FLOW).where(FLOW.c.name == name)).first()
        return None if row is None else _flow(row._mapping)

    def list(self, *, enabled_only: bool = False) -> list[AccessFlowSpec]:
        statement = select(FLOW).order_by(FLOW.c.name)
        if enabled_only:
            statement = statement.where(FLOW.c.enabled.is_(True))
        return [flow for row in self._session.execute(statement) if (flow := _readable_flow(row._mapping))]

    def upsert(self, spec: AccessFlowSpec) -> bool:
        data = spec.model_dump(mode="json", exclude={"max_duration"})
        data["max_duration_seconds"] = int(spec.max_duration.total_seconds())
        return _upsert_by_name(self._session, FLOW, data, self._now())


def _readable_flow(row: Any) -> AccessFlowSpec | None:
    """The flow, or None (logged by name) when its row no longer reads as a flow: a row damaged by hand or by a
    bug must not hide every other flow from the request modal and the admin views. Such a flow grants nothing."""
    try:
        return _flow(row)
    except (ValueError, TypeError, KeyError) as error:  # pydantic's ValidationError is a ValueError
        log.warning("access flow %s cannot be read (%s): left out until it is saved again", row.get("name"),
                    type(error).__name__)
        return None


def _flow(row: Any) -> AccessFlowSpec:
    data = {k: v for k, v in row.items() if k not in ("id", "created_at", "updated_at", "max_duration_seconds")}
    if data.get("pending") is None:
        data.pop("pending", None)  # a flow stored before pending timeouts existed: the defaults
    if data.get("network_max_prefix") is None:
        data.pop("network_max_prefix", None)  # stored before network access existed
    if data.get("auth") is None:
        data.pop("auth", None)  # stored before X.509 sign-in existed: a password
    if data.get("max_schedule_ahead") is None:
        data.pop("max_schedule_ahead", None)  # stored before scheduling existed: the default
    if not data.get("delegates"):
        data.pop("delegates", None)  # none (or stored before delegates existed): left unset, as config show shows it
    if not data.get("bundles"):
        data.pop("bundles", None)  # none (or stored before bundles existed)
    if data.get("approval_reason") is None:
        data.pop("approval_reason", None)  # stored before approval reasons existed: optional
    return AccessFlowSpec.model_validate({**data, "max_duration": timedelta(seconds=row["max_duration_seconds"])},
                                         context=STORED)  # limits added after it was stored are not applied again


def _upsert_by_name(session: Connection, table: Table, data: dict[str, Any], now: datetime) -> bool:
    existing = session.execute(select(table.c.id).where(table.c.name == data["name"])).scalar()
    if existing is None:
        session.execute(insert(table).values(**data, created_at=now, updated_at=now))
        return True
    session.execute(update(table).where(table.c.id == existing).values(**data, updated_at=now))
    return False
