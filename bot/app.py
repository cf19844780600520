"""The composition root: builds store, Atlas gateways, Slack clients and every use case from Settings, once.

Nothing is built at import time, and nothing is patched after it is built: `build_runtime` constructs each
object with what it needs, in dependency order, and `Runtime` holds them, typed. The Slack face is wired from a
Runtime by `bot.web`; the timers by `bot.scheduler`. Nothing under `bot.slack` imports this module: each
listener module receives exactly the use cases it calls.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import httpx
from slack_sdk import WebClient

from access.admin import ConfigService
from access.approver_groups import ApproverGroups
from access.homes import HomeQueries
from access.ports import Clock, CredentialCheck
from access.reconcile import ReconcileOptions, ReconcileService
from access.reveal import CredentialReveals
from access.revocation import GrantControl
from access.rotation import RotationService
from access.selfservice import SelfService
from access.service import AccessService
from access.sync import SyncService
from access.worker import GrantWorker, WorkerOptions
from atlas.clients import AtlasClients
from atlas.connection import AtlasCredentialCheck
from atlas.rotation import AtlasCredentialAuthority
from bot.clock import SystemClock
from bot.errors import ConfigurationError
from bot.gateways import GatewayFactory
from bot.observability import Metrics, ObservedWebClient
from bot.settings import Settings
from bot.slack.admin.auth import is_admin
from bot.slack.directory import SlackDirectory
from bot.slack.home import HomePublisher
from bot.slack.home_refresh import HomeRefresher
from bot.slack.notifier import SlackNotifier
from bot.slack.pacing import AckGate
from bot.slack_retries import retry_handlers
from okta.groups import OktaGroups
from pagerduty.on_call import PagerDutyOnCall
from storage.alerts import SqlAlertLedger
from storage.budgets import SqlRateBudget
from storage.crypto import SecretBox
from storage.engine import POOL_SIZE, make_engine
from storage.grant_ledger import SqlGrantLedger
from storage.outbox import SqlOutbox
from storage.store import SqlStore
from storage.vault import SqlCredentialVault

__all__ = ["ConfigurationError", "GatewayFactory", "Runtime", "build_runtime", "build_store"]
log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Runtime:
    """Everything the process runs on, built once by `build_runtime`."""

    settings: Settings
    clock: Clock
    store: SqlStore
    outbox: SqlOutbox
    alerts: SqlAlertLedger  # what the timer rounds told integration owners, for every replica (access.rounds)
    metrics: Metrics  # this runtime's own registry (see bot.observability)
    slack: WebClient
    directory: SlackDirectory
    gateways: GatewayFactory
    credential_check: CredentialCheck  # "Test connection"
    on_call: PagerDutyOnCall  # who is on call (access.on_call); also "Test connection" of PagerDuty
    okta: OktaGroups  # Okta groups' members (access.ports.GroupSource); also "Test connection" of Okta
    approver_groups: ApproverGroups  # the Directory of approver groups: Slack user groups and Okta groups
    homes: HomeQueries
    home_refresher: HomeRefresher  # marks a person's App Home stale; one thread republishes it
    home_publisher: HomePublisher
    notifier: SlackNotifier
    worker: GrantWorker
    service: AccessService
    selfservice: SelfService
    control: GrantControl  # live grants and Revoke now (admins and owners)
    sync: SyncService
    config: ConfigService
    rotation: RotationService
    reconcile: ReconcileService
    reveals: CredentialReveals  # "Show credentials": a temporary database user's sign-in, once
    gate: AckGate  # Slack's acks first: work after an ack and Home refreshes wait their turn


def slack_client(settings: Settings, on_error: Callable[[str, str], None] | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> WebClient:
    """A Web API client pointed at SLACK_API_URL, retrying 429 (Retry-After), 5xx and connection errors.

    `on_error(method, error)` hears of every call that failed in the end (the metrics count them); `sleep` waits
    between tries (tests record the waits instead).
    """
    return ObservedWebClient(token=settings.slack_bot_token.get_secret_value() or None,
                             base_url=settings.slack_api_url, timeout=15, on_error=on_error,
                             retry_handlers=retry_handlers(sleep))


def secret_box(settings: Settings) -> SecretBox:
    """ATLAS_ACCESS_SECRET_KEY's encryption (every replica has the same key)."""
    return SecretBox(settings.atlas_access_secret_key.get_secret_value() if settings.atlas_access_secret_key else None)


def build_store(settings: Settings, clock: Clock | None = None) -> SqlStore:
    # Enough pooled connections for every grant the worker works at once (twice ATLAS_MAX_CONCURRENCY) besides
    # the listeners and timers: a connection opened and closed per grant costs more than the grant's own SQL.
    pool_size = max(POOL_SIZE, 2 * settings.atlas_max_concurrency + 4)
    return SqlStore(make_engine(settings.database_url, pool_size=pool_size), secret_box(settings), clock=clock)


def build_runtime(
    settings: Settings,
    *,
    clock: Clock | None = None,
    atlas_transport: httpx.BaseTransport | None = None,
    atlas_sleep: Callable[[float], None] | None = None,
    slack_sleep: Callable[[float], None] = time.sleep,
    owner: str | None = None,
    worker_concurrency: int | None = None,
    pagerduty_transport: httpx.BaseTransport | None = None,
    okta_transport: httpx.BaseTransport | None = None,
) -> Runtime:
    """Everything but the HTTP server and the timers. `atlas_transport` and `atlas_sleep` reach every Atlas
    client (tests and the demo put the sandbox there, and record retry waits instead of sleeping them), and
    `slack_sleep` the waits between the Slack client's tries;
    `worker_concurrency` overrides the grants worked at once (twice ATLAS_MAX_CONCURRENCY);
    `pagerduty_transport` and `okta_transport` carry the PagerDuty and Okta calls (tests and the demo put their
    sandboxes there)."""
    clock = clock or SystemClock()
    store = build_store(settings, clock)
    outbox = SqlOutbox(store.engine, clock)
    metrics = Metrics(store=store, clock=clock, grace=timedelta(seconds=settings.overdue_grace_seconds),
                      outbox=outbox)
    slack = slack_client(settings, on_error=metrics.slack_error, sleep=slack_sleep)
    directory = SlackDirectory(slack, clock=clock)  # its answers age with the clock the app runs on
    clients = AtlasClients(base_url=settings.atlas_base_url, clock=clock, transport=lambda: atlas_transport,
                           options=lambda: {"sleep": atlas_sleep} if atlas_sleep is not None else {})
    gateways = GatewayFactory(store=store, clients=clients, max_concurrency=settings.atlas_max_concurrency,
                              on_call=metrics.atlas_call)
    gate = AckGate()
    okta = OktaGroups(clock=clock, transport=lambda: okta_transport)
    approver_groups = ApproverGroups(people=directory, okta=okta)
    homes = HomeQueries(store=store, clock=clock, directory=directory, groups=approver_groups)
    publisher = HomePublisher(client=slack, queries=homes,
                              is_admin=lambda user_id: is_admin(user_id, settings.admins, directory))
    # Paced by a budget in the database: every replica's publishes count against one workspace's limit.
    refresher = HomeRefresher(publisher, spacing=settings.home_refresh_seconds, gate=gate,
                              budget=SqlRateBudget(store.engine), per_minute=settings.home_publish_per_minute)
    notifier = SlackNotifier(slack, directory=directory, store=store, outbox=outbox, clock=clock, homes=refresher)
    # Sign-ins of temporary database users until shown once: in the database, encrypted, so any replica shows them.
    vault = SqlCredentialVault(store.engine, secret_box(settings), clock)
    worker = _worker(settings, store, gateways, notifier, clock, metrics, owner, worker_concurrency, vault)
    on_call = PagerDutyOnCall(clock=clock, base_url=settings.pagerduty_api_url,
                              transport=lambda: pagerduty_transport)
    service = AccessService(store=store, gateways=gateways, directory=directory, notifier=notifier,
                            clock=clock, worker=worker, max_pending=settings.max_pending_per_person,
                            on_call_providers={"pagerduty": on_call}, groups=approver_groups,
                            is_admin=lambda user_id: is_admin(user_id, settings.admins, directory))
    sync = SyncService(store=store, gateways=gateways, clock=clock)
    control = GrantControl(store=store, clock=clock, worker=worker, directory=directory, groups=approver_groups,
                           is_admin=lambda user_id: is_admin(user_id, settings.admins, directory))
    authority = AtlasCredentialAuthority(clients=clients)
    rotation = RotationService(store=store, notifier=notifier, clock=clock, authority=lambda: authority,
                               in_use=sync.running)
    return Runtime(
        settings=settings, clock=clock, store=store, outbox=outbox, alerts=SqlAlertLedger(store.engine, clock),
        metrics=metrics, slack=slack,
        directory=directory, gateways=gateways, credential_check=AtlasCredentialCheck(clients), on_call=on_call,
        okta=okta, approver_groups=approver_groups, homes=homes,
        home_refresher=refresher, home_publisher=publisher, notifier=notifier, worker=worker, service=service,
        selfservice=SelfService(store=store, clock=clock, worker=worker, max_pending=settings.max_pending_per_person),
        control=control, sync=sync, config=ConfigService(store=store, clock=clock), rotation=rotation,
        reconcile=_reconcile(settings, store, gateways, notifier, clock), gate=gate,
        reveals=CredentialReveals(store=store, vault=vault, clock=clock),
    )  # fmt: skip


def _worker(settings: Settings, store: SqlStore, gateways: GatewayFactory, notifier: SlackNotifier, clock: Clock,
            metrics: Metrics, owner: str | None, concurrency: int | None, vault: SqlCredentialVault) -> GrantWorker:
    # A revocation mostly waits on Atlas, and a grant waiting out a 429's Retry-After or a 5xx's backoff holds
    # no Atlas call slot (the client's ATLAS_MAX_CONCURRENCY bounds the calls in flight): so twice as many
    # grants are worked at once as calls may be in flight, and the slots stay busy while some grants wait.
    options = WorkerOptions(
        owner=owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}",
        lease_seconds=settings.lease_seconds, invitation_poll_seconds=settings.invitation_poll_seconds,
        concurrency=concurrency or 2 * settings.atlas_max_concurrency,
    )
    return GrantWorker(store=store, gateways=gateways, notifier=notifier, clock=clock, options=options,
                       observer=metrics.grant_event, vault=vault)


def _reconcile(settings: Settings, store: SqlStore, gateways: GatewayFactory, notifier: SlackNotifier,
               clock: Clock) -> ReconcileService:
    removing = frozenset(n.strip() for n in settings.reconcile_remove_unmanaged.split(",") if n.strip())
    if removing:  # honoured so deployments that rely on it keep removing; the integration's setting replaces it
        log.warning("RECONCILE_REMOVE_UNMANAGED is deprecated: set remove_unmanaged_roles on the integration "
                    "(config apply, or the /atlas-admin integration modal) and unset it; still removing for: %s",
                    ", ".join(sorted(removing)))
    return ReconcileService(store=store, ledger=SqlGrantLedger(store.engine), gateways=gateways, notifier=notifier,
                            clock=clock, options=ReconcileOptions(remove_unmanaged=removing))
