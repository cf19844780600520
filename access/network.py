"""A network path that expires: the requester's IP address or CIDR block, checked before it reaches Atlas.

A cluster flow with `network_access: requester_ip` asks for it; the grant puts it on the project's IP access list
with Atlas's own `deleteAfterDate` at the grant's expiry (see access.database_access). Only public addresses are
taken (no private, loopback, link-local, multicast or reserved range), and no range wider than the flow allows:
an IPv4 block of at most `network_max_prefix` bits' width (a /24 by default), an IPv6 block no wider than a /64.
Host bits must be clear (`203.0.113.0/24`, not `203.0.113.7/24`), so what is asked for is exactly what is added.
"""

from __future__ import annotations

import ipaddress

DEFAULT_WIDEST_V4 = 24  # the widest IPv4 block a flow allows unless it says otherwise
WIDEST_V6 = 64


class NetworkRefused(ValueError):
    """The typed address is not one the bot will add; the message says why, for the modal field."""


def parse_network(text: str, *, widest_v4: int = DEFAULT_WIDEST_V4) -> str:
    """The CIDR block to add (`203.0.113.7/32` for one address), or NetworkRefused saying what is wrong."""
    typed = text.strip()
    if not typed:
        raise NetworkRefused("Type your public IP address (e.g. 203.0.113.7) or a CIDR block.")
    if len(typed) > 64:
        raise NetworkRefused("That is not an IP address or CIDR block.")
    try:
        network = ipaddress.ip_network(typed, strict=True)
    except ValueError as error:
        if "host bits set" in str(error):
            raise NetworkRefused(f"{typed} has host bits set: write the block's first address "
                                 f"({ipaddress.ip_network(typed, strict=False)}).") from None
        raise NetworkRefused("That is not an IP address or CIDR block.") from None
    widest = widest_v4 if network.version == 4 else WIDEST_V6
    if network.prefixlen < widest:
        raise NetworkRefused(f"/{network.prefixlen} is too wide: at most a /{widest} can be opened.")
    if not network.is_global or network.is_multicast or network.is_reserved:
        raise NetworkRefused(f"{network} is not a public address: Atlas is reached from the internet.")
    return str(network)
