"""The sandbox's stored entities (mutable records behind the lock), and the timestamp format Atlas answers with."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z, seconds precision, as Atlas writes timestamps."""
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(eq=False)
class Org:
    id: str
    name: str
    created: datetime


@dataclass(eq=False)
class Project:
    id: str
    org_id: str
    name: str
    tags: dict[str, str]
    created: datetime


@dataclass(eq=False)
class Cluster:
    id: str
    group_id: str
    name: str
    state: str
    created: datetime
    multi_cloud: bool = False  # left out of listClusterDetails, as Atlas documents


@dataclass(eq=False)
class Person:
    """A MongoDB Cloud user: one id and username across every organization they belong to."""

    id: str
    username: str
    first_name: str
    last_name: str
    created: datetime


@dataclass(eq=False)
class Membership:
    """A person in one organization: status, org roles, project roles (group id -> roles), teams, invitation."""

    org_id: str
    user_id: str
    status: str
    org_roles: set[str]
    group_roles: dict[str, set[str]] = field(default_factory=dict)
    team_ids: set[str] = field(default_factory=set)
    invited_at: datetime | None = None
    invitation_expires_at: datetime | None = None
    inviter: str | None = None


@dataclass(eq=False)
class Team:
    id: str
    org_id: str
    name: str
    user_ids: set[str] = field(default_factory=set)
    group_roles: dict[str, set[str]] = field(default_factory=dict)


@dataclass(eq=False)
class AccessEntry:
    ip_address: str | None
    cidr_block: str | None
    created: datetime

    @property
    def key(self) -> str:
        return self.cidr_block or self.ip_address or ""


@dataclass
class NetworkEntry:
    """One entry of a project's IP access list (an address is a /32 or /128 network)."""

    network: ipaddress.IPv4Network | ipaddress.IPv6Network
    comment: str
    created: datetime
    delete_after: datetime | None = None


@dataclass(eq=False)
class ApiKeyRecord:
    id: str
    org_id: str
    public_key: str
    private_key: str = field(repr=False)
    desc: str = ""
    org_roles: list[str] = field(default_factory=list)
    group_roles: dict[str, list[str]] = field(default_factory=dict)
    access_list: dict[str, AccessEntry] = field(default_factory=dict)


@dataclass(eq=False)
class SecretRecord:
    id: str
    value: str = field(repr=False)
    created: datetime | None = None
    expires_at: datetime | None = None
    last_used: datetime | None = None

    def masked(self) -> str:
        return f"mdb_sa_sk_...{self.value[-4:]}"


@dataclass(eq=False)
class ServiceAccountRecord:
    client_id: str
    org_id: str
    name: str
    description: str
    roles: list[str]
    created: datetime
    secrets: dict[str, SecretRecord] = field(default_factory=dict)
    access_list: dict[str, AccessEntry] = field(default_factory=dict)


@dataclass(eq=False)
class TokenRecord:
    value: str = field(repr=False)
    client_id: str = ""
    secret_id: str = ""
    expires_at: datetime | None = None


@dataclass(eq=False)
class DatabaseUser:
    """A database user as stored: the document Atlas returns (never the password) and its expiry."""

    group_id: str
    database_name: str
    username: str
    document: dict[str, Any]
    delete_after: datetime | None = None
    # An Atlas-managed X.509 user's certificates (createGroupDatabaseUserCert): id, subject, createdAt, notAfter.
    # Never the PEM or its private key, which Atlas gives once and keeps nowhere.
    certificates: list[dict[str, Any]] = field(default_factory=list)
