"""Benchmark: discover a large organization through the real client over loopback HTTP, against the minimum.

    python bench/sync.py [--projects 5000 --users 20000 --latency 0.05 --rate 100 --concurrency 8]
                         [--multi-cloud 0 --foreign 0] [--store] [--quick]

A child process seeds the sandbox (one organization: N projects with 2 clusters each, M users; optionally K
projects with one more, multi-cloud, cluster, and F projects of another organization the credential can see)
and serves it on a loopback port, answering every request after `--latency` seconds and through a token bucket
of `--rate` requests a second. This process is the sync: the gateway's discover through AtlasClient, exactly
as `atlas-access sync` reads Atlas; with `--store` the whole sync runs (SyncService: discover, then store the
inventory in one transaction in a fresh SQLite database) and its storing time is printed too. Printed:
- calls made beside the minimum, 1 getOrg + ceil(N/500) getOrgGroups pages + ceil((N+F)/500) listClusterDetails
  pages + ceil(M/500) listOrgUsers pages + K listGroupClusters fallbacks (61 for 5,000 projects, 20,000 users);
- wall time beside the bound the rate limit sets, max(minimum / rate, minimum x latency / concurrency), and
  their ratio;
- failed calls (must be 0) and the peak resident set size of this, the syncing, process (goal < 300 MB).
Exit status 1 if a call failed, calls exceeded the minimum, or the inventory came back incomplete.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import resource
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from access.config import IntegrationSpec  # noqa: E402
from access.model import DiscoveryType, Inventory  # noqa: E402
from access.ports import Progress  # noqa: E402
from access.sync import SyncService  # noqa: E402
from atlas.client import AtlasClient  # noqa: E402
from atlas.credentials import ServiceAccount  # noqa: E402
from atlas.gateway import AtlasGateway  # noqa: E402
from atlas.sandbox import Sandbox, SandboxServer  # noqa: E402
from bot.clock import SystemClock  # noqa: E402
from storage.crypto import SecretBox  # noqa: E402
from storage.engine import make_engine  # noqa: E402
from storage.migrations import create_all  # noqa: E402
from storage.store import SqlStore  # noqa: E402
from storage.testing import sqlite_url  # noqa: E402

PAGE = 500
TYPES = [DiscoveryType.ORGANIZATIONS, DiscoveryType.PROJECTS]
RSS_GOAL_MB = 300


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
    parser.add_argument("--multi-cloud", type=int, default=0, help="projects with one more, multi-cloud, cluster")
    parser.add_argument("--foreign", type=int, default=0, help="projects of another org the credential sees")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds the sandbox takes per request")
    parser.add_argument("--rate", type=float, default=100.0, help="sandbox token bucket: requests per second")
    parser.add_argument("--burst", type=int, default=None, help="token bucket capacity (default: one second's worth)")
    parser.add_argument("--concurrency", type=int, default=8, help="the client's max_concurrency")
    parser.add_argument("--store", action="store_true",
                        help="run the whole sync (SyncService into a fresh SQLite database), not discovery alone")
    parser.add_argument("--quick", action="store_true",
                        help="a small run for tests (1,200 projects, 3 multi-cloud, 300 foreign, 1,000 users)")
    args = parser.parse_args(argv)
    if args.quick:
        args.projects, args.users, args.multi_cloud, args.foreign = 1200, 1000, 3, 300
    args.burst = args.burst or max(1, int(args.rate))
    args.multi_cloud = min(args.multi_cloud, args.projects)
    return args


@dataclass(frozen=True)
class Served:
    url: str
    org_id: str
    client_id: str
    secret: str
    seconds: float


def seed(sandbox: Sandbox, args: argparse.Namespace) -> tuple[str, str, str]:
    org = sandbox.add_org(name="Bench Corp")
    groups = []
    for i in range(args.projects):
        group = sandbox.add_project(org_id=org, name=f"project-{i:05d}", tags={"owner": f"team-{i % 50}"})
        sandbox.add_cluster(group_id=group, name="Cluster0", state="IDLE")
        sandbox.add_cluster(group_id=group, name="Cluster1", state="IDLE")
        if i < args.multi_cloud:
            sandbox.add_cluster(group_id=group, name="Everywhere", state="IDLE", multi_cloud=True)
        groups.append(group)
    for i in range(args.users):
        roles = {groups[i % len(groups)]: ["GROUP_READ_ONLY"]} if groups else {}
        sandbox.add_user(org_id=org, username=f"user{i:06d}@example.com", org_roles=["ORG_MEMBER"],
                         project_roles=roles, status="ACTIVE")
    client_id, secret = sandbox.add_service_account(org_id=org, roles=["ORG_OWNER"])
    if args.foreign:
        other = sandbox.add_org(name="Other Corp")
        for i in range(args.foreign):
            sandbox.add_cluster(group_id=sandbox.add_project(org_id=other, name=f"other-{i:05d}"), name="Cluster0")
        sandbox.add_org_reader(org_id=other, identity=client_id)
    return org, client_id, secret


def serve(args: argparse.Namespace, pipe: Connection) -> None:
    """The child: seed, serve on loopback until told to stop."""
    sandbox = Sandbox()
    started = time.perf_counter()
    org, client_id, secret = seed(sandbox, args)
    seconds = time.perf_counter() - started
    sandbox.faults.latency = args.latency
    sandbox.faults.rate_limit(capacity=args.burst, refill_per_second=args.rate)
    server = SandboxServer(sandbox, port=0)
    server.start()
    pipe.send(Served(url=server.url, org_id=org, client_id=client_id, secret=secret, seconds=seconds))
    pipe.recv()  # stop
    server.stop()


class Recorded(AtlasGateway):
    """The gateway, its discover timed and its inventory kept for the report (the sync hands on only its changes)."""

    def __init__(self, client: AtlasClient) -> None:
        super().__init__(client)
        self.inventory: Inventory | None = None
        self.seconds = 0.0
        self.cpu = 0.0

    def discover(self, *, organization_id: str, types: Sequence[DiscoveryType],
                 progress: Progress | None = None) -> Inventory:
        started, cpu = time.perf_counter(), cpu_seconds()
        self.inventory = super().discover(organization_id=organization_id, types=types, progress=progress)
        self.seconds, self.cpu = time.perf_counter() - started, cpu_seconds() - cpu
        return self.inventory


def sqlite_store(directory: Path, served: Served) -> SqlStore:
    engine = make_engine(sqlite_url(directory))
    create_all(engine)
    store = SqlStore(engine, SecretBox(SecretBox.generate_key()))
    with store.unit_of_work() as uow:
        uow.integrations.upsert(IntegrationSpec.model_validate({
            "name": "bench", "organization_id": served.org_id, "approval_channel": "C0BENCH",
            "credentials": {"type": "service_account", "client_id": served.client_id,
                            "client_secret": served.secret}}))
    return store


def minimum_calls(args: argparse.Namespace) -> dict[str, int]:
    return {"getOrg": 1, "getOrgGroups": max(1, math.ceil(args.projects / PAGE)),
            "listClusterDetails": max(1, math.ceil((args.projects + args.foreign) / PAGE)),
            "listOrgUsers": max(1, math.ceil(args.users / PAGE)), "listGroupClusters": args.multi_cloud}


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def run(args: argparse.Namespace) -> int:
    context = multiprocessing.get_context("fork")  # before this process holds anything big or any thread
    ours, theirs = context.Pipe()
    child = context.Process(target=serve, args=(args, theirs), daemon=True)
    child.start()
    try:
        served: Served = ours.recv()
        print(f"seeded 1 organization, {args.projects} projects ({2 * args.projects + args.multi_cloud} clusters, "
              f"{args.multi_cloud} multi-cloud), {args.users} users, {args.foreign} projects of another org the "
              f"credential sees, in {served.seconds:.1f} s (sandbox in a child process)")
        calls = CallLog()
        client = AtlasClient(base_url=served.url, credentials=ServiceAccount(
            client_id=served.client_id, client_secret=served.secret), max_concurrency=args.concurrency,
            on_call=calls)
        gateway = Recorded(client)
        try:
            started = time.perf_counter()
            if args.store:
                with tempfile.TemporaryDirectory() as directory:
                    store = sqlite_store(Path(directory), served)
                    SyncService(store=store, gateways=lambda name: gateway, clock=SystemClock()).run("bench")
            else:
                gateway.discover(organization_id=served.org_id, types=TYPES)
            wall = time.perf_counter() - started
        finally:
            client.close()
        assert gateway.inventory is not None
        if args.store:
            print(f"stored: the inventory written to SQLite in {wall - gateway.seconds:.2f} s after discovery "
                  f"(whole sync {wall:.2f} s)")
        return report(args, calls, gateway.inventory, gateway.seconds, gateway.cpu, peak_rss_mb())
    finally:
        ours.send("stop")
        child.join(timeout=10)


def report(args: argparse.Namespace, calls: CallLog, inventory: Inventory, wall: float, cpu: float,
           rss_mb: float) -> int:
    api = {op: n for op, n in calls.by_operation.items() if not op.startswith("oauth")}
    rejected = calls.by_status[429]
    made = sum(api.values()) - rejected
    minimum = minimum_calls(args)
    least = sum(minimum.values())
    failed = sum(n for status, n in calls.by_status.items() if status == 0 or status >= 400) - rejected
    by_rate = least / args.rate
    by_concurrency = least * args.latency / args.concurrency
    bound = max(by_rate, by_concurrency)
    clusters = sum(len(p.clusters) for p in inventory.projects)
    complete = (len(inventory.projects) == args.projects and len(inventory.users) == args.users
                and clusters == 2 * args.projects + args.multi_cloud)
    print(f"setup: latency {args.latency * 1000:.0f} ms per request, rate limit {args.rate:g} requests/s "
          f"(token bucket, burst {args.burst}), client max_concurrency {args.concurrency}")
    print(f"calls: {made} made, minimum {least} ({minimum['getOrg']} getOrg + {minimum['getOrgGroups']} project "
          f"pages + {minimum['listClusterDetails']} cluster-listing pages + {minimum['listOrgUsers']} user pages + "
          f"{minimum['listGroupClusters']} multi-cloud fallbacks); {rejected} more answered 429 and retried; "
          f"OAuth: {calls.by_operation['oauthToken']} token, {calls.by_operation['oauthRevoke']} revocation")
    print("per operation (attempts): " + ", ".join(f"{op} {n}" for op, n in sorted(api.items())))
    print(f"rate-limit bound: {least} calls / {args.rate:g} per s = {by_rate:.2f} s "
          f"(concurrency bound {least} x {args.latency:g} s / {args.concurrency} = {by_concurrency:.2f} s)")
    print(f"discovery wall time: {wall:.2f} s, ratio to the bound {wall / bound:.2f}; CPU of the sync process "
          f"meanwhile {cpu:.2f} s (reading the JSON pages; the sandbox child renders them on its own CPU)")
    print(f"peak RSS of the sync process: {rss_mb:.0f} MB (goal < {RSS_GOAL_MB} MB)"
          + ("" if rss_mb < RSS_GOAL_MB else "  ABOVE GOAL"))
    print(f"failed calls: {failed}")
    print(f"inventory: {len(inventory.projects)} projects, {clusters} clusters, {len(inventory.users)} users "
          f"({'complete' if complete else 'INCOMPLETE'})")
    return 0 if failed == 0 and complete and made <= least else 1


def main(argv: list[str] | None = None) -> int:
    return run(parse(argv))


if __name__ == "__main__":
    sys.exit(main())
