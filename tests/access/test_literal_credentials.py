"""Credentials as the adapters call with: literal values kept, environment variable names read, a missing variable
named (never a value)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from access.config import ApiKeyCredentials, ServiceAccountCredentials, literal_credentials
from access.errors import CredentialsMissing

ENV = {"PUB": "pub-from-env", "PRIV": "priv-from-env-secret", "CID": "cid-from-env", "CSEC": "csec-from-env-secret"}


@pytest.mark.parametrize(("given", "identity", "secret"), [
    ({"type": "api_key", "public_key": "pub", "private_key": "s3cret-literal"}, "pub", "s3cret-literal"),
    ({"type": "api_key", "public_key_env": "PUB", "private_key_env": "PRIV"}, "pub-from-env", "priv-from-env-secret"),
    ({"type": "api_key", "public_key": "pub", "private_key_env": "PRIV"}, "pub", "priv-from-env-secret"),
    ({"type": "service_account", "client_id": "cid", "client_secret": "s3cret-sa"}, "cid", "s3cret-sa"),
    ({"type": "service_account", "client_id_env": "CID", "client_secret_env": "CSEC"}, "cid-from-env",
     "csec-from-env-secret"),
])  # fmt: skip
def test_literal_values_are_kept_and_named_variables_read(given: dict[str, Any], identity: str, secret: str) -> None:
    spec = (ApiKeyCredentials if given["type"] == "api_key" else ServiceAccountCredentials).model_validate(given)
    literal = literal_credentials(spec, env=ENV, integration="prod")
    if isinstance(literal, ApiKeyCredentials):
        values = (literal.public_key, literal.private_key, literal.public_key_env, literal.private_key_env)
    else:
        values = (literal.client_id, literal.client_secret, literal.client_id_env, literal.client_secret_env)
    assert values[0] == identity and isinstance(values[1], SecretStr) and values[1].get_secret_value() == secret
    assert values[2:] == (None, None) and secret not in repr(literal)


@pytest.mark.parametrize(("env", "words"), [
    ({}, "integration prod: the API public key is not set (environment variable PUB)"),
    ({"PUB": "pub"}, "integration prod: the API private key is not set (environment variable PRIV)"),
    ({"PUB": "pub", "PRIV": ""}, "integration prod: the API private key is not set (environment variable PRIV)"),
])  # fmt: skip
def test_a_variable_that_is_not_set_is_named(env: dict[str, str], words: str) -> None:
    spec = ApiKeyCredentials(type="api_key", public_key_env="PUB", private_key_env="PRIV")
    with pytest.raises(CredentialsMissing) as missing:
        literal_credentials(spec, env=env, integration="prod")
    assert str(missing.value) == words
