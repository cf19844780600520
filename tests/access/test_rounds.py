"""How a timer round's failure is put into words for a log line and the owners' alert: never its input."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy import create_engine, text

from access.config import IntegrationSpec
from access.rounds import describe


def test_a_database_error_is_its_first_line_without_the_sql_or_its_parameters() -> None:
    engine = create_engine("sqlite://")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (name TEXT UNIQUE)"))
        connection.execute(text("INSERT INTO t VALUES ('hunter2-secret')"))
    with pytest.raises(Exception) as caught, engine.begin() as connection:
        connection.execute(text("INSERT INTO t VALUES (:name)"), {"name": "hunter2-secret"})
    said = describe(caught.value)
    assert said == "IntegrityError: (sqlite3.IntegrityError) UNIQUE constraint failed: t.name"
    assert "hunter2" not in said and "INSERT" not in said


def test_a_stored_spec_that_does_not_validate_names_its_fields_not_their_values() -> None:
    with pytest.raises(ValidationError) as caught:
        IntegrationSpec.model_validate({"name": "prod", "organization_id": "x", "approval_channel": "C1",
                                        "credentials": {"type": "api_key", "public_key": "pub",
                                                        "private_key": ["s3cr3t-value"]}})
    said = describe(caught.value)
    assert said.startswith("its stored configuration is not valid (") and "organization_id" in said
    assert "s3cr3t" not in said


@pytest.mark.parametrize(("error", "said"), [
    (ValueError("credential_rotation_days (10) is too large"), "credential_rotation_days (10) is too large"),
    (KeyError("password"), "KeyError: 'password'"),
    (RuntimeError(), "RuntimeError"),
    (RuntimeError("x" * 1000), "RuntimeError: " + "x" * 286 + "…"),
])
def test_other_errors_are_one_short_line(error: Exception, said: str) -> None:
    assert describe(error) == said
