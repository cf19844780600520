"""Cancelling: only the requester, only while the request waits; it frees the request to be asked again."""

from __future__ import annotations

import pytest

from access.errors import AlreadyDecided, NotAllowed
from access.model import RequestStatus
from tests.usecases.world import ANN, BOB, EVE, World


def test_the_requester_cancels_her_pending_request(world: World) -> None:
    request = world.submit()
    cancelled = world.service.cancel(request_id=request.id or 0, user_id=ANN.user_id)
    assert (cancelled.status, cancelled.decided_by, cancelled.pending_key) == (RequestStatus.CANCELLED,
                                                                               ANN.user_id, None)
    assert world.actions(request.id) == ["requested", "cancelled"]
    assert world.notifier.told(request.id) == ["requested", "cancelled"]
    message = world.notifier.message(request.id or 0)
    assert message is not None and message.request.status is RequestStatus.CANCELLED
    assert world.grants() == []


@pytest.mark.parametrize("user", [BOB, EVE])
def test_nobody_else_may_cancel_it(world: World, user: str) -> None:
    request = world.submit()
    with pytest.raises(NotAllowed, match="Only the person who asked"):
        world.service.cancel(request_id=request.id or 0, user_id=user)
    assert world.request(request.id or 0).status is RequestStatus.PENDING
    assert world.actions(request.id) == ["requested", "refused"]


@pytest.mark.parametrize("first", ["approve", "deny", "cancel"])
def test_a_decided_request_cannot_be_cancelled(world: World, first: str) -> None:
    request = world.submit()
    if first == "approve":
        world.service.approve(request_id=request.id or 0, user_id=BOB)
    elif first == "deny":
        world.service.deny(request_id=request.id or 0, user_id=BOB, reason="not now")
    else:
        world.service.cancel(request_id=request.id or 0, user_id=ANN.user_id)
    status = world.request(request.id or 0).status
    with pytest.raises(AlreadyDecided):
        world.service.cancel(request_id=request.id or 0, user_id=ANN.user_id)
    assert world.request(request.id or 0).status is status
