"""The Slack face wired from a Runtime (part of the composition root, with bot.app): the Bolt app with every
listener module registered with exactly the use cases it calls, the WSGI app in front of it, the HTTP server.

`drain` lets what the listeners handed over finish at shutdown: the listener pool, the work after the acks,
then the App Homes still to be republished.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from slack_bolt import App

from bot.app import Runtime
from bot.observability import HealthReport
from bot.slack import break_glass, listeners
from bot.slack.admin.auth import AdminGuard
from bot.slack.admin.connection import ConnectionTester
from bot.slack.admin.context import Admin
from bot.slack.admin.grants import GrantsList
from bot.slack.admin.listeners import register_admin
from bot.slack.admin.sync_runner import SyncRunner
from bot.slack.audit_dm import send_audit_export
from bot.slack.bolt import drain as drain_bolt
from bot.slack.bolt import new_bolt_app
from bot.slack.credentials_dm import CredentialsCourier
from bot.slack.extend import register_extend
from bot.slack.home import register_home
from bot.slack.http import ServerThread, WsgiApp, front_of
from bot.slack.pacing import AfterAck
from bot.slack.reveal import register_reveal
from bot.slack.revoke import register_revoke


@dataclass(frozen=True, kw_only=True)
class SlackApp:
    """The Bolt app of a runtime, and the pool its listeners hand their work to after each ack."""

    bolt: App
    after_ack: AfterAck
    runtime: Runtime

    def drain(self) -> None:
        """Let the listeners and the work they handed over finish, then the Homes still stale (at shutdown)."""
        drain_bolt(self.bolt, self.after_ack)
        self.runtime.home_refresher.close()


def build_slack_app(runtime: Runtime) -> SlackApp:
    """A Bolt app with every listener registered (the request flow, break-glass, the App Home, Extend, admin)."""
    settings = runtime.settings
    bolt = new_bolt_app(signing_secret=settings.slack_signing_secret.get_secret_value(), client=runtime.slack,
                        listener_threads=settings.listener_threads)
    after_ack = AfterAck(threads=settings.listener_threads, gate=runtime.gate)
    listeners.register(bolt, service=runtime.service, directory=runtime.directory, after_ack=after_ack)
    break_glass.register(bolt, service=runtime.service, after_ack=after_ack)
    register_home(bolt, publisher=runtime.home_publisher, refresher=runtime.home_refresher,
                  selfservice=runtime.selfservice, service=runtime.service, after_ack=after_ack)
    register_extend(bolt, selfservice=runtime.selfservice, service=runtime.service, directory=runtime.directory,
                    after_ack=after_ack)
    register_reveal(bolt, reveals=runtime.reveals, courier=CredentialsCourier(runtime.slack), after_ack=after_ack)
    admin = _admin(runtime, after_ack)
    lists = GrantsList(admin, runtime.control)
    register_admin(bolt, admin=admin, lists=lists)
    register_revoke(bolt, control=runtime.control, after_ack=after_ack, lists=lists)
    return SlackApp(bolt=bolt, after_ack=after_ack, runtime=runtime)


def _admin(runtime: Runtime, after_ack: AfterAck) -> Admin:
    settings = runtime.settings

    def audit(user_id: str, text: str) -> str:
        return send_audit_export(store=runtime.store, clock=runtime.clock, client=runtime.slack, user_id=user_id,
                                 text=text)

    return Admin(
        config=runtime.config, rotation=runtime.rotation, directory=runtime.directory,
        guard=AdminGuard(admins=settings.admins, directory=runtime.directory, config=runtime.config),
        tester=ConnectionTester(runtime.credential_check, on_call=runtime.on_call, groups=runtime.okta),
        runner=SyncRunner(sync=runtime.sync, store=runtime.store, directory=runtime.directory, client=runtime.slack,
                          every=settings.sync_progress_seconds, groups=runtime.approver_groups),
        later=after_ack, audit=audit,
    )  # fmt: skip


def wsgi_app(runtime: Runtime, slack: SlackApp) -> WsgiApp:
    """POST /slack/events to Bolt, /healthz from the store, /metrics from the runtime's registry."""
    grace = timedelta(seconds=runtime.settings.overdue_grace_seconds)
    return WsgiApp(bolt=slack.bolt, signing_secret=runtime.settings.slack_signing_secret.get_secret_value(),
                   health=HealthReport(database=runtime.store, store=runtime.store, clock=runtime.clock, grace=grace),
                   metrics=runtime.metrics, gate=runtime.gate)


def server_thread(runtime: Runtime, *, host: str = "127.0.0.1", port: int = 0) -> ServerThread:
    """The whole HTTP face on a background thread (tests, the demo); stopping it drains the Slack app."""
    slack = build_slack_app(runtime)
    return ServerThread(wsgi_app(runtime, slack), host=host, port=port, front=front_of(runtime.settings),
                        on_stop=slack.drain)
