"""Stories: the bot rotates its own Atlas credential (API key or service account) against the sandbox.

The real wiring is used: `build_runtime` gives RotationService over AtlasCredentialAuthority and CredentialRotator,
a SQLite store with Fernet-encrypted secrets, and the Slack notifier talking to the fake Slack. A failure at any
step must leave a working credential stored, tell the integration owners, be audited, and be retried.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import text

from access.config import IntegrationSpec
from access.errors import RequestRefused
from atlas.client import AtlasClient
from atlas.credentials import ApiKey, Credentials, ServiceAccount, from_spec
from atlas.errors import AtlasAuthError
from atlas.sandbox import Sandbox, SandboxTransport
from bot.app import Runtime, build_runtime
from bot.clock import ManualClock
from bot.scheduler import Timers
from bot.settings import Settings
from bot.slack_sim import FakeSlackWebAPI
from storage.engine import make_engine
from storage.migrations import create_all


def atlas_credentials(spec: IntegrationSpec) -> Credentials:
    """The Atlas credentials an integration's spec names, as the app resolves them."""
    return from_spec(spec.credentials, env=os.environ, integration=spec.name)

TOKEN = "xoxb-rotation"
CHANNEL = "C0APPROVALS"
OWNERS = "S2"


@dataclass
class World:
    clock: ManualClock
    sb: Sandbox
    sim: FakeSlackWebAPI
    runtime: Runtime
    org_id: str
    project_id: str
    sleeps: list[float] = field(default_factory=list)

    def stored(self) -> IntegrationSpec:
        with self.runtime.store.unit_of_work() as uow:
            spec = uow.integrations.get("prod")
        assert spec is not None
        return spec

    def status(self) -> dict[str, object]:
        with self.runtime.store.unit_of_work() as uow:
            return uow.integrations.status("prod")

    def audit(self) -> list[str]:
        with self.runtime.store.unit_of_work() as uow:
            return [e.action for e in uow.audit.query(integration="prod")]

    def client(self, credentials: Credentials) -> AtlasClient:
        return AtlasClient(credentials=credentials, transport=SandboxTransport(self.sb), clock=self.clock,
                           sleep=self.sleeps.append, max_retries=0)

    def works(self, credentials: Credentials) -> bool:
        with self.client(credentials) as client:
            try:
                client.call("getOrg", path_params={"orgId": self.org_id})
            except AtlasAuthError:
                return False
        return True

    def api_keys(self) -> list[dict[str, Any]]:
        with self.client(atlas_credentials(self.stored())) as client:
            return list(client.paginate("listOrgApiKeys", path_params={"orgId": self.org_id}))

    def access_list(self, key_id: str) -> set[str]:
        with self.client(atlas_credentials(self.stored())) as client:
            entries = client.paginate("listOrgApiKeyAccessListEntries",
                                      path_params={"orgId": self.org_id, "apiUserId": key_id})
            return {e.get("cidrBlock") or e["ipAddress"] for e in entries}

    def secrets(self, client_id: str) -> list[str]:
        with self.client(atlas_credentials(self.stored())) as client:
            account = client.call("getOrgServiceAccount", path_params={"orgId": self.org_id, "clientId": client_id})
        return [s["id"] for s in account["secrets"]]

    def alerts(self) -> list[str]:
        return [m["text"] for m in self.sim.messages(CHANNEL) if "<!subteam^S2>" in m["text"]]


def make_world(tmp_path: Path, credentials: dict[str, Any], sb: Sandbox, clock: ManualClock,
               org_id: str, project_id: str) -> World:
    sim = FakeSlackWebAPI(token=TOKEN).start()
    sim.add_usergroup(OWNERS, handle="atlas-admins", members=["U4"])
    sim.add_user("U4", name="dan", email="dan@example.com")
    sim.add_channel(CHANNEL, name="atlas-approvals")
    database_url = f"sqlite:///{tmp_path / 'rotation.db'}"
    engine = make_engine(database_url)
    create_all(engine)
    engine.dispose()
    settings = Settings(slack_bot_token=SecretStr(TOKEN), slack_signing_secret=SecretStr("s"),
                        slack_api_url=sim.url + "/api/", database_url=database_url,
                        atlas_access_secret_key=SecretStr(Fernet.generate_key().decode()))
    sleeps: list[float] = []
    runtime = build_runtime(settings, clock=clock, atlas_transport=SandboxTransport(sb), atlas_sleep=sleeps.append)
    world = World(clock=clock, sb=sb, sim=sim, runtime=runtime, org_id=org_id, project_id=project_id, sleeps=sleeps)
    spec = IntegrationSpec.model_validate({
        "name": "prod", "organization_id": org_id, "credentials": credentials, "approval_channel": CHANNEL,
        "credential_rotation_days": 30, "integration_owners": ["@atlas-admins"],
    })
    runtime.config.save_integration(spec, actor="test", keep_secrets=False)
    return world


def seeded_sandbox() -> tuple[Sandbox, ManualClock, str, str]:
    clock = ManualClock()
    sb = Sandbox(clock=clock)
    org_id = sb.add_org(name="Acme")
    project_id = sb.add_project(org_id=org_id, name="payments")
    return sb, clock, org_id, project_id


@pytest.fixture
def api_key_world(tmp_path: Path) -> Iterator[tuple[World, ApiKey]]:
    sb, clock, org_id, project_id = seeded_sandbox()
    public, private = sb.add_api_key(org_id=org_id, roles=["ORG_OWNER", "ORG_READ_ONLY"], desc="atlas-access bot")
    world = make_world(tmp_path, {"type": "api_key", "public_key": public, "private_key": private}, sb, clock,
                       org_id, project_id)
    old = ApiKey(public_key=public, private_key=private)
    with world.client(old) as client:  # the old key's access list and project role, to be carried over
        key_id = next(k["id"] for k in client.paginate("listOrgApiKeys", path_params={"orgId": org_id}))
        client.call("createOrgApiKeyAccessListEntry", path_params={"orgId": org_id, "apiUserId": key_id},
                    json=[{"ipAddress": "192.0.2.1"}, {"cidrBlock": "10.0.0.0/8"}])
        client.call("addGroupApiKey", path_params={"groupId": project_id, "apiUserId": key_id},
                    json=[{"roles": ["GROUP_READ_ONLY"]}])
    try:
        yield world, old
    finally:
        world.sim.stop()
        world.runtime.store.dispose()


@pytest.fixture
def service_account_world(tmp_path: Path) -> Iterator[tuple[World, ServiceAccount]]:
    sb, clock, org_id, project_id = seeded_sandbox()
    client_id, secret = sb.add_service_account(org_id=org_id, roles=["ORG_OWNER"])
    world = make_world(tmp_path, {"type": "service_account", "client_id": client_id, "client_secret": secret}, sb,
                       clock, org_id, project_id)
    try:
        yield world, ServiceAccount(client_id=client_id, client_secret=secret)
    finally:
        world.sim.stop()
        world.runtime.store.dispose()


def _key_id(world: World, public_key: str) -> str:
    return next(k["id"] for k in world.api_keys() if k["publicKey"] == public_key)


# --- the whole rotation --------------------------------------------------------------------------------------


def test_an_api_key_is_replaced_by_one_with_the_same_roles_and_access_list(api_key_world: tuple[World, ApiKey]
                                                                           ) -> None:
    world, old = api_key_world
    old_id = _key_id(world, old.public_key)

    # when the rotation runs
    outcome = world.runtime.rotation.rotate("prod", actor="U4")

    # then a new key is stored and works, and the old one is gone from Atlas
    assert outcome.rotated and outcome.retired_old
    new = atlas_credentials(world.stored())
    assert isinstance(new, ApiKey) and new.public_key != old.public_key
    assert world.works(new) and not world.works(old)
    keys = world.api_keys()
    assert [k["publicKey"] for k in keys] == [new.public_key]

    # with the old key's organization roles, project roles, description and access list
    roles = {(r.get("orgId") or r.get("groupId"), r["roleName"]) for r in keys[0]["roles"]}
    assert roles == {(world.org_id, "ORG_OWNER"), (world.org_id, "ORG_READ_ONLY"),
                     (world.project_id, "GROUP_READ_ONLY")}
    assert keys[0]["desc"] == "atlas-access bot (rotated)"
    assert world.access_list(keys[0]["id"]) == {"192.0.2.1", "10.0.0.0/8"}

    # and the rotation is recorded, the integration is not due again for 30 days, and discovery uses the new key
    assert world.audit()[-2:] == ["credential_issued", "credential_rotated"]
    status = world.status()
    assert status["last_rotation_at"] == world.clock.now() and status["pending_retire_id"] is None
    assert world.runtime.rotation.due() == []
    assert world.runtime.sync.run("prod").changes.counts["projects"] == 1
    assert old_id not in {k["id"] for k in world.api_keys()}


def test_a_service_account_gets_a_new_secret_and_the_old_one_is_deleted(
    service_account_world: tuple[World, ServiceAccount],
) -> None:
    world, old = service_account_world
    old_secret_id = world.secrets(old.client_id)[0]

    # when the rotation runs
    outcome = world.runtime.rotation.rotate("prod")

    # then the same account has one secret, a new one, which is stored and works; the old one no longer does
    assert outcome.rotated and outcome.retired_old
    new = atlas_credentials(world.stored())
    assert isinstance(new, ServiceAccount) and new.client_id == old.client_id
    assert new.client_secret.get_secret_value() != old.client_secret.get_secret_value()
    secrets = world.secrets(old.client_id)
    assert len(secrets) == 1 and secrets != [old_secret_id]
    assert world.works(new) and not world.works(old)
    assert world.audit()[-2:] == ["credential_issued", "credential_rotated"]
    assert world.runtime.sync.run("prod").changes.counts["organizations"] == 1


@pytest.mark.parametrize("kind", ["api_key_world", "service_account_world"])
def test_a_rotation_during_a_sync_keeps_the_old_credential_until_the_sync_has_finished(
    kind: str, request: pytest.FixtureRequest,
) -> None:
    world, old = request.getfixturevalue(kind)
    # given a sync of the integration under way with the old credential, paused between two pages of Atlas
    paused, go_on = threading.Event(), threading.Event()

    def progress(_phase: str, _counts: dict[str, int]) -> None:
        paused.set()
        go_on.wait(10)

    reports: list[object] = []
    sync = threading.Thread(target=lambda: reports.append(world.runtime.sync.run("prod", progress=progress)))
    sync.start()
    assert paused.wait(10)
    # when the rotation runs meanwhile
    outcome = world.runtime.rotation.rotate("prod")
    # then the new credential is stored and works, and the old one still works: the sync is using it
    assert outcome.rotated and not outcome.retired_old and "once the sync" in outcome.message
    assert world.works(atlas_credentials(world.stored())) and world.works(old)
    assert world.status()["pending_retire_id"]
    # and a check while the sync still runs leaves the old one alone
    assert world.runtime.rotation.rotate("prod").retired_old is False and world.works(old)
    # when the sync goes on, it finishes without an error
    go_on.set()
    sync.join(10)
    assert len(reports) == 1 and "sync_failed" not in world.audit()
    # and the next check deletes the old credential
    assert "prod" in world.runtime.rotation.due()
    assert world.runtime.rotation.rotate("prod").retired_old
    assert not world.works(old) and world.works(atlas_credentials(world.stored()))
    assert world.status()["pending_retire_id"] is None


# --- failures in the middle ------------------------------------------------------------------------------------


def test_a_new_key_that_does_not_work_is_deleted_and_the_old_one_stays(api_key_world: tuple[World, ApiKey]) -> None:
    world, old = api_key_world
    # given the rotation is due, and Atlas refuses the new key when it is tried (the verify step)
    world.clock.advance(timedelta(days=30))
    world.sb.faults.fail_next(status=401, count=1, operation_id="getOrg")

    # when the scheduled rotation runs
    outcome = world.runtime.rotation.rotate("prod")

    # then nothing changed: the old key is stored, works and is the only key; the owners hear about it
    assert not outcome.rotated and "does not work yet" in outcome.message
    assert atlas_credentials(world.stored()) == old and world.works(old)
    assert [k["publicKey"] for k in world.api_keys()] == [old.public_key]
    assert world.audit()[-1] == "credential_rotation_failed"
    assert any("failed" in text and "still works" in text for text in world.alerts())
    assert world.status()["last_rotation_error"]

    # and the next scheduled check tries again (it is still due), and succeeds
    assert world.runtime.rotation.due() == ["prod"]
    Timers(world.runtime).rotate_due()
    assert atlas_credentials(world.stored()) != old and world.audit()[-1] == "credential_rotated"


def test_a_key_that_cannot_be_stored_is_deleted_again(api_key_world: tuple[World, ApiKey]) -> None:
    world, old = api_key_world
    # given the database refuses to change the stored credential (a disk or constraint failure)
    with world.runtime.store.engine.begin() as connection:
        connection.execute(text(
            "CREATE TRIGGER no_new_credentials BEFORE UPDATE OF credential_public ON integration "
            "WHEN NEW.credential_public != OLD.credential_public BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"))

    # when the rotation runs
    outcome = world.runtime.rotation.rotate("prod")

    # then the key Atlas made is deleted again, and the old one is still stored, working and alone
    assert not outcome.rotated and "could not store the new credential" in outcome.message
    assert atlas_credentials(world.stored()) == old and world.works(old)
    assert [k["publicKey"] for k in world.api_keys()] == [old.public_key]
    assert world.audit()[-1] == "credential_rotation_failed"
    assert world.alerts()


@pytest.mark.parametrize("kind", ["api_key", "service_account"])
def test_when_the_old_credential_cannot_be_deleted_the_new_one_is_kept_and_the_deletion_retried(
    kind: str, request: pytest.FixtureRequest,
) -> None:
    world, old = request.getfixturevalue(f"{kind}_world")
    delete = "deleteOrgApiKey" if kind == "api_key" else "deleteOrgServiceAccountSecret"
    # given Atlas fails every attempt to delete the old credential (the client tries 6 times)
    world.sb.faults.fail_next(status=503, count=6, operation_id=delete)

    # when the rotation runs
    outcome = world.runtime.rotation.rotate("prod")

    # then the new credential is stored and works (so is the old one, still), the owners are told
    assert outcome.rotated and not outcome.retired_old
    new = atlas_credentials(world.stored())
    assert new != old and world.works(new) and world.works(old)
    assert world.status()["pending_retire_id"]
    assert world.audit()[-2:] == ["credential_issued", "credential_retire_failed"]
    assert any("could not be deleted yet" in text and "retried" in text for text in world.alerts())

    # when the next check runs (the old credential waits to be retired, so it is due at once)
    assert world.runtime.rotation.due() == ["prod"]
    retry = world.runtime.rotation.rotate("prod")

    # then the old credential is deleted, the new one stays, and nothing is due any more
    assert retry.retired_old and not retry.rotated
    assert atlas_credentials(world.stored()) == new and world.works(new) and not world.works(old)
    assert world.status()["pending_retire_id"] is None and world.status()["last_rotation_error"] is None
    assert world.audit()[-1] == "credential_retired"
    assert world.runtime.rotation.due() == []


# --- when, and how often -----------------------------------------------------------------------------------------


def test_a_rotation_is_due_after_the_configured_number_of_days(api_key_world: tuple[World, ApiKey]) -> None:
    world, _ = api_key_world
    # given the integration rotates every 30 days and was created now
    assert world.runtime.rotation.due() == []
    world.clock.advance(timedelta(days=29, hours=23))
    assert world.runtime.rotation.due() == []

    # when 30 days have passed, the scheduled job rotates it
    world.clock.advance(timedelta(hours=1))
    assert world.runtime.rotation.due() == ["prod"]
    Timers(world.runtime).rotate_due()

    # then it is not due again for another 30 days
    assert world.audit()[-1] == "credential_rotated"
    assert world.runtime.rotation.due() == []
    world.clock.advance(timedelta(days=30))
    assert world.runtime.rotation.due() == ["prod"]


def test_a_second_rotation_of_the_same_integration_at_once_is_refused(api_key_world: tuple[World, ApiKey]) -> None:
    world, _ = api_key_world
    world.sb.faults.latency = 0.05  # each Atlas call takes a moment, so the first rotation is still running
    results: list[object] = []
    first = threading.Thread(target=lambda: results.append(world.runtime.rotation.rotate("prod")))
    first.start()
    try:
        while not world.sb.calls:
            threading.Event().wait(0.005)
        with pytest.raises(RequestRefused, match="already running"):
            world.runtime.rotation.rotate("prod")
    finally:
        first.join(timeout=10)
    assert len(world.api_keys()) == 1 and len(results) == 1


def test_no_secret_reaches_the_logs_the_audit_trail_or_slack(api_key_world: tuple[World, ApiKey],
                                                             caplog: pytest.LogCaptureFixture) -> None:
    world, old = api_key_world
    world.sb.faults.fail_next(status=503, count=6, operation_id="deleteOrgApiKey")
    with caplog.at_level(logging.DEBUG):
        world.runtime.rotation.rotate("prod")
        world.runtime.rotation.rotate("prod")
    new = atlas_credentials(world.stored())
    assert isinstance(new, ApiKey)
    secrets = [old.private_key.get_secret_value(), new.private_key.get_secret_value()]
    with world.runtime.store.unit_of_work() as uow:
        audit = repr([(e.action, e.detail) for e in uow.audit.query()])
    slack = repr([call.args for call in world.sim.calls])
    with world.runtime.store.engine.connect() as connection:
        rows = repr(connection.execute(text("SELECT * FROM integration")).all())
    for secret in secrets:
        assert secret not in caplog.text and secret not in audit and secret not in slack and secret not in rows
    assert new.public_key in rows  # the public half is stored in the clear, the private one encrypted


def test_a_lasting_failure_is_told_to_the_owners_once_and_again_after_it_cleared(
    api_key_world: tuple[World, ApiKey],
) -> None:
    world, _ = api_key_world
    world.clock.advance(timedelta(days=30))
    # given Atlas refuses every new key when it is tried, for three scheduled checks in a row
    timers = Timers(world.runtime)
    for _ in range(3):
        world.sb.faults.fail_next(status=401, count=1, operation_id="getOrg")
        timers.rotate_due()
    # then the owners heard of it once, and each attempt is in the audit trail
    assert len([t for t in world.alerts() if "failed" in t]) == 1
    assert world.audit().count("credential_rotation_failed") == 3
    # when a rotation goes through, and a later one fails the same way
    timers.rotate_due()
    assert world.audit()[-1] == "credential_rotated" and world.status()["last_rotation_error"] is None
    world.clock.advance(timedelta(days=30))
    world.sb.faults.fail_next(status=401, count=1, operation_id="getOrg")
    timers.rotate_due()
    # then that is news again
    assert len([t for t in world.alerts() if "failed" in t]) == 2


def test_a_stored_period_too_large_to_count_is_reported_and_the_round_goes_on(
    api_key_world: tuple[World, ApiKey], caplog: pytest.LogCaptureFixture,
) -> None:
    world, _ = api_key_world
    # given a period stored before it was bounded, too large for a date
    with world.runtime.store.engine.begin() as connection:
        connection.execute(text("UPDATE integration SET credential_rotation_days = 1000000000000"))
    world.runtime.store.specs.invalidate()
    # when the scheduled check runs
    with caplog.at_level(logging.WARNING):
        Timers(world.runtime).rotate_due()
    # then it says what is wrong and how to fix it, to the log and the owners, in words
    assert "credential_rotation_days (1000000000000) is too large to count: set 1 to 365 days" in caplog.text
    assert any("credential_rotation_days" in t and "1 to 365" in t for t in world.alerts())
    assert "OverflowError" not in caplog.text
