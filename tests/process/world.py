"""Real `atlas-access serve` processes around fakes that live in the test process, for crash and replica tests.

    world = ProcessWorld(tmp_path, database_url=url)     # Atlas sandbox + fake Slack on loopback; database seeded
    app = world.spawn()                                   # `python -m bot.cli serve` on a free port, until /healthz
    request_id = world.ask(app, ANN, "payments", [READ])  # the modal, filled in as a person does, through `app`
    app.kill()                                            # SIGKILL: no clean-up of any kind runs in the process

People and projects are those of the end-to-end harness (tests/e2e/harness.py): ann asks, bob and cat
(@payments-oncall) own payments; ann already holds GROUP_DATA_ACCESS_READ_ONLY there. Everything runs on
real time: the children read the system clock, so durations here are seconds and bounds carry slack.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import select, update

from access.entities import AccessRequest, Grant
from access.model import GrantStatus
from atlas.sandbox import SandboxServer
from bot.app import Runtime, build_runtime
from bot.settings import Settings
from bot.slack_sim import SlackDriver
from storage.grants import GRANT
from storage.migrations import upgrade
from storage.rows import entity
from tests.e2e.harness import (
    ANN,
    BOB,
    CAT,
    DAN,
    DATA_READ,
    EMAILS,
    EVE,
    JUSTIFICATION,
    READ,
    SIGNING_SECRET,
    TOKEN,
    AtlasWorld,
    flow_specs,
    integration_spec,
    seed_slack,
)
from tests.process.doors import DoorSandbox, DoorSlack

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]
READY_SECONDS = 120.0  # a child's start-up on a busy 2-core machine: imports, migrations, the catch-up sweep
G = GrantStatus
SETTINGS_NAMES = {name.upper() for name in Settings.model_fields}


def now() -> datetime:
    return datetime.now(UTC)


def wait(predicate: Callable[[], T | None], *, timeout: float = 30.0, what: str = "the expected state",
         interval: float = 0.05) -> T:
    """Poll until `predicate()` is truthy and return it (the children work on their own time)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} not reached within {timeout} s")
        time.sleep(interval)


# The line `serve` logs once it listens, naming the port it bound (see bot.slack.http.serve).
LISTENING = re.compile(rb"serving Slack requests on http://127\.0\.0\.1:(\d+)/")


class ServeProcess:
    """One `atlas-access serve` child; its log goes to a file that failures print."""

    def __init__(self, *, name: str, env: dict[str, str], log_path: Path, args: tuple[str, ...] = ()) -> None:
        self.name, self.log_path = name, log_path
        # Port 0: the child binds a port the system picks and names it in its log. A port picked here and handed
        # over would be free only until then: another test's server (on another xdist worker) could take it in
        # between, and this test's polls would reach that server instead (seen: /healthz sent to an Atlas sandbox).
        self._port: int | None = None
        self._log_start = log_path.stat().st_size if log_path.exists() else 0  # a restart appends to the same log
        with log_path.open("ab") as log:
            self._child = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", "0", *args],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.pid = self._child.pid
        self.ready_at: datetime | None = None

    def __repr__(self) -> str:
        return f"ServeProcess({self.name!r}, pid={self.pid}, port={self._port})"

    @property
    def port(self) -> int:
        """The port the child listens on, from its log (waiting for it to listen, up to READY_SECONDS)."""
        if self._port is None:
            deadline = time.monotonic() + READY_SECONDS
            while self._listening() is None:
                if self._child.poll() is not None:
                    raise AssertionError(f"{self} exited with {self._child.returncode} before listening:\n"
                                         f"{self.log_tail()}")
                elif time.monotonic() > deadline:
                    raise AssertionError(f"{self} not listening within {READY_SECONDS} s:\n{self.log_tail()}")
                time.sleep(0.02)
        assert self._port is not None
        return self._port

    def _listening(self) -> int | None:
        """The port, once the child's log says it listens (read from its own part of the log); None until then."""
        if self._port is None:
            with self.log_path.open("rb") as log:
                log.seek(self._log_start)
                found = LISTENING.search(log.read())
            self._port = int(found.group(1)) if found is not None else None
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = READY_SECONDS) -> ServeProcess:
        """Until GET /healthz answers 200 (the start-up sweep has run by then); a child that died is an error."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._child.poll() is not None:
                raise AssertionError(f"{self} exited with {self._child.returncode}:\n{self.log_tail()}")
            if self._listening() is None:
                time.sleep(0.05)
                continue
            try:
                if httpx.get(self.url + "/healthz", timeout=2.0).status_code == 200:
                    self.ready_at = now()
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{self} not ready within {timeout} s:\n{self.log_tail()}")

    @property
    def alive(self) -> bool:
        return self._child.poll() is None

    @property
    def returncode(self) -> int | None:
        """The exit code of a child that has exited, else None."""
        return self._child.poll()

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to finish, roll back or say goodbye."""
        if self.alive:
            os.kill(self.pid, signal.SIGKILL)
        self._child.wait(timeout=30)

    def log_tail(self, lines: int = 60) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


class ProcessWorld:
    """The fakes, a seeded database, and the `serve` children started on it; `close()` ends them all."""

    def __init__(self, tmp_path: Path, *, database_url: str, sweep_seconds: float = 0.5,
                 lease_seconds: float = 3.0, env: dict[str, str] | None = None) -> None:
        self.tmp_path, self.database_url = tmp_path, database_url
        self.sweep_seconds, self.lease_seconds = sweep_seconds, lease_seconds
        self.sb = DoorSandbox()
        self.org_id, self.projects, keys = self._seed_atlas()
        self.atlas = SandboxServer(self.sb).start()
        self.sim = DoorSlack(token=TOKEN, channel_burst=None).start()
        seed_slack(self.sim)
        self.key = Fernet.generate_key().decode()
        self.settings = Settings(
            slack_bot_token=SecretStr(TOKEN), slack_signing_secret=SecretStr(SIGNING_SECRET),
            slack_api_url=self.sim.url + "/api/", atlas_base_url=self.atlas.url, database_url=database_url,
            atlas_access_secret_key=SecretStr(self.key))
        upgrade(database_url)
        # The test's own runtime: seeding, sync, reading the database. Its worker never runs here.
        # One grant at a time, as the stories here reason about which run holds which grant.
        self.runtime: Runtime = build_runtime(self.settings, worker_concurrency=1)
        atlas_world = AtlasWorld(sandbox=self.sb, org_id=self.org_id, projects=self.projects, public_key=keys[0],
                                 private_key=keys[1])
        with self.runtime.store.unit_of_work() as uow:
            uow.integrations.upsert(integration_spec(atlas_world))
            for flow in flow_specs():
                uow.flows.upsert(flow)
        self.runtime.sync.run("prod")
        self.env = self._child_env(env or {})
        self.processes: list[ServeProcess] = []
        self._drivers: dict[str, SlackDriver] = {}

    def _seed_atlas(self) -> tuple[str, dict[str, str], tuple[str, str]]:
        sb = self.sb
        org_id = sb.add_org(name="Acme")
        tags = {"payments": {"owner": "payments-oncall"}, "search": {}}
        projects = {name: sb.add_project(org_id=org_id, name=name, tags=tag) for name, tag in tags.items()}
        sb.add_user(org_id=org_id, username=EMAILS[ANN], org_roles=["ORG_MEMBER"],
                    project_roles={projects["payments"]: [DATA_READ]})
        for user in (BOB, CAT, DAN, EVE):
            sb.add_user(org_id=org_id, username=EMAILS[user], org_roles=["ORG_MEMBER"])
        return org_id, projects, sb.add_api_key(org_id=org_id, roles=["ORG_OWNER"])

    def _child_env(self, extra: dict[str, str]) -> dict[str, str]:
        inherited = {k: v for k, v in os.environ.items() if k.upper() not in SETTINGS_NAMES}
        return inherited | {
            "PYTHONPATH": str(ROOT), "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": self.sim.url + "/api/", "ATLAS_BASE_URL": self.atlas.url,
            "DATABASE_URL": self.database_url, "ATLAS_ACCESS_SECRET_KEY": self.key,
            "SWEEP_INTERVAL_SECONDS": str(self.sweep_seconds), "LEASE_SECONDS": str(self.lease_seconds),
            "SYNC_INTERVAL_MINUTES": "0", "LISTENER_THREADS": "8", "SERVER_THREADS": "8",
        } | extra

    # --- processes -----------------------------------------------------------------------------------------

    def spawn(self, name: str = "a", *, ready: bool = True, env: dict[str, str] | None = None,
              args: tuple[str, ...] = ()) -> ServeProcess:
        """A `serve` child on the world's database; `env` overrides settings for this one (e.g. its sweep), `args`
        are more `serve` options (e.g. `--socket-mode`)."""
        process = ServeProcess(name=name, env=self.env | (env or {}), log_path=self.tmp_path / f"serve-{name}.log",
                               args=args)
        self.processes.append(process)
        return process.wait_ready() if ready else process

    def restart(self, killed: ServeProcess) -> ServeProcess:
        """A new process in the dead one's place (same name, new port), as a supervisor would start it."""
        assert not killed.alive
        return self.spawn(killed.name)

    def driver(self, app: ServeProcess) -> SlackDriver:
        if app.url not in self._drivers:
            self._drivers[app.url] = SlackDriver(app.url, SIGNING_SECRET, self.sim, timeout=30.0)
        return self._drivers[app.url]

    def close(self) -> None:
        self.sb.doors.open_all()
        self.sim.doors.open_all()
        for process in self.processes:
            process.kill()
        for driver in self._drivers.values():
            driver.close()
        self.sim.stop()
        self.atlas.stop()
        self.runtime.store.engine.dispose()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} (pid {p.pid}) ---\n{p.log_tail()}" for p in self.processes)

    # --- people acting in Slack ------------------------------------------------------------------------------

    def ask(self, app: ServeProcess, user: str, project: str, roles: list[str], *, duration: str = "1h") -> int:
        """The whole ask through `app`: command, pick `project`, submit. The request's id once it is stored."""
        slack = self.driver(app)
        before = len(self.sim.calls_to("views.open"))
        assert slack.command(user).status_code == 200
        wait(lambda: len(self.sim.calls_to("views.open")) > before, what="the request modal")
        view = self.sim.last_view(user_id=user, callback_id="access_request")
        assert view is not None
        options = slack.block_suggestion(user, "resource", project, view).json().get("options", [])
        option = next(o for o in options if f" {project} ·" in o["text"]["text"])
        assert slack.block_action(user, "resource", option, view=view).status_code == 200
        form = wait(lambda: self._changed(view), what="the form for the picked project")
        newest = self.newest_request_id(user)
        answer = slack.submit(user, form, {"roles": roles, "duration": duration, "duration_custom": None,
                                           "justification": JUSTIFICATION})
        assert answer.status_code == 200 and not answer.content, answer.text
        return wait(lambda: (lambda latest: latest if latest != newest else None)(self.newest_request_id(user)),
                    what="the stored request")

    def _changed(self, view: dict[str, Any]) -> dict[str, Any] | None:
        current = self.sim.views.get(view["id"])
        return current if current is not None and current["hash"] != view["hash"] else None

    def click(self, app: ServeProcess, user: str, action: str, request_id: int) -> httpx.Response:
        request = self.request(request_id)
        assert request.channel and request.message_ts, "the approval message is not posted"
        return self.driver(app).block_action(user, action, str(request_id),
                                             message=(request.channel, request.message_ts))

    def posted(self, request_id: int, *, timeout: float = 30.0) -> AccessRequest:
        return wait(lambda: (lambda r: r if r.message_ts else None)(self.request(request_id)), timeout=timeout,
                    what=f"request {request_id}'s approval message")

    # --- the database ---------------------------------------------------------------------------------------

    def request(self, request_id: int) -> AccessRequest:
        with self.runtime.store.unit_of_work() as uow:
            found = uow.requests.get(request_id)
        assert found is not None
        return found

    def grant(self, request_id: int) -> Grant | None:
        with self.runtime.store.unit_of_work() as uow:
            return uow.grants.for_request(request_id)

    def newest_request_id(self, user: str) -> int | None:
        with self.runtime.store.unit_of_work() as uow:
            found = uow.requests.for_requester(user, limit=1)
        return found[0].id if found else None

    def wait_grant(self, request_id: int, status: GrantStatus, *, timeout: float = 30.0) -> Grant:
        def reached() -> Grant | None:
            grant = self.grant(request_id)
            return grant if grant is not None and grant.status is status else None

        try:
            return wait(reached, timeout=timeout, what=f"grant of request {request_id} {status.value}")
        except AssertionError as error:
            raise AssertionError(f"{error}; it is {self.grant(request_id)}\n{self.logs()}") from None

    def expire_soon(self, grant: Grant, *, seconds: float) -> datetime:
        """Move an ACTIVE grant's expiry to `seconds` from now (durations are whole minutes in the product).

        The version goes up as a save would, so a process holding the old row could not write over it.
        """
        moment = now() + timedelta(seconds=seconds)
        with self.runtime.store.engine.begin() as connection:
            done = connection.execute(update(GRANT).where(GRANT.c.id == grant.id, GRANT.c.version == grant.version,
                                                          GRANT.c.status == G.ACTIVE)
                                      .values(expires_at=moment, version=GRANT.c.version + 1)).rowcount
        assert done == 1, "the grant changed under the test"
        return moment

    def all_grants(self) -> list[Grant]:
        with self.runtime.store.unit_of_work() as uow:
            rows = uow.session.execute(select(GRANT).order_by(GRANT.c.id))
            return [entity(Grant, row) for row in rows]

    def audit_actions(self, request_id: int) -> list[str]:
        with self.runtime.store.unit_of_work() as uow:
            return [e.action for e in uow.audit.query() if e.request_id == request_id]

    # --- Atlas ----------------------------------------------------------------------------------------------

    def roles(self, project: str, user: str) -> set[str]:
        return self.sb.project_roles(self.projects[project], EMAILS[user])

    def succeeded(self, operation_id: str) -> int:
        """Calls of `operation_id` that Atlas carried out (2xx)."""
        return sum(1 for c in self.sb.calls if c.operation_id == operation_id and 200 <= c.status < 300)

    def assert_atlas_matches_database(self) -> None:
        """Every grant is settled, and Atlas holds what the database says: the roles while ACTIVE, else the baseline."""
        for grant in self.all_grants():
            held = self.sb.project_roles(grant.resource_id, grant.username)
            if grant.status is G.ACTIVE:
                assert set(grant.roles) <= held, f"{grant.username} lacks {grant.roles} in Atlas: {held}"
            else:
                assert grant.status is G.REVOKED, f"grant {grant.id} not settled: {grant.status}"
                assert held == set(grant.baseline_roles), f"{grant.username} holds {held}, had {grant.baseline_roles}"


def approved_and_active(world: ProcessWorld, app: ServeProcess) -> int:
    """Given ann's request for READ on payments, approved by bob through `app` and granted."""
    request_id = world.ask(app, ANN, "payments", [READ])
    world.posted(request_id)
    assert world.click(app, BOB, "approve", request_id).status_code == 200
    world.wait_grant(request_id, G.ACTIVE)
    return request_id
