"""The end-to-end world: a fake Slack workspace, the Atlas sandbox, a SQLite database, and the real app on a
loopback HTTP port, driven by signed Slack requests. Time is a ManualClock: expiry is `clock.advance(...)`
then `runtime.worker.run_due()` (the sweep the timers would run), never a sleep.

People (Slack id, Atlas username):
    U1 ann   ann@example.com   the requester; holds GROUP_DATA_ACCESS_READ_ONLY on payments already
    U2 bob, U3 cat             @payments-oncall (S1): own the projects tagged owner=payments-oncall
    U4 dan                     @atlas-admins (S2): the integration owners
    U5 eve                     nobody in particular
    U6 fay                     no email on her Slack profile
    U7 gus   gus@example.com   not a member of the Atlas organization (gets an invitation)
    @solo-team (S3) holds only ann.
Projects: payments (owner=payments-oncall), search (no tag), ledger (owner=ghost-team, unknown), solo
(owner=solo-team), vault (owner=payments-oncall, 2 approvals for read-write), playground (auto-approved).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import httpx
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import column as sql_column
from sqlalchemy import func, select
from sqlalchemy import table as sql_table

from access.config import AccessFlowSpec, IntegrationSpec
from access.entities import AccessRequest, AuditEvent, Grant
from access.model import GrantStatus
from atlas.sandbox import Sandbox, SandboxTransport
from bot.app import Runtime, build_runtime
from bot.clock import ManualClock
from bot.settings import Settings
from bot.slack.http import ServerThread
from bot.slack_sim import FakeSlackWebAPI, SlackDriver
from bot.web import server_thread
from okta.sandbox import OktaSandbox, OktaTransport
from pagerduty.sandbox import PagerDutySandbox, PagerDutyTransport
from storage.engine import make_engine
from storage.migrations import create_all

T = TypeVar("T")
TOKEN = "xoxb-e2e-token"
SIGNING_SECRET = "e2e-signing-secret"
CHANNEL = "C0APPROVALS"
ANN, BOB, CAT, DAN, EVE, FAY, GUS = "U1", "U2", "U3", "U4", "U5", "U6", "U7"
EMAILS = {ANN: "ann@example.com", BOB: "bob@example.com", CAT: "cat@example.com", DAN: "dan@example.com",
          EVE: "eve@example.com", GUS: "gus@example.com"}
JUSTIFICATION = "INC-4242: payments latency, need to read the slow query logs"
READ = "GROUP_READ_ONLY"
DATA_READ = "GROUP_DATA_ACCESS_READ_ONLY"
DATA_WRITE = "GROUP_DATA_ACCESS_READ_WRITE"


@dataclass
class AtlasWorld:
    sandbox: Sandbox
    org_id: str
    projects: dict[str, str]  # name -> group id
    public_key: str
    private_key: str = field(repr=False)


def seed_atlas(clock: ManualClock) -> AtlasWorld:
    sb = Sandbox(clock=clock)
    org_id = sb.add_org(name="Acme")
    tags = {"payments": {"owner": "payments-oncall"}, "search": {}, "ledger": {"owner": "ghost-team"},
            "solo": {"owner": "solo-team"}, "vault": {"owner": "payments-oncall"}, "playground": {}}
    projects = {name: sb.add_project(org_id=org_id, name=name, tags=tag) for name, tag in tags.items()}
    sb.add_user(org_id=org_id, username=EMAILS[ANN], org_roles=["ORG_MEMBER"],
                project_roles={projects["payments"]: [DATA_READ]}, status="ACTIVE")
    for user in (BOB, CAT, DAN, EVE):
        sb.add_user(org_id=org_id, username=EMAILS[user], org_roles=["ORG_MEMBER"], status="ACTIVE")
    public, private = sb.add_api_key(org_id=org_id, roles=["ORG_OWNER"])
    return AtlasWorld(sandbox=sb, org_id=org_id, projects=projects, public_key=public, private_key=private)


def seed_slack(sim: FakeSlackWebAPI) -> None:
    names = {ANN: "ann", BOB: "bob", CAT: "cat", DAN: "dan", EVE: "eve", FAY: "fay", GUS: "gus"}
    for user_id, name in names.items():
        sim.add_user(user_id, name=name, email=EMAILS.get(user_id))
    sim.add_user("U9", name="mallory", email="mallory@partner.example", team_id="T2")  # Slack Connect guest
    sim.add_usergroup("S1", handle="payments-oncall", members=[BOB, CAT])
    sim.add_usergroup("S2", handle="atlas-admins", members=[DAN])
    sim.add_usergroup("S3", handle="solo-team", members=[ANN])
    sim.add_channel(CHANNEL, name="atlas-approvals")


def integration_spec(world: AtlasWorld) -> IntegrationSpec:
    return IntegrationSpec.model_validate({
        "name": "prod", "organization_id": world.org_id,
        "credentials": {"type": "api_key", "public_key": world.public_key, "private_key": world.private_key},
        "discovery": ["organizations", "projects"], "approval_channel": CHANNEL,
        "custom_access_details": "Sign in at https://cloud.mongodb.com with your company SSO.",
        "integration_owners": ["@atlas-admins"], "resource_owner": {"tag_key": "owner"},
    })  # fmt: skip


def flow_specs() -> list[AccessFlowSpec]:
    flows = [
        {"name": "prod-projects", "resources": {"types": ["project"],
                                                "names": ["payments", "search", "ledger", "solo", "vault"]},
         "roles": [READ, DATA_READ], "max_duration": "8h"},
        {"name": "vault-write", "resources": {"types": ["project"], "names": ["vault"]}, "roles": [DATA_WRITE],
         "max_duration": "4h", "approvals_required": 2},
        {"name": "playground", "resources": {"types": ["project"], "names": ["playground"]}, "roles": [READ],
         "max_duration": "1d", "approval": "auto", "justification": "optional"},
        {"name": "prod-org", "resources": {"types": ["organization"]}, "roles": ["ORG_READ_ONLY"],
         "max_duration": "4h"},
    ]
    return [AccessFlowSpec.model_validate({"integration": "prod", "requesters": ["everyone"], **flow})
            for flow in flows]


class Harness:
    """Everything one story needs, started; `close()` stops it."""

    opened: ClassVar[list[Harness]] = []  # every world built, for the secret-leak watch (see conftest)

    def __init__(self, tmp_path: Path, **settings: Any) -> None:
        Harness.opened.append(self)
        self.clock = ManualClock()
        self.atlas = seed_atlas(self.clock)
        self.sb = self.atlas.sandbox
        self.pagerduty = PagerDutySandbox(clock=self.clock)  # idle unless a story connects an integration to it
        self.okta = OktaSandbox(clock=self.clock)  # likewise
        self.vendor_secrets: list[str] = []  # PagerDuty and Okta secrets a story hands out (for the leak watch)
        self.sim = FakeSlackWebAPI(token=TOKEN).start()
        seed_slack(self.sim)
        self.database_url = f"sqlite:///{tmp_path / 'e2e.db'}"
        engine = make_engine(self.database_url)
        create_all(engine)
        engine.dispose()
        self.settings = Settings(
            slack_bot_token=SecretStr(TOKEN), slack_signing_secret=SecretStr(SIGNING_SECRET),
            slack_api_url=self.sim.url + "/api/", atlas_base_url="https://cloud.mongodb.com",
            database_url=self.database_url, atlas_access_secret_key=SecretStr(Fernet.generate_key().decode()),
            **({"listener_threads": 16, "server_threads": 16} | settings),
        )  # fmt: skip
        self.atlas_sleeps: list[float] = []
        self.slack_sleeps: list[float] = []  # slack_sdk's waits between tries, recorded instead of slept
        self.runtime = self.build_runtime()
        with self.runtime.store.unit_of_work() as uow:
            uow.integrations.upsert(integration_spec(self.atlas))
            for flow in flow_specs():
                uow.flows.upsert(flow)
        self.runtime.sync.run("prod")
        self.server: ServerThread = server_thread(self.runtime).start()
        self.slack = SlackDriver(self.server.url, SIGNING_SECRET, self.sim)

    def build_runtime(self) -> Runtime:
        # The Atlas client's retry waits are recorded instead of slept, so retry stories stay fast; one grant is
        # worked at a time, so `expire` returns once what fell due is done (no crew left working after it).
        return build_runtime(self.settings, clock=self.clock, atlas_transport=self.atlas_transport(),
                             atlas_sleep=self.atlas_sleeps.append, slack_sleep=self.slack_sleeps.append,
                             worker_concurrency=1, **self.vendor_transports())

    def vendor_transports(self) -> dict[str, Any]:
        """The wires between the app's PagerDuty and Okta clients and their sandboxes."""
        return {"pagerduty_transport": PagerDutyTransport(self.pagerduty), "okta_transport": OktaTransport(self.okta)}

    def atlas_transport(self) -> httpx.BaseTransport:
        """The wire between the app's Atlas clients and the sandbox."""
        return SandboxTransport(self.sb)

    def restart(self) -> None:
        """Stop the server and build a new runtime on the same database, as a new process would."""
        self.server.stop()
        self.runtime = self.build_runtime()
        self.server = server_thread(self.runtime).start()
        self.slack.close()
        self.slack = SlackDriver(self.server.url, SIGNING_SECRET, self.sim)

    def close(self) -> None:
        self.slack.close()
        self.server.stop()
        self.sim.stop()
        self.runtime.store.engine.dispose()

    # --- people acting in Slack ---------------------------------------------------------------------------

    def open_modal(self, user: str) -> dict[str, Any]:
        before = len(self.sim.calls_to("views.open"))
        assert self.slack.command(user).status_code == 200
        wait(lambda: len(self.sim.calls_to("views.open")) > before)
        view = self.sim.last_view(user_id=user, callback_id="access_request")
        assert view is not None
        return view

    def options(self, user: str, query: str, view: dict[str, Any]) -> list[dict[str, Any]]:
        response = self.slack.block_suggestion(user, "resource", query, view)
        assert response.status_code == 200
        return list(response.json().get("options", []))

    def pick(self, user: str, view: dict[str, Any], resource: str) -> dict[str, Any]:
        """Type the resource's name, pick the option naming it, and return the modal once it has updated."""
        option = next(o for o in self.options(user, resource, view)
                      if f" {resource} ·" in o["text"]["text"] or o["text"]["text"].startswith(f"team {resource}:"))
        old_hash = view["hash"]
        assert self.slack.block_action(user, "resource", option, view=view).status_code == 200
        return wait(lambda: self._updated(view["id"], old_hash))

    def _updated(self, view_id: str, old_hash: str) -> dict[str, Any] | None:
        view = self.sim.views.get(view_id)
        return view if view is not None and view["hash"] != old_hash else None

    def submit(self, user: str, view: dict[str, Any], *, roles: list[str], duration: str = "1h",
               custom: str | None = None, justification: str = JUSTIFICATION,
               emergency: bool | None = None) -> httpx.Response:
        """Submit the request modal; `emergency` ticks (True) or unticks (False) the emergency box, None leaves it
        as the modal shows it."""
        values: dict[str, Any] = {"roles": roles, "duration": duration, "duration_custom": custom,
                                  "justification": justification}
        if emergency is not None:
            values["emergency"] = ["emergency"] if emergency else []
        return self.slack.submit(user, view, values)

    def request(self, user: str, resource: str, roles: list[str], **answers: Any) -> AccessRequest:
        """The whole ask: command, pick, submit; returns the stored request once its message is posted."""
        before = self.row_count("access_request")
        view = self.pick(user, self.open_modal(user), resource)
        response = self.submit(user, view, roles=roles, **answers)
        assert response.status_code == 200 and not response.content, response.text
        assert self.row_count("access_request") == before + 1  # stored before the ack
        return wait(lambda: self.posted(self.latest_request_id(user)))

    def click(self, user: str, action: str, request: AccessRequest | int) -> httpx.Response:
        current = self.get(request if isinstance(request, int) else request.id or 0)[0]
        assert current.channel and current.message_ts
        return self.slack.block_action(user, action, str(current.id), message=(current.channel, current.message_ts))

    def deny(self, user: str, request: AccessRequest, reason: str) -> httpx.Response:
        before = len(self.sim.calls_to("views.open"))
        assert self.click(user, "deny", request).status_code == 200
        wait(lambda: len(self.sim.calls_to("views.open")) > before)
        view = self.sim.last_view(user_id=user, callback_id="deny_reason")
        assert view is not None
        return self.slack.submit(user, view, {"reason": reason})

    # --- what there is to see -----------------------------------------------------------------------------

    def get(self, request_id: int) -> tuple[AccessRequest, Grant | None]:
        return self.runtime.service.get(request_id)

    def posted(self, request_id: int) -> AccessRequest | None:
        request = self.get(request_id)[0]
        return request if request.message_ts else None

    def latest_request_id(self, user: str) -> int:
        with self.runtime.store.unit_of_work() as uow:
            return uow.requests.for_requester(user, limit=1)[0].id or 0

    def message(self, request: AccessRequest | int) -> dict[str, Any]:
        current = self.get(request if isinstance(request, int) else request.id or 0)[0]
        assert current.channel and current.message_ts
        return self.sim.message(current.channel, current.message_ts)

    def message_text(self, request: AccessRequest | int) -> str:
        return blocks_text(self.message(request))

    def wait_message(self, request: AccessRequest | int, phrase: str) -> str:
        """The approval message's text once it contains `phrase` (it is updated after the ack)."""
        return wait(lambda: (lambda text: text if phrase in text else None)(self.message_text(request)))

    def wait_grant(self, request: AccessRequest, status: GrantStatus, timeout: float = 5.0) -> Grant:
        def reached() -> Grant | None:
            grant = self.get(request.id or 0)[1]
            return grant if grant is not None and grant.status is status else None

        return wait(reached, timeout=timeout)

    def dm_texts(self, user: str) -> list[str]:
        return [m["text"] for m in self.sim.dms(user)]

    def ephemeral_texts(self, user: str) -> list[str]:
        return [e["text"] for e in self.sim.ephemerals(user=user)]

    def audit(self, action: str | None = None) -> list[AuditEvent]:
        with self.runtime.store.unit_of_work() as uow:
            return [e for e in uow.audit.query() if action in (None, e.action)]

    def project_roles(self, project: str, user: str) -> set[str]:
        return set(self.sb.project_roles(self.atlas.projects[project], EMAILS[user]))

    def expire(self, after: timedelta) -> int:
        """Move time on and run the sweep the timers would run; return once no grant is being worked here.

        (A click's work after its ack may still be in its own worker round when the clock moves: that round then
        takes the grant falling due, and the sweep here finds nothing to do while the grant is mid-revocation.)
        """
        self.clock.advance(after)
        worked = self.runtime.worker.run_due()
        owner, deadline = self.runtime.worker.options.owner, time.monotonic() + 5
        while self._leased_by(owner) and time.monotonic() < deadline:
            time.sleep(0.01)
        return worked

    def _leased_by(self, owner: str) -> bool:
        with self.runtime.store.engine.connect() as connection:
            query = select(func.count()).select_from(sql_table("grant")).where(sql_column("lease_owner") == owner)
            return int(connection.execute(query).scalar_one()) > 0

    def row_count(self, table: str) -> int:
        with self.runtime.store.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(sql_table(table))).scalar_one())


def blocks_text(message: dict[str, Any]) -> str:
    """All the text a person reads in a message: its blocks' texts and fields."""
    parts = [str(message.get("text", ""))]
    for block in message.get("blocks") or []:
        for key in ("text",):
            if isinstance(block.get(key), dict):
                parts.append(block[key].get("text", ""))
        for item in block.get("fields") or []:
            parts.append(item.get("text", ""))
        for element in block.get("elements") or []:
            if isinstance(element, dict) and isinstance(element.get("text"), str | dict):
                text = element["text"]
                parts.append(text if isinstance(text, str) else text.get("text", ""))
    return "\n".join(parts)


def wait(predicate: Callable[[], T | None], timeout: float = 5.0) -> T:
    """Poll until `predicate()` is truthy (the app works after its ack); its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"not reached within {timeout} s")
        time.sleep(0.01)
