"""A project's IP access list, as Atlas keeps it: entries are one IP address or one CIDR block (host bits clear),
a comment of at most 80 characters, and an optional deleteAfterDate (in the future, within 7 days) at which
Atlas deletes the entry itself. A POST of an entry already there updates it (its comment and date)."""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Any

from atlas.sandbox.context import Ctx, Handler, Reply
from atlas.sandbox.errors import RESOURCE_NOT_FOUND, bad_request, not_found
from atlas.sandbox.handlers_db import delete_after
from atlas.sandbox.records import NetworkEntry, iso
from atlas.sandbox.state import State

MAX_COMMENT = 80


def expire(state: State, *, now: datetime) -> int:
    """Delete the temporary entries whose deleteAfterDate has passed (Atlas does this itself); how many went."""
    gone = 0
    for entries in state.access_lists.values():
        for key in [k for k, e in entries.items() if e.delete_after is not None and e.delete_after <= now]:
            del entries[key]
            gone += 1
    return gone


def view(entry: NetworkEntry, group_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {"groupId": group_id, "comment": entry.comment, "links": []}
    if entry.network.prefixlen == entry.network.max_prefixlen:
        body["ipAddress"] = str(entry.network.network_address)
    body["cidrBlock"] = str(entry.network)
    if entry.delete_after is not None:
        body["deleteAfterDate"] = iso(entry.delete_after)
    return body


def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError:
        raise bad_request(f"IP address or CIDR block {text} is invalid.", "INVALID_IP_ADDRESS_OR_CIDR_NOTATION") \
            from None


def list_entries(ctx: Ctx) -> Reply:
    group_id = ctx.state.project(ctx.params["groupId"]).id
    entries = list(ctx.state.access_lists.setdefault(group_id, {}).values())
    return ctx.page(entries, lambda e: view(e, group_id))


def create_entries(ctx: Ctx) -> Reply:
    group_id = ctx.state.project(ctx.params["groupId"]).id
    if not isinstance(ctx.body, list) or not ctx.body:
        raise bad_request("createGroupAccessListEntry takes a non-empty array of entries.")
    entries = ctx.state.access_lists.setdefault(group_id, {})
    for item in ctx.body:
        if not isinstance(item, dict):
            raise bad_request("Each entry is an object with one of ipAddress, cidrBlock or awsSecurityGroup.")
        given = [k for k in ("ipAddress", "cidrBlock", "awsSecurityGroup") if item.get(k)]
        if len(given) != 1 or given[0] == "awsSecurityGroup":
            raise bad_request("An entry has exactly one of ipAddress or cidrBlock (security groups are not simulated).")
        network = _network(str(item[given[0]]))
        if given[0] == "ipAddress" and network.prefixlen != network.max_prefixlen:
            raise bad_request(f"ipAddress {item['ipAddress']} is not one address: use cidrBlock.")
        comment = str(item.get("comment") or "")
        if len(comment) > MAX_COMMENT:
            raise bad_request(f"The comment is longer than {MAX_COMMENT} characters.")
        when = item.get("deleteAfterDate")
        entries[str(network)] = NetworkEntry(network=network, comment=comment, created=ctx.now,
                                             delete_after=delete_after(str(when), now=ctx.now) if when else None)
    return ctx.page(list(entries.values()), lambda e: view(e, group_id))


def _entry(ctx: Ctx) -> tuple[str, NetworkEntry]:
    group_id = ctx.state.project(ctx.params["groupId"]).id
    key = str(_network(ctx.params["entryValue"]))
    found = ctx.state.access_lists.setdefault(group_id, {}).get(key)
    if found is None:
        raise not_found(f"IP address {ctx.params['entryValue']} is not on the access list of group {group_id}.",
                        RESOURCE_NOT_FOUND)
    return group_id, found


def get_entry(ctx: Ctx) -> Reply:
    group_id, found = _entry(ctx)
    return 200, view(found, group_id)


def delete_entry(ctx: Ctx) -> Reply:
    group_id, found = _entry(ctx)
    del ctx.state.access_lists[group_id][str(found.network)]
    return 204, None


HANDLERS: dict[str, Handler] = {
    "listGroupAccessListEntries": list_entries,
    "createGroupAccessListEntry": create_entries,
    "getGroupAccessListEntry": get_entry,
    "deleteGroupAccessListEntry": delete_entry,
}
