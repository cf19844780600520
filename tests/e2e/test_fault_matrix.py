"""The fault matrix, end to end, one row per class of fault: Atlas answering 429 (with Retry-After) or 503,
timing out or refusing the connection while the bot grants, revokes, syncs or rotates its credential; Slack
answering 429 or 503 to the approval message, its updates and the DMs. Each cell says who hears what, that
nothing was done twice or left half done, and that the work is done once the fault clears, with Atlas showing it.

Two regimes per Atlas cell: brief (fewer faults than the client's retries: the work is done, nobody is bothered,
Retry-After is honoured) and lasting (the fault outlasts the client's retries: the right person is told, and the
next attempt after the fault clears does the work). A 429 or a refused connection did nothing in Atlas, so the
client repeats any call; a 5xx or a lost answer is repeated only where repeating is safe (reads, deletes, role
additions and removals), never a create: the bot's next attempt looks before it adds.

The sandbox injects HTTP answers. A timeout and a refused connection are no answer at all, so `Network`, the
wire between the app and the sandbox, raises them as httpx would: a refused connection before the request leaves,
a timeout after Atlas has done the work and its answer is lost (the case where sending again would hurt).
"""

from __future__ import annotations

import inspect
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler

from access.config import IntegrationSpec
from access.entities import AccessRequest, Grant
from access.model import GrantStatus, RequestStatus
from atlas.client import AtlasClient
from atlas.credentials import ApiKey, Credentials, from_spec
from atlas.errors import AtlasAuthError
from atlas.sandbox import SandboxTransport
from atlas.sandbox.routing import resolve
from bot.scheduler import Timers
from storage.outbox import SqlOutbox
from tests.e2e.admin_harness import AdminHarness, view_text
from tests.e2e.harness import ANN, BOB, CHANNEL, DAN, DATA_READ, EVE, READ, Harness, blocks_text, wait


def atlas_credentials(spec: IntegrationSpec) -> Credentials:
    """The Atlas credentials an integration's spec names, as the app resolves them."""
    return from_spec(spec.credentials, env=os.environ, integration=spec.name)

G = GrantStatus
RETRY_AFTER = 7  # seconds; Atlas' Retry-After in these stories, distinct from any backoff the client draws
# One call is tried this often before the client gives up (the app builds its clients with the default).
CLIENT_ATTEMPTS = 1 + int(inspect.signature(AtlasClient).parameters["max_retries"].default)
GENERAL = "C0GENERAL"
OWNERS = "<!subteam^S2>"  # @atlas-admins, the integration owners


# --- the wire to Atlas, and the faults ------------------------------------------------------------------------


class Network(httpx.BaseTransport):
    """The wire from the app to the Atlas sandbox: it can refuse the next connections or lose the next answers."""

    def __init__(self, atlas: httpx.BaseTransport) -> None:
        self._atlas = atlas
        self._lock = threading.Lock()
        self._trouble: list[list[Any]] = []  # [kind, operation id (None: any), how many more]

    def refuse(self, *, count: int, operation_id: str | None = None) -> None:
        """The next `count` requests never reach Atlas: httpx.ConnectError."""
        with self._lock:
            self._trouble.append(["refuse", operation_id, count])

    def lose_answers(self, *, count: int, operation_id: str | None = None) -> None:
        """Atlas does the next `count` requests, but their answers never arrive: httpx.ReadTimeout."""
        with self._lock:
            self._trouble.append(["lose", operation_id, count])

    @property
    def pending(self) -> int:
        """Troubles not yet served."""
        with self._lock:
            return sum(trouble[2] for trouble in self._trouble)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._take("refuse", request):
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        response = self._atlas.handle_request(request)
        if "authorization" in request.headers and self._take("lose", request):  # not a Digest challenge
            raise httpx.ReadTimeout("The read operation timed out", request=request)
        return response

    def _take(self, kind: str, request: httpx.Request) -> bool:
        operation = resolve(request.method, request.url.raw_path.decode("ascii").partition("?")[0]).operation_id
        with self._lock:
            for trouble in self._trouble:
                if trouble[0] == kind and trouble[2] > 0 and trouble[1] in (None, operation):
                    trouble[2] -= 1
                    return True
        return False


def waited_retry_after(world: Harness, status: int) -> bool:
    """slack_sdk waited before trying again: Slack's Retry-After (1 s here) after a 429 (the wait is recorded,
    not slept: see `Harness.slack_sleeps`)."""
    return bool(world.slack_sleeps) and (status != 429 or max(world.slack_sleeps) >= 1.0)


class FaultWorld(Harness):
    """The request-flow world (see `harness`) with the wire to Atlas in between."""

    network: Network

    def atlas_transport(self) -> httpx.BaseTransport:
        self.network = Network(super().atlas_transport())
        return self.network


class AdminFaultWorld(AdminHarness):
    """The administration world (see `admin_harness`) with the wire to Atlas in between."""

    network: Network

    def atlas_transport(self) -> httpx.BaseTransport:
        self.network = Network(super().atlas_transport())
        return self.network


@dataclass(frozen=True)
class AtlasFault:
    """One way Atlas lets the bot down."""

    words: str  # the matrix's row, as pytest names it
    status: int | None  # the HTTP answer; None: no answer at all
    lands: bool  # Atlas did the work, though the bot never heard (a lost answer)
    said: str  # how an admin reads it, at the start of the sentence

    def inject(self, world: FaultWorld | AdminFaultWorld, *, count: int, operation_id: str | None = None) -> None:
        """The next `count` requests (of `operation_id`, else any Admin API call) go wrong this way."""
        if self.status is not None:
            world.sb.faults.fail_next(status=self.status, retry_after=RETRY_AFTER if self.status == 429 else None,
                                      count=count, operation_id=operation_id)
        elif self.lands:
            world.network.lose_answers(count=count, operation_id=operation_id)
        else:
            world.network.refuse(count=count, operation_id=operation_id)

    @property
    def named(self) -> str:
        """How the bot's error names this fault, in the words people read."""
        if self.status is not None:
            return f"HTTP {self.status}"
        return "timed out" if self.lands else "connection failed"

    @property
    def reaches(self) -> bool:
        """The request gets to Atlas (and is in its record), answered or not."""
        return self.status is not None or self.lands

    @property
    def repeatable(self) -> bool:
        """Atlas certainly did nothing, so even a create may be sent again at once."""
        return self.status == 429 or (self.status is None and not self.lands)

    def honoured(self, world: Harness, times: int) -> bool:
        """The client waited Retry-After before each retry of a 429 (other faults: its own backoff)."""
        waited = world.atlas_sleeps.count(float(RETRY_AFTER))
        return waited == times if self.status == 429 else waited == 0


NO_ANSWER = "Atlas did not answer for prod (no connection or a timeout)"
RATE_LIMITED = AtlasFault("Atlas answers 429 with Retry-After", 429, lands=False,
                          said="Atlas kept rate limiting prod (HTTP 429")
ERROR_503 = AtlasFault("Atlas answers 503", 503, lands=False, said="Atlas answered with an error for prod (HTTP 503")
TIMEOUT = AtlasFault("Atlas times out", None, lands=True, said=NO_ANSWER)
REFUSED = AtlasFault("Atlas refuses the connection", None, lands=False, said=NO_ANSWER)


def row(fault: AtlasFault, *marks: pytest.MarkDecorator) -> Any:
    return pytest.param(fault, id=fault.words, marks=marks)


# One row per class of fault: rate limited, a server error (500 and 503 take the same path: 503 stands for both),
# an answer lost after Atlas did the work, no answer at all. The use cases meet every kind on fakes
# (tests/usecases/test_worker_*.py); these are the stories through Slack and the real client.
ATLAS_FAULTS = [row(fault) for fault in (RATE_LIMITED, ERROR_503, TIMEOUT, REFUSED)]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[FaultWorld]:
    harness = FaultWorld(tmp_path)
    try:
        yield harness
    finally:
        harness.close()


@pytest.fixture
def admin(tmp_path: Path) -> Iterator[AdminFaultWorld]:
    harness = AdminFaultWorld(tmp_path)
    try:
        yield harness
    finally:
        harness.close()


def quiet(world: Harness, seconds: float = 0.5) -> None:
    """Wait until the fake Slack has heard nothing from the app for `seconds`: its work after an ack is over."""
    def still() -> bool:
        before = len(world.sim.calls)
        time.sleep(seconds)
        return len(world.sim.calls) == before

    wait(still, timeout=10.0)


# --- grant ------------------------------------------------------------------------------------------------------


def approved(world: Harness, user: str = ANN) -> AccessRequest:
    """`user` asks for read-only on payments for an hour, and bob approves; the grant's first attempt follows."""
    request = world.request(user, "payments", [READ])
    assert world.click(BOB, "approve", request).status_code == 200
    return request


def settled(world: Harness, request: AccessRequest, *, since: int = 0, timeout: float = 5.0) -> Grant:
    """The grant once an attempt that saved it after version `since` is over and nothing of it is due now.

    Whichever sweep made the attempt: the click's own sweep may still be looking for due work when a test moves
    the clock on, and take the grant before the test's sweep does.
    """
    def over() -> Grant | None:
        grant = world.get(request.id or 0)[1]
        if grant is None or grant.version <= since or grant.lease_owner is not None:
            return None
        due = grant.next_attempt_at is not None and grant.next_attempt_at <= world.clock.now()
        return None if due else grant

    return wait(over, timeout=timeout)


def first_attempt(world: Harness, request: AccessRequest, timeout: float = 5.0) -> Grant:
    """The grant once the click's attempt at it is over: done, or waiting to be tried again."""
    return settled(world, request, timeout=timeout)


def next_attempt(world: Harness, request: AccessRequest) -> Grant:
    """Move the clock to the grant's next attempt and run the sweep the timers would run; the grant after it."""
    grant = world.get(request.id or 0)[1]
    assert grant is not None and grant.next_attempt_at is not None
    world.clock.advance(max(grant.next_attempt_at - world.clock.now(), timedelta(0)))
    world.runtime.worker.run_due()
    return settled(world, request, since=grant.version)


def expiry(world: Harness, request: AccessRequest) -> Grant:
    """The hour is up: move the clock on and run the sweep; the grant after the revocation's attempt."""
    grant = world.get(request.id or 0)[1]
    assert grant is not None and grant.status is G.ACTIVE
    world.clock.advance(timedelta(hours=1))
    world.runtime.worker.run_due()
    return settled(world, request, since=grant.version)


def owner_alerts(world: Harness) -> list[str]:
    return [blocks_text(m) for m in world.sim.messages(CHANNEL) if OWNERS in blocks_text(m)]


@pytest.mark.parametrize("fault", ATLAS_FAULTS)
def test_a_brief_fault_while_granting_bothers_nobody(world: FaultWorld, fault: AtlasFault) -> None:
    # given Atlas goes wrong for its next two calls, fewer than the client's retries
    request = world.request(ANN, "payments", [READ])
    fault.inject(world, count=2)

    # when bob approves ann's request
    world.click(BOB, "approve", request)

    # then the grant is active at the first attempt, Atlas shows the role, and Retry-After was honoured
    grant = first_attempt(world, request)
    assert grant.status is G.ACTIVE and grant.attempts == 0
    assert world.project_roles("payments", ANN) == {DATA_READ, READ}
    assert fault.honoured(world, times=2)
    # and nobody hears of the trouble: the message and ann's DM say granted, the owners are left alone
    assert "retrying" not in world.wait_message(request, "active until")
    wait(lambda: any("You now have" in t for t in world.dm_texts(ANN)))
    assert owner_alerts(world) == [] and world.audit("grant_retry") == []


@pytest.mark.parametrize("fault", ATLAS_FAULTS)
def test_a_role_addition_that_keeps_failing_is_retried_until_it_lands(world: FaultWorld, fault: AtlasFault) -> None:
    # given Atlas fails every try of the first attempt at adding the role
    fault.inject(world, count=CLIENT_ATTEMPTS, operation_id="addGroupUserRole")

    # when bob approves
    request = approved(world)

    # then the attempt fails, and the approval message says the grant is being retried
    grant = first_attempt(world, request)
    assert grant.status is G.GRANTING and grant.attempts == 1 and grant.next_attempt_at is not None
    world.wait_message(request, "granting failed (attempt 1): retrying")
    # the role was never added, unless Atlas added it and only its answer was lost
    assert world.project_roles("payments", ANN) == ({DATA_READ, READ} if fault.lands else {DATA_READ})

    # when the fault has cleared and the next attempt comes
    grant = next_attempt(world, request)

    # then the grant is active, Atlas shows the role once, and ann is told
    assert grant.status is G.ACTIVE
    assert world.project_roles("payments", ANN) == {DATA_READ, READ}
    world.wait_message(request, "active until")
    wait(lambda: any("You now have" in t for t in world.dm_texts(ANN)))
    # a role added during a lost answer is found by the next attempt's look-up, not added a second time
    reached = CLIENT_ATTEMPTS if fault.reaches else 0
    assert world.sb.count("addGroupUserRole") == reached + (0 if fault.lands else 1)

    # and when the hour is up, exactly what ann had before is restored
    assert expiry(world, request).status is G.REVOKED
    assert world.project_roles("payments", ANN) == {DATA_READ}


REFUSALS = [row(fault) for fault in (RATE_LIMITED, ERROR_503, REFUSED)]


@pytest.mark.parametrize("fault", REFUSALS)
def test_a_grant_atlas_refuses_to_the_last_attempt_fails_and_says_so(world: FaultWorld, fault: AtlasFault) -> None:
    # (a lost answer is no refusal: the role lands, and the next attempt finds it, as the test above shows)
    attempts = world.runtime.worker.options.max_grant_attempts
    # given Atlas fails every try of every attempt the worker makes at adding the role
    fault.inject(world, count=CLIENT_ATTEMPTS * attempts, operation_id="addGroupUserRole")

    # when bob approves, and the grant is tried as often as the worker tries
    request = approved(world)
    grant = first_attempt(world, request)
    for _ in range(attempts - 1):
        grant = next_attempt(world, request)

    # then the grant is given up and closed, and nothing of it is left in Atlas: ann has what she had
    assert grant.status is G.REVOKED and len(world.audit("grant_failed")) == 1
    assert world.project_roles("payments", ANN) == {DATA_READ}
    assert world.sb.count("addGroupUserRole") == (CLIENT_ATTEMPTS * attempts if fault.reaches else 0)
    # and the approval message ends saying so (no invitation was ever sent: none is withdrawn)
    quiet(world)
    text = world.message_text(request)
    assert "granting failed" in text and "invitation" not in text
    # and ann is told once, with the error in words, and hears nothing of an invitation
    failed = [t for t in world.dm_texts(ANN) if "I could not grant" in t]
    assert len(failed) == 1 and "addGroupUserRole" in failed[0] and fault.named in failed[0]
    assert "Traceback" not in failed[0] and [t for t in world.dm_texts(ANN) if "invitation" in t] == []


@pytest.mark.parametrize("fault", ATLAS_FAULTS)
def test_atlas_down_when_a_grant_starts_is_said_and_the_grant_retried(world: FaultWorld, fault: AtlasFault) -> None:
    # given Atlas fails every try of the grant's first call (the look-up of what ann holds now)
    request = world.request(ANN, "payments", [READ])
    fault.inject(world, count=CLIENT_ATTEMPTS)

    # when bob approves
    world.click(BOB, "approve", request)

    # then the attempt is over and on record, and the approval message says the grant is being retried
    wait(lambda: world.sb.faults.pending + world.network.pending == 0)
    grant = first_attempt(world, request)
    assert grant.status is G.GRANTING and world.audit("grant_retry")
    world.wait_message(request, "granting failed (attempt 1): retrying")

    # and when Atlas is back, the next attempt grants, and ann is told
    assert next_attempt(world, request).status is G.ACTIVE
    assert world.project_roles("payments", ANN) == {DATA_READ, READ}
    wait(lambda: any("You now have" in t for t in world.dm_texts(ANN)))
    # and what she held before was looked up all the same: her hour over, she keeps it
    assert expiry(world, request).status is G.REVOKED
    assert world.project_roles("payments", ANN) == {DATA_READ}


@pytest.mark.parametrize("fault", ATLAS_FAULTS)
def test_adding_someone_to_a_project_is_never_sent_twice(world: FaultWorld, fault: AtlasFault) -> None:
    # given eve, in the organization but not in payments, and Atlas going wrong once as she is added to it: a
    # POST that adds a user, not safe to repeat when its outcome is unknown
    fault.inject(world, count=1, operation_id="addGroupUsers")

    # when bob approves eve's request
    request = approved(world, EVE)
    grant = first_attempt(world, request)

    if fault.repeatable:
        # then a fault that did nothing in Atlas is retried by the client at once: active at the first attempt
        assert grant.status is G.ACTIVE and grant.attempts == 0
    else:
        # then a 5xx or a lost answer is not sent again: the grant waits for its next attempt, and says so
        assert grant.status is G.GRANTING and grant.attempts == 1
        world.wait_message(request, "granting failed (attempt 1): retrying")
        assert world.sb.count("addGroupUsers") == 1
        # and the next attempt looks first: it adds eve only if the first request did not
        grant = next_attempt(world, request)
        assert grant.status is G.ACTIVE
    # and the grant (and its audit row) says it added eve and her role, whichever attempt's call did it
    assert grant.added_user and grant.added_roles == (READ,)
    [granted] = [e for e in world.audit("granted") if e.request_id == request.id]
    assert granted.detail["added"] == [READ]

    # and eve is in payments with read-only, added by exactly one request that Atlas carried out
    assert world.project_roles("payments", EVE) == {READ}
    assert len([c for c in world.sb.calls if c.operation_id == "addGroupUsers" and c.status < 300]) == 1
    world.wait_message(request, "active until")
    # and when her hour is up, she leaves the project as she came
    assert expiry(world, request).status is G.REVOKED
    assert world.project_roles("payments", EVE) == set()


# --- revoke -----------------------------------------------------------------------------------------------------


def active(world: Harness) -> AccessRequest:
    """ann holds read-only on payments for an hour on top of the data read she had, granted without trouble."""
    request = approved(world)
    world.wait_grant(request, G.ACTIVE)
    world.wait_message(request, "active until")
    wait(lambda: any("You now have" in t for t in world.dm_texts(ANN)))
    quiet(world)  # the click's work is over (after the grant's DM it renders the message as stored once more)
    return request


def ended_dms(world: Harness) -> list[str]:
    return [t for t in world.dm_texts(ANN) if "has ended" in t]


@pytest.mark.parametrize("fault", ATLAS_FAULTS)
def test_a_brief_fault_while_revoking_bothers_nobody(world: FaultWorld, fault: AtlasFault) -> None:
    # given ann's hour is up, and Atlas goes wrong for its next two calls
    request = active(world)
    fault.inject(world, count=2)

    # when the sweep comes
    grant = expiry(world, request)

    # then the role is gone at the first attempt, the one she had before stays, and Retry-After was honoured
    assert grant.status is G.REVOKED and grant.attempts == 0
    assert world.project_roles("payments", ANN) == {DATA_READ}
    assert fault.honoured(world, times=2)
    # and nobody hears of the trouble: ann and the message say it ended, the owners are left alone
    assert "failed" not in world.wait_message(request, "revoked at")
    wait(lambda: ended_dms(world))
    assert len(ended_dms(world)) == 1
    assert owner_alerts(world) == [] and world.audit("revoke_failed") == []


@pytest.mark.parametrize("fault", ATLAS_FAULTS)
def test_atlas_down_at_expiry_keeps_the_role_alerts_the_owners_and_revokes_once_back(world: FaultWorld,
                                                                                     fault: AtlasFault) -> None:
    request = active(world)
    alert_after = world.runtime.worker.options.alert_after_attempts
    # given Atlas fails every call of the next few revocation attempts
    fault.inject(world, count=CLIENT_ATTEMPTS * alert_after)

    # when ann's hour is up
    grant = expiry(world, request)

    # then the attempt fails and is scheduled again, and the message says it is being retried; the role stays,
    # unless the first try's removal (by her recorded user id, no look-up first) reached Atlas and only its
    # answer was lost
    kept = {DATA_READ} if fault.lands else {DATA_READ, READ}
    assert grant.status is G.FAILED and grant.attempts == 1
    assert world.project_roles("payments", ANN) == kept
    world.wait_message(request, "revocation failed (attempt 1): retrying")
    assert owner_alerts(world) == []

    # when it fails at the next attempts too
    for _ in range(alert_after - 1):
        next_attempt(world, request)

    # then the integration owners are alerted, once, in words; the role is still there
    alerts = wait(lambda: owner_alerts(world))
    assert len(alerts) == 1 and f"has failed {alert_after} times" in alerts[0] and "keeps retrying" in alerts[0]
    assert fault.named in alerts[0] and "Traceback" not in alerts[0]
    assert world.project_roles("payments", ANN) == kept

    # when Atlas is back and the next attempt comes
    grant = next_attempt(world, request)

    # then the role is removed, and the one ann had before is kept; the message and ann say so. Atlas applied
    # one removal; where answers were lost, the first try's repeats of it (a removal is safe to repeat), and the
    # later attempts looked first and found it done
    assert grant.status is G.REVOKED
    assert world.project_roles("payments", ANN) == {DATA_READ}
    applied = [c for c in world.sb.calls if c.operation_id == "removeGroupUserRole" and c.status == 200]
    assert len(applied) == (CLIENT_ATTEMPTS if fault.lands else 1)
    world.wait_message(request, "revoked at")
    [ended] = wait(lambda: ended_dms(world))
    assert "has ended" in ended and ("Removed: `GROUP_READ_ONLY`" in ended or fault.lands)
    assert len(owner_alerts(world)) == 1


def test_a_removal_whose_answer_is_lost_is_found_done_by_the_next_attempt(world: FaultWorld) -> None:
    # given ann's hour is up, and every answer to the removal of her role is lost (Atlas does it, the bot
    # never hears)
    request = active(world)
    TIMEOUT.inject(world, count=CLIENT_ATTEMPTS, operation_id="removeGroupUserRole")

    # when the sweep comes
    grant = expiry(world, request)

    # then the role is gone in Atlas, but the bot cannot know: it says it is retrying
    assert grant.status is G.FAILED and grant.attempts == 1
    assert world.project_roles("payments", ANN) == {DATA_READ}
    world.wait_message(request, "revocation failed (attempt 1): retrying")
    assert world.sb.count("removeGroupUserRole") == CLIENT_ATTEMPTS  # a removal is safe to repeat

    # when the next attempt comes, it looks first, finds the role gone, and is done without removing anything
    grant = next_attempt(world, request)
    assert grant.status is G.REVOKED
    assert world.sb.count("removeGroupUserRole") == CLIENT_ATTEMPTS
    assert world.project_roles("payments", ANN) == {DATA_READ}
    world.wait_message(request, "revoked at")
    assert len(wait(lambda: ended_dms(world))) == 1


# --- sync -------------------------------------------------------------------------------------------------------


def sync_message(admin: AdminFaultWorld) -> str:
    """dan types /atlas-sync prod in #general; the message's text once it ends with prod's outcome."""
    before = len(admin.sim.messages(GENERAL))
    assert admin.slack.command(DAN, command="/atlas-sync", text="prod", channel_id=GENERAL).status_code == 200

    def finished() -> str | None:
        messages = admin.sim.messages(GENERAL)
        text = blocks_text(messages[-1]) if len(messages) > before else ""
        return text if ":white_check_mark: *prod*" in text or ":x: *prod*" in text else None

    return wait(finished, timeout=10)


SYNCED = "*prod*: synced: 1 organizations, 7 projects, 3 clusters, 5 users"


@pytest.mark.parametrize("fault", ATLAS_FAULTS)
def test_a_brief_fault_while_syncing_bothers_nobody(admin: AdminFaultWorld, fault: AtlasFault) -> None:
    # given Atlas has a project the inventory has not seen, and goes wrong for its next two calls
    fault.inject(admin, count=2)

    # when dan syncs
    text = sync_message(admin)

    # then the sync completes with what changed, and Retry-After was honoured
    assert SYNCED in text and "new projects (1): orphans" in text and ":x:" not in text
    assert fault.honoured(admin, times=2)
    assert admin.audit("sync_failed") == []


@pytest.mark.parametrize("fault", ATLAS_FAULTS)
def test_atlas_down_during_a_sync_is_one_sentence_and_the_next_sync_completes(admin: AdminFaultWorld,
                                                                              fault: AtlasFault) -> None:
    # given Atlas fails every try of the sync's first call
    fault.inject(admin, count=CLIENT_ATTEMPTS)

    # when dan syncs
    text = sync_message(admin)

    # then the message says what went wrong in one sentence
    assert f":x: *prod*: {fault.said}" in text
    assert "Traceback" not in text and "File \"" not in text
    # and nothing is lost: the inventory of the last sync stays, and the admin home shows the failure
    home = view_text(admin.open_admin())
    assert "Inventory: 1 organizations, 6 projects" in home and ":warning: last attempt failed" in home
    assert len(admin.audit("sync_failed")) == 1

    # when Atlas is back and dan syncs again, the sync completes
    text = sync_message(admin)
    assert SYNCED in text and "new projects (1): orphans" in text


# --- rotation ---------------------------------------------------------------------------------------------------

ROTATED = ":white_check_mark: prod: the credential was rotated and the old one deleted."
NOT_ROTATED = ":x: prod: rotation failed: could not create a new credential"


def rotate(admin: AdminFaultWorld) -> str:
    """dan clicks Rotate now on prod in /atlas-admin; the home's text once it tells the outcome."""
    home = admin.open_admin()
    admin.slack.block_action(DAN, "admin_rotate_integration", "prod", view=home)

    def told() -> str | None:
        text = view_text(admin.sim.views.get(home["id"]))
        return text if ": prod: " in text and "checking…" not in text else None

    return wait(told, timeout=10)


def stored_key(admin: AdminFaultWorld) -> ApiKey:
    with admin.runtime.store.unit_of_work() as uow:
        spec = uow.integrations.get("prod")
    assert spec is not None
    key = atlas_credentials(spec)
    assert isinstance(key, ApiKey)
    return key


def first_key(admin: AdminFaultWorld) -> ApiKey:
    return ApiKey(public_key=admin.atlas.public_key, private_key=admin.atlas.private_key)


def works(admin: AdminFaultWorld, key: ApiKey) -> bool:
    """Whether Atlas takes `key` (straight to the sandbox, past the faulty wire)."""
    with AtlasClient(credentials=key, transport=SandboxTransport(admin.sb), clock=admin.clock, max_retries=0) as c:
        try:
            c.call("getOrg", path_params={"orgId": admin.atlas.org_id})
        except AtlasAuthError:
            return False
    return True


def api_keys(admin: AdminFaultWorld) -> list[str]:
    """The public keys of the organization's API keys, as Atlas lists them."""
    with AtlasClient(credentials=stored_key(admin), transport=SandboxTransport(admin.sb), clock=admin.clock,
                     max_retries=0) as client:
        keys = client.paginate("listOrgApiKeys", path_params={"orgId": admin.atlas.org_id})
        return sorted(str(k["publicKey"]) for k in keys)


def rotation_alerts(admin: AdminFaultWorld) -> list[str]:
    return [t for t in owner_alerts(admin) if "Credential rotation for prod" in t]


@pytest.mark.parametrize("fault", ATLAS_FAULTS)
def test_a_brief_fault_while_rotating_bothers_nobody(admin: AdminFaultWorld, fault: AtlasFault) -> None:
    # given Atlas goes wrong for the rotation's first two tries (listing the API keys)
    fault.inject(admin, count=2, operation_id="listOrgApiKeys")

    # when dan rotates prod's credential
    said = rotate(admin)

    # then it is rotated: the new key is stored, works and is alone in Atlas; the old one no longer works
    assert ROTATED in said
    new = stored_key(admin)
    assert new != first_key(admin) and works(admin, new) and not works(admin, first_key(admin))
    assert api_keys(admin) == [new.public_key]
    # and Retry-After was honoured, and the owners were not bothered
    assert fault.honoured(admin, times=2)
    assert rotation_alerts(admin) == []


@pytest.mark.parametrize("fault", ATLAS_FAULTS)
def test_atlas_down_during_a_rotation_tells_the_owners_and_the_old_credential_stays(admin: AdminFaultWorld,
                                                                                    fault: AtlasFault) -> None:
    old = first_key(admin)
    # given Atlas fails every try of the rotation's first call
    fault.inject(admin, count=CLIENT_ATTEMPTS, operation_id="listOrgApiKeys")

    # when dan rotates prod's credential
    said = rotate(admin)

    # then dan reads that it failed and the current credential stays; the owners are told in the channel
    assert NOT_ROTATED in said and fault.named in said and "The current credential stays in use" in said
    alerts = wait(lambda: rotation_alerts(admin))
    assert len(alerts) == 1 and fault.named in alerts[0] and "still works" in alerts[0]
    # and the old key is still stored, works, and is the only key in Atlas
    assert stored_key(admin) == old and works(admin, old) and api_keys(admin) == [old.public_key]

    # when Atlas is back and dan rotates again, the rotation goes through
    assert ROTATED in rotate(admin)
    new = stored_key(admin)
    assert new != old and works(admin, new) and api_keys(admin) == [new.public_key]


@pytest.mark.parametrize("fault", ATLAS_FAULTS)
def test_creating_the_new_key_is_never_sent_twice_and_leaves_nothing_behind(admin: AdminFaultWorld,
                                                                            fault: AtlasFault) -> None:
    old = first_key(admin)
    # given Atlas goes wrong once as the new key is created: a POST that is not safe to repeat
    fault.inject(admin, count=1, operation_id="createOrgApiKey")

    # when dan rotates prod's credential
    said = rotate(admin)

    if fault.repeatable:
        # then a fault that did nothing in Atlas is retried by the client at once, and the rotation goes through
        assert ROTATED in said
        assert api_keys(admin) == [stored_key(admin).public_key]
        return
    # then a 5xx or a lost answer is not sent again: the rotation fails, and dan and the owners hear it
    assert admin.sb.count("createOrgApiKey") == 1
    assert NOT_ROTATED in said
    assert wait(lambda: rotation_alerts(admin))
    assert stored_key(admin) == old and works(admin, old)
    # and Atlas is left as it was: no key that nobody holds
    assert api_keys(admin) == [old.public_key]

    # when it has cleared and dan rotates again, the rotation goes through and leaves one key
    assert ROTATED in rotate(admin)
    assert api_keys(admin) == [stored_key(admin).public_key]


# --- Slack ------------------------------------------------------------------------------------------------------

SLOW = 10.0  # seconds to wait for work after an ack on a loaded machine
SLACK_FAULTS = [  # rate limited, and a server error (slack_sdk retries 500 and 503 alike: 503 stands for both)
    pytest.param(429, id="Slack answers 429 with Retry-After"),
    pytest.param(503, id="Slack answers 503"),
]


def slack_tries(world: Harness, status: int) -> int:
    """How often one Web API call is tried while Slack keeps answering `status` (see bot/app.py slack_client)."""
    kind = RateLimitErrorRetryHandler if status == 429 else ServerErrorRetryHandler
    return 1 + next(h.max_retry_count for h in world.runtime.slack.retry_handlers if isinstance(h, kind))


def posts_to(world: Harness, channel: str) -> list[Any]:
    """Every chat.postMessage the fake Slack received for `channel` (a user id: a DM), answered or refused."""
    return [c for c in world.sim.calls_to("chat.postMessage") if c.args.get("channel") == channel]


def approval_messages(world: Harness, request_id: int | None) -> list[dict[str, Any]]:
    return [m for m in world.sim.messages(CHANNEL) if m.get("text", "").startswith(f"Access request #{request_id} ")]


def sent_for_approval(world: Harness) -> list[str]:
    return [t for t in world.dm_texts(ANN) if "sent your request" in t]


def ask_while_slack_refuses(world: Harness, status: int) -> AccessRequest:
    """ann asks while Slack answers `status` to every try at the approval message; her stored request."""
    tries = slack_tries(world, status)
    world.sim.fail_next("chat.postMessage", status=status, retry_after=0, count=tries)
    view = world.pick(ANN, world.open_modal(ANN), "payments")
    assert world.submit(ANN, view, roles=[READ]).status_code == 200
    wait(lambda: len(posts_to(world, CHANNEL)) == tries, timeout=SLOW)
    quiet(world)  # the app's work after the ack is over
    return world.get(world.latest_request_id(ANN))[0]


def later_rounds(world: Harness) -> None:
    """A lease later, the timers' rounds run: the sweep of due grants and the stranded requests' announcements."""
    world.clock.advance(timedelta(seconds=world.settings.lease_seconds))
    timers = Timers(world.runtime)
    timers.sweep()
    timers.announce_stranded()


def buttons(message: dict[str, Any]) -> list[str]:
    return [e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


@pytest.mark.parametrize("status", SLACK_FAULTS)
def test_a_brief_slack_fault_on_the_approval_message_is_retried_and_it_lands_once(world: FaultWorld,
                                                                                 status: int) -> None:
    # given Slack answers the next chat.postMessage with `status` (a 429 asks to wait a second)
    world.sim.fail_next("chat.postMessage", status=status, retry_after=1)

    # when ann asks
    request = world.request(ANN, "payments", [READ])

    # then slack_sdk tried again, after Retry-After for a 429, and the approval message is in the channel once
    tries = posts_to(world, CHANNEL)
    assert [c.ok for c in tries] == [False, True]
    assert waited_retry_after(world, status)
    assert len(approval_messages(world, request.id)) == 1
    # and ann is told once, and bob approves from the message
    wait(lambda: sent_for_approval(world))
    assert len(sent_for_approval(world)) == 1
    world.click(BOB, "approve", request)
    world.wait_grant(request, G.ACTIVE)
    assert world.project_roles("payments", ANN) == {DATA_READ, READ}


@pytest.mark.parametrize("status", SLACK_FAULTS)
def test_an_approval_message_slack_would_not_take_is_posted_by_a_later_round(world: FaultWorld,
                                                                            status: int) -> None:
    # given Slack answers `status` to every try at the approval message as ann asks
    request = ask_while_slack_refuses(world, status)

    # then her request is stored and pending, without a message yet; ann is not told it went out
    assert request.status is RequestStatus.PENDING and request.message_ts is None
    assert sent_for_approval(world) == []
    assert [c.ok for c in posts_to(world, CHANNEL)] == [False] * slack_tries(world, status)

    # when Slack is back, and a lease later the timers' rounds run
    later_rounds(world)

    # then the approval message is posted, once, with its buttons; ann hears it went out, once, only now
    request = wait(lambda: world.posted(request.id or 0))
    [message] = approval_messages(world, request.id)
    assert buttons(message) == ["approve", "approve_for", "deny"]
    quiet(world)
    assert len(sent_for_approval(world)) == 1
    # and bob approves from it
    world.click(BOB, "approve", request)
    world.wait_grant(request, G.ACTIVE)
    assert world.project_roles("payments", ANN) == {DATA_READ, READ}
    assert len(approval_messages(world, request.id)) == 1


@pytest.mark.parametrize("status", SLACK_FAULTS)
def test_a_brief_slack_fault_on_an_update_is_retried_and_the_message_shows_the_decision(world: FaultWorld,
                                                                                       status: int) -> None:
    # given ann's request, and Slack answering the next chat.update with `status`
    request = world.request(ANN, "payments", [READ])
    world.sim.fail_next("chat.update", status=status, retry_after=1)

    # when bob approves
    world.click(BOB, "approve", request)

    # then slack_sdk tried the update again, and the one message shows the decision and then the grant
    world.wait_grant(request, G.ACTIVE)
    text = world.wait_message(request, "active until")
    assert "Approved by <@U2>" in text and buttons(world.message(request)) == ["grant_revoke"]
    first, again = world.sim.calls_to("chat.update")[:2]
    assert (first.ok, again.ok) == (False, True) and first.args["ts"] == again.args["ts"] == request.message_ts
    assert waited_retry_after(world, status)
    assert len(approval_messages(world, request.id)) == 1


@pytest.mark.parametrize("status", SLACK_FAULTS)
def test_an_update_slack_would_not_take_is_made_good_by_the_next_one(world: FaultWorld, status: int) -> None:
    # given ann's request, and Slack answering `status` to every try at the next update of its message
    request = world.request(ANN, "payments", [READ])
    tries = slack_tries(world, status)
    world.sim.fail_next("chat.update", status=status, retry_after=0, count=tries)

    # when bob approves (the update that shows his approval is lost)
    world.click(BOB, "approve", request)

    # then the decision and the grant are stored all the same, and Atlas shows the role
    world.wait_grant(request, G.ACTIVE, timeout=SLOW)
    assert world.get(request.id or 0)[0].status is RequestStatus.APPROVED
    assert world.project_roles("payments", ANN) == {DATA_READ, READ}
    # and the grant's update of the message, rendered from the stored state, shows the approval too
    text = world.wait_message(request, "active until")
    assert "Approved by <@U2>" in text and buttons(world.message(request)) == ["grant_revoke"]
    assert [c.ok for c in world.sim.calls_to("chat.update")][:tries + 1] == [False] * tries + [True]
    assert len(approval_messages(world, request.id)) == 1


@pytest.mark.parametrize("status", SLACK_FAULTS)
def test_a_message_whose_last_update_slack_would_not_take_is_brought_up_to_date_later(world: FaultWorld,
                                                                                     status: int) -> None:
    # given Slack refuses every try at both updates that follow bob's approval (his decision, then the grant)
    request = world.request(ANN, "payments", [READ])
    world.sim.fail_next("chat.update", status=status, retry_after=0, count=2 * slack_tries(world, status))
    world.click(BOB, "approve", request)
    world.wait_grant(request, G.ACTIVE, timeout=2 * SLOW)
    wait(lambda: any("You now have" in t for t in world.dm_texts(ANN)), timeout=SLOW)

    # then the message still offers Approve and Deny on a granted request
    assert buttons(world.message(request)) == ["approve", "approve_for", "deny"]

    # when Slack is back and the timers' later rounds run
    later_rounds(world)

    # then the one message shows the stored state: approved by bob, active, no buttons
    text = world.wait_message(request, "active until")
    assert "Approved by <@U2>" in text and buttons(world.message(request)) == ["grant_revoke"]
    assert len(approval_messages(world, request.id)) == 1


@pytest.mark.parametrize("method", ["chat.update", "chat.postMessage"])
def test_a_429_asking_for_a_long_wait_does_not_hold_a_revocation_and_a_later_round_sends_it(world: FaultWorld,
                                                                                              method: str) -> None:
    # given ann's active grant, and Slack answering the next update of its message, or the next DM, with a 429 that
    # asks for half a minute (a per-minute tier spent, as in a burst of expiries)
    request = active(world)
    world.slack_sleeps.clear()
    world.sim.fail_next(method, retry_after=30)

    # when her hour is up
    grant = expiry(world, request)

    # then the role is gone and the grant done, with no wait on the worker's thread: nothing was waited out
    assert grant.status is G.REVOKED and world.project_roles("payments", ANN) == {DATA_READ}
    assert world.slack_sleeps == []
    assert [c.ok for c in world.sim.calls_to(method)][-1:] == [False]

    # when a lease later the timers' rounds run, then the message shows the revocation and ann is told, once each
    later_rounds(world)
    world.wait_message(request, "revoked at")
    assert len(wait(lambda: ended_dms(world), timeout=SLOW)) == 1
    assert len(approval_messages(world, request.id)) == 1


@pytest.mark.parametrize("status", SLACK_FAULTS)
def test_a_brief_slack_fault_on_a_dm_is_retried_and_it_lands_once(world: FaultWorld, status: int) -> None:
    # given ann's active grant, and Slack answering the next chat.postMessage with `status`
    request = active(world)
    world.sim.fail_next("chat.postMessage", status=status, retry_after=1)

    # when her hour is up
    expiry(world, request)

    # then slack_sdk tried the DM again, and ann is told once that her access ended
    assert len(wait(lambda: ended_dms(world), timeout=SLOW)) == 1
    first, again = posts_to(world, ANN)[-2:]
    assert (first.ok, again.ok) == (False, True) and waited_retry_after(world, status)
    assert "revoked at" in world.message_text(request)


@pytest.mark.parametrize("status", SLACK_FAULTS)
def test_a_dm_slack_would_not_take_is_sent_by_a_later_round(world: FaultWorld, status: int) -> None:
    # given ann's active grant, and Slack answering `status` to every try at the next DM
    request = active(world)
    tries = slack_tries(world, status)
    world.sim.fail_next("chat.postMessage", status=status, retry_after=0, count=tries)

    # when her hour is up
    grant = expiry(world, request)

    # then the role is gone all the same, and the approval message says so; the DM did not get through
    assert grant.status is G.REVOKED
    assert world.project_roles("payments", ANN) == {DATA_READ}
    world.wait_message(request, "revoked at")
    wait(lambda: [c.ok for c in posts_to(world, ANN)][-tries:] == [False] * tries, timeout=SLOW)
    assert ended_dms(world) == []

    # when Slack is back and the timers' later rounds run (twice)
    later_rounds(world)
    later_rounds(world)

    # then ann is told, once, that her access ended
    assert len(ended_dms(world)) == 1


def test_what_slack_refused_is_sent_after_a_restart(world: FaultWorld) -> None:
    # given ann's active grant, and Slack refusing every try at the next approval-message update and DM
    request = active(world)
    world.sim.fail_next("chat.update", status=429, retry_after=0, count=slack_tries(world, 429))
    world.sim.fail_next("chat.postMessage", status=429, retry_after=0, count=slack_tries(world, 429))

    # when her hour is up, then the role is gone, but neither the message nor ann heard of it
    assert expiry(world, request).status is G.REVOKED
    wait(lambda: [c.ok for c in posts_to(world, ANN)][-1:] == [False], timeout=SLOW)
    quiet(world)
    assert "revoked at" not in world.message_text(request) and ended_dms(world) == []
    assert world.row_count("slack_outbox") == 2
    assert "atlas_access_slack_outbox_waiting 2.0" in httpx.get(world.server.url + "/metrics").text

    # when the app restarts (a new process on the same database), Slack is back and the timers' rounds run
    world.restart()
    later_rounds(world)

    # then the one message shows the revocation, and ann is told once; nothing is left to send
    assert "revoked at" in world.message_text(request)
    assert len(approval_messages(world, request.id)) == 1
    assert len(ended_dms(world)) == 1
    assert world.row_count("slack_outbox") == 0
    assert "atlas_access_slack_outbox_waiting 0.0" in httpx.get(world.server.url + "/metrics").text


def test_a_message_slack_keeps_refusing_is_tried_less_often_and_dropped_after_a_day(
        world: FaultWorld, caplog: pytest.LogCaptureFixture) -> None:
    # given ann's DM that her access ended, refused through every try
    request = active(world)
    tries = slack_tries(world, 429)
    world.sim.fail_next("chat.postMessage", status=429, retry_after=0, count=tries)
    expiry(world, request)
    wait(lambda: world.row_count("slack_outbox") == 1, timeout=SLOW)

    # when Slack keeps refusing it, then each round's try comes later than the one before
    timers = Timers(world.runtime)
    tried_at = []
    world.sim.fail_next("chat.postMessage", status=429, retry_after=0, count=100_000)
    for _ in range(4):
        before = len(posts_to(world, ANN))
        for _ in range(40):  # rounds of 10 s, until one tries
            world.clock.advance(timedelta(seconds=10))
            timers.announce_stranded()
            if len(posts_to(world, ANN)) > before:
                tried_at.append(world.clock.now())
                break
    gaps = [(b - a).total_seconds() for a, b in zip(tried_at, tried_at[1:], strict=False)]
    assert len(tried_at) == 4 and gaps == sorted(gaps) and gaps[-1] > gaps[0]

    # and after a day of refusals it is dropped, with a line in the log, and never sent
    with caplog.at_level(logging.WARNING, logger="bot.slack.notifier"):
        world.clock.advance(timedelta(hours=24))
        timers.announce_stranded()
    assert world.row_count("slack_outbox") == 0
    assert any("dropped a Slack message" in r.getMessage() for r in caplog.records)
    world.sim.clear_faults()
    later_rounds(world)
    assert ended_dms(world) == []


def test_a_kept_message_that_cannot_be_sent_backs_off_alone_and_is_dropped_after_a_day(
        world: FaultWorld, caplog: pytest.LogCaptureFixture) -> None:
    # given a kept message that cannot even be rendered (its row names no request), kept before a DM to ann
    outbox = SqlOutbox(world.runtime.store.engine, world.clock)
    outbox.put("update:poison", {"request_id": "not a number"})
    outbox.put("post:fine", {"message": {"channel": ANN, "text": "kept for you"}, "while_pending": None,
                             "until": None})
    timers = Timers(world.runtime)

    # when a round runs, then the DM goes out, and the broken one waits, logged in one line without a traceback
    with caplog.at_level(logging.WARNING, logger="bot.slack.notifier"):
        timers.announce_stranded()
    assert "kept for you" in world.dm_texts(ANN)
    assert world.row_count("slack_outbox") == 1
    failed = [r for r in caplog.records if "outbox parcel" in r.getMessage()]
    assert len(failed) == 1 and failed[0].exc_info is None

    # and over the next ten minutes of rounds every 10 s it is tried less and less often, as a refusal is
    caplog.clear()
    for _ in range(60):
        world.clock.advance(timedelta(seconds=10))
        timers.announce_stranded()
    tries = [r for r in caplog.records if "outbox parcel" in r.getMessage()]
    assert 3 <= len(tries) <= 10

    # and after a day it is dropped
    world.clock.advance(timedelta(hours=24))
    timers.announce_stranded()
    assert world.row_count("slack_outbox") == 0


def test_a_refused_reminder_is_sent_later_unless_the_request_was_decided_meanwhile(world: FaultWorld) -> None:
    # given two undecided requests an hour old, and Slack refusing every try at the reminders' posts
    first = world.request(ANN, "payments", [READ])
    second = world.request(EVE, "payments", [READ])
    wait(lambda: len(sent_for_approval(world)) == 1 and any("sent your request" in t for t in world.dm_texts(EVE)))
    quiet(world)  # the work after the submissions' acks is over
    world.clock.advance(timedelta(hours=1))
    world.sim.fail_next("chat.postMessage", status=429, retry_after=0, count=100_000)
    Timers(world.runtime).pending_timeouts()
    wait(lambda: world.row_count("slack_outbox") == 4, timeout=SLOW)  # per request: the thread reply, the DM

    # when bob decides the first meanwhile, and Slack is back for the next round
    world.sim.clear_faults()
    world.click(BOB, "approve", first)
    world.wait_grant(first, G.ACTIVE)
    later_rounds(world)

    # then the second request's reminder and DM went out, and nothing was said of the first as still waiting
    def waiting_about(request: AccessRequest) -> list[str]:
        texts = [m.get("text", "") for m in world.sim.messages(CHANNEL) if m.get("thread_ts") == request.message_ts]
        return [t for t in texts if "still waiting" in t]

    assert len(waiting_about(second)) == 1 and waiting_about(first) == []
    assert world.row_count("slack_outbox") == 0


def test_a_round_tries_one_kept_message_while_slack_still_refuses(world: FaultWorld) -> None:
    # given the approval-message update and ann's DM of her expiry, both refused through every retry
    request = active(world)
    tries = slack_tries(world, 429)
    world.sim.fail_next("chat.update", status=429, retry_after=0, count=tries)
    world.sim.fail_next("chat.postMessage", status=429, retry_after=0, count=tries)
    expiry(world, request)
    wait(lambda: world.row_count("slack_outbox") == 2, timeout=SLOW)
    quiet(world)

    # when a round comes while Slack still refuses everything
    world.sim.fail_next("chat.update", status=429, retry_after=0, count=100_000)
    world.sim.fail_next("chat.postMessage", status=429, retry_after=0, count=100_000)
    before = len(world.sim.calls)
    later_rounds(world)

    # then it tried the oldest one (with slack_sdk's retries) and left the other to wait with it (reading the
    # directory, whose answers last a minute of the world's clock, and the Homes, published apart, are no
    # kept messages)
    sent = [c.method for c in world.sim.calls[before:]
            if not c.method.startswith(("usergroups.", "users.", "views."))]
    assert sent in (["chat.update"] * tries, ["chat.postMessage"] * tries)
    assert world.row_count("slack_outbox") == 2

    # and once Slack is back, a later round sends both
    world.sim.clear_faults()
    world.clock.advance(timedelta(minutes=5))
    later_rounds(world)
    assert "revoked at" in world.message_text(request) and len(ended_dms(world)) == 1
    assert world.row_count("slack_outbox") == 0
