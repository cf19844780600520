"""The memory store's integrations and access flows: upsert by name, status fields, specs read back as stored.

An integration's spec is kept as dumped and validated again on each read with the `STORED` context, as
`storage.config_repos` does after decrypting, so a spec put together with `model_construct` (the admin modal's
blank secret) comes back as a validated spec, or not at all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from access.bounds import STORED
from access.config import AccessFlowSpec, IntegrationSpec
from tests.fakes.requests_grants import Transaction
from tests.fakes.tables import FlowRow, IntegrationRow, as_utc, spec_of

SECRET_FIELD = {"api_key": "private_key", "service_account": "client_secret"}
STATUS_FIELDS = ("last_sync_at", "last_sync_error", "last_rotation_at", "last_rotation_error", "pending_retire_id")


class MissingSecret(ValueError):
    """keep_secrets asked to keep a stored secret that does not exist (or belongs to another credential type)."""


class MemoryIntegrations:
    def __init__(self, tx: Transaction, now: Callable[[], datetime], counts: Callable[[str], dict[str, int]]) -> None:
        self._tx = tx
        self._now = now
        self._counts = counts

    @property
    def _rows(self) -> dict[str, IntegrationRow]:
        self._tx.check()
        return self._tx.tables.integrations

    def get(self, name: str) -> IntegrationSpec | None:
        row = self._rows.get(name)
        return None if row is None else spec_of(row)

    def names(self, *, enabled_only: bool = False) -> list[str]:
        return sorted(name for name, row in self._rows.items() if not enabled_only or row.spec.get("enabled", True))

    def list(self) -> list[IntegrationSpec]:
        return [spec_of(self._rows[name]) for name in sorted(self._rows)]

    def upsert(self, spec: IntegrationSpec, *, keep_secrets: bool = False) -> bool:
        rows = self._tx.writing().integrations
        stored = rows.get(spec.name)
        dumped = spec.model_dump()
        dumped["credentials"] = self._credentials(spec, dumped["credentials"], stored if keep_secrets else None)
        self._connections(spec, dumped, stored if keep_secrets else None)
        now = as_utc(self._now())
        if stored is None:
            rows[spec.name] = IntegrationRow(spec=dumped, created_at=now, updated_at=now)
            return True
        rows[spec.name] = dataclasses.replace(stored, spec=dumped, updated_at=now)
        return False

    def status(self, name: str) -> dict[str, object]:
        row = self._rows.get(name)
        if row is None:
            return {}
        fields = {f: getattr(row, f) for f in (*STATUS_FIELDS, "created_at", "updated_at")}
        return {**fields, "counts": self._counts(name)}

    def set_status(self, name: str, **fields: object) -> None:
        unknown = set(fields) - set(STATUS_FIELDS)
        if unknown:
            raise ValueError(f"not status fields: {', '.join(sorted(unknown))}")
        rows = self._tx.writing().integrations
        if fields and name in rows:
            values = {k: as_utc(v) if isinstance(v, datetime) else v for k, v in fields.items()}
            rows[name] = dataclasses.replace(rows[name], **values)  # type: ignore[arg-type]

    @staticmethod
    def _credentials(spec: IntegrationSpec, credentials: dict[str, Any], stored: IntegrationRow | None
                     ) -> dict[str, Any]:
        """The literal secret as `storage.config_repos` keeps it: given, from the environment, or kept."""
        kind = credentials["type"]
        secret = SECRET_FIELD[kind]
        if credentials.get(secret) is not None or credentials.get(f"{secret}_env") is not None:
            return {k: v for k, v in credentials.items() if v is not None}
        if stored is not None and stored.spec["credentials"]["type"] == kind \
                and stored.spec["credentials"].get(secret) is not None:
            return {**{k: v for k, v in credentials.items() if v is not None},
                    secret: stored.spec["credentials"][secret]}
        raise MissingSecret(f"integration {spec.name}: {secret} is required (nothing stored to keep)")


    @staticmethod
    def _connections(spec: IntegrationSpec, dumped: dict[str, Any], stored: IntegrationRow | None) -> None:
        """The PagerDuty and Okta secrets as `storage.config_repos` keeps them: given, from the environment, or
        kept from the stored connection (Okta's only when its credential type is the same)."""
        old = stored.spec if stored is not None else {}
        pagerduty = dumped.get("pagerduty")
        if pagerduty is not None and pagerduty.get("api_key") is None and pagerduty.get("api_key_env") is None:
            kept = (old.get("pagerduty") or {}).get("api_key")
            if kept is None:
                raise MissingSecret(f"integration {spec.name}: pagerduty.api_key is required (nothing stored to keep)")
            pagerduty["api_key"] = kept
        okta = dumped.get("okta")
        if okta is not None:
            creds = okta["credentials"]
            field = "token" if creds["type"] == "api_token" else "private_key"
            if creds.get(field) is None and creds.get(f"{field}_env") is None:
                before = (old.get("okta") or {}).get("credentials") or {}
                if before.get("type") != creds["type"] or before.get(field) is None:
                    raise MissingSecret(f"integration {spec.name}: okta.credentials.{field} is required (nothing "
                                        "stored to keep)")
                creds[field] = before[field]


class MemoryFlows:
    def __init__(self, tx: Transaction, now: Callable[[], datetime]) -> None:
        self._tx = tx
        self._now = now

    @property
    def _rows(self) -> dict[str, FlowRow]:
        self._tx.check()
        return self._tx.tables.flows

    def get(self, name: str) -> AccessFlowSpec | None:
        row = self._rows.get(name)
        return None if row is None else _flow(row)

    def list(self, *, enabled_only: bool = False) -> list[AccessFlowSpec]:
        rows = [self._rows[name] for name in sorted(self._rows)]
        flows = [flow for row in rows if (not enabled_only or row.data.get("enabled")) and (flow := _readable(row))]
        return flows

    def damage(self, name: str, **data: Any) -> None:
        """Change a stored flow's data behind the model's back, as someone editing the database by hand would."""
        rows = self._tx.writing().flows
        rows[name] = dataclasses.replace(rows[name], data={**rows[name].data, **data})

    def upsert(self, spec: AccessFlowSpec) -> bool:
        rows = self._tx.writing().flows
        data = spec.model_dump(mode="json", exclude={"max_duration"})
        data["max_duration_seconds"] = int(spec.max_duration.total_seconds())  # whole seconds, as the column
        now = as_utc(self._now())
        stored = rows.get(spec.name)
        rows[spec.name] = FlowRow(data=data, created_at=stored.created_at if stored else now, updated_at=now)
        return stored is None


def _readable(row: FlowRow) -> AccessFlowSpec | None:
    """The flow, or None when its row no longer reads as one (left out of lists, as storage leaves it out)."""
    try:
        return _flow(row)
    except (ValueError, TypeError, KeyError):  # pydantic's ValidationError is a ValueError
        return None


def _flow(row: FlowRow) -> AccessFlowSpec:
    data = {k: v for k, v in row.data.items() if k != "max_duration_seconds"}
    return AccessFlowSpec.model_validate({**data, "max_duration": timedelta(seconds=row.data["max_duration_seconds"])},
                                         context=STORED)
