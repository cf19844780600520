"""The secret-leak watch that every end-to-end story runs under (tests/e2e/conftest.py): it sees every log line
at DEBUG, every Slack call and every database row, and it finds a secret planted in any of them."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from access.entities import AuditEvent
from access.model import GrantStatus
from tests.e2e.harness import ANN, BOB, CHANNEL, READ, SIGNING_SECRET, TOKEN, Harness
from tests.e2e.leaks import LeakWatch, secrets_of

log = logging.getLogger("tests.e2e.planted")


def test_a_whole_story_leaves_no_secret_anywhere(world: Harness, no_secret_leaks: LeakWatch) -> None:
    # given a request approved, granted, revoked, and a credential rotation
    request = world.request(ANN, "payments", [READ], duration="1h")
    world.click(BOB, "approve", request)
    world.wait_grant(request, GrantStatus.ACTIVE)
    world.expire(timedelta(hours=1))
    world.runtime.rotation.rotate("prod")

    # then the watch had plenty to look at, every secret of the world among what it looks for, and found none
    secrets = secrets_of(world)
    assert {TOKEN, SIGNING_SECRET, world.atlas.private_key} <= secrets and len(secrets) >= 5  # a rotated key too
    assert len(no_secret_leaks.lines) > 50 and any(line.startswith("slack_sdk") for line in no_secret_leaks.lines)
    assert world.sim.calls and no_secret_leaks.findings([world]) == []


def test_the_watch_finds_a_secret_wherever_it_is(world: Harness, no_secret_leaks: LeakWatch) -> None:
    # given the world's secrets planted in a debug line, an exception's text, a Slack message and an audit row
    try:
        _plant_and_find(world, no_secret_leaks)
    finally:
        # (the planted leaks are this test's own: take them out of the watch that ends every story)
        no_secret_leaks.lines.clear()
        Harness.opened.remove(world)


def _plant_and_find(world: Harness, watch: LeakWatch) -> None:
    key = world.settings.atlas_access_secret_key
    assert key is not None
    log.debug("connecting with %s", TOKEN)
    try:
        raise RuntimeError(f"auth failed for key {world.atlas.private_key}")
    except RuntimeError:
        log.exception("Atlas call failed")
    world.runtime.slack.chat_postMessage(channel=CHANNEL, text=f"signing with {SIGNING_SECRET}")
    with world.runtime.store.unit_of_work() as uow:
        uow.audit.add(AuditEvent(at=datetime.now(UTC), actor="system", action="planted",
                                 detail={"key": key.get_secret_value()}))

    # then each is found, and the report names where without printing the secret
    findings = watch.findings([world])
    assert len([f for f in findings if f.startswith("log line") and "of tests.e2e.planted holds" in f]) == 2
    assert any(f.startswith("Slack call chat.postMessage") for f in findings)
    assert any(f.startswith("table audit_event") for f in findings)
    assert not any(secret in " ".join(findings) for secret in secrets_of(world))


@pytest.mark.parametrize("secret", ["settings", "sandbox"])
def test_secrets_come_from_the_settings_and_the_sandbox(world: Harness, secret: str) -> None:
    found = secrets_of(world)
    if secret == "settings":
        assert world.settings.slack_bot_token.get_secret_value() in found
    else:
        assert world.atlas.private_key in found
