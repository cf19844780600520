"""Temporary database users on clusters: the database roles a flow may offer, cluster ids, usernames and passwords.

A cluster flow's `roles` are strings: `read@orders`, `readWrite@orders`, `dbAdmin@orders` (one named database),
or `readAnyDatabase`, `readWriteAnyDatabase`, `dbAdminAnyDatabase` (every database; Atlas files these under
`admin`, so `readAnyDatabase@admin` means the same), or `read@orders.payments`, `readWrite@orders.payments` (one
collection: granted through a temporary custom role holding exactly those actions on that namespace, see
`COLLECTION_ACTIONS`), or `role:<name>`: a custom role the project already has in Atlas (checked against
`listGroupCustomDbRoleRoles` when granted). A cluster is addressed as `<group id>/<cluster name>`:
Atlas names clusters per project, and the bot needs both to create the user.

Atlas deletes a temporary user itself at its `deleteAfterDate`, which must lie within 7 days of the request:
so a grant on a cluster can never last longer than `MAX_LIFETIME`.
"""

from __future__ import annotations

import calendar
import re
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta

MAX_LIFETIME = timedelta(days=7)
AUTH_DATABASE = "admin"  # SCRAM users authenticate against admin
EXTERNAL_DATABASE = "$external"  # X.509 users authenticate against $external
X509 = "x509"  # a flow's `auth` / a grant's `database_auth` for an Atlas-managed X.509 user
MAX_CERTIFICATE_MONTHS = 24  # createGroupDatabaseUserCert's monthsUntilExpiration: 1 to 24
PER_DATABASE_ROLES = ("read", "readWrite", "dbAdmin")
ANY_DATABASE_ROLES = ("readAnyDatabase", "readWriteAnyDatabase", "dbAdminAnyDatabase")
# MongoDB database names: no / \ . space " $ * < > : | ? and at most 64 bytes. admin, local and config hold
# the server's own data: the AnyDatabase roles are the way to reach them on purpose.
_DATABASE_NAME = re.compile(r'^[^/\\. "$*<>:|?\x00]{1,64}$')
_SYSTEM_DATABASES = frozenset({"admin", "local", "config"})
# MongoDB collection names: no $ or NUL, not system.*; the namespace `db.collection` at most 255 bytes.
CUSTOM_PREFIX = "role:"
_CUSTOM_ROLE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_COLLECTION_NAME = re.compile(r"^[^$\x00]{1,200}$")
COLLECTION_ROLES = ("read", "readWrite")
COLLECTION_ACTIONS: dict[str, tuple[str, ...]] = {  # what a collection-level role may do there, and nothing more
    "read": ("FIND",),
    "readWrite": ("FIND", "INSERT", "UPDATE", "REMOVE"),
}
_CLUSTER_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9-]*$")
_PASSWORD_ALPHABET = string.ascii_letters + string.digits  # the spec calls the password alphanumeric
PASSWORD_LENGTH = 32  # about 190 bits


@dataclass(frozen=True, kw_only=True)
class DatabaseRole:
    """One `{roleName, databaseName}` pair of a database user."""

    role_name: str
    database_name: str
    collection: str | None = None  # a collection-level role: made as a temporary custom role at grant time
    custom: bool = False  # an existing Atlas custom role, by name (`role:<name>`)

    def __str__(self) -> str:
        if self.custom:
            return f"{CUSTOM_PREFIX}{self.role_name}"
        if self.role_name in ANY_DATABASE_ROLES:
            return self.role_name
        if self.collection is not None:
            return f"{self.role_name}@{self.database_name}.{self.collection}"
        return f"{self.role_name}@{self.database_name}"


def parse_database_role(text: str) -> DatabaseRole:
    """`read@orders` or `readAnyDatabase` as a DatabaseRole; ValueError (with words for people) otherwise."""
    if text.strip().startswith(CUSTOM_PREFIX):
        name = text.strip().removeprefix(CUSTOM_PREFIX)
        if not _CUSTOM_ROLE_NAME.match(name):
            raise ValueError(f"'{text}': a custom role's name is 1 to 64 letters, digits, - or _")
        return DatabaseRole(role_name=name, database_name=AUTH_DATABASE, custom=True)
    role, at, database = text.strip().partition("@")
    if role in ANY_DATABASE_ROLES:
        if at and database != AUTH_DATABASE:
            raise ValueError(f"'{text}': {role} applies to every database; write it without @{database}")
        return DatabaseRole(role_name=role, database_name=AUTH_DATABASE)
    if role not in PER_DATABASE_ROLES:
        allowed = ", ".join([f"{r}@<database>" for r in PER_DATABASE_ROLES] + list(ANY_DATABASE_ROLES))
        raise ValueError(f"'{text}' is not a database role; use one of {allowed}")
    database, dot, collection = database.partition(".")
    if dot:
        return _collection_role(text, role, database, collection)
    if not at or not _DATABASE_NAME.match(database):
        raise ValueError(f"'{text}': name the database after @, e.g. {role}@orders")
    if database in _SYSTEM_DATABASES:
        raise ValueError(f"'{text}': {database} is a system database; use an AnyDatabase role to reach it")
    return DatabaseRole(role_name=role, database_name=database)


def _collection_role(text: str, role: str, database: str, collection: str) -> DatabaseRole:
    if role not in COLLECTION_ROLES:
        raise ValueError(f"'{text}': only {' and '.join(COLLECTION_ROLES)} can be given on one collection")
    if not _DATABASE_NAME.match(database):
        raise ValueError(f"'{text}': name the database and collection after @, e.g. {role}@orders.payments")
    if database in _SYSTEM_DATABASES:
        raise ValueError(f"'{text}': {database} is a system database")
    if not _COLLECTION_NAME.match(collection) or collection.startswith("system.") \
            or len(f"{database}.{collection}".encode()) > 255:
        raise ValueError(f"'{text}': '{collection}' is not a collection name Atlas takes (no $, not system.*)")
    return DatabaseRole(role_name=role, database_name=database, collection=collection)


def custom_role_name(database_user: str, index: int) -> str:
    """The temporary custom role a grant makes for its `index`-th collection-level role (`ann-g42-3f9a1c-c0`):
    from the saved username, so a retry finds the same name."""
    return f"{database_user}-c{index}"


def is_database_role(text: str) -> bool:
    try:
        parse_database_role(text)
    except ValueError:
        return False
    return True


def cluster_atlas_id(*, group_id: str, cluster: str) -> str:
    return f"{group_id}/{cluster}"


def split_cluster_id(atlas_id: str) -> tuple[str, str]:
    """(group id, cluster name) of a cluster's `<group id>/<cluster name>`; ValueError for anything else."""
    group_id, slash, cluster = atlas_id.partition("/")
    if not slash or not group_id or not _CLUSTER_NAME.match(cluster):
        raise ValueError(f"'{atlas_id}' is not a cluster id (<group id>/<cluster name>)")
    return group_id, cluster


def temporary_username(*, email: str, grant_id: int) -> str:
    """A database username that says whose it is and which grant made it, e.g. `ann-g42-3f9a1c`.

    The random tail keeps two installations (or a re-created database) from ever picking a name that
    already exists in the project: the bot must never take over a user it did not create.
    """
    local = re.sub(r"[^a-z0-9]+", "-", email.partition("@")[0].lower()).strip("-")[:32] or "user"
    return f"{local}-g{grant_id}-{secrets.token_hex(3)}"


def new_password() -> str:
    """A fresh random password; it reaches the requester once and is kept nowhere."""
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))


def auth_database(database_auth: str | None) -> str:
    """The database a temporary user authenticates on: `$external` for X.509, `admin` for a password."""
    return EXTERNAL_DATABASE if database_auth == X509 else AUTH_DATABASE


def certificate_months(start: datetime, end: datetime) -> int:
    """`monthsUntilExpiration` for a certificate that must outlive a grant from `start` to `end`: Atlas counts
    whole months, so the grant's length is rounded UP to calendar months from `start` (an hour is 1 month, a
    month and a second 2); at least 1. ValueError past Atlas's 24 (a cluster grant lasts 7 days at most)."""
    months = 1
    while add_months(start, months) < end:
        months += 1
        if months > MAX_CERTIFICATE_MONTHS:
            raise ValueError(f"a certificate lasts at most {MAX_CERTIFICATE_MONTHS} months")
    return months


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months later (the month's last day when it is shorter)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))
