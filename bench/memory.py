"""Benchmark: peak RSS of `atlas-access serve` with 100,000 past requests in the database, beside an empty one.

    python bench/memory.py [--requests 100000] [--sqlite] [--quick]

Each run starts a fresh database (PostgreSQL unless `--sqlite` or it is unreachable), seeds the past, starts a
real `serve` child on it (the fakes of Slack and Atlas live in this process) and works it the way a day does:
the start-up and periodic sweeps, /healthz and /metrics, the App Home of a heavy requester and of an admin,
`/atlas-access` with a resource search, and a request asked, approved, granted and revoked. Then the child's
peak resident set size (VmHWM) is read from /proc. The past: requests spread over 500 people and about 70
days, 60% approved (each with a revoked grant), 25% denied, 10% cancelled, 5% expired, with their audit rows.
Target: peak RSS under 200 MB with the past in the database. Exit status 1 if it is missed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert  # noqa: E402

from access.entities import AccessRequest, Approval, AuditEvent, Grant  # noqa: E402
from access.model import GrantStatus, RequestStatus, ResourceKind  # noqa: E402
from storage.audit import AUDIT  # noqa: E402
from storage.grants import GRANT  # noqa: E402
from storage.requests import REQUEST  # noqa: E402
from storage.rows import values  # noqa: E402
from storage.testing import fresh_postgres_url, postgres_available, sqlite_url  # noqa: E402
from tests.e2e.harness import ANN, BOB, DAN, READ  # noqa: E402
from tests.process.world import ProcessWorld, ServeProcess, now  # noqa: E402

TARGET_MB = 200.0
PEOPLE = 500
CHUNK = 2000
OUTCOMES = [RequestStatus.APPROVED] * 12 + [RequestStatus.DENIED] * 5 + [RequestStatus.CANCELLED] * 2 + [
    RequestStatus.EXPIRED]


@dataclass(frozen=True, kw_only=True)
class Measured:
    requests: int
    database: str
    peak_mb: float
    resident_mb: float
    seed_seconds: float


# --- the past -----------------------------------------------------------------------------------------------


def seed_past(world: ProcessWorld, count: int) -> None:
    """`count` decided requests with their grants and audit rows, inserted in chunks (ids from RETURNING)."""
    start = now() - timedelta(minutes=count)
    projects = list(world.projects.items())
    with world.runtime.store.engine.begin() as connection:
        for first in range(0, count, CHUNK):
            batch = [past_request(i, start, world.org_id, projects[i % len(projects)])
                     for i in range(first, min(count, first + CHUNK))]
            ids = connection.execute(insert(REQUEST).returning(REQUEST.c.id, sort_by_parameter_order=True),
                                     [_row(r) for r in batch]).scalars().all()
            requests = [replace(r, id=i) for r, i in zip(batch, ids, strict=True)]
            grants = [past_grant(r) for r in requests if r.status is RequestStatus.APPROVED]
            grant_ids = connection.execute(insert(GRANT).returning(GRANT.c.id, GRANT.c.request_id,
                                                                   sort_by_parameter_order=True),
                                           [_row(g) for g in grants]).all() if grants else []
            by_request = {request_id: grant_id for grant_id, request_id in grant_ids}
            events = [e for r in requests for e in past_events(r, by_request.get(r.id or 0))]
            connection.execute(insert(AUDIT), [_row(e) for e in events])


def _row(item: Any) -> dict[str, Any]:
    data = values(item)
    data.pop("id")
    if "version" in data:
        data["version"] = max(1, data["version"])
    return data


def past_request(i: int, start: datetime, org_id: str, project: tuple[str, str]) -> AccessRequest:
    requester = ANN if i % PEOPLE == 0 else f"UH{i % PEOPLE:03d}"
    status = OUTCOMES[i % len(OUTCOMES)]
    at = start + timedelta(minutes=i)
    decided = at + timedelta(minutes=3)
    return AccessRequest(
        requester_id=requester, requester_email=f"{requester.lower()}@example.com", integration="prod",
        flow="prod-projects", resource_kind=ResourceKind.PROJECT, organization_id=org_id, resource_id=project[1],
        resource_name=project[0], roles=(READ,), duration_seconds=3600,
        justification=f"INC-{i}: reading the slow query log of {project[0]} during an incident", status=status,
        approvers=(BOB, "U3"), approver_group="@payments-oncall",
        approvals=(Approval(user_id=BOB, at=decided),) if status is RequestStatus.APPROVED else (),
        decided_by=requester if status is RequestStatus.CANCELLED else ("system" if status is RequestStatus.EXPIRED
                                                                        else BOB),
        decided_at=decided, deny_reason="not during the freeze" if status is RequestStatus.DENIED else None,
        channel="C0APPROVALS", message_ts=f"{int(at.timestamp())}.{i % 1_000_000:06d}", created_at=at,
        updated_at=decided, version=3)


def past_grant(request: AccessRequest) -> Grant:
    started = (request.decided_at or request.created_at) + timedelta(seconds=2)
    return Grant(
        request_id=request.id or 0, integration="prod", resource_kind=ResourceKind.PROJECT,
        organization_id=request.organization_id, resource_id=request.resource_id,
        resource_name=request.resource_name, username=request.requester_email, requester_id=request.requester_id,
        roles=request.roles, duration_seconds=3600, atlas_user_id="6b" + f"{request.id or 0:022x}",
        baseline_roles=(), added_roles=request.roles, added_user=True, status=GrantStatus.REVOKED,
        granted_at=started, starts_at=started, expires_at=started + timedelta(hours=1),
        revoked_at=started + timedelta(hours=1, seconds=1), created_at=started, updated_at=started, version=4)


def past_events(request: AccessRequest, grant_id: int | None) -> Iterator[AuditEvent]:
    detail: dict[str, object] = {"resource": request.resource_name}
    yield AuditEvent(at=request.created_at, actor=request.requester_id, action="requested",
                     integration="prod", request_id=request.id, detail={**detail, "roles": list(request.roles)})
    decided = request.decided_at or request.created_at
    yield AuditEvent(at=decided, actor=request.decided_by or "system", action=request.status.value.lower(),
                     integration="prod", request_id=request.id, detail=detail)
    if grant_id is not None:
        for action, after in (("granted", 2), ("revoked", 3603)):
            yield AuditEvent(at=decided + timedelta(seconds=after), actor="system", action=action,
                             integration="prod", request_id=request.id, grant_id=grant_id, detail=detail)


# --- a day's work -------------------------------------------------------------------------------------------


def work_a_day(world: ProcessWorld, app: ServeProcess) -> None:
    """What a running replica does in a day, compressed: sweeps, probes, Homes, a search, one whole grant."""
    for path in ("/healthz", "/metrics", "/healthz"):
        assert httpx.get(app.url + path, timeout=30).status_code == 200
    slack = world.driver(app)
    for user in (ANN, DAN):  # the heavy requester; an admin
        assert slack.app_home_opened(user).status_code == 200
    request_id = world.ask(app, ANN, "payments", [READ])  # the command, the search, the form, the submit
    world.posted(request_id)
    assert world.click(app, BOB, "approve", request_id).status_code == 200
    grant = world.wait_grant(request_id, GrantStatus.ACTIVE)
    world.expire_soon(grant, seconds=0.5)
    world.wait_grant(request_id, GrantStatus.REVOKED)
    assert slack.app_home_opened(ANN).status_code == 200
    time.sleep(3 * world.sweep_seconds)  # a few more sweeps and announce rounds


def peak_rss_mb(pid: int) -> tuple[float, float]:
    """(VmHWM, VmRSS) of the process in MB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmHWM"].split()[0]) / 1024, int(fields["VmRSS"].split()[0]) / 1024


@contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield sqlite_url(workdir, "memory.db")
    else:
        with fresh_postgres_url("atlas_access_bench") as url:
            yield url


def measure(count: int, kind: str, workdir: Path) -> Measured:
    where = workdir / f"{kind}-{count}"
    where.mkdir()
    with database(kind, where) as url:
        world = ProcessWorld(where, database_url=url, sweep_seconds=0.5, lease_seconds=3.0,
                             env={"ATLAS_ACCESS_ADMINS": DAN})
        try:
            started = time.monotonic()
            seed_past(world, count)
            seeded = time.monotonic() - started
            app = world.spawn("memory")
            work_a_day(world, app)
            peak, resident = peak_rss_mb(app.pid)
            return Measured(requests=count, database=kind, peak_mb=peak, resident_mb=resident, seed_seconds=seeded)
        finally:
            world.close()


def report(runs: list[Measured]) -> bool:
    baseline = runs[0]
    print(f"{'serve memory':<14}{'database':<11}{'past requests':>14}{'peak RSS MB':>13}{'RSS at end MB':>15}"
          f"{'vs empty':>10}{'bound MB':>10}{'ratio':>7}  verdict")
    verdicts = []
    for run in runs:
        fine = run.peak_mb < TARGET_MB
        verdicts.append(fine)
        print(f"{'':<14}{run.database:<11}{run.requests:>14,}{run.peak_mb:>13.1f}{run.resident_mb:>15.1f}"
              f"{run.peak_mb / baseline.peak_mb:>10.2f}{TARGET_MB:>10.0f}{run.peak_mb / TARGET_MB:>7.2f}  "
              f"{'ok' if fine else 'MISSED'}")
    print(f"seeding the past took {runs[-1].seed_seconds:.1f} s")
    print("all targets met" if all(verdicts) else "some targets missed")
    return all(verdicts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file instead of PostgreSQL")
    parser.add_argument("--quick", action="store_true", help="5,000 past requests, for tests")
    args = parser.parse_args(argv)
    count = 5_000 if args.quick else args.requests
    kind = "sqlite" if args.sqlite or not postgres_available() else "postgres"
    with tempfile.TemporaryDirectory() as workdir:
        runs = [measure(n, kind, Path(workdir)) for n in (0, count)]
    return 0 if report(runs) else 1


if __name__ == "__main__":
    sys.exit(main())
