"""The App Home says how each database grant is used: its sign-in (password or X.509 certificate) and the network
path it opened; project, organization and team grants say nothing of the kind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from access.homes import HomeData
from access.model import GrantStatus, ResourceKind
from bot.slack.home_view import home_view
from tests.storage import builders as b

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("kind", "auth", "network", "expected"), [
    (ResourceKind.CLUSTER, None, None, "`read@orders` on cluster *payments* · password\n"),
    (ResourceKind.CLUSTER, "x509", None, "`read@orders` on cluster *payments* · X.509 certificate\n"),
    (ResourceKind.CLUSTER, None, "203.0.113.7/32",
     "`read@orders` on cluster *payments* · password · from `203.0.113.7/32`\n"),
    (ResourceKind.PROJECT, None, None, "`read@orders` on project *payments*\n"),
])
def test_the_home_says_how_a_grant_is_used(kind: ResourceKind, auth: str | None, network: str | None,
                                           expected: str) -> None:
    held = b.grant(request_id=1, id=7, resource_kind=kind, roles=("read@orders",), database_auth=auth,
                   network_entry=network, status=GrantStatus.ACTIVE, granted_at=NOW,
                   expires_at=NOW + timedelta(hours=1))
    view = home_view(HomeData(user_id="U0REQUESTER", now=NOW, grants=(held,), pending=(), to_decide=()))
    texts = [block["text"]["text"] for block in view["blocks"] if block.get("block_id") == "grant-7"]
    assert len(texts) == 1 and texts[0].startswith(expected), texts
