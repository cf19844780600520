"""Creating the credentials Atlas hands out: org API keys, service accounts and their secrets, access-list entries."""

from __future__ import annotations

import ipaddress
import string
from collections.abc import Iterable
from datetime import datetime, timedelta

from atlas.sandbox import members
from atlas.sandbox.errors import bad_request
from atlas.sandbox.records import AccessEntry, ApiKeyRecord, SecretRecord, ServiceAccountRecord
from atlas.sandbox.state import State

MIN_SECRET_HOURS, MAX_SECRET_HOURS = 8, 365 * 24  # Atlas: a secret lives 8 hours to 365 days


def new_api_key(state: State, *, org_id: str, roles: Iterable[object], desc: str) -> ApiKeyRecord:
    checked = members.org_roles(roles)
    if not 1 <= len(desc) <= 250:
        raise bad_request("desc must be 1 to 250 characters.")
    public = state.random_text(8, string.ascii_lowercase)
    while public in state.keys_by_public:
        public = state.random_text(8, string.ascii_lowercase)
    key = ApiKeyRecord(id=state.new_id(), org_id=state.org(org_id).id, public_key=public,
                       private_key=state.new_private_key(), desc=desc, org_roles=sorted(checked))
    state.api_keys[key.id] = key
    state.keys_by_public[public] = key
    return key


def delete_api_key(state: State, key: ApiKeyRecord) -> None:
    del state.api_keys[key.id]
    del state.keys_by_public[key.public_key]


def new_service_account(state: State, *, org_id: str, name: str, description: str, roles: Iterable[object],
                        secret_hours: int, now: datetime) -> tuple[ServiceAccountRecord, SecretRecord]:
    checked = members.org_roles(roles)
    if not 1 <= len(name) <= 64:
        raise bad_request("name must be 1 to 64 characters.")
    account = ServiceAccountRecord(client_id=f"mdb_sa_id_{state.new_id()}", org_id=state.org(org_id).id, name=name,
                                   description=description, roles=sorted(checked), created=now)
    state.service_accounts[account.client_id] = account
    return account, new_secret(state, account, hours=secret_hours, now=now)


def new_secret(state: State, account: ServiceAccountRecord, *, hours: int, now: datetime) -> SecretRecord:
    if not MIN_SECRET_HOURS <= hours <= MAX_SECRET_HOURS:
        raise bad_request(f"secretExpiresAfterHours must be between {MIN_SECRET_HOURS} and {MAX_SECRET_HOURS}.")
    value = "mdb_sa_sk_" + state.random_text(40, string.ascii_letters + string.digits)
    record = SecretRecord(id=state.new_id(), value=value, created=now, expires_at=now + timedelta(hours=hours))
    account.secrets[record.id] = record
    return record


def access_entry(item: object, *, now: datetime) -> AccessEntry:
    """One access-list entry from `{ipAddress}` or `{cidrBlock}` (exactly one, and well-formed)."""
    if not isinstance(item, dict):
        raise bad_request("An access list entry is an object with ipAddress or cidrBlock.")
    ip, cidr = item.get("ipAddress"), item.get("cidrBlock")
    if (ip is None) == (cidr is None):
        raise bad_request("An access list entry needs exactly one of ipAddress or cidrBlock.")
    try:
        if ip is not None:
            ipaddress.ip_address(str(ip))
        else:
            ipaddress.ip_network(str(cidr), strict=False)
    except ValueError:
        raise bad_request(f"Invalid IP address or CIDR block {ip or cidr}.") from None
    return AccessEntry(ip_address=str(ip) if ip else None, cidr_block=str(cidr) if cidr else None, created=now)
