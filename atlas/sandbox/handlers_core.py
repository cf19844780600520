"""Discovery answers: system status, organizations, projects (groups), clusters, and the rate-limit listing."""

from __future__ import annotations

from typing import Any

from atlas.sandbox import views
from atlas.sandbox.context import Ctx, Handler, Reply
from atlas.sandbox.errors import CLUSTER_NOT_FOUND, not_found


def get_system_status(ctx: Ctx) -> Reply:
    """Which credential is calling: `apiKey` for an API key, null for a service account."""
    key = ctx.state.api_keys.get(ctx.caller.key_id or "")
    api_key: dict[str, Any] | None = None
    if key is not None:
        api_key = {
            "id": key.id, "publicKey": key.public_key, "roles": views.api_key(key)["roles"],
            "accessList": [{"ipAddress": e.ip_address, "cidrBlock": e.cidr_block} for e in key.access_list.values()],
        }
    return 200, {"apiKey": api_key, "appName": "MongoDB Atlas", "build": "atlas-access-sandbox",
                 "throttling": False}


def list_orgs(ctx: Ctx) -> Reply:
    org = ctx.state.orgs[ctx.caller.org_id]
    name = ctx.query.get("name")
    orgs = [org] if name is None or name.lower() in org.name.lower() else []
    return ctx.page(orgs, views.org)


def get_org(ctx: Ctx) -> Reply:
    return 200, views.org(ctx.state.org(ctx.params["orgId"]))


def get_org_groups(ctx: Ctx) -> Reply:
    projects = ctx.state.org_projects(ctx.params["orgId"])
    name = ctx.query.get("name")
    if name:
        projects = [p for p in projects if name.lower() in p.name.lower()]
    return ctx.page(projects, lambda p: views.group(p, cluster_count=len(ctx.state.clusters[p.id])))


def list_groups(ctx: Ctx) -> Reply:
    projects = ctx.state.org_projects(ctx.caller.org_id)
    return ctx.page(projects, lambda p: views.group(p, cluster_count=len(ctx.state.clusters[p.id])))


def get_group(ctx: Ctx) -> Reply:
    project = ctx.state.project(ctx.params["groupId"])
    return 200, views.group(project, cluster_count=len(ctx.state.clusters[project.id]))


def list_group_clusters(ctx: Ctx) -> Reply:
    clusters = list(ctx.state.clusters[ctx.state.project(ctx.params["groupId"]).id].values())
    return ctx.page(clusters, views.cluster)


def list_cluster_details(ctx: Ctx) -> Reply:
    """Every project the credential can see, any organization, with its clusters less the multi-cloud ones."""
    state = ctx.state
    projects = state.visible_projects(org_id=ctx.caller.org_id, identity=ctx.caller.identity)
    return ctx.page(projects, lambda p: views.org_group(
        p, org=state.orgs[p.org_id], clusters=[c for c in state.clusters[p.id].values() if not c.multi_cloud]))


def get_group_cluster(ctx: Ctx) -> Reply:
    clusters = ctx.state.clusters[ctx.state.project(ctx.params["groupId"]).id]
    name = ctx.params["clusterName"]
    if name not in clusters:
        raise not_found(f"No cluster named {name} exists in group {ctx.params['groupId']}.", CLUSTER_NOT_FOUND)
    return 200, views.cluster(clusters[name])


def list_rate_limits(ctx: Ctx) -> Reply:
    return ctx.page([], lambda item: item)


def get_rate_limit(ctx: Ctx) -> Reply:
    raise not_found(f"No rate limit endpoint set {ctx.params['endpointSetId']} is simulated by the sandbox.")


HANDLERS: dict[str, Handler] = {
    "getSystemStatus": get_system_status,
    "listOrgs": list_orgs,
    "getOrg": get_org,
    "getOrgGroups": get_org_groups,
    "listGroups": list_groups,
    "getGroup": get_group,
    "listGroupClusters": list_group_clusters,
    "listClusterDetails": list_cluster_details,
    "getGroupCluster": get_group_cluster,
    "listRateLimits": list_rate_limits,
    "getRateLimit": get_rate_limit,
}
