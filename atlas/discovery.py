"""One organization's inventory in the fewest Atlas calls: the org, its projects with tags and clusters, its users.

Calls: 1 getOrg + ceil(projects/500) getOrgGroups pages + 1 listGroupClusters per project + ceil(users/500)
listOrgUsers pages; with `teams`, also ceil(teams/500) listOrgTeams pages and 1 listGroupTeams per project (the
roles each team holds there). Tags come with the project list (getGroup only for a list entry without them), and project
roles come from each org user's groupRoleAssignments (no per-project user listing). The cluster lists, the
bulk of the calls, run on a thread pool while the project pages are still being read; every call is BULK
priority so grants and revocations overtake it. An optional `progress` callback hears the running counts
(organizations, projects, clusters, users) as they grow, for a "sync in progress" message.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from access.model import DiscoveredProject, DiscoveredTeam, DiscoveredUser, DiscoveryType, Inventory
from atlas.client import AtlasClient
from atlas.limits import Priority
from atlas.wire import OrgUser, cluster_of, project_of

BULK = Priority.BULK
T = TypeVar("T")
Progress = Callable[[str, dict[str, int]], None]


class Tally:
    """Running counts shared by discovery's threads; each increase is reported with a snapshot of all counts."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress
        self._counts = {"organizations": 0, "projects": 0, "clusters": 0, "users": 0}
        self._lock = threading.Lock()

    def add(self, kind: str, amount: int = 1) -> None:
        if self._progress is None:
            return
        with self._lock:
            self._counts[kind] += amount
            snapshot = dict(self._counts)
        self._progress(kind, snapshot)  # outside the lock: a slow listener must not stall the other threads

    def counting(self, kind: str, items: Iterable[T]) -> Iterator[T]:
        for item in items:
            self.add(kind)
            yield item


def discover(client: AtlasClient, *, organization_id: str, types: Sequence[DiscoveryType],
             concurrency: int, progress: Progress | None = None) -> Inventory:
    tally = Tally(progress)
    org = client.call("getOrg", path_params={"orgId": organization_id}, priority=BULK)
    tally.add("organizations")
    workers = max(1, min(concurrency, client.max_concurrency))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="atlas-discovery")
    try:
        users = pool.submit(_users, client, organization_id, tally)
        with_teams = DiscoveryType.TEAMS in types
        named = pool.submit(_team_names, client, organization_id) if with_teams else None
        projects: tuple[DiscoveredProject, ...] = ()
        held: list[tuple[str, dict[str, frozenset[str]]]] = []
        if DiscoveryType.PROJECTS in types:
            found = [(f.result(), t.result() if t is not None else {})
                     for f, t in _submit_projects(client, organization_id, pool, tally, with_teams)]
            projects = tuple(p for p, _ in found)
            held = [(p.id, roles) for p, roles in found]
        teams = _teams(named.result(), held) if named is not None else ()
        inventory = Inventory(organization_id=organization_id, organization_name=str(org.get("name", "")),
                              projects=projects, users=users.result(), teams=teams)
    except BaseException:
        # Do not sit out thousands of queued calls when one of them already failed the discovery.
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return inventory


def _submit_projects(
    client: AtlasClient, organization_id: str, pool: ThreadPoolExecutor, tally: Tally, with_teams: bool,
) -> list[tuple[Future[DiscoveredProject], Future[dict[str, frozenset[str]]] | None]]:
    groups = client.paginate("getOrgGroups", path_params={"orgId": organization_id}, priority=BULK)
    return [(pool.submit(_project, client, organization_id, group, tally),
             pool.submit(_group_teams, client, str(group["id"])) if with_teams else None)
            for group in tally.counting("projects", groups)]


def _group_teams(client: AtlasClient, group_id: str) -> dict[str, frozenset[str]]:
    """The roles each team holds in the project (team id -> roles)."""
    return {str(t["teamId"]): frozenset(str(r) for r in t.get("roleNames") or ())
            for t in client.paginate("listGroupTeams", path_params={"groupId": group_id}, priority=BULK)}


def _team_names(client: AtlasClient, organization_id: str) -> dict[str, str]:
    return {str(t["id"]): str(t.get("name", "")) for t in
            client.paginate("listOrgTeams", path_params={"orgId": organization_id}, priority=BULK)}


def _teams(names: dict[str, str], held: list[tuple[str, dict[str, frozenset[str]]]]) -> tuple[DiscoveredTeam, ...]:
    roles: dict[str, dict[str, frozenset[str]]] = {team_id: {} for team_id in names}
    for group_id, teams in held:
        for team_id, team_roles in teams.items():
            if team_id in roles and team_roles:
                roles[team_id][group_id] = team_roles
    return tuple(DiscoveredTeam(id=team_id, name=names[team_id], project_roles=roles[team_id])
                 for team_id in sorted(names, key=lambda i: names[i].casefold()))


def _project(client: AtlasClient, organization_id: str, group: dict[str, Any], tally: Tally) -> DiscoveredProject:
    if "tags" not in group:  # an older list body: the project itself has them
        group = client.call("getGroup", path_params={"groupId": group["id"]}, priority=BULK)
    clusters = tuple(cluster_of(c) for c in client.paginate(
        "listGroupClusters", path_params={"groupId": group["id"]}, priority=BULK))
    if clusters:
        tally.add("clusters", len(clusters))
    return project_of(group, organization_id=organization_id, clusters=clusters)


def _users(client: AtlasClient, organization_id: str, tally: Tally) -> tuple[DiscoveredUser, ...]:
    found = client.paginate("listOrgUsers", path_params={"orgId": organization_id}, priority=BULK)
    return tuple(OrgUser.from_json(u).to_domain() for u in tally.counting("users", found))
