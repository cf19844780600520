"""Integrations and access flows: round trips, upsert by name, secrets encrypted at rest, the key check."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, event, text

from access.config import ApiKeyCredentials, IntegrationSpec, ServiceAccountCredentials
from access.errors import StoreUnavailable
from storage.config_repos import MissingSecret, SpecCache
from storage.crypto import SecretBox, SecretKeyError
from storage.store import SqlStore
from tests.storage import builders as b

PRIVATE = "PRIVATE-8c1f-secret"


def save(store: SqlStore, spec: IntegrationSpec, *, keep_secrets: bool = False) -> bool:
    with store.unit_of_work() as uow:
        return uow.integrations.upsert(spec, keep_secrets=keep_secrets)


def load(store: SqlStore, name: str = "prod") -> IntegrationSpec | None:
    with store.unit_of_work() as uow:
        return uow.integrations.get(name)


def raw_integration_row(engine: Engine) -> str:
    with engine.connect() as connection:
        return " ".join(str(v) for v in connection.execute(text("SELECT * FROM integration")).one())


def test_an_integration_with_every_field_comes_back_equal(store: SqlStore) -> None:
    spec = b.integration(
        discovery=["projects"], credential_rotation_days=30, custom_access_details="Sign in with SSO.",
        resource_owner={"tag_key": "owner"}, extra_project_roles=["GROUP_NEW_ROLE"], enabled=False,
        remove_unmanaged_roles=True,
    )
    assert save(store, spec) is True
    loaded = load(store)
    assert loaded == spec
    assert isinstance(loaded.credentials, ApiKeyCredentials)
    assert loaded.credentials.private_key is not None
    assert loaded.credentials.private_key.get_secret_value() == PRIVATE


@pytest.mark.parametrize("credentials", [
    {"type": "api_key", "public_key_env": "ATLAS_PUB", "private_key_env": "ATLAS_PRIV"},
    {"type": "service_account", "client_id": "mdb_sa_id_1", "client_secret": "mdb_sa_sk_secret"},
    {"type": "service_account", "client_id_env": "SA_ID", "client_secret_env": "SA_SECRET"},
])
def test_every_kind_of_credentials_round_trips(store: SqlStore, credentials: dict[str, str]) -> None:
    spec = b.integration(credentials=credentials)
    save(store, spec)
    assert load(store) == spec


def test_upsert_by_name_updates_in_place_and_list_is_by_name(store: SqlStore) -> None:
    assert save(store, b.integration("zeta")) is True
    assert save(store, b.integration("alpha")) is True
    assert save(store, b.integration("zeta", approval_channel="C0OTHER")) is False
    with store.unit_of_work() as uow:
        listed = uow.integrations.list()
    assert [s.name for s in listed] == ["alpha", "zeta"] and listed[1].approval_channel == "C0OTHER"


def test_literal_secrets_are_encrypted_at_rest(store: SqlStore, engine: Engine) -> None:
    save(store, b.integration(credentials={"type": "service_account", "client_id": "mdb_sa_id_1",
                                           "client_secret": "mdb_sa_sk_secret"}))
    row = raw_integration_row(engine)
    assert "mdb_sa_sk_secret" not in row and "mdb_sa_id_1" in row
    save(store, b.integration())
    row = raw_integration_row(engine)
    assert PRIVATE not in row and "pubkey01" in row
    assert store.has_encrypted_secrets() is True
    store.check_secret_key()


def test_env_var_credentials_store_no_secret_and_need_no_key(engine: Engine) -> None:
    keyless = SqlStore(engine, SecretBox(None))
    save(keyless, b.integration(credentials={"type": "api_key", "public_key_env": "P", "private_key_env": "S"}))
    assert keyless.has_encrypted_secrets() is False
    keyless.check_secret_key()  # nothing to decrypt: fine without a key
    assert load(keyless) is not None


def test_a_wrong_key_is_a_clear_error_that_reveals_nothing(store: SqlStore, engine: Engine, secret_key: str) -> None:
    # given a literal secret stored with one key
    save(store, b.integration())
    other_key = SecretBox.generate_key()
    wrong = SqlStore(engine, SecretBox(other_key))
    # when the store is opened with another key (or none)
    for reopened in (wrong, SqlStore(engine, SecretBox(None))):
        with pytest.raises(SecretKeyError) as raised:
            reopened.check_secret_key()
        with pytest.raises(SecretKeyError):
            load(reopened)
        # then the error names the variable and shows neither key nor secret
        message = str(raised.value) + repr(raised.value)
        assert "ATLAS_ACCESS_SECRET_KEY" in message
        assert PRIVATE not in message and secret_key not in message and other_key not in message
        error = raised.value  # no chained cryptography error that could carry more
        assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)


def test_a_malformed_key_is_rejected_without_echoing_it() -> None:
    with pytest.raises(SecretKeyError) as raised:
        SecretBox("not-a-fernet-key-but-a-secret")
    assert "not-a-fernet-key-but-a-secret" not in str(raised.value)


def test_storing_a_literal_secret_without_a_key_is_refused(engine: Engine) -> None:
    with pytest.raises(SecretKeyError, match="not set"):
        save(SqlStore(engine, SecretBox(None)), b.integration())


def test_keep_secrets_keeps_the_stored_secret_when_the_form_leaves_it_blank(store: SqlStore) -> None:
    # given an integration with a literal secret
    save(store, b.integration())
    # when the admin edits it, leaving the secret field blank (a spec built without validation)
    edited = b.integration(approval_channel="C0EDITED").model_copy(
        update={"credentials": ApiKeyCredentials.model_construct(type="api_key", public_key="pubkey02")})
    assert save(store, edited, keep_secrets=True) is False
    # then the other fields changed and the secret did not
    loaded = load(store)
    assert loaded is not None and loaded.approval_channel == "C0EDITED"
    assert loaded.credentials == ApiKeyCredentials(type="api_key", public_key="pubkey02", private_key=PRIVATE)


def test_a_new_literal_secret_replaces_the_stored_one_even_with_keep_secrets(store: SqlStore) -> None:
    save(store, b.integration())
    rotated = b.integration(credentials={"type": "api_key", "public_key": "pubkey02", "private_key": "NEW-secret"})
    save(store, rotated, keep_secrets=True)
    assert load(store) == rotated


def test_keep_secrets_with_nothing_to_keep_is_refused(store: SqlStore) -> None:
    blank = b.integration().model_copy(update={"credentials": ServiceAccountCredentials.model_construct(
        type="service_account", client_id="mdb_sa_id_1")})
    with pytest.raises(MissingSecret, match="client_secret"):
        save(store, blank, keep_secrets=True)
    save(store, b.integration())  # an api key's secret is no service account's secret
    with pytest.raises(MissingSecret):
        save(store, blank, keep_secrets=True)


def test_switching_to_environment_variables_drops_the_stored_secret(store: SqlStore) -> None:
    save(store, b.integration())
    save(store, b.integration(credentials={"type": "api_key", "public_key_env": "P", "private_key_env": "S"}),
         keep_secrets=True)
    assert store.has_encrypted_secrets() is False


def test_status_fields_and_inventory_counts(store: SqlStore, clock: b.Clock) -> None:
    save(store, b.integration())
    clock.advance(60)
    with store.unit_of_work() as uow:
        uow.integrations.set_status("prod", last_sync_at=clock.now(), last_sync_error="HTTP 401",
                                    pending_retire_id="6c0000000000000000000001")
        uow.inventory.apply(integration="prod", inventory=b.inventory((b.project(1, clusters=2),)), now=clock.now())
        with pytest.raises(ValueError, match="enabled"):  # status only, never configuration
            uow.integrations.set_status("prod", enabled=False)
    with store.unit_of_work() as uow:
        status = uow.integrations.status("prod")
        assert uow.integrations.status("missing") == {}
    assert status == {
        "last_sync_at": b.T0 + timedelta(seconds=60), "last_sync_error": "HTTP 401", "last_rotation_at": None,
        "last_rotation_error": None, "pending_retire_id": "6c0000000000000000000001",
        "created_at": b.T0, "updated_at": b.T0,
        "counts": {"organizations": 1, "projects": 1, "clusters": 2, "users": 0},
    }


def test_a_config_upsert_keeps_the_status_and_the_creation_time(store: SqlStore, clock: b.Clock) -> None:
    save(store, b.integration())
    with store.unit_of_work() as uow:
        uow.integrations.set_status("prod", last_rotation_at=b.T0, last_rotation_error="boom")
    clock.advance(3600)
    save(store, b.integration(approval_channel="C0NEW"))
    with store.unit_of_work() as uow:
        status = uow.integrations.status("prod")
    assert (status["last_rotation_at"], status["last_rotation_error"]) == (b.T0, "boom")
    assert (status["created_at"], status["updated_at"]) == (b.T0, b.T0 + timedelta(hours=1))


def test_a_flow_with_every_field_comes_back_equal(store: SqlStore) -> None:
    spec = b.flow(requesters=["@payments", "U0ADA", "ada@example.com"], roles=["GROUP_READ_ONLY", "GROUP_OWNER"],
                  max_duration="1d2h30m", approval="auto", approvals_required=2, justification="optional",
                  enabled=False)
    with store.unit_of_work() as uow:
        assert uow.flows.upsert(spec) is True
    with store.unit_of_work() as uow:
        loaded = uow.flows.get("prod-projects")
        assert uow.flows.get("missing") is None
    assert loaded == spec and loaded.max_duration == timedelta(days=1, hours=2, minutes=30)


def test_flows_upsert_by_name_and_list_enabled_only(store: SqlStore) -> None:
    with store.unit_of_work() as uow:
        uow.flows.upsert(b.flow("b-flow"))
        uow.flows.upsert(b.flow("a-flow", enabled=False))
        assert uow.flows.upsert(b.flow("b-flow", roles=["GROUP_OWNER"])) is False
    with store.unit_of_work() as uow:
        assert [f.name for f in uow.flows.list()] == ["a-flow", "b-flow"]
        assert [f.name for f in uow.flows.list(enabled_only=True)] == ["b-flow"]
        assert uow.flows.list(enabled_only=True)[0].roles == ["GROUP_OWNER"]


def test_secret_str_survives_only_as_ciphertext(store: SqlStore, engine: Engine) -> None:
    spec = b.integration()
    assert isinstance(spec.credentials.private_key, SecretStr)  # type: ignore[union-attr]
    save(store, spec)
    with engine.connect() as connection:
        ciphertext = connection.execute(text("SELECT credential_secret FROM integration")).scalar()
    assert ciphertext and ciphertext.startswith("gAAAA")  # a Fernet token


# --- the cache of decrypted specs (SpecCache, read through SqlStore.integration) ----------------------------


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def statements_of(engine: Engine) -> list[str]:
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    return seen


def channel(store: SqlStore) -> str:
    spec = store.integration("prod")
    assert spec is not None
    return spec.approval_channel


def test_a_spec_read_again_within_the_ttl_costs_no_query(store: SqlStore, engine: Engine) -> None:
    # given an integration read once through the cache
    save(store, b.integration())
    assert store.integration("prod") == b.integration()
    seen = statements_of(engine)
    # when it is read again, then it comes from the cache: no query at all
    assert store.integration("prod") == b.integration()
    assert seen == []


def test_this_process_reads_its_own_writes_at_once(store: SqlStore) -> None:
    # given a cached integration
    save(store, b.integration(approval_channel="C0OLD"))
    assert channel(store) == "C0OLD"
    # when it is changed through the same store, then the next read shows the change (the ttl notwithstanding)
    save(store, b.integration(approval_channel="C0NEW"))
    assert channel(store) == "C0NEW"


def test_a_unit_of_work_reads_the_stored_spec_not_the_cache(store: SqlStore, engine: Engine,
                                                            secret_key: str) -> None:
    # given a cached spec, then changed by another process
    save(store, b.integration(approval_channel="C0OLD"))
    assert channel(store) == "C0OLD"
    save(SqlStore(engine, SecretBox(secret_key)), b.integration(approval_channel="C0NEW"))
    # then a unit of work (admin views, config) reads what is stored now
    assert load(store).approval_channel == "C0NEW"  # type: ignore[union-attr]


def test_another_replicas_change_shows_once_the_ttl_has_passed(store: SqlStore, engine: Engine,
                                                              secret_key: str) -> None:
    # given this replica's cache, on a clock the test moves, holding the integration
    ticks = Ticks()
    store.specs = SpecCache(2.0, monotonic=ticks)
    save(store, b.integration(approval_channel="C0OLD"))
    assert channel(store) == "C0OLD"
    # when another replica (another store on the same database) changes it
    save(SqlStore(engine, SecretBox(secret_key)), b.integration(approval_channel="C0NEW"))
    # then this one shows the old spec until the ttl has passed, and the new one after
    ticks.now += 1.9
    assert channel(store) == "C0OLD"
    ticks.now += 0.2
    assert channel(store) == "C0NEW"


def test_a_read_that_raced_with_a_write_is_not_kept() -> None:
    # given a read that started before a write was committed (it saw the old spec)
    cache = SpecCache(60.0)
    started_in = cache.generation
    cache.invalidate()  # the write
    # when the read puts what it saw, then the cache does not keep it
    cache.put("prod", b.integration(approval_channel="C0OLD"), generation=started_in)
    assert cache.get("prod") == (False, None)


def read_from_threads(cache: SpecCache, read: Callable[[], IntegrationSpec | None],
                      threads: int = 8) -> list[object]:
    """`cache.get_or_read("prod", read)` from `threads` threads at once; what each got (a spec or an exception)."""
    got: list[object] = []

    def one() -> None:
        try:
            got.append(cache.get_or_read("prod", read))
        except Exception as error:
            got.append(error)

    workers = [threading.Thread(target=one) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(10)
    return got


def test_threads_missing_the_spec_at_once_wait_for_one_read() -> None:
    # given a read of the spec that takes a while (a query and a decryption)
    cache, reads, spec = SpecCache(60.0), [], b.integration()

    def read() -> IntegrationSpec | None:
        reads.append(1)
        time.sleep(0.2)
        return spec

    # when eight threads miss it at once (an expiry burst's workers as the ttl runs out)
    got = read_from_threads(cache, read)
    # then it was read once, and every thread got it
    assert len(reads) == 1 and got == [spec] * 8


def test_a_failed_read_is_not_kept_and_those_waiting_read_for_themselves() -> None:
    # given a read that fails the first time (the database away for a moment), slowly
    cache, reads, spec = SpecCache(60.0), [], b.integration()

    def read() -> IntegrationSpec | None:
        reads.append(1)
        if len(reads) == 1:
            time.sleep(0.2)
            raise StoreUnavailable("the database is away")
        return spec

    # when eight threads miss it at once
    got = read_from_threads(cache, read)
    # then the first read's failure is its caller's alone: the others read again and got the spec
    assert sum(isinstance(g, StoreUnavailable) for g in got) == 1 and got.count(spec) == 7
    assert cache.get("prod") == (True, spec)


def test_an_unknown_integration_is_cached_as_unknown_until_one_is_added(store: SqlStore) -> None:
    assert store.integration("nope") is None
    save(store, b.integration("nope"))
    assert store.integration("nope") is not None


def test_a_flow_row_that_no_longer_reads_is_left_out_of_the_list(store: SqlStore, engine: Engine) -> None:
    # given two flows, one of whose rows was damaged outside the bot (an approval kind that does not exist)
    with store.unit_of_work() as uow:
        uow.flows.upsert(b.flow("a-flow"))
        uow.flows.upsert(b.flow("b-flow"))
    with engine.begin() as connection:
        connection.execute(text("UPDATE access_flow SET approval = 'sometimes' WHERE name = 'a-flow'"))

    # then listing the flows gives the other one (the request modal and the admin views still work)
    with store.unit_of_work() as uow:
        assert [f.name for f in uow.flows.list()] == ["b-flow"]
        assert [f.name for f in uow.flows.list(enabled_only=True)] == ["b-flow"]
