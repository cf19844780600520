"""Configuration as a use case: apply a whole config document atomically, and show the effective one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from access.bounds import shown
from access.config import (
    DEFAULT_SCHEDULE_AHEAD,
    AccessFlowSpec,
    ConfigDocument,
    IntegrationSpec,
    PendingTimeouts,
    check_bundles,
    check_flow_against,
    format_duration,
)
from access.entities import AuditEvent
from access.errors import FieldErrors
from access.ports import Clock, Store


@dataclass(frozen=True, kw_only=True)
class ApplyResult:
    created: tuple[str, ...]
    updated: tuple[str, ...]


def validation_errors(error: ValidationError) -> dict[str, str]:
    """pydantic's errors as {`integrations[0].organization_id`: message}, without echoing what was given (a
    secret, or pages of text): a mapping key in a path is shortened as well."""
    errors: dict[str, str] = {}
    for item in error.errors(include_input=False, include_url=False, include_context=False):
        path = ""
        for part in item["loc"]:
            if isinstance(part, int):
                path += f"[{part}]"
            elif part not in _UNION_TAGS and not str(part).startswith("function-"):
                path += ("." if path else "") + shown(str(part), 40)
        errors.setdefault(path or "config", str(item["msg"]).removeprefix("Value error, "))
    return errors


_UNION_TAGS = ("api_key", "service_account")  # the credentials' discriminator, not a field a person wrote


def parse_document(data: Any) -> ConfigDocument:
    """Validate raw YAML data; FieldErrors maps each bad field path to its message."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise FieldErrors({"config": "the file must be a mapping with `integrations` and `access_flows`"})
    try:
        return ConfigDocument.model_validate(data)
    except ValidationError as error:
        raise FieldErrors(validation_errors(error)) from None


class ConfigService:
    def __init__(self, *, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def apply(self, document: ConfigDocument, *, actor: str = "cli") -> ApplyResult:
        """Upsert every integration and flow by name in one transaction, or nothing at all."""
        created: list[str] = []
        updated: list[str] = []
        with self._store.unit_of_work() as uow:
            stored = {spec.name: spec for spec in uow.integrations.list()}
            known = {**stored, **{spec.name: spec for spec in document.integrations}}
            problems: dict[str, str] = {}
            keeping = {index: field for index, spec in enumerate(document.integrations)
                       if (field := _redacted_secret(spec)) is not None}
            for index, field in keeping.items():
                spec = document.integrations[index]
                if not _has_secret(stored.get(spec.name), type(spec.credentials), field):
                    problems[f"integrations[{index}].credentials.{field}"] = (
                        f"{REDACTED} keeps the stored secret, but {spec.name} has none stored to keep: write the "
                        f"secret here or name its environment variable ({field}_env)")
            marked = {index: fields for index, spec in enumerate(document.integrations)
                      if (fields := _redacted_connections(spec))}
            for index, fields in marked.items():
                spec = document.integrations[index]
                for field in fields:
                    if not _has_connection_secret(stored.get(spec.name), field):
                        problems[f"integrations[{index}].{field}"] = (
                            f"{REDACTED} keeps the stored secret, but {spec.name} has none stored to keep: write "
                            f"the secret here or name its environment variable ({field.rsplit('.', 1)[-1]}_env)")
            for index, flow in enumerate(document.access_flows):
                for line in check_flow_against(flow, known.get(flow.integration), f"access_flows[{index}]"):
                    field, message = line.split(": ", 1)
                    problems[field] = message
            # Bundles are checked against every flow as it will be: the stored ones, with this document's over them.
            after = {f.name: f for f in uow.flows.list()} | {f.name: f for f in document.access_flows}
            places = {f.name: f"access_flows[{index}]" for index, f in enumerate(document.access_flows)}
            for line in check_bundles(list(after.values()), places):
                field, message = line.split(": ", 1)
                problems[field] = message
            if problems:
                raise FieldErrors(problems)
            for index, integration in enumerate(document.integrations):
                integration = _without_markers(integration)  # `config show`'s markers mean the secrets as stored
                if index in keeping:
                    blank = integration.credentials.model_copy(update={keeping[index]: None})
                    integration = integration.model_copy(update={"credentials": blank})
                new = uow.integrations.upsert(integration, keep_secrets=index in keeping or index in marked)
                (created if new else updated).append(f"integration {integration.name}")
            for flow in document.access_flows:
                (created if uow.flows.upsert(flow) else updated).append(f"access flow {flow.name}")
            uow.audit.add(AuditEvent(at=self._clock.now(), actor=actor, action="config_applied",
                                     detail={"created": created, "updated": updated}))
        return ApplyResult(created=tuple(created), updated=tuple(updated))

    def save_integration(self, spec: IntegrationSpec, *, actor: str, keep_secrets: bool) -> bool:
        with self._store.unit_of_work() as uow:
            created = uow.integrations.upsert(spec, keep_secrets=keep_secrets)
            uow.audit.add(AuditEvent(at=self._clock.now(), actor=actor, action="integration_saved",
                                     integration=spec.name, detail={"created": created}))
        return created

    def save_flow(self, spec: AccessFlowSpec, *, actor: str) -> bool:
        with self._store.unit_of_work() as uow:
            integration = uow.integrations.get(spec.integration)
            problems = check_flow_against(spec, integration, "flow")
            after = {f.name: f for f in uow.flows.list()} | {spec.name: spec}
            problems += check_bundles(list(after.values()), {spec.name: "flow"})
            if problems:
                raise FieldErrors(dict(line.split(": ", 1) for line in problems))
            created = uow.flows.upsert(spec)
            uow.audit.add(AuditEvent(at=self._clock.now(), actor=actor, action="flow_saved",
                                     integration=spec.integration, detail={"flow": spec.name, "created": created}))
        return created

    def current(self) -> ConfigDocument:
        with self._store.unit_of_work() as uow:
            return ConfigDocument(integrations=uow.integrations.list(), access_flows=uow.flows.list())

    def refused(self, *, user_id: str, action: str) -> None:
        """Record that `user_id`, who is no admin, tried an admin `action`."""
        with self._store.unit_of_work() as uow:
            uow.audit.add(AuditEvent(at=self._clock.now(), actor=user_id, action="admin_refused",
                                     detail={"action": action}))

    # --- what the admin views read ---------------------------------------------------------------------------

    def integration(self, name: str) -> IntegrationSpec | None:
        with self._store.unit_of_work() as uow:
            return uow.integrations.get(name)

    def flow(self, name: str) -> AccessFlowSpec | None:
        with self._store.unit_of_work() as uow:
            return uow.flows.get(name)

    def standing(self) -> tuple[list[tuple[IntegrationSpec, dict[str, object]]], list[AccessFlowSpec]]:
        """Every integration with its status (last sync, rotation, counts), and every access flow, by name."""
        with self._store.unit_of_work() as uow:
            integrations = [(spec, uow.integrations.status(spec.name)) for spec in uow.integrations.list()]
            return integrations, uow.flows.list()


REDACTED = "<redacted>"  # what `config show` prints for a literal secret; applied back, it keeps the stored one
SECRET_FIELDS = ("private_key", "client_secret")


def _redacted_secret(spec: IntegrationSpec) -> str | None:
    """The secret field of `spec` that holds `config show`'s marker instead of a secret, if one does."""
    for field in SECRET_FIELDS:
        value = getattr(spec.credentials, field, None)
        if value is not None and value.get_secret_value() == REDACTED:
            return field
    return None


def _has_secret(spec: IntegrationSpec | None, kind: type, field: str) -> bool:
    return spec is not None and isinstance(spec.credentials, kind) and getattr(spec.credentials, field) is not None


# The literal secrets of the PagerDuty and Okta connections, by where they sit in an integration.
CONNECTION_SECRETS = ("pagerduty.api_key", "okta.credentials.token", "okta.credentials.private_key")


def _connection_secret(spec: IntegrationSpec, field: str) -> Any:
    node: Any = spec
    for part in field.split("."):
        node = getattr(node, part, None)
        if node is None:
            return None
    return node


def _redacted_connections(spec: IntegrationSpec) -> list[str]:
    return [field for field in CONNECTION_SECRETS
            if (value := _connection_secret(spec, field)) is not None and value.get_secret_value() == REDACTED]


def _has_connection_secret(spec: IntegrationSpec | None, field: str) -> bool:
    return spec is not None and _connection_secret(spec, field) is not None


def _without_markers(spec: IntegrationSpec) -> IntegrationSpec:
    """The spec with each connection secret that holds the marker set to None (storage then keeps the stored one)."""
    update: dict[str, Any] = {}
    if spec.pagerduty is not None and "pagerduty.api_key" in _redacted_connections(spec):
        update["pagerduty"] = spec.pagerduty.model_copy(update={"api_key": None})
    if spec.okta is not None and any(f.startswith("okta.") for f in _redacted_connections(spec)):
        field = "token" if spec.okta.credentials.type == "api_token" else "private_key"
        update["okta"] = spec.okta.model_copy(update={
            "credentials": spec.okta.credentials.model_copy(update={field: None})})
    return spec.model_copy(update=update) if update else spec


def _drop_none(node: dict[str, Any]) -> None:
    for key in list(node):
        if node[key] is None:
            del node[key]
        elif isinstance(node[key], dict):
            _drop_none(node[key])


def redacted(document: ConfigDocument) -> dict[str, Any]:
    """The document as plain data for `config show`: literal secrets replaced by a marker, durations as text."""
    data = document.model_dump(mode="json", exclude_defaults=False)
    for integration in data["integrations"]:
        creds = integration["credentials"]
        for key in ("private_key", "client_secret"):
            if creds.get(key) is not None:
                creds[key] = REDACTED
        for key in list(creds):
            if creds[key] is None:
                del creds[key]
        for field in CONNECTION_SECRETS:
            *path, last = field.split(".")
            node = integration
            for part in path:
                node = node.get(part) or {}
            if node.get(last) is not None:
                node[last] = REDACTED
        for connection in ("pagerduty", "okta"):
            if integration.get(connection) is None:
                integration.pop(connection, None)
            else:
                _drop_none(integration[connection])
    for flow, spec in zip(data["access_flows"], document.access_flows, strict=True):
        flow["max_duration"] = format_duration(spec.max_duration)
        if spec.auto_approve is None:
            flow.pop("auto_approve", None)
        else:
            rule = spec.auto_approve.on_call
            flow["auto_approve"]["on_call"]["max_duration"] = format_duration(rule.max_duration)
            if rule.past_shift_end is None:
                flow["auto_approve"]["on_call"].pop("past_shift_end", None)
            else:
                flow["auto_approve"]["on_call"]["past_shift_end"] = format_duration(rule.past_shift_end)
        if spec.network_access is None:  # only a cluster flow that opens a network path shows these
            flow.pop("network_access", None)
            flow.pop("network_max_prefix", None)
        if spec.auth == "password":
            flow.pop("auth", None)  # the default sign-in (a password) is not repeated
        if not spec.delegates:
            flow.pop("delegates", None)  # nobody asks for others: not repeated
        if spec.max_schedule_ahead == DEFAULT_SCHEDULE_AHEAD:
            flow.pop("max_schedule_ahead", None)  # the documented default is not repeated
        else:
            flow["max_schedule_ahead"] = format_duration(spec.max_schedule_ahead)
        if not spec.bundles:
            flow.pop("bundles", None)  # no bundles: not repeated
        if spec.approval_steps is None:
            flow.pop("approval_steps", None)  # one approver list, as `approval` and `approvals_required` say
        if spec.pending == PendingTimeouts():
            del flow["pending"]  # the documented defaults are not repeated
        else:
            flow["pending"] = {key: format_duration(value) for key, value in spec.pending}
    return data
