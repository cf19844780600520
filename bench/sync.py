"""Benchmark: discover a large organization through the real client over loopback HTTP, against the lower bound.

    python bench/sync.py [--projects 5000 --users 20000 --latency 0.05 --rate 100 --concurrency 8] [--quick]

The sandbox serves one organization (N projects with 2 clusters each, M users) on a loopback port, answering
every request after `--latency` seconds and through a token bucket of `--rate` requests a second. The gateway's
discover runs through AtlasClient exactly as `atlas-access sync` does. Printed: calls made beside the minimum
(1 getOrg + ceil(N/500) project pages + N cluster lists + ceil(M/500) user pages), wall time beside the lower
bound max(calls * latency / concurrency, calls / rate), their ratio (target <= 1.25), and failed calls (must be 0).
Exit status 1 if any call failed or the inventory came back incomplete.
"""

from __future__ import annotations

import argparse
import math
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from access.model import DiscoveryType, Inventory  # noqa: E402
from atlas.client import AtlasClient  # noqa: E402
from atlas.credentials import ServiceAccount  # noqa: E402
from atlas.gateway import AtlasGateway  # noqa: E402
from atlas.sandbox import Sandbox, SandboxServer  # noqa: E402

TARGET_RATIO = 1.25
PAGE = 500


@dataclass
class CallLog:
    """The client's on_call hook: every HTTP attempt, by operation and status."""

    by_operation: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, operation_id: str, seconds: float, status: int) -> None:
        with self.lock:
            self.by_operation[operation_id] += 1
            self.by_status[status] += 1


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=5000)
    parser.add_argument("--users", type=int, default=20000)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds the sandbox takes per request")
    parser.add_argument("--rate", type=float, default=100.0, help="sandbox token bucket: requests per second")
    parser.add_argument("--burst", type=int, default=None, help="token bucket capacity (default: one second's worth)")
    parser.add_argument("--concurrency", type=int, default=8, help="the client's max_concurrency")
    parser.add_argument("--quick", action="store_true", help="a small run (200 projects, 1,000 users) for tests")
    args = parser.parse_args(argv)
    if args.quick:
        args.projects, args.users = 200, 1000
    args.burst = args.burst or max(1, int(args.rate))
    return args


def seed(sandbox: Sandbox, *, projects: int, users: int) -> tuple[str, ServiceAccount]:
    org = sandbox.add_org(name="Bench Corp")
    groups = []
    for i in range(projects):
        group = sandbox.add_project(org_id=org, name=f"project-{i:05d}", tags={"owner": f"team-{i % 50}"})
        sandbox.add_cluster(group_id=group, name="Cluster0", state="IDLE")
        sandbox.add_cluster(group_id=group, name="Cluster1", state="IDLE")
        groups.append(group)
    for i in range(users):
        roles = {groups[i % len(groups)]: ["GROUP_READ_ONLY"]} if groups else {}
        sandbox.add_user(org_id=org, username=f"user{i:05d}@example.com", org_roles=["ORG_MEMBER"],
                         project_roles=roles, status="ACTIVE")
    client_id, secret = sandbox.add_service_account(org_id=org, roles=["ORG_OWNER"])
    return org, ServiceAccount(client_id=client_id, client_secret=secret)


def minimum_calls(projects: int, users: int) -> int:
    return 1 + max(1, math.ceil(projects / PAGE)) + projects + max(1, math.ceil(users / PAGE))


def no_delayed_ack_stalls() -> None:
    """Send each sandbox answer at once (TCP_NODELAY), as production HTTP servers do.

    http.server writes the headers and the body in two segments; with Nagle's algorithm on, the body waits for
    the client's delayed ACK of the headers, about 40 ms on Linux loopback: 50 ms of injected latency became
    ~95 ms. That stall belongs to the simulator, not to the client this benchmark measures.
    (To go once atlas/sandbox/server.py sets `disable_nagle_algorithm = True` itself.)
    """
    from atlas.sandbox import server

    handler = getattr(server, "_Handler", None)
    if handler is not None and not getattr(handler, "disable_nagle_algorithm", False):
        handler.disable_nagle_algorithm = True


def run(args: argparse.Namespace) -> int:
    no_delayed_ack_stalls()
    sandbox = Sandbox()
    started = time.perf_counter()
    org, account = seed(sandbox, projects=args.projects, users=args.users)
    print(f"seeded 1 organization, {args.projects} projects ({2 * args.projects} clusters), {args.users} users "
          f"in {time.perf_counter() - started:.1f} s")
    sandbox.faults.latency = args.latency
    sandbox.faults.rate_limit(capacity=args.burst, refill_per_second=args.rate)
    server = SandboxServer(sandbox, port=0)
    server.start()
    calls = CallLog()
    client = AtlasClient(base_url=server.url, credentials=account, max_concurrency=args.concurrency, on_call=calls)
    try:
        started = time.perf_counter()
        inventory = AtlasGateway(client).discover(
            organization_id=org, types=[DiscoveryType.ORGANIZATIONS, DiscoveryType.PROJECTS])
        wall = time.perf_counter() - started
    finally:
        client.close()
        server.stop()
    return report(args, calls, inventory, wall)


def report(args: argparse.Namespace, calls: CallLog, inventory: Inventory, wall: float) -> int:
    api_calls = sum(n for op, n in calls.by_operation.items() if not op.startswith("oauth"))
    minimum = minimum_calls(args.projects, args.users)
    rejected = calls.by_status[429]
    failed = sum(n for status, n in calls.by_status.items() if status == 0 or status >= 400) - rejected
    by_concurrency = minimum * args.latency / args.concurrency
    by_rate = minimum / args.rate
    bound = max(by_concurrency, by_rate)
    ratio = wall / bound
    complete = (len(inventory.projects) == args.projects and len(inventory.users) == args.users
                and all(len(p.clusters) == 2 for p in inventory.projects))
    print(f"setup: latency {args.latency * 1000:.0f} ms per request, rate limit {args.rate:g} requests/s "
          f"(token bucket, burst {args.burst}), client max_concurrency {args.concurrency}")
    print(f"calls: {api_calls} made, minimum {minimum} (1 getOrg + {math.ceil(args.projects / PAGE)} project pages "
          f"+ {args.projects} cluster lists + {math.ceil(args.users / PAGE)} user pages); "
          f"{rejected} of them answered 429 and retried; OAuth: {calls.by_operation['oauthToken']} token, "
          f"{calls.by_operation['oauthRevoke']} revocation")
    print("per operation: " + ", ".join(f"{op} {n}" for op, n in sorted(calls.by_operation.items())))
    print(f"wall time: {wall:.2f} s, lower bound {bound:.2f} s = max({minimum} x {args.latency:g} s / "
          f"{args.concurrency} = {by_concurrency:.2f} s, {minimum} / {args.rate:g} per s = {by_rate:.2f} s)")
    print(f"ratio: {ratio:.2f} (target <= {TARGET_RATIO})" + ("" if ratio <= TARGET_RATIO else "  ABOVE TARGET"))
    print(f"failed calls: {failed}")
    print(f"inventory: {len(inventory.projects)} projects, {sum(len(p.clusters) for p in inventory.projects)} "
          f"clusters, {len(inventory.users)} users ({'complete' if complete else 'INCOMPLETE'})")
    return 0 if failed == 0 and complete else 1


def main(argv: list[str] | None = None) -> int:
    return run(parse(argv))


if __name__ == "__main__":
    sys.exit(main())
