"""Fuzzing the typed fields through the running app: whatever a requester writes as a justification and an approver
as a deny reason, the approval message, its update and the requester's DM carry no mention, ping or link but the
bot's own, and no invisible control or bidi character (the property `tests/bot/test_escaping.py` holds for each
renderer, here end to end)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.e2e.harness import ANN, BOB, READ, Harness, blocks_text, wait
from tests.fuzz.conftest import FUZZ
from tests.fuzz.strategies import NASTY

TOKEN = re.compile(r"<[^<>]*>")
BOT_OWN = re.compile(r"<@U\d>|<!subteam\^S\d>|<!date\^\d+\^\{date_short_pretty\} at \{time\}\|[0-9: -]+UTC>")
INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
LIVE = ["<!channel>", "<!here>", "<@U5>", "<!subteam^S2>", "<#C1>", "<https://evil.example|https://cloud.mongodb.com>",
        "<mailto:x@evil.example|security>", "&", "<", ">", "\u202e", "\u2066", "\x00", "\x1b[31m", "\u200b"]
typed = st.lists(st.one_of(st.sampled_from(LIVE + NASTY[:20]), st.text(max_size=10)), max_size=8).map("".join)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[Harness]:
    harness = Harness(tmp_path)
    try:
        yield harness
    finally:
        harness.close()


def assert_inert(where: str, text: str) -> None:
    foreign = [token for token in TOKEN.findall(text) if not BOT_OWN.fullmatch(token)]
    assert foreign == [], (where, foreign)
    assert not INVISIBLE.search(text), (where, text)


def posted_texts(world: Harness, since: int) -> list[tuple[str, str]]:
    calls = world.sim.calls[since:]
    return [(call.method, str(call.args.get("text", "")) + "\n" + blocks_text(call.args)) for call in calls
            if call.method in ("chat.postMessage", "chat.update", "chat.postEphemeral", "views.publish")]


def test_whatever_is_typed_reaches_slack_inert(world: Harness) -> None:
    # Examples follow each other faster than Slack lets one channel be posted to (about one a second with short
    # bursts): past the burst, a DM waits in the outbox for a later round, and this story is about escaping, not
    # pacing (tests/e2e/test_fault_matrix.py has the outbox). So the fake Slack's per-channel limit is off here.
    world.sim.channel_burst = None
    view = world.pick(ANN, world.open_modal(ANN), "payments")
    submissions = iter(range(1_000_000))

    @FUZZ
    @given(justification=typed, reason=typed)
    def run(justification: str, reason: str) -> None:
        since = len(world.sim.calls)
        fresh = {**view, "id": f"V0FUZZ{next(submissions)}"}  # a new modal each time: the same one is a replay
        response = world.submit(ANN, fresh, roles=[READ], justification="INC-77 " + justification)
        assert response.status_code == 200, response.text
        if response.content:  # a field error (too short once cleaned, say): nothing was stored
            assert response.json()["response_action"] == "errors"
            return
        request = wait(lambda: world.posted(world.latest_request_id(ANN)))
        told = sum("denied" in t for t in world.dm_texts(ANN))
        denied = world.deny(BOB, request, "Not now: " + reason)
        assert denied.status_code == 200 and not denied.content, denied.text
        world.wait_message(request, "Denied")
        wait(lambda: sum("denied" in t for t in world.dm_texts(ANN)) > told or None)
        for where, text in posted_texts(world, since):
            assert_inert(where, text)
        stored: Any = world.get(request.id or 0)[0]
        assert "\x00" not in stored.justification and "\x00" not in (stored.deny_reason or "")

    run()
