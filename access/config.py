"""The configuration model: integrations and access flows, one model for YAML files and Slack modals.

Validation lives here so `config apply`, the admin modals and storage agree on what is valid. Error
messages name the field (`integrations[0].organization_id: ...`) so people can fix their input. Every value
is bounded (see `access.bounds` for the limits, and why a spec read back from the database is not held to a
limit added after it was stored).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator, model_validator

from access.bounds import (
    MAX_CREDENTIAL_ID,
    MAX_ENV_NAME,
    MAX_FLOWS,
    MAX_INTEGRATIONS,
    MAX_PATTERN,
    MAX_PATTERNS,
    MAX_PRINCIPAL,
    MAX_PRINCIPALS,
    MAX_ROLE,
    MAX_ROLES,
    MAX_SECRET,
    MAX_SLACK_ID,
    MAX_TAG,
    MAX_TAGS,
    ROTATION_DAYS,
    Duration,
    at_most,
    first_at_most,
    shown,
    whole_number_in,
)
from access.bounds import format_duration as format_duration
from access.bounds import parse_duration as parse_duration
from access.connections import OKTA_PREFIX, AutoApprove, OktaConnection, PagerDutyConnection, parse_okta_principal
from access.database_roles import ANY_DATABASE_ROLES, MAX_LIFETIME, parse_database_role
from access.errors import CredentialsMissing
from access.model import ORG_ROLES, PROJECT_ROLES, TEAM_MEMBER, DiscoveryType, ResourceKind
from access.network import DEFAULT_WIDEST_V4

NAME_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
ORG_ID_PATTERN = r"^[0-9a-fA-F]{24}$"
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
PROJECT_ROLE_PATTERN = re.compile(r"^GROUP_[A-Z][A-Z0-9_]*$")
_PRINCIPAL = re.compile(r"^(@[a-z0-9][a-z0-9._-]*|[SUW][A-Z0-9]{2,}|[^@\s]+@[^@\s]+\.[^@\s]+)$")
EVERYONE = "everyone"

EnvName = Annotated[str, first_at_most(MAX_ENV_NAME), Field(pattern=ENV_NAME_PATTERN)]
CredentialId = Annotated[str, at_most(MAX_CREDENTIAL_ID, "characters")]
Secret = Annotated[SecretStr, first_at_most(MAX_SECRET)]
Principal = Annotated[str, first_at_most(MAX_PRINCIPAL)]
Role = Annotated[str, first_at_most(MAX_ROLE)]
Pattern = Annotated[str, first_at_most(MAX_PATTERN), Field(min_length=1)]
TagText = Annotated[str, first_at_most(MAX_TAG)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class ApiKeyCredentials(_Strict):
    """A programmatic API key: literal values (stored encrypted) or the names of environment variables."""

    type: Literal["api_key"]
    public_key: CredentialId | None = None
    private_key: Secret | None = None
    public_key_env: EnvName | None = None
    private_key_env: EnvName | None = None

    @model_validator(mode="after")
    def _one_source_each(self) -> ApiKeyCredentials:
        _exactly_one(self.public_key, self.public_key_env, "public_key")
        _exactly_one(self.private_key, self.private_key_env, "private_key")
        return self


class ServiceAccountCredentials(_Strict):
    """A service account (OAuth client credentials): literal values or environment variable names."""

    type: Literal["service_account"]
    client_id: CredentialId | None = None
    client_secret: Secret | None = None
    client_id_env: EnvName | None = None
    client_secret_env: EnvName | None = None

    @model_validator(mode="after")
    def _one_source_each(self) -> ServiceAccountCredentials:
        _exactly_one(self.client_id, self.client_id_env, "client_id")
        _exactly_one(self.client_secret, self.client_secret_env, "client_secret")
        return self


Credentials = Annotated[ApiKeyCredentials | ServiceAccountCredentials, Field(discriminator="type")]
CredentialSpec = ApiKeyCredentials | ServiceAccountCredentials


def literal_credentials(credentials: CredentialSpec, *, env: Mapping[str, str], integration: str = ""
                        ) -> CredentialSpec:
    """The credentials with each environment variable name replaced by the variable's value (literal values kept):
    what an adapter calls with. A variable that is not set is CredentialsMissing, naming it (never a value).

    The values are not validated again: they are the operator's, and a refusal must not quote a secret.
    """

    def pick(value: str | SecretStr | None, name: str | None, what: str) -> str:
        if value is not None:
            return value.get_secret_value() if isinstance(value, SecretStr) else value
        if name and env.get(name):
            return env[name]
        where = f"integration {integration}: " if integration else ""
        raise CredentialsMissing(f"{where}{what} is not set (environment variable {name})")

    if isinstance(credentials, ApiKeyCredentials):
        return ApiKeyCredentials.model_construct(
            type="api_key", public_key=pick(credentials.public_key, credentials.public_key_env, "the API public key"),
            private_key=SecretStr(pick(credentials.private_key, credentials.private_key_env, "the API private key")))
    return ServiceAccountCredentials.model_construct(
        type="service_account",
        client_id=pick(credentials.client_id, credentials.client_id_env, "the service account client id"),
        client_secret=SecretStr(pick(credentials.client_secret, credentials.client_secret_env,
                                     "the service account secret")))


def _exactly_one(value: object, env: str | None, name: str) -> None:
    if (value is None) == (env is None):
        raise ValueError(f"give exactly one of {name} or {name}_env")


class ResourceOwner(_Strict):
    """Which project tag names the owners, and how its value maps to people: a Slack user group handle, or the
    name of an Okta group (its members matched to Slack users by email)."""

    tag_key: Annotated[str, Field(min_length=1, max_length=255)]
    attribute: Literal["slack_usergroup", "okta_group"] = "slack_usergroup"


class IntegrationSpec(_Strict):
    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    organization_id: Annotated[str, Field(pattern=ORG_ID_PATTERN)]
    credentials: Credentials
    discovery: Annotated[list[DiscoveryType], Field(min_length=1)] = [
        DiscoveryType.ORGANIZATIONS,
        DiscoveryType.PROJECTS,
    ]
    approval_channel: Annotated[str, first_at_most(MAX_SLACK_ID), Field(pattern=r"^[CGD][A-Z0-9]{2,}$")]
    credential_rotation_days: int | None = None  # 1 to 365
    custom_access_details: Annotated[str, Field(max_length=2000)] | None = None
    integration_owners: Annotated[list[Principal], at_most(MAX_PRINCIPALS, "entries")] = []
    resource_owner: ResourceOwner | None = None
    extra_project_roles: Annotated[list[Annotated[Role, Field(pattern=PROJECT_ROLE_PATTERN.pattern)]],
                                   at_most(MAX_ROLES, "entries")] = []
    # Reconciliation (access.reconcile) finds roles that an enabled access flow hands out, held in Atlas on this
    # integration's organization or projects with no live grant behind them (a grant's baseline is kept), e.g.
    # added by hand in Atlas. They are always reported to the integration owners; with this on, also removed.
    remove_unmanaged_roles: bool = False
    pagerduty: PagerDutyConnection | None = None  # for flows that approve whoever is on call (auto_approve.on_call)
    okta: OktaConnection | None = None  # for owners named by Okta groups (resource_owner okta_group, okta:<group>)
    enabled: bool = True

    _rotation_days = field_validator("credential_rotation_days", mode="before")(
        whole_number_in(*ROTATION_DAYS, "days"))

    @field_validator("discovery")
    @classmethod
    def _unique_types(cls, value: list[DiscoveryType]) -> list[DiscoveryType]:
        if len(set(value)) != len(value):
            raise ValueError("lists a resource type twice")
        if DiscoveryType.TEAMS in value and DiscoveryType.PROJECTS not in value:
            raise ValueError("teams are discovered with the projects they hold roles on: list projects too")
        return value

    @field_validator("integration_owners")
    @classmethod
    def _owners_are_principals(cls, value: list[str]) -> list[str]:
        return [parse_okta_principal(item) if item.strip().startswith(OKTA_PREFIX) else parse_principal(item)
                for item in value]

    @model_validator(mode="after")
    def _resource_owner_needs_integration_owners(self) -> IntegrationSpec:
        if self.resource_owner is not None and not self.integration_owners:
            raise ValueError("resource_owner needs integration_owners (they approve when a project has no owner)")
        okta_owners = any(owner.startswith(OKTA_PREFIX) for owner in self.integration_owners)
        okta_tags = self.resource_owner is not None and self.resource_owner.attribute == "okta_group"
        if (okta_owners or okta_tags) and self.okta is None:
            raise ValueError("Okta groups as owners need an okta connection (okta: {org_url, credentials})")
        return self

    def roles_for(self, kind: ResourceKind) -> tuple[str, ...]:
        """The roles this integration can grant on a resource of `kind`.

        For a cluster, the fixed names only: per-database roles (`read@orders`) are patterns that
        `access.database_roles.parse_database_role` checks.
        """
        if kind is ResourceKind.ORGANIZATION:
            return ORG_ROLES
        if kind is ResourceKind.CLUSTER:
            return ANY_DATABASE_ROLES
        if kind is ResourceKind.TEAM:
            return (TEAM_MEMBER,)
        return PROJECT_ROLES + tuple(r for r in self.extra_project_roles if r not in PROJECT_ROLES)


class ResourceSelector(_Strict):
    types: Annotated[list[ResourceKind], Field(min_length=1)]
    # For clusters a pattern matches `project/cluster` or the bare cluster name: `payments/*`, `orders-*`.
    names: Annotated[list[Pattern], Field(min_length=1), at_most(MAX_PATTERNS, "entries")] = ["*"]
    tags: Annotated[dict[TagText, TagText], at_most(MAX_TAGS, "entries")] = {}  # for clusters: their project's

    @field_validator("types")
    @classmethod
    def _clusters_alone(cls, value: list[ResourceKind]) -> list[ResourceKind]:
        if ResourceKind.CLUSTER in value and len(value) > 1:
            raise ValueError("a cluster flow grants database roles: give clusters a flow of their own")
        if ResourceKind.TEAM in value and len(value) > 1:
            raise ValueError("a team flow grants team membership: give teams a flow of their own")
        return value


class PendingTimeouts(_Strict):
    """What happens to a request nobody decides, counted from when it was asked (see access.timeouts).

    Defaults: the approvers are reminded after 1 hour, the integration owners are asked after 4 hours, and
    the request expires after 24 hours; the requester is told at each step.
    """

    remind_after: Duration = timedelta(hours=1)
    escalate_after: Duration = timedelta(hours=4)
    expire_after: Duration = timedelta(hours=24)

    @model_validator(mode="after")
    def _in_order(self) -> PendingTimeouts:
        if not timedelta(0) < self.remind_after <= self.escalate_after <= self.expire_after:
            raise ValueError("pending: need 0 < remind_after <= escalate_after <= expire_after")
        return self


DEFAULT_SCHEDULE_AHEAD = timedelta(days=7)
OWNERS = "owners"  # an approval step's approvers: the resource's owners, as a flow without steps has them
MAX_STEPS = 5


class ApprovalStep(_Strict):
    """One step of a multi-step approval: who approves it (the resource's owners, or principals) and how many."""

    approvers: Literal["owners"] | Annotated[list[Principal], Field(min_length=1), at_most(MAX_PRINCIPALS, "entries")]
    required: Annotated[int, Field(ge=1, le=10)] = 1

    @field_validator("approvers")
    @classmethod
    def _principals(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, str):
            return value
        if EVERYONE in value:
            raise ValueError("a step's approvers name people or groups (or are `owners`), not everyone")
        return [parse_okta_principal(item) if item.strip().startswith(OKTA_PREFIX) else parse_principal(item)
                for item in value]


MAX_ITEMS = 10  # resources in one request (several resources, or a bundle): checked on the server
MAX_BUNDLES = 20  # a flow's bundles


class BundleItem(_Strict):
    """One resource of a bundle, named as the inventory names it (`payments`, `payments/orders-db`, a team or an
    organization's name), and the roles asked for on it."""

    resource: Annotated[str, first_at_most(MAX_PATTERN), Field(min_length=1)]
    roles: Annotated[list[Role], Field(min_length=1), at_most(MAX_ROLES, "entries")]


class Bundle(_Strict):
    """A named set of resources and roles that the request modal fills in at once (one request, see README)."""

    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    items: Annotated[list[BundleItem], Field(min_length=1), at_most(MAX_ITEMS, "entries")]

    @field_validator("items")
    @classmethod
    def _each_resource_once(cls, value: list[BundleItem]) -> list[BundleItem]:
        names = [item.resource for item in value]
        if len(set(names)) != len(names):
            raise ValueError("names a resource twice: give each resource once, with all its roles")
        return value


class AccessFlowSpec(_Strict):
    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    integration: Annotated[str, Field(pattern=NAME_PATTERN)]
    requesters: Annotated[list[Principal], Field(min_length=1), at_most(MAX_PRINCIPALS, "entries")] = [EVERYONE]
    # Who may ask for someone else ("For: @person" in the request modal) besides the admins: principals as above.
    delegates: Annotated[list[Principal], at_most(MAX_PRINCIPALS, "entries")] = []
    resources: ResourceSelector
    roles: Annotated[list[Role], Field(min_length=1), at_most(MAX_ROLES, "entries")]
    max_duration: Duration
    approval: Literal["owners", "auto"] = "owners"
    approvals_required: Annotated[int, Field(ge=1, le=10)] = 1
    justification: Literal["required", "optional"] = "required"
    # Ordered approval steps instead of one list (`approvals_required` is then unused): each waits for the one
    # before, with its own approvers and quorum (see access.steps).
    approval_steps: Annotated[list[ApprovalStep], Field(min_length=1), at_most(MAX_STEPS, "steps")] | None = None
    # How far ahead a request may ask its access to start ("Start later"): approved ahead, granted at the start.
    max_schedule_ahead: Duration = DEFAULT_SCHEDULE_AHEAD
    # Whether an approver must say why when approving (the requester reads it); "Approve for…" always may.
    approval_reason: Literal["optional", "required"] = "optional"
    # Grant at once without approval, announce it loudly, and have the owners review it afterwards.
    break_glass: bool = False
    pending: PendingTimeouts = PendingTimeouts()  # reminders, escalation and expiry of undecided requests
    # Approve at once whoever is on call now in the named schedules (see access.on_call); everyone else waits
    # for the owners as usual.
    auto_approve: AutoApprove | None = None
    # A cluster flow may open a network path that expires: the requester's IP address or CIDR block goes on the
    # project's IP access list until the grant ends (see access.network); at most a /network_max_prefix (IPv4).
    network_access: Literal["requester_ip"] | None = None
    network_max_prefix: Annotated[int, Field(ge=16, le=32)] = DEFAULT_WIDEST_V4
    # How a cluster flow's temporary database user signs in: SCRAM with a password (the default), or an
    # Atlas-managed X.509 certificate (`x509`: user on `$external`, certificate from createGroupDatabaseUserCert).
    auth: Literal["password", "x509"] = "password"
    # Named sets of resources and roles the request modal offers (one request for all of them; each item is still
    # checked against the flows as if asked alone). Every item must fall under some flow: see `check_bundles`.
    bundles: Annotated[list[Bundle], at_most(MAX_BUNDLES, "entries")] = []
    enabled: bool = True

    @field_validator("bundles")
    @classmethod
    def _bundle_names(cls, value: list[Bundle]) -> list[Bundle]:
        _no_duplicates([bundle.name for bundle in value], "bundles")
        return value

    @model_validator(mode="before")
    @classmethod
    def _team_membership(cls, data: object) -> object:
        """A team flow gives membership of the team: its `roles` may be left out (they are [TEAM_MEMBER])."""
        if isinstance(data, dict) and not data.get("roles"):
            resources = data.get("resources")
            types = resources.get("types") if isinstance(resources, dict) else None
            if isinstance(types, list) and [str(getattr(t, "value", t)) for t in types] == [ResourceKind.TEAM.value]:
                return {**data, "roles": [TEAM_MEMBER]}
        return data

    @field_validator("requesters")
    @classmethod
    def _requesters(cls, value: list[str]) -> list[str]:
        return [item if item == EVERYONE else parse_principal(item) for item in value]

    @field_validator("delegates")
    @classmethod
    def _delegates(cls, value: list[str]) -> list[str]:
        if EVERYONE in value:
            raise ValueError("delegates name people or groups who may ask for others, not everyone")
        return [parse_principal(item) for item in value]

    @field_validator("max_duration")
    @classmethod
    def _cluster_duration(cls, value: timedelta, info: ValidationInfo) -> timedelta:
        resources = info.data.get("resources")
        if resources is not None and ResourceKind.CLUSTER in resources.types and value > MAX_LIFETIME:
            raise ValueError("Atlas deletes temporary database users within 7 days: use 7d or less for clusters")
        return value

    @field_validator("break_glass")
    @classmethod
    def _break_glass_is_reviewed(cls, value: bool, info: ValidationInfo) -> bool:
        # The owners review a break-glass grant afterwards, and they need to read why it was taken.
        if value and info.data.get("approval") == "auto":
            raise ValueError("a break-glass flow is reviewed by the owners afterwards: set approval: owners")
        if value and info.data.get("justification") == "optional":
            raise ValueError("a break-glass flow needs justification: required")
        return value

    @model_validator(mode="after")
    def _network_for_clusters(self) -> AccessFlowSpec:
        if self.network_access is not None and self.resources.types != [ResourceKind.CLUSTER]:
            raise ValueError("network_access opens the project's IP access list: it is for cluster flows")
        if self.auth != "password" and self.resources.types != [ResourceKind.CLUSTER]:
            raise ValueError("auth: x509 is how a temporary database user signs in: it is for cluster flows")
        return self

    @model_validator(mode="after")
    def _steps_are_approvals(self) -> AccessFlowSpec:
        if self.approval_steps is not None and (self.approval != "owners" or self.break_glass):
            raise ValueError("approval_steps need approval: owners and no break_glass (they are approvals)")
        return self

    @model_validator(mode="after")
    def _on_call_rule(self) -> AccessFlowSpec:
        rule = self.auto_approve.on_call if self.auto_approve is not None else None
        if rule is None:
            return self
        if self.approval != "owners" or self.break_glass:
            raise ValueError("auto_approve.on_call needs approval: owners and no break_glass (whoever is not on "
                             "call waits for the owners)")
        if rule.max_duration > self.max_duration:
            raise ValueError(f"auto_approve.on_call.max_duration ({format_duration(rule.max_duration)}) is longer "
                             f"than the flow's max_duration ({format_duration(self.max_duration)})")
        return self


class ConfigDocument(_Strict):
    """A whole config file: integrations and access flows, validated together (all or nothing)."""

    integrations: Annotated[list[IntegrationSpec], at_most(MAX_INTEGRATIONS, "entries")] = []
    access_flows: Annotated[list[AccessFlowSpec], at_most(MAX_FLOWS, "entries")] = []

    @model_validator(mode="after")
    def _unique_names(self) -> ConfigDocument:
        _no_duplicates([i.name for i in self.integrations], "integrations")
        _no_duplicates([f.name for f in self.access_flows], "access_flows")
        return self


def _no_duplicates(names: list[str], where: str) -> None:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            raise ValueError(f"{where}[{index}].name: '{name}' is used twice; names must be unique")
        seen.add(name)


def parse_principal(value: str) -> str:
    """A Slack principal: `@handle`, a user group id `S…`, a user id `U…`/`W…`, or an email."""
    text = value.strip()
    if not _PRINCIPAL.match(text):  # its length is checked first (`Principal`)
        raise ValueError(f"'{shown(value)}' is not a Slack @handle, user group id (S…), user id (U…) or email")
    return text


def _role_problems(flow: AccessFlowSpec, integration: IntegrationSpec, where: str) -> list[str]:
    problems = []
    if ResourceKind.CLUSTER in flow.resources.types:
        for index, role in enumerate(flow.roles):
            try:
                parse_database_role(role)
            except ValueError as error:
                problems.append(f"{where}.roles[{index}]: {error}")
        return problems
    allowed: set[str] = set()
    for kind in flow.resources.types:
        allowed.update(integration.roles_for(kind))
    for index, role in enumerate(flow.roles):
        if role not in allowed:
            kinds = ", ".join(k.value for k in flow.resources.types)
            problems.append(f"{where}.roles[{index}]: '{role}' is not a known role for {kinds}")
    return problems


def check_flow_against(flow: AccessFlowSpec, integration: IntegrationSpec | None, where: str) -> list[str]:
    """Cross-object rules: the integration exists, roles exist and fit the resource types."""
    if integration is None:
        return [f"{where}.integration: no integration named '{flow.integration}'"]
    problems = _role_problems(flow, integration, where)
    if flow.auto_approve is not None and integration.pagerduty is None:
        problems.append(f"{where}.auto_approve: integration '{integration.name}' has no PagerDuty connection "
                        "(pagerduty: {api_key_env: ...})")
    discovered = {DiscoveryType.ORGANIZATIONS: {ResourceKind.ORGANIZATION},
                  DiscoveryType.PROJECTS: {ResourceKind.PROJECT, ResourceKind.CLUSTER},  # clusters come with projects
                  DiscoveryType.TEAMS: {ResourceKind.TEAM}}
    kinds_found: set[ResourceKind] = set()
    for found in integration.discovery:
        kinds_found |= discovered[found]
    for kind in flow.resources.types:
        if kind not in kinds_found:
            problems.append(
                f"{where}.resources.types: integration '{integration.name}' does not discover {kind.value}s"
            )
    return problems


def _bundle_names_match(pattern: str, name: str) -> bool:
    """A flow's name pattern against a bundle item's resource: as `access.policy` matches clusters, a pattern may
    match `project/cluster` or the bare cluster name."""
    return fnmatch.fnmatchcase(name, pattern) or ("/" in name and fnmatch.fnmatchcase(name.rpartition("/")[2], pattern))


def check_bundles(flows: list[AccessFlowSpec], where: Mapping[str, str] | None = None) -> list[str]:
    """Every bundle item must fall under some flow of its integration: a flow whose resource names match the item's
    resource and whose roles include all of the item's roles. (Types and tags need the inventory: the request
    checks them, per item, as it checks any request.) `where` maps a flow's name to its place in the input
    (`access_flows[0]`); problems read `<place>.bundles[i].items[j].resource: ...`."""
    problems = []
    for flow in flows:
        place = (where or {}).get(flow.name, f"flow {flow.name}")
        same = [f for f in flows if f.integration == flow.integration]
        for i, bundle in enumerate(flow.bundles):
            for j, item in enumerate(bundle.items):
                naming = [f for f in same if any(_bundle_names_match(p, item.resource) for p in f.resources.names)]
                field = f"{place}.bundles[{i}].items[{j}].resource"
                if not naming:
                    problems.append(f"{field}: the bundle '{bundle.name}' of flow '{flow.name}' names "
                                    f"'{shown(item.resource)}', which is outside every access flow of integration "
                                    f"'{flow.integration}' (no flow's resources.names matches it)")
                elif not any(set(item.roles) <= set(f.roles) for f in naming):
                    problems.append(f"{field}: the bundle '{bundle.name}' of flow '{flow.name}' asks for "
                                    f"{', '.join(shown(r) for r in item.roles)} on '{shown(item.resource)}', which no "
                                    f"access flow of integration '{flow.integration}' offers there")
    return problems


class IssuedCredential(_Strict):
    """A new credential for an integration, made and proven by Atlas, not yet stored."""

    credentials: Credentials
    new_id: str
    old_id: str | None


def with_literal_credentials(spec: IntegrationSpec, credentials: ApiKeyCredentials | ServiceAccountCredentials
                             ) -> IntegrationSpec:
    """The spec with its credentials replaced (rotation stores the new one encrypted, not in the environment)."""
    return spec.model_copy(update={"credentials": credentials})
