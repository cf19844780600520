"""How stored records look on the wire: the JSON bodies of the spec schemas (2025-02-19 users, 2024-08-05 clusters)."""

from __future__ import annotations

from typing import Any

from atlas.sandbox.records import (
    AccessEntry,
    ApiKeyRecord,
    Cluster,
    DatabaseUser,
    Membership,
    Org,
    Person,
    Project,
    SecretRecord,
    ServiceAccountRecord,
    Team,
    iso,
)


def org(record: Org) -> dict[str, Any]:
    return {"id": record.id, "name": record.name, "isDeleted": False, "skipDefaultAlertsSettings": False}


def group(record: Project, *, cluster_count: int) -> dict[str, Any]:
    return {
        "id": record.id, "name": record.name, "orgId": record.org_id, "clusterCount": cluster_count,
        "created": iso(record.created), "tags": [{"key": k, "value": v} for k, v in record.tags.items()],
        "regionUsageRestrictions": "COMMERCIAL_FEDRAMP_REGIONS_ONLY", "withDefaultAlertsSettings": True,
    }


def cluster(record: Cluster) -> dict[str, Any]:
    return {
        "id": record.id, "name": record.name, "groupId": record.group_id, "stateName": record.state,
        "clusterType": "REPLICASET", "createDate": iso(record.created), "mongoDBMajorVersion": "8.0",
        "mongoDBVersion": "8.0.4", "paused": record.state == "PAUSED", "backupEnabled": False,
        "pitEnabled": False, "terminationProtectionEnabled": False, "versionReleaseSystem": "LTS",
        "tags": [], "labels": [], "replicationSpecs": [],
        "connectionStrings": {"standardSrv": srv_address(record)},
    }


# CloudCluster has no stateName; its `availability` is the nearest thing.
_AVAILABILITY = {"IDLE": "available", "UPDATING": "available", "REPAIRING": "warning", "CREATING": "unavailable",
                 "DELETING": "unavailable", "PAUSED": "dead", "DELETED": "dead"}


def org_group(record: Project, *, org: Org, clusters: list[Cluster]) -> dict[str, Any]:
    """OrgGroup of listClusterDetails (2023-01-01): a project, its org, its clusters as CloudCluster."""
    return {
        "groupId": record.id, "groupName": record.name, "orgId": org.id, "orgName": org.name,
        "planType": "Atlas", "tags": [], "clusters": [cloud_cluster(c) for c in clusters],
    }


def cloud_cluster(record: Cluster) -> dict[str, Any]:
    return {
        "clusterId": record.id, "name": record.name, "type": "REPLICA_SET", "nodeCount": 3,
        "availability": _AVAILABILITY.get(record.state, "available"), "alertCount": 0, "authEnabled": True,
        "sslEnabled": True, "backupEnabled": False, "dataSizeBytes": 0, "versions": ["8.0.4"],
    }


def srv_address(record: Cluster) -> str:
    """The cluster's DNS seed list address, shaped as Atlas's (`<name>.<5 characters>.mongodb.net`)."""
    return f"mongodb+srv://{record.name.lower()}.{record.id[-5:].lower()}.mongodb.net"


def org_user(person: Person, membership: Membership) -> dict[str, Any]:
    """OrgUserResponse: OrgActiveUserResponse or OrgPendingUserResponse, by orgMembershipStatus."""
    body: dict[str, Any] = {
        "id": person.id, "username": person.username, "orgMembershipStatus": membership.status,
        "roles": {
            "orgRoles": sorted(membership.org_roles),
            "groupRoleAssignments": [{"groupId": gid, "groupRoles": sorted(roles)}
                                     for gid, roles in membership.group_roles.items()],
        },
        "teamIds": sorted(membership.team_ids),
    }
    body.update(_status_fields(person, membership))
    return body


def group_user(person: Person, membership: Membership, group_id: str) -> dict[str, Any]:
    """GroupUserResponse: the project roles only, plus the same active/pending fields as an org user."""
    body: dict[str, Any] = {
        "id": person.id, "username": person.username, "orgMembershipStatus": membership.status,
        "roles": sorted(membership.group_roles.get(group_id, ())),
    }
    body.update(_status_fields(person, membership))
    return body


def _status_fields(person: Person, membership: Membership) -> dict[str, Any]:
    if membership.status == "ACTIVE":
        return {"createdAt": iso(person.created), "firstName": person.first_name, "lastName": person.last_name}
    invited = membership.invited_at or person.created
    return {
        "invitationCreatedAt": iso(invited),
        "invitationExpiresAt": iso(membership.invitation_expires_at) if membership.invitation_expires_at else None,
        "inviterUsername": membership.inviter or "sandbox-admin@example.com",
    }


def team(record: Team) -> dict[str, Any]:
    return {"id": record.id, "name": record.name}


def team_role(record: Team, group_id: str) -> dict[str, Any]:
    return {"teamId": record.id, "roleNames": sorted(record.group_roles.get(group_id, ()))}


def access_entry(entry: AccessEntry) -> dict[str, Any]:
    body: dict[str, Any] = {"created": iso(entry.created), "count": 1}
    if entry.ip_address:
        body["ipAddress"] = entry.ip_address
    if entry.cidr_block:
        body["cidrBlock"] = entry.cidr_block
    return body


def api_key(record: ApiKeyRecord, *, reveal: bool = False) -> dict[str, Any]:
    """ApiKeyUserDetails; the private key only in the answer that created it (`reveal`), masked otherwise."""
    roles = [{"orgId": record.org_id, "roleName": r} for r in record.org_roles]
    roles += [{"groupId": gid, "roleName": r} for gid, names in record.group_roles.items() for r in names]
    private = record.private_key if reveal else "********-****-****-********" + record.private_key[-4:]
    return {"id": record.id, "desc": record.desc, "publicKey": record.public_key, "privateKey": private,
            "roles": roles}


def secret(record: SecretRecord, *, reveal: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": record.id, "createdAt": iso(record.created) if record.created else None,
        "expiresAt": iso(record.expires_at) if record.expires_at else None,
        "lastUsedAt": iso(record.last_used) if record.last_used else None,
    }
    if reveal:
        body["secret"] = record.value
    else:
        body["maskedSecretValue"] = record.masked()
    return body


def service_account(record: ServiceAccountRecord, *, reveal: str | None = None) -> dict[str, Any]:
    """OrgServiceAccount; `reveal` names the one secret whose value this answer may carry (at creation)."""
    return {
        "clientId": record.client_id, "name": record.name, "description": record.description,
        "roles": list(record.roles), "createdAt": iso(record.created),
        "secrets": [secret(s, reveal=s.id == reveal) for s in record.secrets.values()],
    }


def sa_access_entry(entry: AccessEntry) -> dict[str, Any]:
    return {"ipAddress": entry.ip_address, "cidrBlock": entry.cidr_block, "createdAt": iso(entry.created),
            "requestCount": 0, "lastUsedAt": None, "lastUsedAddress": None}


def database_user(record: DatabaseUser) -> dict[str, Any]:
    return dict(record.document)
