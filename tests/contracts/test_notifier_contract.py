"""The Notifier contract, run on the RecordingNotifier and on `bot.slack.notifier.SlackNotifier` over the fake
Slack. Modest by design: what a person in Slack can observe, not how a message looks."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from access.config import IntegrationSpec
from access.entities import AccessRequest, Grant
from access.model import GrantStatus, RequestStatus, ResourceKind
from tests.contracts.world_slack import APPROVALS
from tests.contracts.worlds import NotifierWorld
from tests.fakes.clock import T0

SPEC = IntegrationSpec.model_validate({
    "name": "prod", "organization_id": "a" * 24, "approval_channel": APPROVALS, "integration_owners": ["U0CYD3"],
    "credentials": {"type": "api_key", "public_key_env": "PUB", "private_key_env": "PRIV"}})
REQUEST = AccessRequest(
    id=7, requester_id="U1", requester_email="ann@example.com", integration="prod", flow="prod-projects",
    resource_kind=ResourceKind.PROJECT, organization_id="a" * 24, resource_id="b" * 24, resource_name="payments",
    roles=("GROUP_READ_ONLY",), duration_seconds=3600, justification="INC-1 debugging", approvers=("U2", "U3"),
    approver_group="payments-oncall", created_at=T0, updated_at=T0, version=1)
GRANT = Grant(id=9, request_id=7, integration="prod", resource_kind=ResourceKind.CLUSTER, organization_id="a" * 24,
              resource_id=f"{'b' * 24}/main", resource_name="payments/main", username="ann@example.com",
              requester_id="U1", roles=("read@orders",), duration_seconds=3600, database_user="ann-g9-abc123",
              status=GrantStatus.ACTIVE, granted_at=T0, starts_at=T0, expires_at=T0 + timedelta(hours=1),
              created_at=T0, updated_at=T0, version=3)


def posted(world: NotifierWorld) -> AccessRequest:
    where = world.notifier.post_request(request=REQUEST, integration=SPEC)
    assert where is not None
    return replace(REQUEST, channel=where[0], message_ts=where[1], version=2)


def test_a_posted_request_is_a_message_in_the_approval_channel(notifier_world: NotifierWorld) -> None:
    where = notifier_world.notifier.post_request(request=REQUEST, integration=SPEC)
    assert where is not None and where[0] == APPROVALS and where[1]
    assert notifier_world.top_level(APPROVALS) == 1


def test_updates_go_to_the_posted_message_newest_first_wins(notifier_world: NotifierWorld) -> None:
    request = posted(notifier_world)
    channel, ts = request.channel or "", request.message_ts or ""
    notifier_world.notifier.update_request(request=request, grant=None, integration=SPEC)
    approved = replace(request, status=RequestStatus.APPROVED, decided_by="U2", decided_at=T0, version=4)
    notifier_world.notifier.update_request(request=approved, grant=None, integration=SPEC)
    notifier_world.notifier.update_request(request=replace(request, version=3), grant=None, integration=SPEC)
    notifier_world.notifier.update_request(request=approved, grant=GRANT, integration=SPEC)  # the grant moved on
    assert notifier_world.renders(channel, ts) == 3 and notifier_world.top_level(APPROVALS) == 1


def test_a_request_without_a_message_gets_no_render(notifier_world: NotifierWorld) -> None:
    notifier_world.notifier.update_request(request=REQUEST, grant=None, integration=SPEC)
    assert notifier_world.top_level(APPROVALS) == 0


@pytest.mark.parametrize("event", ["requested", "approved", "denied", "granted", "revoked", "expiring",
                                   "pending_reminded", "expired"])
def test_the_requester_is_told_by_dm(notifier_world: NotifierWorld, event: str) -> None:
    request = replace(posted(notifier_world), status=RequestStatus.DENIED if event == "denied" else REQUEST.status,
                      deny_reason="not now" if event == "denied" else None)
    grant = replace(GRANT, resource_kind=ResourceKind.PROJECT, database_user=None) \
        if event in ("granted", "revoked", "expiring") else None
    notifier_world.notifier.tell_requester(request=request, grant=grant, event=event, integration=SPEC)
    assert notifier_world.dms("U1") == 1 and notifier_world.dms("U2") == 0


def test_owners_are_alerted_in_the_approval_channel(notifier_world: NotifierWorld) -> None:
    notifier_world.notifier.alert_owners(integration=SPEC, text="Revoking failed 3 times")
    assert notifier_world.top_level(APPROVALS) == 1


@pytest.mark.parametrize("escalated", [False, True])
def test_a_reminder_is_a_reply_in_the_messages_thread(notifier_world: NotifierWorld, escalated: bool) -> None:
    request = posted(notifier_world)
    notifier_world.notifier.remind_approvers(request=request, integration=SPEC, escalated=escalated)
    assert notifier_world.replies(request.channel or "", request.message_ts or "") == 1


def test_database_credentials_are_offered_to_the_requester_only(notifier_world: NotifierWorld) -> None:
    delivered = notifier_world.notifier.offer_database_credentials(request=REQUEST, grant=GRANT, integration=SPEC,
                                                                   until=T0 + timedelta(minutes=10))
    assert delivered is True and notifier_world.dms("U1") == 1
    assert notifier_world.places_showing("ann-g9-abc123") == ["dm:U1"]


def test_slack_refusing_fails_quietly(notifier_world: NotifierWorld) -> None:
    notifier_world.refuse("chat.postMessage", "chat.update")
    assert notifier_world.notifier.post_request(request=REQUEST, integration=SPEC) is None
    request = replace(REQUEST, channel=APPROVALS, message_ts="1767603600.000100")
    notifier_world.notifier.update_request(request=request, grant=None, integration=SPEC)
    notifier_world.notifier.tell_requester(request=request, grant=None, event="approved", integration=SPEC)
    notifier_world.notifier.alert_owners(integration=SPEC, text="hello")
    notifier_world.notifier.remind_approvers(request=request, integration=SPEC, escalated=False)
    assert notifier_world.notifier.offer_database_credentials(request=REQUEST, grant=GRANT, integration=SPEC,
                                                              until=T0 + timedelta(minutes=10)) is False
    assert notifier_world.top_level(APPROVALS) == 0 and notifier_world.dms("U1") == 0
    assert notifier_world.renders(APPROVALS, "1767603600.000100") == 0
