"""An organization's clusters from one listing of every project the credential sees, completed where it falls short.

`listClusterDetails` (GET /api/atlas/v2/clusters, 500 projects a page) answers for every organization the
credential can see, so only the entries whose `orgId` is the integration's are kept, and only for projects that
`getOrgGroups` listed (a project created between the two listings waits for the next sync). Atlas documents that
it leaves multi-cloud clusters out: a project whose `clusterCount` (from getOrgGroups) is larger than the clusters
listed for it, or that the listing missed, is read again on its own with `listGroupClusters`. A project that is
gone by then (404 GROUP_NOT_FOUND) is left out of the inventory, as it is out of Atlas.

CloudCluster has no `stateName`: a cluster seen here carries its `availability` (available, warning,
unavailable, dead) as its state; one read through listGroupClusters keeps its stateName (IDLE, UPDATING, ...).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from typing import Any

from access.model import DiscoveredCluster, DiscoveredProject, Tag
from atlas.client import AtlasClient
from atlas.errors import AtlasNotFound
from atlas.limits import Priority
from atlas.wire import cluster_of, tags_of

BULK = Priority.BULK
GONE = frozenset({"GROUP_NOT_FOUND", "RESOURCE_NOT_FOUND"})
Count = Callable[[int], None]


@dataclass(frozen=True, kw_only=True, slots=True)
class ListedProject:
    """What discovery keeps of a getOrgGroups entry (not the whole body: 20,000 of them stay small)."""

    id: str
    name: str
    organization_id: str
    tags: tuple[Tag, ...] | None  # None: an older list body without tags (getGroup has them)
    cluster_count: int | None  # None: the body did not say, so the cluster listing cannot be trusted for it

    @classmethod
    def from_json(cls, group: dict[str, Any], *, organization_id: str) -> ListedProject:
        count = group.get("clusterCount")
        return cls(id=str(group["id"]), name=str(group["name"]),
                   organization_id=str(group.get("orgId") or organization_id),
                   tags=tags_of(group) if "tags" in group else None,
                   cluster_count=count if isinstance(count, int) and not isinstance(count, bool) else None)

    def short_of(self, listed: tuple[DiscoveredCluster, ...] | None) -> bool:
        """Whether the cluster listing may have missed some of this project's clusters."""
        if self.cluster_count is None:
            return True
        if listed is None:
            return self.cluster_count > 0
        return self.cluster_count > len(listed)


def cloud_cluster_of(body: dict[str, Any]) -> DiscoveredCluster:
    return DiscoveredCluster(name=str(body["name"]), state=str(body.get("availability") or ""))


def listed_clusters(client: AtlasClient, *, organization_id: str, read_ahead: int,
                    count: Count) -> dict[str, tuple[DiscoveredCluster, ...]]:
    """Group id -> clusters, for the projects of `organization_id` only; `count` hears each project's count."""
    found: dict[str, tuple[DiscoveredCluster, ...]] = {}
    with closing(client.paginate("listClusterDetails", priority=BULK, read_ahead=read_ahead)) as entries:
        for entry in entries:
            if str(entry.get("orgId") or "") != organization_id:
                continue  # another organization the credential can see
            clusters = tuple(cloud_cluster_of(c) for c in entry.get("clusters") or ())
            found[str(entry["groupId"])] = clusters
            count(len(clusters))  # also where a failed discovery stops this listing
    return found



def complete(client: AtlasClient, project: ListedProject, listed: tuple[DiscoveredCluster, ...] | None,
             count: Count) -> DiscoveredProject | None:
    """The project with all its clusters (its own listing when the big one fell short); None once it is gone."""
    try:
        tags = project.tags
        if tags is None:
            tags = tags_of(client.call("getGroup", path_params={"groupId": project.id}, priority=BULK))
        clusters = listed or ()
        if project.short_of(listed):
            own = tuple(cluster_of(c) for c in client.paginate(
                "listGroupClusters", path_params={"groupId": project.id}, priority=BULK))
            if len(own) > len(clusters):
                count(len(own) - len(clusters))
            clusters = own
    except AtlasNotFound as missing:
        if missing.error_code in GONE:
            return None  # deleted since getOrgGroups listed it
        raise
    return DiscoveredProject(id=project.id, name=project.name, organization_id=project.organization_id,
                             tags=tags, clusters=clusters)


def needs_calls(project: ListedProject, listed: tuple[DiscoveredCluster, ...] | None) -> bool:
    return project.tags is None or project.short_of(listed)


def ready(project: ListedProject, listed: tuple[DiscoveredCluster, ...] | None) -> DiscoveredProject:
    """A project the two listings describe fully (no call needed)."""
    return DiscoveredProject(id=project.id, name=project.name, organization_id=project.organization_id,
                             tags=project.tags or (), clusters=listed or ())


def projects_of(groups: Iterable[dict[str, Any]], *, organization_id: str) -> Iterator[ListedProject]:
    for group in groups:
        yield ListedProject.from_json(group, organization_id=organization_id)
