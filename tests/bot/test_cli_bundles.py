"""Bundles in `config apply` and `config show`: shown as written, and a bundle naming a resource outside every flow
(or roles no flow offers there) is a CLI error with exit code 2 that writes nothing."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.access.test_config import VALID
from tests.bot.test_cli import env, run, write  # noqa: F401  (env is a fixture)

BUNDLE = {"name": "incident-payments", "items": [
    {"resource": "payments", "roles": ["GROUP_READ_ONLY"]},
    {"resource": "search", "roles": ["GROUP_READ_ONLY", "GROUP_DATA_ACCESS_READ_ONLY"]},
]}


def with_bundle(bundle: dict[str, Any], *, names: list[str] | None = None) -> dict[str, Any]:
    data = copy.deepcopy(VALID)
    flow = data["access_flows"][0]
    flow["bundles"] = [bundle]
    if names is not None:
        flow["resources"]["names"] = names
    return data


def test_a_bundle_is_applied_and_shown(env: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    code, _, err = run(capsys, "config", "apply", str(write(env, with_bundle(BUNDLE))))
    assert code == 0, err
    code, out, _ = run(capsys, "config", "show")
    assert code == 0 and yaml.safe_load(out)["access_flows"][0]["bundles"] == [BUNDLE]


@pytest.mark.parametrize(("bundle", "names", "said"), [
    ({"name": "b", "items": [{"resource": "vault", "roles": ["GROUP_READ_ONLY"]}]}, ["payments", "search"],
     "access_flows[0].bundles[0].items[0].resource: the bundle 'b' of flow 'prod-projects' names 'vault', which "
     "is outside every access flow of integration 'prod'"),
    ({"name": "b", "items": [{"resource": "payments", "roles": ["GROUP_OWNER"]}]}, None,
     "access_flows[0].bundles[0].items[0].resource: the bundle 'b' of flow 'prod-projects' asks for GROUP_OWNER on "
     "'payments', which no access flow of integration 'prod' offers there"),
    ({"name": "b", "items": [{"resource": "payments", "roles": ["GROUP_READ_ONLY"]}] * 2}, None,
     "names a resource twice"),
    ({"name": "b", "items": [{"resource": f"p{i}", "roles": ["GROUP_READ_ONLY"]} for i in range(11)]}, None,
     "access_flows[0].bundles[0].items"),
    ({"name": "b", "items": []}, None, "access_flows[0].bundles[0].items"),
    ({"name": "bad name", "items": [{"resource": "payments", "roles": ["GROUP_READ_ONLY"]}]}, None,
     "access_flows[0].bundles[0].name"),
])
def test_a_bad_bundle_is_refused_and_writes_nothing(
    env: Path, capsys: pytest.CaptureFixture[str], bundle: dict[str, Any], names: list[str] | None,  # noqa: F811
    said: str,
) -> None:
    code, _, err = run(capsys, "config", "apply", str(write(env, with_bundle(bundle, names=names))))
    assert code == 2
    assert said in err and "Traceback" not in err
    code, out, _ = run(capsys, "config", "show")
    assert code == 0 and yaml.safe_load(out) == {"integrations": [], "access_flows": []}


def test_a_bundle_is_checked_against_the_flows_already_stored(env: Path, capsys: pytest.CaptureFixture[str]  # noqa: F811
                                                              ) -> None:
    # a second flow, applied alone later, may bundle what the stored flow covers; narrowing the stored flow so its
    # bundle falls outside every flow is refused
    assert run(capsys, "config", "apply", str(write(env, with_bundle(BUNDLE))))[0] == 0
    narrowed = with_bundle(BUNDLE, names=["payments"])
    code, _, err = run(capsys, "config", "apply", str(write(env, narrowed)))
    assert code == 2 and "'search', which is outside every access flow" in err
