"""Stories: in every timer round, one integration's failure stays its own.

Two integrations, `alpha` (first by name, so first in every round) and `prod`. alpha's stored data is spoiled
straight in the database, bypassing validation, the way an old release or a hand in SQL leaves it; then the
round runs twice. Each time prod's work is done, alpha's failure is logged (without a secret), and alpha's
owners hear of it once, not every round; where alpha cannot even be read there is nobody to tell, and the log
says it once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import text

from access.config import AccessFlowSpec, IntegrationSpec
from access.entities import AccessRequest
from access.model import GrantStatus
from bot.cli import main
from bot.scheduler import Timers
from tests.e2e.harness import ANN, BOB, DAN, EMAILS, READ, Harness

ALPHA_CHANNEL = "C0ALPHA"


class TwoIntegrations(Harness):
    """The e2e world (integration `prod`) and `alpha`: another organization, its own channel and flow."""

    def __init__(self, tmp_path: Path) -> None:
        super().__init__(tmp_path)
        self.sim.add_channel(ALPHA_CHANNEL, name="alpha-approvals")
        org = self.sb.add_org(name="Alpha")
        self.sb.add_project(org_id=org, name="alpha-app", tags={})
        self.sb.add_user(org_id=org, username=EMAILS[ANN], org_roles=["ORG_MEMBER"], status="ACTIVE")
        self.alpha_public, self.alpha_private = self.sb.add_api_key(org_id=org, roles=["ORG_OWNER"])
        with self.runtime.store.unit_of_work() as uow:
            uow.integrations.upsert(IntegrationSpec.model_validate({
                "name": "alpha", "organization_id": org, "approval_channel": ALPHA_CHANNEL,
                "credentials": {"type": "api_key", "public_key": self.alpha_public,
                                "private_key": self.alpha_private},
                "integration_owners": ["@atlas-admins"]}))
            uow.flows.upsert(AccessFlowSpec.model_validate({
                "name": "alpha-projects", "integration": "alpha", "resources": {"types": ["project"],
                                                                               "names": ["alpha-app"]},
                "roles": [READ], "max_duration": "8h"}))
        self.runtime.sync.run("alpha")
        self.timers = Timers(self.runtime)  # one for the story: what it told is remembered between rounds
        self.requests: dict[str, AccessRequest] = {}

    def sql(self, statement: str, **params: Any) -> None:
        """Change the stored data behind the app's back (and drop its few-seconds cache of specs)."""
        with self.runtime.store.engine.begin() as connection:
            connection.execute(text(statement), params)
        self.runtime.store.specs.invalidate()

    def alerts(self) -> list[str]:
        return [m["text"] for m in self.sim.messages(ALPHA_CHANNEL) if ":rotating_light:" in m.get("text", "")]

    def count(self, action: str, integration: str) -> int:
        return len([e for e in self.audit(action) if e.integration == integration])

    def prod_request(self) -> AccessRequest:
        return self.get(self.requests["prod"].id or 0)[0]


# --- what each round needs, how alpha is spoiled, and what shows prod's work was done ---------------------------


def ask_both(world: TwoIntegrations) -> None:
    world.requests["alpha"] = world.request(ANN, "alpha-app", [READ])
    world.requests["prod"] = world.request(ANN, "payments", [READ])


def grant_both(world: TwoIntegrations) -> None:
    ask_both(world)
    for name, approver in (("alpha", DAN), ("prod", BOB)):
        world.click(approver, "approve", world.requests[name])
        world.wait_grant(world.requests[name], GrantStatus.ACTIVE)


def strand_both(world: TwoIntegrations) -> None:
    """Requests stored whose approval message was never posted (the process died after the ack)."""
    ask_both(world)
    world.sql("UPDATE access_request SET message_ts = NULL, channel = NULL")


def prod_rotates_in_30_days(world: TwoIntegrations) -> None:
    world.sql("UPDATE integration SET credential_rotation_days = 30 WHERE name = 'prod'")


def huge_rotation_days(world: TwoIntegrations) -> None:
    world.sql("UPDATE integration SET credential_rotation_days = 1000000000000 WHERE name = 'alpha'")


def credentials_from_unset_variables(world: TwoIntegrations) -> None:
    world.sql("UPDATE integration SET credential_secret = NULL, credential_public = :public WHERE name = 'alpha'",
              public='{"public_key_env": "ALPHA_PUBLIC_UNSET", "private_key_env": "ALPHA_PRIVATE_UNSET"}')


def unreadable_flow(world: TwoIntegrations) -> None:
    world.sql("UPDATE access_flow SET pending = :pending WHERE name = 'alpha-projects'",
              pending='{"remind_after": "soon"}')


def unreadable_integration(world: TwoIntegrations) -> None:
    world.sql("UPDATE integration SET credential_public = '{}' WHERE name = 'alpha'")


@dataclass(frozen=True)
class Case:
    given: Callable[[TwoIntegrations], None]  # before alpha is spoiled
    spoil: Callable[[TwoIntegrations], None]
    wait: timedelta
    run: Callable[[Timers], None]
    prod_done: Callable[[TwoIntegrations], bool]
    told: bool  # alpha can be read, so its owners are told (once)


CASES = {
    "credential rotation": Case(prod_rotates_in_30_days, huge_rotation_days, timedelta(days=31), Timers.rotate_due,
                                lambda w: w.count("credential_rotated", "prod") == 1, True),
    "sync": Case(lambda w: None, credentials_from_unset_variables, timedelta(0), Timers.sync_all,
                 lambda w: w.count("synced", "prod") == 3, True),  # the harness synced it once
    "reconciliation": Case(lambda w: None, credentials_from_unset_variables, timedelta(0), Timers.reconcile_all,
                           lambda w: w.count("reconciled", "prod") == 2, True),
    "pending-request timeouts": Case(ask_both, unreadable_flow, timedelta(hours=1), Timers.pending_timeouts,
                                     lambda w: w.prod_request().reminded_at is not None, True),
    "expiry reminders": Case(grant_both, unreadable_integration, timedelta(minutes=50), Timers.remind_expiring,
                             lambda w: (w.get(w.requests["prod"].id or 0)[1] or _no()).reminder_sent_at is not None,
                             False),
    "stranded requests": Case(strand_both, unreadable_integration, timedelta(minutes=2), Timers.announce_stranded,
                              lambda w: w.prod_request().message_ts is not None, False),
}


def _no() -> Any:
    raise AssertionError("prod's grant is gone")


@pytest.mark.parametrize("round_name", list(CASES))
def test_one_integrations_failure_does_not_stop_the_round(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                          round_name: str) -> None:
    case = CASES[round_name]
    world = TwoIntegrations(tmp_path)
    try:
        # given alpha's stored data makes this round fail for alpha
        case.given(world)
        case.spoil(world)
        world.clock.advance(case.wait)

        # when the round runs twice
        with caplog.at_level(logging.DEBUG):
            case.run(world.timers)
            case.run(world.timers)

        # then prod's work was done all the same
        assert case.prod_done(world)
        # and alpha's failure was logged once as a warning, naming it, without a secret
        warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and "alpha" in
                    r.getMessage() and "failed" in r.getMessage()]
        assert len(warnings) == 1, warnings
        for secret in (world.alpha_private, world.atlas.private_key):
            assert secret not in caplog.text
        # and alpha's owners heard of it once (where alpha can be read at all), not every round
        alerts = world.alerts()
        assert len(alerts) == (1 if case.told else 0), alerts
        if case.told:
            assert "alpha" in alerts[0] and "<!subteam^S2>" in alerts[0]
    finally:
        world.close()


def test_a_failure_told_once_is_told_again_after_it_cleared(tmp_path: Path) -> None:
    world = TwoIntegrations(tmp_path)
    try:
        # given alpha's sync fails, and its owners were told
        credentials_from_unset_variables(world)
        world.timers.sync_all()
        world.timers.sync_all()
        assert len(world.alerts()) == 1
        # when the variables are set, a sync goes through, and then they are unset again
        with pytest.MonkeyPatch.context() as env:
            env.setenv("ALPHA_PUBLIC_UNSET", world.alpha_public)
            env.setenv("ALPHA_PRIVATE_UNSET", world.alpha_private)
            world.timers.sync_all()
        assert len(world.alerts()) == 1
        world.timers.sync_all()
        # then the owners hear of it again: it is a new failure
        assert len(world.alerts()) == 2
    finally:
        world.close()


def test_values_stored_before_the_bounds_stop_no_round(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str],
                                                        caplog: pytest.LogCaptureFixture) -> None:
    world = TwoIntegrations(tmp_path)
    try:
        # given alpha stored, by an older release, with values past today's limits
        grant_both(world)
        world.sql("UPDATE integration SET credential_rotation_days = 400, custom_access_details = :details, "
                  "integration_owners = :owners WHERE name = 'alpha'", details="x" * 2000,
                  owners='["@atlas-admins"' + "".join(f', "@team-{i}"' for i in range(150)) + "]")
        world.sql("UPDATE access_flow SET max_duration_seconds = :seconds, pending = :pending "
                  "WHERE name = 'alpha-projects'", seconds=400 * 86400,
                  pending='{"remind_after": "PT30S", "escalate_after": "P100D", "expire_after": "P400D"}')

        # when every round runs, twice
        with caplog.at_level(logging.WARNING):
            for _ in range(2):
                world.clock.advance(timedelta(minutes=25))
                for run in (Timers.rotate_due, Timers.sync_all, Timers.reconcile_all, Timers.pending_timeouts,
                            Timers.remind_expiring, Timers.announce_stranded):
                    run(world.timers)

        # then each did alpha's work and prod's, and nothing failed
        assert world.count("synced", "alpha") == 5 and world.count("synced", "prod") == 5  # setup, sync, reconcile
        assert world.count("reconciled", "alpha") == 2 and world.count("reconciled", "prod") == 2
        grants = [world.get(r.id or 0)[1] for r in world.requests.values()]
        assert all(g is not None and g.reminder_sent_at is not None for g in grants)
        assert world.alerts() == [] and not [r for r in caplog.records if "failed" in r.getMessage()]

        # and `config show` prints alpha as stored; applied back, the limits are named for the operator to fix
        key = world.settings.atlas_access_secret_key
        assert key is not None
        monkeypatch.setenv("DATABASE_URL", world.database_url)
        monkeypatch.setenv("ATLAS_ACCESS_SECRET_KEY", key.get_secret_value())
        assert main(["config", "show"]) == 0
        shown = capsys.readouterr().out
        assert yaml.safe_load(shown)["access_flows"][0]["max_duration"] == "400d"
        path = tmp_path / "shown.yml"
        path.write_text(shown, encoding="utf-8")
        assert main(["config", "apply", str(path)]) == 2
        err = capsys.readouterr().err
        assert "integrations[0].credential_rotation_days: must be a whole number of days from 1 to 365" in err
        assert "access_flows[0].max_duration: '400d' is longer than 365d, the longest allowed" in err
    finally:
        world.close()


def test_a_lasting_failure_is_told_once_across_replicas_and_restarts(tmp_path: Path) -> None:
    world = TwoIntegrations(tmp_path)
    try:
        # given alpha's sync fails on one replica, and its owners were told
        credentials_from_unset_variables(world)
        world.timers.sync_all()
        assert len(world.alerts()) == 1
        # when a second replica meets the same failure, and then a restarted process does
        other_replica, restarted = Timers(world.runtime), Timers(world.runtime)
        other_replica.sync_all()
        restarted.sync_all()
        # then the owners were told once: the database remembers it for every replica
        assert len(world.alerts()) == 1
        # and once a sync goes through on any of them, the next failure is news again (told once more)
        with pytest.MonkeyPatch.context() as env:
            env.setenv("ALPHA_PUBLIC_UNSET", world.alpha_public)
            env.setenv("ALPHA_PRIVATE_UNSET", world.alpha_private)
            other_replica.sync_all()
        restarted.sync_all()
        world.timers.sync_all()
        assert len(world.alerts()) == 2
    finally:
        world.close()
