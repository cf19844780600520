"""Benchmark: Slack ack latency of atlas-access beside a bare Bolt app that only acks, and click-to-grant time.

    python bench/ack.py [--burst 50] [--rounds 3] [--grants 20] [--atlas-latency 0.1] [--quick]

One waitress server (the production one, `bot.slack.http`) serves both apps in a child process, as a
deployment runs them: atlas-access at /slack/events and, at /bare/slack/events, a bare Bolt app built the same
way (signing secret, Slack client, `Settings()` pool sizes) whose listeners only ack. The fake Slack, the
Atlas sandbox (over loopback HTTP) and the database checks live in this process; the load comes from a third
one, signed here and fired all at once, so no interpreter serves two masters.
1. `--burst` signed `/atlas-access` commands at once, to each app: ack latency p50/p99/max.
2. `--burst` Approve clicks at once (on as many pending requests), to each app.
   Both are repeated `--rounds` times, the apps alternating who goes first, and the latencies pooled: the
   machine's other work then weighs on both apps alike. Beside them, the app server's CPU per request over each
   kind's bursts (its threads' run time from /proc, from the first request sent to the last ack back), a figure
   that travels between machines where a burst's p99 swings from run to run; atlas-access's includes the work its
   acks hand over that starts meanwhile (the `/atlas-access` modal, whose trigger expires in 3 s, goes at once).
3. `--grants` Approve clicks one after another with every Atlas call taking `--atlas-latency` seconds: time from
   the click leaving the load process to the grant being ACTIVE in the database (Atlas done), polled with a plain
   read every 2 ms. (Earlier runs also timed this process signing the click, a database read and the hand-over to
   the load process: about 40 ms more.)
   The Atlas calls each grant took are counted from the sandbox's record (the floor is two: look the person
   up, which gives the baseline too, and add the role).
Targets: p99 ack within 1.5x of the bare app's and no ack over 1 s; click-to-grant p50 under 0.25 s in at most
two Atlas calls.
Exit status 1 if a request failed or a grant did not complete (a missed target is reported, not fatal).
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from slack_bolt import App  # noqa: E402
from slack_bolt.adapter.wsgi import SlackRequestHandler  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from access.model import GrantStatus  # noqa: E402
from access.policy import Requester  # noqa: E402
from atlas.sandbox import SandboxServer  # noqa: E402
from bot.app import Runtime, build_runtime  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.slack.http import ServerThread, WsgiApp  # noqa: E402
from bot.slack_sim import SlackDriver  # noqa: E402
from bot.web import build_slack_app, wsgi_app  # noqa: E402
from storage.grants import GRANT  # noqa: E402
from tests.e2e.harness import BOB, DAN, READ, SIGNING_SECRET, TOKEN, Harness  # noqa: E402

TARGET_RATIO, TARGET_MAX_ACK, TARGET_GRANT_P50, TARGET_CALLS = 1.5, 1.0, 0.25, 2
Signed = tuple[str, bytes, dict[str, str]]  # url, body, headers


def bare_app(runtime: Runtime) -> App:
    """A Bolt app configured like ours whose listeners do nothing but ack."""
    app = App(name="bare", signing_secret=SIGNING_SECRET, client=runtime.slack, token_verification_enabled=False,
              process_before_response=False,
              listener_executor=ThreadPoolExecutor(runtime.settings.listener_threads))

    def only_ack(ack: Callable[[], None]) -> None:
        ack()

    app.command("/atlas-access")(only_ack)
    app.action("approve")(only_ack)
    return app


def router(ours: WsgiApp, bare: App) -> Callable[[dict[str, Any], Any], Iterable[bytes]]:
    """One WSGI app for the one server: /bare/... to the bare app, everything else to atlas-access."""
    bare_handler = SlackRequestHandler(bare, path="/bare/slack/events")
    return lambda environ, start: (bare_handler if environ.get("PATH_INFO", "").startswith("/bare/") else ours)(
        environ, start)


class Signer(SlackDriver):
    """The driver, but it signs and keeps its requests instead of sending them (the load process sends)."""

    def __init__(self, app_url: str, sim: Any) -> None:
        super().__init__(app_url, SIGNING_SECRET, sim)
        self.url = app_url.rstrip("/") + "/slack/events"
        self.signed: list[Signed] = []

    def raw(self, body: bytes, headers: Any) -> httpx.Response:
        self.signed.append((self.url, body, dict(headers)))
        return httpx.Response(200)


class Child:
    """This script again in a child interpreter (`--load-process` or `--server-process`), talking by lines."""

    def __init__(self, role: str, environment: dict[str, str] | None = None) -> None:
        self._ran: dict[str, int] = {}  # nanoseconds each thread (by id) had run at the last look, for `cpu`
        self._child = subprocess.Popen([sys.executable, __file__, role], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, text=True, env={**os.environ, **(environment or {})})

    def ask(self, line: str | None = None) -> str:
        assert self._child.stdin is not None and self._child.stdout is not None
        if line is not None:
            self._child.stdin.write(line + "\n")
            self._child.stdin.flush()
        return self._child.stdout.readline().strip()

    def fire(self, batch: list[Signed]) -> list[float]:
        """Send the batch at once from the load process; each request's ack latency in seconds."""
        return self.fire_timed(batch)[0]

    def fire_timed(self, batch: list[Signed]) -> tuple[list[float], list[float]]:
        """`fire`, and when each request left the load process (`time.monotonic()`, the same clock in every process
        of this machine)."""
        answer = json.loads(self.ask(json.dumps([[u, base64.b64encode(b).decode(), h] for u, b, h in batch])))
        if answer["failed"]:
            raise RuntimeError(f"{answer['failed']} requests failed: {answer['first_error']}")
        return [float(x) for x in answer["latencies"]], [float(x) for x in answer["sent"]]

    def cpu(self) -> float:
        """CPU seconds the child's threads have run so far, to the nanosecond (each thread's /proc schedstat; the
        clock ticks of /proc/PID/stat are 10 ms, a tenth of a burst's CPU). A thread that has ended (a grant crew's)
        keeps what it had at the last look, so the sum never goes back."""
        for task in Path(f"/proc/{self._child.pid}/task").iterdir():
            try:
                self._ran[task.name] = int((task / "schedstat").read_text().split()[0])
            except (OSError, ValueError, IndexError):  # a thread that ended just now
                continue
        return sum(self._ran.values()) / 1e9

    def close(self) -> None:
        if self._child.stdin is not None:
            self._child.stdin.close()
        self._child.wait(timeout=30)


def load_process() -> int:
    """The child's loop: a JSON batch per line in, `{latencies, failed, first_error}` per line out."""
    with httpx.Client(timeout=30, limits=httpx.Limits(max_connections=200)) as http:
        for line in sys.stdin:
            batch = json.loads(line)
            gate = threading.Barrier(len(batch))

            def one(item: list[Any], gate: threading.Barrier = gate) -> tuple[float, float, str | None]:
                gate.wait()
                sent, started = time.monotonic(), time.perf_counter()
                response = http.post(item[0], content=base64.b64decode(item[1]), headers=item[2])
                took = time.perf_counter() - started
                return took, sent, None if response.status_code == 200 else f"HTTP {response.status_code}"

            with ThreadPoolExecutor(max_workers=len(batch)) as pool:
                results = list(pool.map(one, batch))
            errors = [error for _, _, error in results if error]
            print(json.dumps({"latencies": [t for t, _, _ in results], "sent": [s for _, s, _ in results],
                              "failed": len(errors), "first_error": errors[0] if errors else None}), flush=True)
    return 0


def server_process() -> int:
    """The child: build the runtime from the environment, serve both apps until stdin closes."""
    runtime = build_runtime(Settings())
    os.environ.pop("SLACK_BOT_TOKEN", None)  # read; Bolt would only warn that the client's token wins
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # a burst beyond the threads queues, by design
    ours, bare = build_slack_app(runtime), bare_app(runtime)
    server = ServerThread(router(wsgi_app(runtime, ours), bare), threads=runtime.settings.server_threads).start()
    print(server.url, flush=True)
    sys.stdin.read()
    server.stop()
    ours.drain()
    bare.listener_runner.listener_executor.shutdown(wait=True)
    return 0


class Bench:
    def __init__(self, workdir: Path, *, people: int) -> None:
        self.world = Harness(workdir)  # the fakes and the database; its in-process server stays idle
        self.world.sim.channel_burst = None  # measure our acks, not Slack's per-channel posting limit
        self.people = [f"U{100 + i}" for i in range(people)]
        for user in self.people:
            email = f"{user.lower()}@example.com"
            self.world.sim.add_user(user, name=user.lower(), email=email)
            self.world.sb.add_user(org_id=self.world.atlas.org_id, username=email, org_roles=["ORG_MEMBER"],
                                   status="ACTIVE")
        self.world.runtime.sync.run("prod")
        self.atlas = SandboxServer(self.world.sb, port=0)
        self.atlas.start()
        settings = self.world.settings
        self.server = Child("--server-process", {  # Settings() defaults for the pools, as `serve` runs
            "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": settings.slack_api_url,
            "ATLAS_BASE_URL": self.atlas.url, "DATABASE_URL": settings.database_url,
            "ATLAS_ACCESS_SECRET_KEY": settings.atlas_access_secret_key.get_secret_value(),  # type: ignore[union-attr]
        })  # fmt: skip
        url = self.server.ask()
        if not url.startswith("http"):
            raise RuntimeError("the server process did not start")
        self.urls = {"atlas-access": url, "bare Bolt": url + "/bare"}
        self.load = Child("--load-process")

    def close(self) -> None:
        self.load.close()
        self.server.close()
        self.atlas.stop()
        self.world.close()

    def signer(self, app: str) -> Signer:
        return Signer(self.urls[app], self.world.sim)

    def commands(self, app: str, count: int) -> list[float]:
        signer = self.signer(app)
        for user in self.people[:count]:
            signer.command(user)
        return self.load.fire(signer.signed)

    def clicks(self, app: str, user: str, request_ids: list[int]) -> list[float]:
        return self.load.fire(self.signed_clicks(app, user, request_ids))

    def signed_clicks(self, app: str, user: str, request_ids: list[int]) -> list[Signed]:
        signer = self.signer(app)
        for request in (self.world.get(i)[0] for i in request_ids):
            signer.block_action(user, "approve", str(request.id), message=(str(request.channel),
                                                                          str(request.message_ts)))
        return signer.signed

    def pending_requests(self, project: str, count: int) -> list[int]:
        """One pending request per person on `project`, posted to the approvals channel."""
        return [int(self.world.runtime.service.submit(
            requester=Requester(user_id=user, email=f"{user.lower()}@example.com"), integration="prod",
            resource_id=self.world.atlas.projects[project], roles=(READ,), duration=timedelta(hours=1),
            justification="benchmark: reading the slow query log",
        ).id or 0) for user in self.people[:count]]  # fmt: skip

    def wait_active(self, request_ids: list[int], timeout: float = 60.0) -> None:
        """Polls a plain read every 2 ms: a unit of work (BEGIN IMMEDIATE on SQLite) took the database's write lock
        as often, and the app's own transactions waited for it in SQLite's busy handler (sleeping 1, 2, 5... ms)."""
        deadline = time.monotonic() + timeout
        query = (select(func.count()).select_from(GRANT)
                 .where(GRANT.c.request_id.in_(request_ids), GRANT.c.status == GrantStatus.ACTIVE))  # fmt: skip
        with self.world.runtime.store.engine.connect() as connection:
            reading = connection.execution_options(sqlite_begin="DEFERRED")
            while reading.execute(query).scalar_one() < len(request_ids):
                reading.rollback()  # a new snapshot for the next look
                if time.monotonic() > deadline:
                    raise RuntimeError("grants did not all become active")
                time.sleep(0.002)

    def settle(self) -> None:
        """Wait for the work the apps do after their acks (modals, posts) to finish."""
        quiet_since, seen = time.monotonic(), len(self.world.sim.calls)
        while time.monotonic() - quiet_since < 0.3:
            time.sleep(0.05)
            if len(self.world.sim.calls) != seen:
                quiet_since, seen = time.monotonic(), len(self.world.sim.calls)

    def click_to_grant(self, request_ids: list[int]) -> tuple[list[float], list[list[str]]]:
        """Each click's time to the grant being ACTIVE, from the moment the load process sends the signed click
        (signing it and handing it to the load process are the benchmark's own work, before), and the Atlas
        operations it took (in order)."""
        took, calls = [], []
        for request_id in request_ids:
            seen = len(self.world.sb.calls)
            _, [sent] = self.load.fire_timed(self.signed_clicks("atlas-access", DAN, [request_id]))
            self.wait_active([request_id], timeout=10)
            took.append(time.monotonic() - sent)
            calls.append([c.operation_id or "?" for c in self.world.sb.calls[seen:]])
        return took, calls


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def row(name: str, app: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (f"{name:<16}{app:<14}{len(ms):>4}{percentile(ms, .5):>9.1f}{percentile(ms, .99):>9.1f}"
            f"{max(ms):>9.1f}")


Acks = dict[tuple[str, str], list[float]]


def measure(bench: Bench, args: argparse.Namespace) -> tuple[Acks, dict[tuple[str, str], float], tuple[
        list[float], list[list[str]]]]:
    """Ack latencies pooled over `--rounds` rounds (the two apps alternate who goes first), the app server's CPU
    seconds over each kind's bursts (from the first request sent to the last ack back: for atlas-access's clicks,
    with whatever approval work started meanwhile), then click-to-grant."""
    for app in bench.urls:  # warm up: imports, auth.test, connection pools
        bench.commands(app, min(5, args.burst))
    bench.settle()
    acks: Acks = {(name, app): [] for name in ("/atlas-access", "approve click")
                  for app in ("bare Bolt", "atlas-access")}
    cpu = dict.fromkeys(acks, 0.0)
    for round_number in range(args.rounds):
        order = ["bare Bolt", "atlas-access"][:: 1 if round_number % 2 == 0 else -1]
        for app in order:
            before = bench.server.cpu()
            acks[("/atlas-access", app)] += bench.commands(app, args.burst)
            cpu[("/atlas-access", app)] += bench.server.cpu() - before
            bench.settle()
        pending = bench.pending_requests("payments", args.burst)
        for app in order:
            before = bench.server.cpu()
            acks[("approve click", app)] += bench.clicks(app, BOB, pending)
            cpu[("approve click", app)] += bench.server.cpu() - before
            if app == "atlas-access":
                bench.wait_active(pending)
                bench.settle()
    grants = bench.pending_requests("search", args.grants)
    bench.world.sb.faults.latency = args.atlas_latency
    return acks, cpu, bench.click_to_grant(grants)


def report(bench: Bench, args: argparse.Namespace) -> int:
    acks, cpu, (grant_times, grant_calls) = measure(bench, args)
    print(f"{'ack latency':<16}{'app':<14}{'n':>4}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'cpu ms/req':>12}")
    for (name, app), values in acks.items():
        print(row(name, app, values) + f"{1000 * cpu[(name, app)] / max(len(values), 1):>12.2f}")
    verdicts = []
    for name in ("/atlas-access", "approve click"):
        ours, bare = acks[(name, "atlas-access")], acks[(name, "bare Bolt")]
        ratio = percentile(ours, .99) / max(percentile(bare, .99), 1e-6)
        fine = ratio <= TARGET_RATIO and max(ours) <= TARGET_MAX_ACK
        verdicts.append(fine)
        print(f"{name}: p99 ratio {ratio:.2f} (target <= {TARGET_RATIO}), max ack {max(ours) * 1000:.0f} ms "
              f"(target <= {TARGET_MAX_ACK * 1000:.0f}) -> {'ok' if fine else 'MISSED'}; server CPU per request "
              f"{cpu[(name, 'atlas-access')] / max(cpu[(name, 'bare Bolt')], 1e-9):.2f} x the bare app's")
    p50 = statistics.median(grant_times)
    verdicts.append(p50 < TARGET_GRANT_P50)
    print(f"click-to-grant with {args.atlas_latency * 1000:.0f} ms Atlas latency: n={len(grant_times)} "
          f"p50 {p50 * 1000:.0f} ms, p99 {percentile(grant_times, .99) * 1000:.0f} ms "
          f"(target p50 < {TARGET_GRANT_P50 * 1000:.0f}) -> {'ok' if verdicts[-1] else 'MISSED'}")
    per_grant = [len(c) for c in grant_calls]
    verdicts.append(max(per_grant) <= TARGET_CALLS)
    print(f"Atlas calls per grant: {statistics.mean(per_grant):.1f} (min {min(per_grant)}, max {max(per_grant)}; "
          f"target <= {TARGET_CALLS}: look the person up, add the role) -> {'ok' if verdicts[-1] else 'MISSED'}; "
          f"e.g. {' + '.join(grant_calls[0])}")
    print("all targets met" if all(verdicts) else "some targets missed")
    return 0


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=50, help="concurrent commands and clicks per app")
    parser.add_argument("--rounds", type=int, default=3, help="bursts per app and kind, pooled")
    parser.add_argument("--grants", type=int, default=20, help="sequential clicks timed to the grant")
    parser.add_argument("--atlas-latency", type=float, default=0.1, help="seconds per Atlas call in step 3")
    parser.add_argument("--quick", action="store_true", help="a small run (10 concurrent, 5 grants) for tests")
    parser.add_argument("--load-process", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--server-process", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.burst, args.grants, args.rounds = 10, 5, 1
    args.grants = min(args.grants, args.burst)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.load_process:
        return load_process()
    if args.server_process:
        return server_process()
    try:
        with tempfile.TemporaryDirectory() as workdir:
            bench = Bench(Path(workdir), people=args.burst)
            try:
                return report(bench, args)
            finally:
                bench.close()
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
