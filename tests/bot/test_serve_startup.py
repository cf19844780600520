"""`atlas-access serve` refuses to start, with one clear sentence, when it could not read the secrets it stores.

Also: `atlas-access keygen` makes a key that works, and a database holding only environment-variable credentials
needs no key at all.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from access.config import IntegrationSpec
from bot.app import ConfigurationError, Runtime, build_runtime, build_store
from bot.cli import main
from bot.serve import check_startup
from bot.settings import Settings
from storage.migrations import create_all
from tests.process.readonly import read_only_sqlite

PRIVATE_KEY = "6f0c3a52-1d2e-4b8a-9c7d-0e1f2a3b4c5d"
ORG_ID = "5f1a2b3c4d5e6f7a8b9c0d1e"


def settings_for(tmp_path: Path, key: str | None, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "slack_bot_token": SecretStr("xoxb-startup"), "slack_signing_secret": SecretStr("signing"),
        "slack_api_url": "http://127.0.0.1:9/api/", "database_url": f"sqlite:///{tmp_path / 'serve.db'}",
        "atlas_access_secret_key": SecretStr(key) if key is not None else None,
    }
    return Settings(**(values | overrides))  # type: ignore[arg-type]


def store_integration(settings: Settings, credentials: dict[str, str]) -> None:
    """Given an integration saved with `settings`' key (as `config apply` or the admin modal would)."""
    store = build_store(settings)
    create_all(store.engine)
    spec = IntegrationSpec.model_validate({"name": "prod", "organization_id": ORG_ID, "credentials": credentials,
                                           "approval_channel": "C0APPROVALS"})
    with store.unit_of_work() as uow:
        uow.integrations.upsert(spec)
    store.dispose()


def literal_key() -> dict[str, str]:
    return {"type": "api_key", "public_key": "abcdefgh", "private_key": PRIVATE_KEY}


def runtime_for(settings: Settings) -> Runtime:
    return build_runtime(settings)


@pytest.fixture
def key() -> str:
    return Fernet.generate_key().decode()


def test_it_starts_with_the_key_the_secrets_were_stored_with(tmp_path: Path, key: str) -> None:
    settings = settings_for(tmp_path, key)
    store_integration(settings, literal_key())
    runtime = runtime_for(settings)
    check_startup(runtime)  # no exception: it may start
    runtime.store.dispose()


def test_without_stored_secrets_no_key_is_needed(tmp_path: Path, key: str) -> None:
    # given only an integration whose credentials come from the environment
    store_integration(settings_for(tmp_path, key), {"type": "api_key", "public_key_env": "ATLAS_PUBLIC_KEY",
                                                    "private_key_env": "ATLAS_PRIVATE_KEY"})
    runtime = runtime_for(settings_for(tmp_path, None))
    check_startup(runtime)
    runtime.store.dispose()


def test_a_missing_key_is_refused_when_secrets_are_stored(tmp_path: Path, key: str) -> None:
    store_integration(settings_for(tmp_path, key), literal_key())
    runtime = runtime_for(settings_for(tmp_path, None))
    with pytest.raises(ConfigurationError) as refused:
        check_startup(runtime)
    message = str(refused.value)
    assert "ATLAS_ACCESS_SECRET_KEY is not set" in message and "atlas-access keygen" in message
    assert PRIVATE_KEY not in message and PRIVATE_KEY not in repr(refused.value)
    runtime.store.dispose()


def test_a_wrong_key_is_refused(tmp_path: Path, key: str) -> None:
    store_integration(settings_for(tmp_path, key), literal_key())
    other = Fernet.generate_key().decode()
    runtime = runtime_for(settings_for(tmp_path, other))
    with pytest.raises(ConfigurationError) as refused:
        check_startup(runtime)
    message = str(refused.value)
    assert "cannot decrypt" in message and "not the key they were stored with" in message
    assert other not in message and key not in message and PRIVATE_KEY not in message
    assert refused.value.__cause__ is None and refused.value.__suppress_context__  # no chained traceback
    runtime.store.dispose()


@pytest.mark.parametrize(("setting", "named"), [
    ("slack_signing_secret", "SLACK_SIGNING_SECRET"), ("slack_bot_token", "SLACK_BOT_TOKEN")])
def test_missing_slack_settings_are_refused(tmp_path: Path, key: str, setting: str, named: str) -> None:
    runtime = runtime_for(settings_for(tmp_path, key, **{setting: SecretStr("")}))
    create_all(runtime.store.engine)
    with pytest.raises(ConfigurationError, match=named):
        check_startup(runtime)
    runtime.store.dispose()


# --- through the command line ----------------------------------------------------------------------------------


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'serve.db'}")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-startup")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "signing")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api/")
    return tmp_path


@pytest.mark.parametrize(("given", "said"), [
    (None, "ATLAS_ACCESS_SECRET_KEY is not set"),
    ("other", "ATLAS_ACCESS_SECRET_KEY cannot decrypt the Atlas credentials stored in the database"),
])
def test_serve_exits_with_one_sentence_when_the_key_cannot_read_the_stored_secrets(
    env: Path, key: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], given: str | None,
    said: str,
) -> None:
    store_integration(settings_for(env, key), literal_key())
    if given is None:
        monkeypatch.delenv("ATLAS_ACCESS_SECRET_KEY", raising=False)
    else:
        monkeypatch.setenv("ATLAS_ACCESS_SECRET_KEY", Fernet.generate_key().decode())
    code = main(["serve", "--port", "0"])
    err = capsys.readouterr().err
    assert code == 1
    assert f"error: {said}" in err and "Traceback" not in err
    assert PRIVATE_KEY not in err and key not in err


def test_serve_exits_with_one_sentence_when_the_key_is_malformed(
    env: Path, key: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    store_integration(settings_for(env, key), literal_key())
    monkeypatch.setenv("ATLAS_ACCESS_SECRET_KEY", "not-a-fernet-key")
    code = main(["serve", "--port", "0"])
    err = capsys.readouterr().err
    assert code == 1 and "is not a valid key" in err and "Traceback" not in err


def test_serve_exits_with_one_sentence_when_the_database_refuses_writes(
    env: Path, key: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    # given a migrated database whose file this process may not write
    store_integration(settings_for(env, key), literal_key())
    monkeypatch.setenv("ATLAS_ACCESS_SECRET_KEY", key)
    with read_only_sqlite(env / "serve.db"):
        code = main(["serve", "--port", "0"])
    err = capsys.readouterr().err
    # then it does not start, and says why in one sentence: no traceback, no SQL, nothing it would have written
    assert code == 1
    [said] = [line for line in err.splitlines() if line.startswith("error: ")]
    assert "refuses writes" in said and "read-only" in said
    for leak in ("Traceback", "SELECT", "UPDATE", "INSERT", "sqlalchemy", PRIVATE_KEY):
        assert leak not in err


def test_keygen_prints_a_key_that_stores_and_reads_secrets(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                            ) -> None:
    assert main(["keygen"]) == 0
    made = capsys.readouterr().out.strip()
    Fernet(made.encode())  # a valid Fernet key
    settings = settings_for(tmp_path, made)
    store_integration(settings, literal_key())
    runtime = runtime_for(settings)
    check_startup(runtime)
    with runtime.store.unit_of_work() as uow:
        stored = uow.integrations.get("prod")
    assert stored is not None and stored.credentials.private_key.get_secret_value() == PRIVATE_KEY  # type: ignore[union-attr]
    runtime.store.dispose()


@pytest.mark.parametrize(("concurrency", "pooled"), [(1, 10), (8, 20), (16, 36), (64, 132)])
def test_the_pool_holds_a_connection_for_every_grant_worked_at_once(tmp_path: Path, key: str, concurrency: int,
                                                                  pooled: int) -> None:
    # given ATLAS_MAX_CONCURRENCY, the worker works twice as many grants at once, each with its own unit of work
    store = build_store(settings_for(tmp_path, key, atlas_max_concurrency=concurrency))
    try:
        # then the pool keeps that many connections (and a few for the listeners and timers) instead of opening
        # and closing one per grant
        assert store.engine.pool.size() == pooled  # type: ignore[attr-defined]
    finally:
        store.dispose()
