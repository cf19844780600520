"""`register_admin(app, runtime=...)`: the admin commands, buttons and modals wired into a Bolt app.

Calling it twice on one app is harmless (the composition root and a test harness may both do it). The work
after each ack runs on an `AfterAck` pool of its own, paced by the same AckGate as the request flow's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from weakref import WeakSet

from slack_bolt import App, Respond

from bot.slack import payloads as p
from bot.slack.admin import ids
from bot.slack.admin.auth import AdminGuard
from bot.slack.admin.commands import AdminCommands
from bot.slack.admin.connection import ConnectionTester
from bot.slack.admin.context import Admin
from bot.slack.admin.form_listeners import FormListeners
from bot.slack.admin.home_actions import HomeActions
from bot.slack.admin.sync_runner import SyncRunner
from bot.slack.pacing import AckGate, AfterAck

_REGISTERED: WeakSet[App] = WeakSet()


def register_admin(app: App, *, runtime: Any) -> Admin | None:
    """Wire /atlas-admin, /atlas-sync and the admin modals into `app`; the shared Admin (None if done before).

    A sync's message is updated at most every SYNC_PROGRESS_SECONDS (chat.update is tier 3).
    """
    if app in _REGISTERED:
        return None
    _REGISTERED.add(app)
    admin = build_admin(app, runtime, progress_every=runtime.settings.sync_progress_seconds)
    commands = AdminCommands(admin)
    app.command(ids.ADMIN_COMMAND)(commands.admin)
    app.command(ids.SYNC_COMMAND)(commands.sync)
    for action_id, listener in HomeActions(admin).handlers().items():
        app.action(action_id)(listener)
    forms = FormListeners(admin)
    app.action(ids.TEST_CONNECTION)(forms.test_connection)
    app.view(ids.INTEGRATION)(forms.submit_integration)
    app.view(ids.FLOW)(forms.submit_flow)
    admin.subcommands.setdefault("audit", audit_export(runtime))
    runtime.extras["admin"] = admin
    return admin


def audit_export(runtime: Any) -> Callable[..., None]:
    """`/atlas-admin audit [options]`: the audit trail as a file in a DM (`bot.slack.audit_dm`)."""
    def run(*, body: dict[str, Any], text: str, respond: Respond) -> None:
        from bot.slack.audit_dm import send_audit_export

        respond(text=send_audit_export(runtime, user_id=p.user_of(body), text=text), response_type="ephemeral")

    return run


def build_admin(app: App, runtime: Any, *, progress_every: float) -> Admin:
    settings, directory = runtime.settings, runtime.extras["directory"]
    gate: AckGate = runtime.extras.setdefault("ack_gate", AckGate())
    return Admin(
        runtime=runtime,
        guard=AdminGuard(admins=settings.admins, directory=directory, store=runtime.store, clock=runtime.clock),
        tester=ConnectionTester(base_url=settings.atlas_base_url, clock=runtime.clock,
                                transport=lambda: runtime.gateways.transport,
                                client_options=lambda: dict(runtime.gateways.client_options)),
        runner=SyncRunner(sync=runtime.sync, store=runtime.store, directory=directory, client=runtime.slack,
                          every=progress_every),
        later=_after_ack(app, gate=gate, threads=settings.listener_threads),
    )  # fmt: skip


def _after_ack(app: App, *, gate: AckGate, threads: int) -> AfterAck:
    """The Bolt app's own after-ack pool when it has one (so shutting the app down drains admin work too)."""
    from bot.slack import bolt

    shared = bolt.after_ack_of(app)
    return shared if isinstance(shared, AfterAck) else AfterAck(threads=threads, gate=gate)
