"""Temporary database users: create one scoped to a cluster with Atlas's own expiry, and delete it.

`createGroupDatabaseUser` with `deleteAfterDate` (Atlas deletes the user itself then, within 7 days),
`scopes: [{name: <cluster>, type: CLUSTER}]` (the user exists on that cluster only) and SCRAM auth against
`admin`. A create that finds the name taken (409: an earlier attempt whose answer was lost) becomes an
update to the new password, roles, scope and date. The password is in the request body only: any error
that could quote it is rebuilt with it blanked out.

An X.509 user (no password) is an Atlas-managed one: `x509Type: MANAGED` on `$external`, which is also the
database its update and deletion name. Its certificate comes from `createGroupDatabaseUserCert`, whose answer is
the PEM file itself (certificate and private key): returned to the caller and never put in an error or a log.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from access.database_roles import (
    AUTH_DATABASE,
    COLLECTION_ACTIONS,
    EXTERNAL_DATABASE,
    MAX_CERTIFICATE_MONTHS,
    DatabaseRole,
    split_cluster_id,
)
from access.model import AccessListEntry, utc_iso
from atlas.client import AtlasClient
from atlas.errors import AtlasConflict, AtlasHTTPError, AtlasNotFound, AtlasTransportError, scrub

LABEL_KEY = "atlas-access"  # marks the users the bot made (labels do not show in the Atlas UI)


class DatabaseUsers:
    def __init__(self, client: AtlasClient) -> None:
        self.client = client

    def create(self, *, cluster_id: str, username: str, password: str | None, roles: Sequence[DatabaseRole],
               delete_after: datetime, description: str) -> None:
        """A SCRAM user on admin with `password`, or (password None) an Atlas-managed X.509 user on $external."""
        group_id, cluster = split_cluster_id(cluster_id)
        body = _body(group_id=group_id, cluster=cluster, username=username, password=password, roles=roles,
                     delete_after=delete_after, description=description)
        try:
            try:
                self.client.call("createGroupDatabaseUser", path_params={"groupId": group_id}, json=body)
            except AtlasConflict:
                update = {k: v for k, v in body.items() if k != "x509Type"}  # the way it signs in stays
                self.client.call("updateGroupDatabaseUser", json=update, path_params={
                    "groupId": group_id, "databaseName": body["databaseName"], "username": username})
        except AtlasHTTPError as error:
            raise _without(error, password) from None

    def certificate(self, *, cluster_id: str, username: str, months: int) -> str:
        """`createGroupDatabaseUserCert`: a new certificate for the X.509 user, valid `months` (1 to 24); the PEM
        file Atlas answers with (certificate and private key)."""
        if not 1 <= months <= MAX_CERTIFICATE_MONTHS:
            raise ValueError(f"a certificate lasts 1 to {MAX_CERTIFICATE_MONTHS} months, not {months}")
        group_id, _ = split_cluster_id(cluster_id)
        pem = self.client.call("createGroupDatabaseUserCert", path_params={"groupId": group_id, "username": username},
                               json={"monthsUntilExpiration": months})
        if not isinstance(pem, str) or "-----BEGIN" not in pem:  # never quoted: it would hold the private key
            raise AtlasTransportError("the answer held no PEM file", operation_id="createGroupDatabaseUserCert")
        return pem

    def extend(self, *, cluster_id: str, username: str, roles: Sequence[DatabaseRole], delete_after: datetime,
               x509: bool = False) -> None:
        """Move the user's deleteAfterDate (still within 7 days of now: Atlas refuses more)."""
        group_id, cluster = split_cluster_id(cluster_id)
        database = EXTERNAL_DATABASE if x509 else AUTH_DATABASE
        body = {"groupId": group_id, "databaseName": database, "username": username,
                "roles": _roles(roles), "scopes": [{"name": cluster, "type": "CLUSTER"}],
                "deleteAfterDate": utc_iso(delete_after)}
        self.client.call("updateGroupDatabaseUser", json=body, path_params={
            "groupId": group_id, "databaseName": database, "username": username})

    def address(self, *, cluster_id: str) -> str | None:
        """`connectionStrings.standardSrv` of the cluster (`getGroupCluster`); None when there is no such cluster."""
        group_id, cluster = split_cluster_id(cluster_id)
        try:
            body = self.client.call("getGroupCluster", path_params={"groupId": group_id, "clusterName": cluster})
        except AtlasNotFound:
            return None
        strings = body.get("connectionStrings") if isinstance(body, dict) else None
        address = strings.get("standardSrv") if isinstance(strings, dict) else None
        return address if isinstance(address, str) and address.startswith("mongodb+srv://") else None

    def delete(self, *, cluster_id: str, username: str, x509: bool = False) -> bool:
        """Delete the user (from $external for an X.509 one, whose certificates go with it); True if Atlas no
        longer had it."""
        group_id, _ = split_cluster_id(cluster_id)
        try:
            self.client.call("deleteGroupDatabaseUser", path_params={
                "groupId": group_id, "databaseName": EXTERNAL_DATABASE if x509 else AUTH_DATABASE,
                "username": username})
        except AtlasNotFound:
            return True
        return False


def _body(*, group_id: str, cluster: str, username: str, password: str | None, roles: Sequence[DatabaseRole],
          delete_after: datetime, description: str) -> dict[str, Any]:
    sign_in = {"databaseName": AUTH_DATABASE, "password": password} if password is not None else {
        "databaseName": EXTERNAL_DATABASE, "x509Type": "MANAGED"}
    return {
        "groupId": group_id,
        **sign_in,
        "username": username,
        "roles": _roles(roles),
        "scopes": [{"name": cluster, "type": "CLUSTER"}],
        "deleteAfterDate": utc_iso(delete_after),
        "description": description[:100],
        "labels": [{"key": LABEL_KEY, "value": "temporary"}],
    }


def _roles(roles: Sequence[DatabaseRole]) -> list[dict[str, str]]:
    return [{"roleName": role.role_name, "databaseName": role.database_name} for role in roles]


def _without(error: AtlasHTTPError, password: str | None) -> AtlasHTTPError:
    """The same error, its detail with the password blanked out (should Atlas ever echo the body)."""
    detail = scrub(error.detail, [password]) if error.detail and password else error.detail
    return type(error)(status=error.status, error_code=error.error_code, detail=detail,
                       operation_id=error.operation_id, retry_after=error.retry_after)


def access_list_entry(client: AtlasClient, *, cluster_id: str, cidr: str) -> AccessListEntry | None:
    """`getGroupAccessListEntry`: the entry, or None on a 404."""
    group_id, _ = split_cluster_id(cluster_id)
    try:
        body = client.call("getGroupAccessListEntry", path_params={"groupId": group_id, "entryValue": cidr})
    except AtlasNotFound:
        return None
    when = body.get("deleteAfterDate") if isinstance(body, dict) else None
    return AccessListEntry(cidr=str(body.get("cidrBlock") or cidr), comment=str(body.get("comment") or ""),
                           delete_after=datetime.fromisoformat(when.replace("Z", "+00:00")) if when else None)


def put_access_list_entry(client: AtlasClient, *, cluster_id: str, cidr: str, delete_after: datetime,
                          comment: str) -> None:
    """`createGroupAccessListEntry` with `deleteAfterDate`: a temporary entry, which Atlas deletes at that date."""
    group_id, _ = split_cluster_id(cluster_id)
    client.call("createGroupAccessListEntry", path_params={"groupId": group_id}, json=[
        {"cidrBlock": cidr, "comment": comment[:80], "deleteAfterDate": utc_iso(delete_after)}])


def delete_access_list_entry(client: AtlasClient, *, cluster_id: str, cidr: str) -> bool:
    group_id, _ = split_cluster_id(cluster_id)
    try:
        client.call("deleteGroupAccessListEntry", path_params={"groupId": group_id, "entryValue": cidr})
    except AtlasNotFound:
        return True
    return False


def create_custom_role(client: AtlasClient, *, cluster_id: str, name: str, role: DatabaseRole) -> None:
    """`createGroupCustomDbRoleRole`: exactly the collection-level role's actions on its namespace; a 409 (the name
    is taken: an earlier attempt's role) counts as made."""
    group_id, _ = split_cluster_id(cluster_id)
    resource = {"db": role.database_name, "collection": role.collection or "", "cluster": False}
    body = {"roleName": name, "inheritedRoles": [],
            "actions": [{"action": action, "resources": [resource]} for action in COLLECTION_ACTIONS[role.role_name]]}
    try:
        client.call("createGroupCustomDbRoleRole", path_params={"groupId": group_id}, json=body)
    except AtlasConflict:
        return


def delete_custom_role(client: AtlasClient, *, cluster_id: str, name: str) -> bool:
    group_id, _ = split_cluster_id(cluster_id)
    try:
        client.call("deleteGroupCustomDbRoleRole", path_params={"groupId": group_id, "roleName": name})
    except AtlasNotFound:
        return True
    return False


def custom_role_names(client: AtlasClient, *, cluster_id: str) -> frozenset[str]:
    """`listGroupCustomDbRoleRoles` (a plain array, not a page)."""
    group_id, _ = split_cluster_id(cluster_id)
    body = client.call("listGroupCustomDbRoleRoles", path_params={"groupId": group_id}) or []
    return frozenset(str(r["roleName"]) for r in body if isinstance(r, dict) and r.get("roleName"))
