"""Credential rotation: issue a new credential, store it, retire the old one, with a working credential stored at
every step; a failure at any step is recorded, told to the owners once, and retried by the next run."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import SecretStr

from access.config import ApiKeyCredentials
from access.errors import NotFound
from access.rotation import RotationService
from tests.fakes.faults import KINDS
from tests.usecases.world import World


def stored_key(world: World) -> str:
    spec = world.store.integration("prod")
    assert spec is not None and isinstance(spec.credentials, ApiKeyCredentials)
    return spec.credentials.public_key or ""


def status(world: World) -> dict[str, object]:
    with world.store.unit_of_work() as uow:
        return uow.integrations.status("prod")


@pytest.mark.parametrize(("days", "age", "due"), [
    (None, timedelta(days=400), False),  # rotation not configured
    (30, timedelta(days=29, hours=23), False),
    (30, timedelta(days=30), True),
    (1, timedelta(days=1), True),
])
def test_a_rotation_is_due_once_its_period_has_passed(world: World, days: int | None, age: timedelta,
                                                      due: bool) -> None:
    world.set_integration(credential_rotation_days=days)
    world.clock.advance(age)
    assert world.rotation.is_due("prod") is due and world.rotation.due() == (["prod"] if due else [])


def test_a_disabled_or_unknown_integration_is_never_due(world: World) -> None:
    world.set_integration(credential_rotation_days=1, enabled=False)
    world.clock.advance(days=2)
    assert not world.rotation.is_due("prod") and not world.rotation.is_due("ghost") and world.rotation.due() == []


def test_a_rotation_stores_the_new_key_then_deletes_the_old_one(world: World) -> None:
    outcome = world.rotation.rotate("prod")
    assert (outcome.rotated, outcome.retired_old) == (True, True)
    new = stored_key(world)
    assert new != "pub00001" and world.authority.live(new) and not world.authority.live("pub00001")
    spec = world.store.integration("prod")
    assert spec is not None and isinstance(spec.credentials.private_key, SecretStr)  # type: ignore[union-attr]
    assert world.actions()[-2:] == ["credential_issued", "credential_rotated"]
    assert (status(world)["last_rotation_at"], status(world)["pending_retire_id"]) == (world.clock.now(), None)
    assert "secret" not in str([e.detail for e in world.audit()])
    world.clock.advance(days=1)
    assert not world.rotation.is_due("prod")


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_when_a_new_key_cannot_be_issued_the_current_one_stays(world: World, kind: str) -> None:
    world.authority.faults.fail_next(kind, method="issue")
    outcome = world.rotation.rotate("prod")
    assert (outcome.rotated, outcome.retired_old) == (False, False) and "could not create" in outcome.message
    assert stored_key(world) == "pub00001" and list(world.authority.keys) == ["0" * 23 + "1"]
    assert world.actions()[-1] == "credential_rotation_failed"
    assert len(world.notifier.alerts()) == 1 and "still works" in world.notifier.alerts()[0].text


def test_a_lasting_failure_is_told_once_and_a_success_clears_it(world: World) -> None:
    world.authority.faults.fail_next("unreachable", method="issue", count=3)
    for _ in range(3):
        world.rotation.rotate("prod")
    assert len(world.notifier.alerts()) == 1 and len(world.audit("credential_rotation_failed")) == 3
    assert world.rotation.rotate("prod").rotated and status(world)["last_rotation_error"] is None
    world.authority.faults.fail_next("unreachable", method="issue")
    world.rotation.rotate("prod")
    assert len(world.notifier.alerts()) == 2  # news again after a success


def test_a_new_key_that_cannot_be_stored_is_discarded(world: World) -> None:
    world.store.fail_commits(RuntimeError("the database went away"))
    outcome = world.rotation.rotate("prod")
    assert not outcome.rotated and "could not store" in outcome.message and "RuntimeError" in outcome.message
    assert stored_key(world) == "pub00001" and [k.public_key for k in world.authority.keys.values()] == ["pub00001"]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_when_the_old_key_cannot_be_deleted_the_next_run_deletes_it(world: World, kind: str) -> None:
    world.authority.faults.fail_next(kind, method="retire")
    outcome = world.rotation.rotate("prod")
    new = stored_key(world)
    assert (outcome.rotated, outcome.retired_old) == (True, False) and new != "pub00001"
    assert world.authority.live("pub00001") and status(world)["pending_retire_id"] is not None
    assert world.rotation.is_due("prod") and len(world.notifier.alerts()) == 1
    again = world.rotation.rotate("prod")
    assert (again.rotated, again.retired_old) == (False, True) and stored_key(world) == new
    assert not world.authority.live("pub00001") and status(world)["pending_retire_id"] is None
    assert world.actions()[-1] == "credential_retired"


def test_an_old_key_atlas_cannot_identify_is_left_in_place_and_said(world: World) -> None:
    world.authority.identify_old = False
    outcome = world.rotation.rotate("prod")
    assert outcome.rotated and not outcome.retired_old and "delete it in Atlas" in outcome.message
    assert world.authority.live("pub00001") and world.authority.live(stored_key(world))


def test_an_old_key_still_in_use_by_a_sync_is_retired_by_the_next_check(world: World) -> None:
    busy = {"prod"}
    rotation = RotationService(store=world.store, authority=lambda: world.authority, notifier=world.notifier,
                               clock=world.clock, in_use=lambda name: name in busy)
    first = rotation.rotate("prod")
    assert first.rotated and not first.retired_old and world.authority.live("pub00001")
    waiting = rotation.rotate("prod")
    assert not waiting.retired_old and "waits for the running sync" in waiting.message
    busy.clear()
    assert rotation.rotate("prod").retired_old and not world.authority.live("pub00001")


def test_an_unknown_integration(world: World) -> None:
    with pytest.raises(NotFound):
        world.rotation.rotate("ghost")


def test_the_rotated_key_is_the_one_the_next_rotation_starts_from(world: World) -> None:
    world.rotation.rotate("prod")
    first = stored_key(world)
    world.rotation.rotate("prod")
    assert stored_key(world) not in (first, "pub00001") and len(world.authority.keys) == 1
