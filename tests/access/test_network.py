"""The requester's network: which addresses and blocks a flow with network_access takes, as a table."""

from __future__ import annotations

import pytest

from access.network import NetworkRefused, parse_network


@pytest.mark.parametrize(("typed", "widest", "expected"), [
    ("34.120.5.7", 24, "34.120.5.7/32"),
    (" 34.120.5.0/24 ", 24, "34.120.5.0/24"),
    ("35.190.27.64/26", 24, "35.190.27.64/26"),
    ("34.120.5.0/28", 28, "34.120.5.0/28"),
    ("2001:4860:4860::8888", 24, "2001:4860:4860::8888/128"),
    ("2001:4860:4860::/64", 24, "2001:4860:4860::/64"),
])
def test_public_addresses_and_narrow_blocks_are_taken(typed: str, widest: int, expected: str) -> None:
    assert parse_network(typed, widest_v4=widest) == expected


@pytest.mark.parametrize(("typed", "widest", "why"), [
    ("", 24, "Type your public IP address"),
    ("10.1.2.3", 24, "not a public address"),
    ("192.168.0.0/24", 24, "not a public address"),
    ("172.16.5.4", 24, "not a public address"),
    ("127.0.0.1", 24, "not a public address"),
    ("169.254.1.1", 24, "not a public address"),
    ("100.64.0.1", 24, "not a public address"),  # carrier-grade NAT
    ("224.0.0.1", 24, "not a public address"),
    ("fd00::1", 24, "not a public address"),
    ("0.0.0.0/0", 24, "too wide"),
    ("8.0.0.0/8", 24, "too wide"),
    ("34.120.4.0/23", 24, "too wide"),
    ("34.120.5.0/24", 28, "too wide"),
    ("2001:4860::/32", 24, "too wide"),
    ("34.120.5.7/24", 24, "host bits set"),
    ("34.120.5.999", 24, "not an IP address"),
    ("sg-903004f8", 24, "not an IP address"),
    ("34.120.5.7; DROP", 24, "not an IP address"),
    ("1" * 100, 24, "not an IP address"),
])
def test_private_wide_and_malformed_ones_are_refused_with_why(typed: str, widest: int, why: str) -> None:
    with pytest.raises(NetworkRefused, match=why):
        parse_network(typed, widest_v4=widest)
