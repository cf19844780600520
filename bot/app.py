"""The composition root: builds store, Atlas gateways, Slack clients, services and the Bolt app from Settings.

Nothing is built at import time; `build_runtime` is the only place that wires concrete classes together.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from access.admin import ConfigService
from access.config import ApiKeyCredentials, IntegrationSpec
from access.ports import AtlasGateway, Clock, CredentialAuthority
from access.reconcile import ReconcileOptions, ReconcileService
from access.rotation import RotationService
from access.service import AccessService
from access.sync import SyncService
from access.worker import GrantWorker, WorkerOptions
from atlas.client import AtlasClient
from atlas.credentials import ApiKey, ServiceAccount
from atlas.gateway import AtlasGateway as HttpAtlasGateway
from bot.clock import SystemClock
from bot.observability import Metrics
from bot.settings import Settings
from storage.crypto import SecretBox
from storage.engine import make_engine
from storage.store import SqlStore

log = logging.getLogger(__name__)


class ConfigurationError(Exception):
    """The process cannot start or act as configured (a message for the operator, no secrets in it)."""


def slack_client(settings: Settings, on_error: Callable[[str, str], None] | None = None) -> WebClient:
    """A Web API client pointed at SLACK_API_URL, retrying 429 (Retry-After), 5xx and connection errors.

    `on_error(method, error)` hears of every call that failed in the end (the metrics count them).
    """
    from bot.observability import ObservedWebClient

    client = ObservedWebClient(
        token=settings.slack_bot_token.get_secret_value() or None,
        base_url=settings.slack_api_url,
        timeout=15,
    )
    client.on_error = on_error
    client.retry_handlers.extend([
        RateLimitErrorRetryHandler(max_retry_count=3),
        ServerErrorRetryHandler(max_retry_count=2),
    ])
    if not any(isinstance(h, ConnectionErrorRetryHandler) for h in client.retry_handlers):
        client.retry_handlers.append(ConnectionErrorRetryHandler())
    return client


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


@dataclass
class GatewayFactory:
    """One Atlas client and gateway per integration, built on first use and rebuilt when credentials change."""

    store: SqlStore
    settings: Settings
    clock: Clock
    transport: httpx.BaseTransport | None = None
    on_call: Callable[[str, float, int], None] | None = None
    client_options: dict[str, Any] = field(default_factory=dict)  # more AtlasClient options (tests: `sleep`)
    _cache: dict[str, tuple[object, HttpAtlasGateway]] = field(default_factory=dict)

    def __call__(self, integration: str) -> AtlasGateway:
        spec = self.store.integration(integration)
        if spec is None:
            raise ConfigurationError(f"no integration named {integration}")
        credentials = atlas_credentials(spec)
        cached = self._cache.get(integration)
        if cached and cached[0] == credentials:
            return cached[1]
        client = AtlasClient(base_url=self.settings.atlas_base_url, credentials=credentials,
                             transport=self.transport, max_concurrency=self.settings.atlas_max_concurrency,
                             clock=self.clock, on_call=self.on_call, **self.client_options)
        gateway = HttpAtlasGateway(client)
        self._cache[integration] = (credentials, gateway)
        return gateway


@dataclass
class Runtime:
    settings: Settings
    clock: Clock
    store: SqlStore
    slack: WebClient
    gateways: GatewayFactory
    service: AccessService
    worker: GrantWorker
    sync: SyncService
    config: ConfigService
    rotation: RotationService
    extras: dict[str, Any] = field(default_factory=dict)
    metrics: Metrics = field(default_factory=Metrics)  # this runtime's own registry (see bot.observability)
    reconcile: ReconcileService | None = None


def build_store(settings: Settings, clock: Clock | None = None) -> SqlStore:
    key = settings.atlas_access_secret_key.get_secret_value() if settings.atlas_access_secret_key else None
    return SqlStore(make_engine(settings.database_url), SecretBox(key), clock=clock)


def build_runtime(
    settings: Settings,
    *,
    clock: Clock | None = None,
    atlas_transport: httpx.BaseTransport | None = None,
    owner: str | None = None,
) -> Runtime:
    """Everything but the HTTP server and the timers."""
    from bot.slack.directory import SlackDirectory
    from bot.slack.notifier import SlackNotifier
    from storage.outbox import SqlOutbox

    clock = clock or SystemClock()
    store = build_store(settings, clock)
    metrics = Metrics()
    metrics.bind_store(store=store, clock=clock, grace=timedelta(seconds=settings.overdue_grace_seconds))
    slack = slack_client(settings, on_error=metrics.slack_error)
    directory = SlackDirectory(slack, clock=clock)  # its answers age with the clock the app runs on
    outbox = SqlOutbox(store.engine, clock)
    metrics.bind_outbox(outbox)
    notifier = SlackNotifier(slack, directory=directory, store=store, outbox=outbox, clock=clock)
    gateways = GatewayFactory(store=store, settings=settings, clock=clock, transport=atlas_transport,
                              on_call=metrics.atlas_call)
    worker = GrantWorker(store=store, gateways=gateways, notifier=notifier, clock=clock, options=WorkerOptions(
        owner=owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}",
        lease_seconds=settings.lease_seconds, invitation_poll_seconds=settings.invitation_poll_seconds,
    ), observer=metrics.grant_event)
    service = AccessService(store=store, gateways=gateways, directory=directory, notifier=notifier,
                            clock=clock, worker=worker, max_pending=settings.max_pending_per_person)
    sync = SyncService(store=store, gateways=gateways, clock=clock)
    rotation = RotationService(store=store, notifier=notifier, clock=clock, authority=lambda: _authority(gateways),
                               in_use=sync.running)
    return Runtime(settings=settings, clock=clock, store=store, slack=slack, gateways=gateways,
                   service=service, worker=worker, sync=sync, config=ConfigService(store=store, clock=clock),
                   rotation=rotation, extras={"directory": directory, "notifier": notifier}, metrics=metrics,
                   reconcile=_reconcile(settings, store, gateways, notifier, clock))


def _reconcile(settings: Settings, store: SqlStore, gateways: GatewayFactory, notifier: Any,
               clock: Clock) -> ReconcileService:
    from storage.grant_ledger import SqlGrantLedger

    removing = frozenset(n.strip() for n in settings.reconcile_remove_unmanaged.split(",") if n.strip())
    if removing:  # honoured so deployments that rely on it keep removing; the integration's setting replaces it
        log.warning("RECONCILE_REMOVE_UNMANAGED is deprecated: set remove_unmanaged_roles on the integration "
                    "(config apply, or the /atlas-admin integration modal) and unset it; still removing for: %s",
                    ", ".join(sorted(removing)))
    return ReconcileService(store=store, ledger=SqlGrantLedger(store.engine), gateways=gateways, notifier=notifier,
                            clock=clock, options=ReconcileOptions(remove_unmanaged=removing))


def _authority(gateways: GatewayFactory) -> CredentialAuthority:
    from bot.rotation import AtlasCredentialAuthority

    return AtlasCredentialAuthority(settings=gateways.settings, clock=gateways.clock, transport=gateways.transport,
                                    client_options=gateways.client_options)
