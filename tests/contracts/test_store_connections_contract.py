"""The IntegrationRepository contract for the PagerDuty and Okta connections, on the memory store and on SQLite and
PostgreSQL: literal secrets read back as written, `*_env` names kept, a blank secret kept with `keep_secrets` (only
for the same Okta credential type), refused with nothing to keep, and a connection removed when the spec has none."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from access.config import IntegrationSpec
from tests.contracts.worlds import StoreWorld
from tests.storage import builders as b

PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQ-contract-test-key\n-----END PRIVATE KEY-----"


def spec(**changes: Any) -> IntegrationSpec:
    return b.integration(**changes)


def stored(world: StoreWorld) -> IntegrationSpec:
    with world.store.unit_of_work() as uow:
        found = uow.integrations.get("prod")
    assert found is not None
    return found


def save(world: StoreWorld, value: IntegrationSpec, *, keep: bool = False) -> None:
    with world.store.unit_of_work() as uow:
        uow.integrations.upsert(value, keep_secrets=keep)


def test_connections_read_back_as_written(store_world: StoreWorld) -> None:
    save(store_world, spec(pagerduty={"api_key": "u+pd-contract"}, okta={
        "org_url": "https://acme.okta.com", "credentials": {"type": "service_app", "client_id": "0oa1",
                                                            "private_key": PEM, "key_id": "kid1"}}))
    found = stored(store_world)
    assert found.pagerduty is not None and found.pagerduty.api_key == SecretStr("u+pd-contract")
    assert found.okta is not None and found.okta.org_url == "https://acme.okta.com"
    assert found.okta.credentials.model_dump() == {"type": "service_app", "client_id": "0oa1", "client_id_env": None,
                                                   "private_key": SecretStr(PEM), "private_key_env": None,
                                                   "key_id": "kid1"}
    save(store_world, spec(pagerduty={"api_key_env": "PD_KEY"}, okta=None))
    found = stored(store_world)
    assert found.pagerduty is not None and found.pagerduty.api_key_env == "PD_KEY" and found.pagerduty.api_key is None
    assert found.okta is None


def test_a_blank_secret_keeps_the_stored_one(store_world: StoreWorld) -> None:
    save(store_world, spec(pagerduty={"api_key": "u+pd-contract"},
                           okta={"org_url": "https://acme.okta.com", "credentials": {"type": "api_token",
                                                                                      "token": "00tok"}}))
    current = stored(store_world)
    assert current.pagerduty is not None and current.okta is not None
    blank = current.model_copy(update={
        "pagerduty": current.pagerduty.model_copy(update={"api_key": None}),
        "okta": current.okta.model_copy(update={"org_url": "https://acme.oktapreview.com", "credentials":
                                                current.okta.credentials.model_copy(update={"token": None})})})
    save(store_world, blank, keep=True)
    found = stored(store_world)
    assert found.pagerduty is not None and found.pagerduty.api_key == SecretStr("u+pd-contract")
    assert found.okta is not None and found.okta.org_url == "https://acme.oktapreview.com"
    assert found.okta.credentials.token == SecretStr("00tok")  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="pagerduty.api_key is required"):
        save(store_world, blank.model_copy(update={"name": "fresh"}), keep=True)
