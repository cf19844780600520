"""manifest.yml is a Slack app manifest that Slack would import, and it routes everything to /slack/events."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "tests/support/specs/slack-manifest.schema.json"  # Slack's own, copied by scripts/trim_specs.py


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return loaded


def _urls(manifest: dict[str, Any]) -> list[str]:
    settings = manifest["settings"]
    commands = [command["url"] for command in manifest["features"]["slash_commands"]]
    interactivity = settings["interactivity"]
    return [
        *commands,
        interactivity["request_url"],
        interactivity["message_menu_options_url"],
        settings["event_subscriptions"]["request_url"],
    ]


def test_given_slacks_schema_when_validating_the_manifest_then_it_conforms(
    manifest: dict[str, Any], schema: dict[str, Any]
) -> None:
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(manifest)
    ]
    assert errors == []


def test_the_app_is_named_atlas_access_with_a_bot_user(manifest: dict[str, Any]) -> None:
    assert manifest["display_information"]["name"] == "atlas-access"
    assert manifest["features"]["bot_user"]["display_name"] == "atlas-access"


def test_the_three_commands_each_have_a_description_and_a_usage_hint(manifest: dict[str, Any]) -> None:
    commands = {command["command"]: command for command in manifest["features"]["slash_commands"]}
    assert set(commands) == {"/atlas-access", "/atlas-sync", "/atlas-admin"}
    for command in commands.values():
        assert command["description"].strip()
        assert command["usage_hint"].strip()


def test_the_bot_asks_for_exactly_the_scopes_it_uses(manifest: dict[str, Any]) -> None:
    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == sorted(
        ["commands", "chat:write", "im:write", "users:read", "users:read.email", "usergroups:read", "files:write"]
    )
    assert "user" not in manifest["oauth_config"]["scopes"]


def test_every_slack_request_goes_to_the_one_events_endpoint(manifest: dict[str, Any]) -> None:
    urls = _urls(manifest)
    assert len(urls) == 6
    assert len(set(urls)) == 1
    parsed = urlparse(urls[0])
    assert parsed.scheme == "https"
    assert parsed.path == "/slack/events"


def test_http_mode_with_interactivity_home_tab_and_app_home_opened(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is False
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    app_home = manifest["features"]["app_home"]
    assert app_home["home_tab_enabled"] is True
    assert app_home["messages_tab_enabled"] is True
