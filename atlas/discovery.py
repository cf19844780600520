"""One organization's inventory in the fewest Atlas calls: the org, its projects with tags and clusters, its users.

Calls: 1 getOrg + ceil(projects/500) getOrgGroups pages + ceil(visible projects/500) listClusterDetails pages
+ ceil(users/500) listOrgUsers pages + one listGroupClusters per project the cluster listing falls short for
(multi-cloud clusters, see `atlas.cluster_listing`). For 5,000 projects and 20,000 users that is 61 calls.
Tags come with the project list (getGroup only for a list entry without them), and project roles come from
each org user's groupRoleAssignments (no per-project user listing). With `teams` in the integration's discovery
types, also ceil(teams/500) listOrgTeams pages and one listGroupTeams per project (the roles each team holds
there: Atlas lists them per project only), so an organization that asks for teams pays a call a project again.

The three listings run at once, each reading up to `concurrency` pages ahead once the first page's totalCount
says how many there are; every call is BULK priority so grants and revocations overtake it. Nothing is
returned unless every call succeeded: a failed discovery raises, and the stored inventory stays as it was.
An optional `progress` callback hears the running counts (organizations, projects, clusters, users) as they
grow, for a "sync in progress" message.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from typing import TypeVar

from access.model import (
    DiscoveredCluster,
    DiscoveredProject,
    DiscoveredTeam,
    DiscoveredUser,
    DiscoveryType,
    Inventory,
)
from atlas import cluster_listing
from atlas.client import AtlasClient
from atlas.limits import Priority
from atlas.wire import OrgUser

BULK = Priority.BULK
T = TypeVar("T")
Progress = Callable[[str, dict[str, int]], None]


class Stopped(Exception):
    """Another part of the discovery failed: this one stops at its next item instead of reading on."""


class Tally:
    """Running counts shared by discovery's threads; each increase is reported with a snapshot of all counts.

    Once `stop()` is called (one listing failed), every other listing stops at its next item (`Stopped`), so a
    failed discovery does not read the rest of a 200-page user list before it says so.
    """

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress
        self._counts = {"organizations": 0, "projects": 0, "clusters": 0, "users": 0}
        self._lock = threading.Lock()
        self._stopped = threading.Event()

    def stop(self) -> None:
        self._stopped.set()

    def add(self, kind: str, amount: int = 1) -> None:
        if self._stopped.is_set():
            raise Stopped
        if self._progress is None or amount == 0:
            return
        with self._lock:
            self._counts[kind] += amount
            snapshot = dict(self._counts)
        self._progress(kind, snapshot)  # outside the lock: a slow listener must not stall the other threads

    def clusters(self, amount: int) -> None:
        self.add("clusters", amount)

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
    pool = ThreadPoolExecutor(max_workers=workers + 2, thread_name_prefix="atlas-discovery")
    try:
        users = pool.submit(_users, client, organization_id, workers, tally)
        with_teams = DiscoveryType.TEAMS in types
        named = pool.submit(_team_names, client, organization_id) if with_teams else None
        projects: tuple[DiscoveredProject, ...] = ()
        held: list[tuple[str, dict[str, frozenset[str]]]] = []
        if DiscoveryType.PROJECTS in types:
            projects = _projects(client, organization_id, pool, workers, tally)
            if with_teams:
                team_roles = [(p.id, pool.submit(_group_teams, client, p.id)) for p in projects]
                held = [(group_id, future.result()) for group_id, future in team_roles]
        teams = _teams(named.result(), held) if named is not None else ()
        inventory = Inventory(organization_id=organization_id, organization_name=str(org.get("name", "")),
                              projects=projects, users=users.result(), teams=teams)
    except BaseException:
        # Do not sit out queued calls or the rest of a listing when one of them already failed the discovery.
        tally.stop()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return inventory


def _projects(client: AtlasClient, organization_id: str, pool: ThreadPoolExecutor, workers: int,
              tally: Tally) -> tuple[DiscoveredProject, ...]:
    listing = pool.submit(cluster_listing.listed_clusters, client, organization_id=organization_id,
                          read_ahead=workers, count=tally.clusters)
    with closing(client.paginate("getOrgGroups", path_params={"orgId": organization_id}, priority=BULK,
                                 read_ahead=workers)) as groups:
        listed_projects = list(tally.counting("projects", cluster_listing.projects_of(
            groups, organization_id=organization_id)))
    clusters = listing.result()
    slots: list[DiscoveredProject | Future[DiscoveredProject | None]] = []
    for project in listed_projects:
        listed: tuple[DiscoveredCluster, ...] | None = clusters.get(project.id)
        if cluster_listing.needs_calls(project, listed):
            slots.append(pool.submit(cluster_listing.complete, client, project, listed, tally.clusters))
        else:
            slots.append(cluster_listing.ready(project, listed))
    found = (slot.result() if isinstance(slot, Future) else slot for slot in slots)
    return tuple(project for project in found if project is not None)


def _group_teams(client: AtlasClient, group_id: str) -> dict[str, frozenset[str]]:
    """The roles each team holds in the project (team id -> roles)."""
    with closing(client.paginate("listGroupTeams", path_params={"groupId": group_id}, priority=BULK)) as found:
        return {str(t["teamId"]): frozenset(str(r) for r in t.get("roleNames") or ()) for t in found}


def _team_names(client: AtlasClient, organization_id: str) -> dict[str, str]:
    with closing(client.paginate("listOrgTeams", path_params={"orgId": organization_id}, priority=BULK)) as found:
        return {str(t["id"]): str(t.get("name", "")) for t in found}


def _teams(names: dict[str, str], held: list[tuple[str, dict[str, frozenset[str]]]]) -> tuple[DiscoveredTeam, ...]:
    roles: dict[str, dict[str, frozenset[str]]] = {team_id: {} for team_id in names}
    for group_id, teams in held:
        for team_id, team_roles in teams.items():
            if team_id in roles and team_roles:
                roles[team_id][group_id] = team_roles
    return tuple(DiscoveredTeam(id=team_id, name=names[team_id], project_roles=roles[team_id])
                 for team_id in sorted(names, key=lambda i: names[i].casefold()))


def _users(client: AtlasClient, organization_id: str, read_ahead: int, tally: Tally) -> tuple[DiscoveredUser, ...]:
    with closing(client.paginate("listOrgUsers", path_params={"orgId": organization_id}, priority=BULK,
                                 read_ahead=read_ahead)) as found:
        return tuple(OrgUser.from_json(u).to_domain() for u in tally.counting("users", found))
