"""Benchmark: Slack ack latency of atlas-access beside a bare Bolt app that only acks, and click-to-grant time.

    python bench/ack.py [--burst 50] [--grants 20] [--atlas-latency 0.1] [--quick]

One waitress server (the production one, `bot.slack.http`) serves both apps: atlas-access at /slack/events
and a bare Bolt app whose listeners only ack at /bare/slack/events, built the same way (same signing secret,
same Slack client, same pool sizes as `Settings()` defaults). A fake Slack and the Atlas sandbox stand in for
the real services, in this process; the load comes from a separate process (its own interpreter, so its
threads do not take the server's turns), fired all at once after the requests are signed here.
1. `--burst` signed `/atlas-access` commands at once, to each app: ack latency p50/p99/max.
2. `--burst` Approve clicks at once (on as many pending requests), to each app.
3. `--grants` Approve clicks one after another with every Atlas call taking `--atlas-latency` seconds: time from
   the click to the grant being ACTIVE in the database (Atlas done).
Targets: p99 ack within 1.5x of the bare app's and no ack over 1 s; click-to-grant p50 under 0.5 s.
Exit status 1 if a request failed or a grant did not complete (a missed target is reported, not fatal).
"""

from __future__ import annotations

import argparse
import base64
import json
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

from access.model import GrantStatus  # noqa: E402
from access.policy import Requester  # noqa: E402
from bot.slack.bolt import build_bolt_app  # noqa: E402
from bot.slack.http import ServerThread, WsgiApp, drain  # noqa: E402
from bot.slack_sim import SlackDriver  # noqa: E402
from tests.e2e.harness import BOB, DAN, READ, SIGNING_SECRET, Harness  # noqa: E402

TARGET_RATIO, TARGET_MAX_ACK, TARGET_GRANT_P50 = 1.5, 1.0, 0.5
Signed = tuple[str, bytes, dict[str, str]]  # url, body, headers


def bare_app(runtime: Any) -> App:
    """A Bolt app configured like ours whose listeners do nothing but ack."""
    app = App(name="bare", signing_secret=SIGNING_SECRET, client=runtime.slack, token_verification_enabled=False,
              process_before_response=False,
              listener_executor=ThreadPoolExecutor(runtime.settings.listener_threads))

    def only_ack(ack: Callable[[], None]) -> None:
        ack()

    app.command("/atlas-access")(only_ack)
    app.action("approve")(only_ack)
    return app


class Router:
    """One WSGI app for the one server: /bare/... to the bare app, everything else to atlas-access."""

    def __init__(self, ours: WsgiApp, bare: App) -> None:
        from slack_bolt.adapter.wsgi import SlackRequestHandler

        self._ours, self._bare = ours, SlackRequestHandler(bare, path="/bare/slack/events")

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith("/bare/"):
            return self._bare(environ, start_response)  # type: ignore[arg-type]
        return self._ours(environ, start_response)


class Signer(SlackDriver):
    """The driver, but it signs and keeps its requests instead of sending them (the load process sends)."""

    def __init__(self, app_url: str, sim: Any) -> None:
        super().__init__(app_url, SIGNING_SECRET, sim)
        self.url = app_url.rstrip("/") + "/slack/events"
        self.signed: list[Signed] = []

    def raw(self, body: bytes, headers: Any) -> httpx.Response:
        self.signed.append((self.url, body, dict(headers)))
        return httpx.Response(200)


class LoadProcess:
    """A child interpreter that fires a batch of signed requests at once and answers with their latencies."""

    def __init__(self) -> None:
        self._child = subprocess.Popen([sys.executable, __file__, "--load-process"], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, text=True)

    def fire(self, batch: list[Signed]) -> list[float]:
        assert self._child.stdin is not None and self._child.stdout is not None
        wire = [[url, base64.b64encode(body).decode(), headers] for url, body, headers in batch]
        self._child.stdin.write(json.dumps(wire) + "\n")
        self._child.stdin.flush()
        answer = json.loads(self._child.stdout.readline())
        if answer["failed"]:
            raise RuntimeError(f"{answer['failed']} requests failed: {answer['first_error']}")
        return [float(x) for x in answer["latencies"]]

    def close(self) -> None:
        if self._child.stdin is not None:
            self._child.stdin.close()
        self._child.wait(timeout=10)


def load_process() -> int:
    """The child's loop: a JSON batch per line in, `{latencies, failed, first_error}` per line out."""
    with httpx.Client(timeout=30, limits=httpx.Limits(max_connections=200)) as http:
        for line in sys.stdin:
            batch = json.loads(line)
            gate = threading.Barrier(len(batch))

            def one(item: list[Any]) -> tuple[float, str | None]:
                url, body, headers = item[0], base64.b64decode(item[1]), item[2]
                gate.wait()
                started = time.perf_counter()
                response = http.post(url, content=body, headers=headers)
                took = time.perf_counter() - started
                return took, None if response.status_code == 200 else f"HTTP {response.status_code}"

            with ThreadPoolExecutor(max_workers=len(batch)) as pool:
                results = list(pool.map(one, batch))
            errors = [error for _, error in results if error]
            print(json.dumps({"latencies": [t for t, _ in results], "failed": len(errors),
                              "first_error": errors[0] if errors else None}), flush=True)
    return 0


class Bench:
    def __init__(self, workdir: Path, *, people: int) -> None:
        # Settings() defaults for the pools, as `atlas-access serve` runs; Harness's own server stays idle.
        self.world = Harness(workdir, listener_threads=32, server_threads=32)
        self.world.sim.channel_burst = None  # measure our acks, not Slack's per-channel posting limit
        self.people = [f"U{100 + i}" for i in range(people)]
        for user in self.people:
            email = f"{user.lower()}@example.com"
            self.world.sim.add_user(user, name=user.lower(), email=email)
            self.world.sb.add_user(org_id=self.world.atlas.org_id, username=email, org_roles=["ORG_MEMBER"],
                                   status="ACTIVE")
        self.world.runtime.sync.run("prod")
        self.ours = build_bolt_app(self.world.runtime)
        self.bare = bare_app(self.world.runtime)
        self.server = ServerThread(Router(WsgiApp(runtime=self.world.runtime, bolt=self.ours), self.bare),
                                   threads=self.world.settings.server_threads).start()
        self.urls = {"atlas-access": self.server.url, "bare Bolt": self.server.url + "/bare"}
        self.load = LoadProcess()

    def close(self) -> None:
        self.load.close()
        self.server.stop()
        drain(self.ours)
        drain(self.bare)
        self.world.close()

    def signer(self, app: str) -> Signer:
        return Signer(self.urls[app], self.world.sim)

    def commands(self, app: str, count: int) -> list[float]:
        signer = self.signer(app)
        for user in self.people[:count]:
            signer.command(user)
        return self.load.fire(signer.signed)

    def clicks(self, app: str, user: str, request_ids: list[int]) -> list[float]:
        signer = self.signer(app)
        for request_id in request_ids:
            request = self.world.get(request_id)[0]
            signer.block_action(user, "approve", str(request_id),
                                message=(str(request.channel), str(request.message_ts)))
        return self.load.fire(signer.signed)

    def pending_requests(self, project: str, count: int) -> list[int]:
        """One pending request per person on `project`, posted to the approvals channel."""
        ids = []
        for user in self.people[:count]:
            requester = Requester(user_id=user, email=f"{user.lower()}@example.com")
            request = self.world.runtime.service.submit(
                requester=requester, integration="prod", resource_id=self.world.atlas.projects[project],
                roles=(READ,), duration=timedelta(hours=1), justification="benchmark: reading the slow query log",
            )  # fmt: skip
            ids.append(int(request.id or 0))
        return ids

    def wait_active(self, request_ids: list[int], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while any((g := self.world.get(i)[1]) is None or g.status is not GrantStatus.ACTIVE for i in request_ids):
            if time.monotonic() > deadline:
                raise RuntimeError("grants did not all become active")
            time.sleep(0.005)

    def settle(self) -> None:
        """Wait for the work the apps do after their acks (modals, posts) to finish."""
        quiet_since, seen = time.monotonic(), len(self.world.sim.calls)
        while time.monotonic() - quiet_since < 0.3:
            time.sleep(0.05)
            if len(self.world.sim.calls) != seen:
                quiet_since, seen = time.monotonic(), len(self.world.sim.calls)

    def click_to_grant(self, request_ids: list[int]) -> list[float]:
        took = []
        http = httpx.Client(timeout=30)
        for request_id in request_ids:
            signer = self.signer("atlas-access")
            request = self.world.get(request_id)[0]
            signer.block_action(DAN, "approve", str(request_id), message=(str(request.channel),
                                                                         str(request.message_ts)))
            url, body, headers = signer.signed[0]
            started = time.perf_counter()
            http.post(url, content=body, headers=headers).raise_for_status()
            self.wait_active([request_id], timeout=10)
            took.append(time.perf_counter() - started)
        http.close()
        return took


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def row(name: str, app: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (f"{name:<16}{app:<14}{len(ms):>4}{percentile(ms, .5):>9.1f}{percentile(ms, .99):>9.1f}"
            f"{max(ms):>9.1f}")


def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as workdir:
        bench = Bench(Path(workdir), people=args.burst)
        try:
            return report(bench, args)
        finally:
            bench.close()


def measure(bench: Bench, args: argparse.Namespace) -> tuple[dict[tuple[str, str], list[float]], list[float]]:
    for app in bench.urls:  # warm up: imports, auth.test, connection pools
        bench.commands(app, min(5, args.burst))
    bench.settle()
    acks: dict[tuple[str, str], list[float]] = {}
    for app in ("bare Bolt", "atlas-access"):
        acks[("/atlas-access", app)] = bench.commands(app, args.burst)
        bench.settle()
    pending = bench.pending_requests("payments", args.burst)
    for app in ("bare Bolt", "atlas-access"):
        acks[("approve click", app)] = bench.clicks(app, BOB, pending)
    bench.wait_active(pending)
    bench.settle()
    grants = bench.pending_requests("search", args.grants)
    bench.world.sb.faults.latency = args.atlas_latency
    return acks, bench.click_to_grant(grants)


def report(bench: Bench, args: argparse.Namespace) -> int:
    acks, grant_times = measure(bench, args)
    print(f"{'ack latency':<16}{'app':<14}{'n':>4}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for (name, app), values in acks.items():
        print(row(name, app, values))
    verdicts = []
    for name in ("/atlas-access", "approve click"):
        ours, bare = acks[(name, "atlas-access")], acks[(name, "bare Bolt")]
        ratio = percentile(ours, .99) / max(percentile(bare, .99), 1e-6)
        fine = ratio <= TARGET_RATIO and max(ours) <= TARGET_MAX_ACK
        verdicts.append(fine)
        print(f"{name}: p99 ratio {ratio:.2f} (target <= {TARGET_RATIO}), max ack {max(ours) * 1000:.0f} ms "
              f"(target <= {TARGET_MAX_ACK * 1000:.0f}) -> {'ok' if fine else 'MISSED'}")
    p50 = statistics.median(grant_times)
    verdicts.append(p50 < TARGET_GRANT_P50)
    print(f"click-to-grant with {args.atlas_latency * 1000:.0f} ms Atlas latency: n={len(grant_times)} "
          f"p50 {p50 * 1000:.0f} ms, p99 {percentile(grant_times, .99) * 1000:.0f} ms "
          f"(target p50 < {TARGET_GRANT_P50 * 1000:.0f}) -> {'ok' if verdicts[-1] else 'MISSED'}")
    print("all targets met" if all(verdicts) else "some targets missed")
    return 0


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=50, help="concurrent commands and clicks per app")
    parser.add_argument("--grants", type=int, default=20, help="sequential clicks timed to the grant")
    parser.add_argument("--atlas-latency", type=float, default=0.1, help="seconds per Atlas call in step 3")
    parser.add_argument("--quick", action="store_true", help="a small run (10 concurrent, 5 grants) for tests")
    parser.add_argument("--load-process", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.burst, args.grants = 10, 5
    args.grants = min(args.grants, args.burst)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.load_process:
        return load_process()
    try:
        return run(args)
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
