"""The PagerDuty and Okta connections and the on-call rule through `config apply` / `config show`: literal secrets
stored encrypted and printed redacted, `*_env` names kept as written, the marker applied back keeping the stored
secret, and bad input refused with the field named and nothing written."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from storage.crypto import SecretBox
from storage.engine import make_engine
from storage.store import SqlStore
from tests.access.test_config import VALID
from tests.bot.test_cli import env, run, write  # noqa: F401 - `env` is a fixture

PD_KEY = "u+pd-very-secret-key-0001"
OKTA_TOKEN = "00okta-very-secret-token-0001"
RULE = {"provider": "pagerduty", "schedules": ["PABC123", "PDEF456"], "max_duration": "4h"}


def document(pagerduty: dict[str, Any] | None = None, okta: dict[str, Any] | None = None,
             rule: dict[str, Any] | None = None) -> dict[str, Any]:
    data = copy.deepcopy(VALID)
    integration = data["integrations"][0]
    integration["pagerduty"] = pagerduty if pagerduty is not None else {"api_key": PD_KEY}
    integration["okta"] = okta if okta is not None else {
        "org_url": "https://acme.okta.com", "credentials": {"type": "api_token", "token": OKTA_TOKEN}}
    integration["integration_owners"] = ["@atlas-admins", "okta:DBA Team"]
    integration["resource_owner"] = {"tag_key": "owner", "attribute": "okta_group"}
    data["access_flows"][0]["auto_approve"] = {"on_call": rule or RULE}
    return data


def stored(name: str = "prod") -> Any:
    store = SqlStore(make_engine(os.environ["DATABASE_URL"]), SecretBox(os.environ["ATLAS_ACCESS_SECRET_KEY"]))
    try:
        with store.unit_of_work() as uow:
            return uow.integrations.get(name)
    finally:
        store.dispose()


def test_connections_are_stored_encrypted_and_shown_redacted(env: Path, capsys: pytest.CaptureFixture[str]  # noqa: F811
                                                             ) -> None:
    assert run(capsys, "config", "apply", str(write(env, document())))[0] == 0
    code, out, err = run(capsys, "config", "show")
    assert code == 0 and "very-secret" not in out + err
    shown = yaml.safe_load(out)
    assert shown["integrations"][0]["pagerduty"] == {"api_key": "<redacted>"}
    assert shown["integrations"][0]["okta"] == {"org_url": "https://acme.okta.com",
                                                "credentials": {"type": "api_token", "token": "<redacted>"}}
    assert shown["access_flows"][0]["auto_approve"] == {"on_call": RULE}
    # the database holds ciphertext only
    engine = make_engine(os.environ["DATABASE_URL"])
    with engine.connect() as connection:
        row = connection.exec_driver_sql("SELECT pagerduty, pagerduty_secret, okta_secret FROM integration").one()
    engine.dispose()
    assert PD_KEY not in str(row) and OKTA_TOKEN not in str(row) and row[1] and row[2]
    spec = stored()
    assert spec.pagerduty.api_key.get_secret_value() == PD_KEY
    assert spec.okta.credentials.token.get_secret_value() == OKTA_TOKEN


def test_what_show_printed_applies_back_keeping_the_stored_secrets(env: Path,  # noqa: F811
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "config", "apply", str(write(env, document())))[0] == 0
    printed = yaml.safe_load(run(capsys, "config", "show")[1])
    printed["access_flows"][0]["auto_approve"]["on_call"]["max_duration"] = "2h"
    code, _, err = run(capsys, "config", "apply", str(write(env, printed, "shown.yml")))
    assert code == 0, err
    spec = stored()
    assert spec.pagerduty.api_key.get_secret_value() == PD_KEY
    assert spec.okta.credentials.token.get_secret_value() == OKTA_TOKEN
    assert yaml.safe_load(run(capsys, "config", "show")[1])["access_flows"][0]["auto_approve"]["on_call"][
        "max_duration"] == "2h"


def test_environment_variable_names_are_kept_as_written(env: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    data = document(pagerduty={"api_key_env": "PAGERDUTY_API_KEY"}, okta={
        "org_url": "https://acme.okta.com", "credentials": {
            "type": "service_app", "client_id": "0oa1client", "private_key_env": "OKTA_PRIVATE_KEY", "key_id": "k1"}})
    assert run(capsys, "config", "apply", str(write(env, data)))[0] == 0
    shown = yaml.safe_load(run(capsys, "config", "show")[1])["integrations"][0]
    assert shown["pagerduty"] == {"api_key_env": "PAGERDUTY_API_KEY"}
    assert shown["okta"]["credentials"] == {"type": "service_app", "client_id": "0oa1client",
                                            "private_key_env": "OKTA_PRIVATE_KEY", "key_id": "k1"}


@pytest.mark.parametrize(("data", "field", "words"), [
    (document(pagerduty={"api_key": PD_KEY, "api_key_env": "X"}), "integrations[0].pagerduty",
     "exactly one of api_key or api_key_env"),
    (document(pagerduty={"api_key": "<redacted>"}), "integrations[0].pagerduty.api_key", "none stored to keep"),
    (document(rule={**RULE, "schedules": ["not a schedule"]}), "access_flows[0].auto_approve.on_call.schedules[0]",
     "pattern"),
    (document(rule={**RULE, "schedules": []}), "access_flows[0].auto_approve.on_call.schedules", "at least 1"),
    (document(rule={**RULE, "max_duration": "9h"}), "access_flows[0]", "longer than the flow's max_duration"),
    (document(rule={**RULE, "provider": "opsgenie"}), "access_flows[0].auto_approve.on_call.provider", "pagerduty"),
    (document(okta={"org_url": "http://acme.okta.com", "credentials": {"type": "api_token", "token": "t"}}),
     "integrations[0].okta.org_url", "pattern"),
], ids=["key and env", "marker with nothing stored", "bad schedule id", "no schedule", "longer than the flow",
        "unknown provider", "okta over http"])
def test_bad_connections_are_refused_with_the_field_named(env: Path, capsys: pytest.CaptureFixture[str],  # noqa: F811
                                                          data: dict[str, Any], field: str, words: str) -> None:
    code, _, err = run(capsys, "config", "apply", str(write(env, data)))
    assert code == 2 and field in err and words in err, err
    assert "very-secret" not in err
    assert yaml.safe_load(run(capsys, "config", "show")[1])["integrations"] == []


def test_a_flow_approving_on_call_people_needs_a_pagerduty_connection(env: Path,  # noqa: F811
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    data = document()
    del data["integrations"][0]["pagerduty"]
    code, _, err = run(capsys, "config", "apply", str(write(env, data)))
    assert code == 2 and "access_flows[0].auto_approve" in err and "no PagerDuty connection" in err
