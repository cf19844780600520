"""The Atlas Admin API v2 operations this project calls: method, path template and the version it sends.

One table serves the client (which version to send) and the sandbox (routing, which versions it accepts).
tests/atlas/test_operations.py checks every row against the trimmed copy of the official spec in
tests/support/specs/ (made by scripts/trim_specs.py): the operation exists, is not deprecated, and the version is
the newest the spec lists for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Operation:
    operation_id: str
    method: str
    path: str  # template, e.g. /api/atlas/v2/orgs/{orgId}/users
    version: str  # the newest version the spec lists, sent in Accept / Content-Type
    # Its success answer is a bare string, not a JSON document (the spec's schema is `type: string` under the
    # versioned JSON media type): the client hands back the text (see atlas.client.AtlasClient.call).
    answers_text: bool = False

    @property
    def media_type(self) -> str:
        return f"application/vnd.atlas.{self.version}+json"

    def url(self, **params: str) -> str:
        return self.path.format(**params)

    def pattern(self) -> re.Pattern[str]:
        return re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "([^/:]+)", re.escape(self.path)) + "$")


_ROWS: tuple[tuple[str, str, str, str], ...] = (
    ("listOrgs", "GET", "/api/atlas/v2/orgs", "2023-01-01"),
    ("getOrg", "GET", "/api/atlas/v2/orgs/{orgId}", "2023-01-01"),
    ("getOrgGroups", "GET", "/api/atlas/v2/orgs/{orgId}/groups", "2023-01-01"),
    ("listGroups", "GET", "/api/atlas/v2/groups", "2023-01-01"),
    ("getGroup", "GET", "/api/atlas/v2/groups/{groupId}", "2023-01-01"),
    ("listGroupClusters", "GET", "/api/atlas/v2/groups/{groupId}/clusters", "2024-08-05"),
    ("listClusterDetails", "GET", "/api/atlas/v2/clusters", "2023-01-01"),
    ("getGroupCluster", "GET", "/api/atlas/v2/groups/{groupId}/clusters/{clusterName}", "2024-08-05"),
    ("listOrgUsers", "GET", "/api/atlas/v2/orgs/{orgId}/users", "2025-02-19"),
    ("getOrgUser", "GET", "/api/atlas/v2/orgs/{orgId}/users/{userId}", "2025-02-19"),
    ("listGroupUsers", "GET", "/api/atlas/v2/groups/{groupId}/users", "2025-02-19"),
    ("getGroupUser", "GET", "/api/atlas/v2/groups/{groupId}/users/{userId}", "2025-02-19"),
    ("listOrgTeams", "GET", "/api/atlas/v2/orgs/{orgId}/teams", "2023-01-01"),
    ("getOrgTeam", "GET", "/api/atlas/v2/orgs/{orgId}/teams/{teamId}", "2023-01-01"),
    ("getOrgTeamByName", "GET", "/api/atlas/v2/orgs/{orgId}/teams/byName/{teamName}", "2023-01-01"),
    ("listOrgTeamUsers", "GET", "/api/atlas/v2/orgs/{orgId}/teams/{teamId}/users", "2025-02-19"),
    ("listGroupTeams", "GET", "/api/atlas/v2/groups/{groupId}/teams", "2023-01-01"),
    ("getGroupTeam", "GET", "/api/atlas/v2/groups/{groupId}/teams/{teamId}", "2023-01-01"),
    ("createOrgUser", "POST", "/api/atlas/v2/orgs/{orgId}/users", "2025-02-19"),
    ("updateOrgUser", "PATCH", "/api/atlas/v2/orgs/{orgId}/users/{userId}", "2025-02-19"),
    ("addOrgUserRole", "POST", "/api/atlas/v2/orgs/{orgId}/users/{userId}:addRole", "2025-02-19"),
    ("removeOrgUserRole", "POST", "/api/atlas/v2/orgs/{orgId}/users/{userId}:removeRole", "2025-02-19"),
    ("removeOrgUser", "DELETE", "/api/atlas/v2/orgs/{orgId}/users/{userId}", "2025-02-19"),
    ("addGroupUsers", "POST", "/api/atlas/v2/groups/{groupId}/users", "2025-02-19"),
    ("addGroupUserRole", "POST", "/api/atlas/v2/groups/{groupId}/users/{userId}:addRole", "2025-02-19"),
    ("removeGroupUserRole", "POST", "/api/atlas/v2/groups/{groupId}/users/{userId}:removeRole", "2025-02-19"),
    ("removeGroupUser", "DELETE", "/api/atlas/v2/groups/{groupId}/users/{userId}", "2025-02-19"),
    ("addOrgTeamUser", "POST", "/api/atlas/v2/orgs/{orgId}/teams/{teamId}:addUser", "2025-02-19"),
    ("removeOrgTeamUser", "POST", "/api/atlas/v2/orgs/{orgId}/teams/{teamId}:removeUser", "2025-02-19"),
    ("addGroupTeams", "POST", "/api/atlas/v2/groups/{groupId}/teams", "2023-01-01"),
    ("updateGroupTeam", "PATCH", "/api/atlas/v2/groups/{groupId}/teams/{teamId}", "2023-01-01"),
    ("removeGroupTeam", "DELETE", "/api/atlas/v2/groups/{groupId}/teams/{teamId}", "2023-01-01"),
    ("createOrgTeam", "POST", "/api/atlas/v2/orgs/{orgId}/teams", "2023-01-01"),
    ("deleteOrgTeam", "DELETE", "/api/atlas/v2/orgs/{orgId}/teams/{teamId}", "2023-01-01"),
    ("createGroupDatabaseUser", "POST", "/api/atlas/v2/groups/{groupId}/databaseUsers", "2023-01-01"),
    ("listGroupDatabaseUsers", "GET", "/api/atlas/v2/groups/{groupId}/databaseUsers", "2023-01-01"),
    ("getGroupDatabaseUser", "GET", "/api/atlas/v2/groups/{groupId}/databaseUsers/{databaseName}/{username}", "2023-01-01"),
    ("updateGroupDatabaseUser", "PATCH", "/api/atlas/v2/groups/{groupId}/databaseUsers/{databaseName}/{username}", "2023-01-01"),
    ("deleteGroupDatabaseUser", "DELETE", "/api/atlas/v2/groups/{groupId}/databaseUsers/{databaseName}/{username}", "2023-01-01"),
    ("createGroupDatabaseUserCert", "POST", "/api/atlas/v2/groups/{groupId}/databaseUsers/{username}/certs", "2023-01-01"),
    ("listGroupCustomDbRoleRoles", "GET", "/api/atlas/v2/groups/{groupId}/customDBRoles/roles", "2023-01-01"),
    ("createGroupCustomDbRoleRole", "POST", "/api/atlas/v2/groups/{groupId}/customDBRoles/roles", "2023-01-01"),
    ("getGroupCustomDbRoleRole", "GET", "/api/atlas/v2/groups/{groupId}/customDBRoles/roles/{roleName}", "2023-01-01"),
    ("deleteGroupCustomDbRoleRole", "DELETE", "/api/atlas/v2/groups/{groupId}/customDBRoles/roles/{roleName}", "2023-01-01"),
    ("listGroupAccessListEntries", "GET", "/api/atlas/v2/groups/{groupId}/accessList", "2023-01-01"),
    ("createGroupAccessListEntry", "POST", "/api/atlas/v2/groups/{groupId}/accessList", "2023-01-01"),
    ("getGroupAccessListEntry", "GET", "/api/atlas/v2/groups/{groupId}/accessList/{entryValue}", "2023-01-01"),
    ("deleteGroupAccessListEntry", "DELETE", "/api/atlas/v2/groups/{groupId}/accessList/{entryValue}", "2023-01-01"),
    ("listOrgApiKeys", "GET", "/api/atlas/v2/orgs/{orgId}/apiKeys", "2023-01-01"),
    ("createOrgApiKey", "POST", "/api/atlas/v2/orgs/{orgId}/apiKeys", "2023-01-01"),
    ("getOrgApiKey", "GET", "/api/atlas/v2/orgs/{orgId}/apiKeys/{apiUserId}", "2023-01-01"),
    ("updateOrgApiKey", "PATCH", "/api/atlas/v2/orgs/{orgId}/apiKeys/{apiUserId}", "2023-01-01"),
    ("deleteOrgApiKey", "DELETE", "/api/atlas/v2/orgs/{orgId}/apiKeys/{apiUserId}", "2023-01-01"),
    ("listOrgApiKeyAccessListEntries", "GET", "/api/atlas/v2/orgs/{orgId}/apiKeys/{apiUserId}/accessList", "2023-01-01"),
    ("createOrgApiKeyAccessListEntry", "POST", "/api/atlas/v2/orgs/{orgId}/apiKeys/{apiUserId}/accessList", "2023-01-01"),
    ("getOrgApiKeyAccessListEntry", "GET", "/api/atlas/v2/orgs/{orgId}/apiKeys/{apiUserId}/accessList/{ipAddress}", "2023-01-01"),
    ("deleteOrgApiKeyAccessListEntry", "DELETE", "/api/atlas/v2/orgs/{orgId}/apiKeys/{apiUserId}/accessList/{ipAddress}", "2023-01-01"),
    ("addGroupApiKey", "POST", "/api/atlas/v2/groups/{groupId}/apiKeys/{apiUserId}", "2023-01-01"),
    ("updateGroupApiKeyRoles", "PATCH", "/api/atlas/v2/groups/{groupId}/apiKeys/{apiUserId}", "2023-01-01"),
    ("removeGroupApiKey", "DELETE", "/api/atlas/v2/groups/{groupId}/apiKeys/{apiUserId}", "2023-01-01"),
    ("listOrgServiceAccounts", "GET", "/api/atlas/v2/orgs/{orgId}/serviceAccounts", "2024-08-05"),
    ("createOrgServiceAccount", "POST", "/api/atlas/v2/orgs/{orgId}/serviceAccounts", "2024-08-05"),
    ("getOrgServiceAccount", "GET", "/api/atlas/v2/orgs/{orgId}/serviceAccounts/{clientId}", "2024-08-05"),
    ("updateOrgServiceAccount", "PATCH", "/api/atlas/v2/orgs/{orgId}/serviceAccounts/{clientId}", "2024-08-05"),
    ("deleteOrgServiceAccount", "DELETE", "/api/atlas/v2/orgs/{orgId}/serviceAccounts/{clientId}", "2024-08-05"),
    ("createOrgServiceAccountSecret", "POST", "/api/atlas/v2/orgs/{orgId}/serviceAccounts/{clientId}/secrets", "2024-08-05"),
    ("deleteOrgServiceAccountSecret", "DELETE", "/api/atlas/v2/orgs/{orgId}/serviceAccounts/{clientId}/secrets/{secretId}", "2024-08-05"),
    ("listOrgServiceAccountAccessList", "GET", "/api/atlas/v2/orgs/{orgId}/serviceAccounts/{clientId}/accessList", "2024-08-05"),
    ("createOrgServiceAccountAccessList", "POST", "/api/atlas/v2/orgs/{orgId}/serviceAccounts/{clientId}/accessList", "2024-08-05"),
    ("deleteOrgServiceAccountAccessListEntry", "DELETE", "/api/atlas/v2/orgs/{orgId}/serviceAccounts/{clientId}/accessList/{ipAddress}", "2024-08-05"),
    ("getSystemStatus", "GET", "/api/atlas/v2", "2023-01-01"),
    ("listRateLimits", "GET", "/api/atlas/v2/rateLimits", "2025-03-12"),
    ("getRateLimit", "GET", "/api/atlas/v2/rateLimits/{endpointSetId}", "2025-03-12"),
)

# Answered with a string rather than a JSON document: the PEM file of a new X.509 certificate and its private key.
TEXT_ANSWERS = frozenset({"createGroupDatabaseUserCert"})

OPERATIONS: dict[str, Operation] = {
    row[0]: Operation(operation_id=row[0], method=row[1], path=row[2], version=row[3],
                      answers_text=row[0] in TEXT_ANSWERS) for row in _ROWS
}


def op(operation_id: str) -> Operation:
    """The operation by its spec operationId (KeyError for one this project does not use)."""
    return OPERATIONS[operation_id]
