"""Refreshes the copies of the official Atlas, Slack, PagerDuty and Okta specs that the tests read, from the files
beside the repo.

Usage: .venv/bin/python scripts/trim_specs.py [--atlas-source PATH] [--slack-source PATH] [--pagerduty-source PATH]
       [--okta-source PATH] [--check]

- tests/support/specs/atlas-openapi-v2.trimmed.json: the Atlas Admin API v2 spec (4 MB of YAML) cut down to the
  operations this project uses, the deprecated ones the sandbox names, and the ones the coming work needs, with
  every component they reach through `$ref` or a discriminator mapping. Kept nodes are copied verbatim, so the
  conformance checker and the schema checks read them exactly as in the full file. Its `x-trimmed` header records
  the source: path, sha256, `info.version` and the upstream commit.
- tests/support/specs/slack-manifest.schema.json: Slack's app manifest JSON schema, byte for byte, and beside it
  slack-manifest.schema.source.json saying where it came from.
- tests/support/specs/pagerduty-openapi.trimmed.json and okta-management.trimmed.json: PagerDuty's REST API v2 and
  Okta's management API cut the same way to the operations the on-call and approver-group adapters call
  (`PAGERDUTY_OPERATIONS`, `OKTA_OPERATIONS`), so every request their sandboxes receive is checked against them.

The output is canonical JSON (keys sorted, two-space indent), so a refresh from a newer spec shows as a readable
diff, and running the script twice gives the same bytes: a copy whose content did not change keeps its date.
With --check nothing is written; the exit status is 1 when a copy is out of date.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from atlas.operations import OPERATIONS

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "tests" / "support" / "specs"
ATLAS_COPY = SPECS / "atlas-openapi-v2.trimmed.json"
SLACK_COPY = SPECS / "slack-manifest.schema.json"
SLACK_NOTE = SPECS / "slack-manifest.schema.source.json"
HEADER = "x-trimmed"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
COMPONENTS = "#/components/"


@dataclass(frozen=True, kw_only=True)
class Upstream:
    """Where a file beside the repository was copied from; `sha256` ties the record to that very file."""

    local: str  # where the project keeps it, beside the repository
    repository: str
    path: str
    commit: str
    commit_date: str | None = None
    release: str | None = None
    sha256: str
    note: str


# When the source changes, say here where the new copy comes from: the script refuses a file it cannot vouch for.
ATLAS_UPSTREAM = Upstream(
    local="../shared/atlas/openapi-v2.yaml",
    repository="mongodb/mongodb-atlas-cli",
    path="tools/internal/specs/spec.yaml",
    commit="6fd452a0",
    commit_date="2026-08-21",
    sha256="0fd914afb4a3e1ede2d0f48822fe30d7f1ba2c287625382dfb98bbe2606119f9",
    note="the public mongodb/openapi openapi/v2.yaml as vendored by the Atlas CLI",
)
SLACK_UPSTREAM = Upstream(
    local="../shared/slack/manifest.schema.json",
    repository="slackapi/manifest-schema",
    path="schemas/manifest.schema.1.0.0.json",
    commit="c50cfa85",
    release="v0.5.0",
    sha256="f2adf9f9800230e2fe44bab0762796492871edaab817e9160fdcdf0eb4642e58",
    note="Slack's public JSON Schema (draft-07) for app manifests, v1",
)

PAGERDUTY_COPY = SPECS / "pagerduty-openapi.trimmed.json"
OKTA_COPY = SPECS / "okta-management.trimmed.json"
PAGERDUTY_UPSTREAM = Upstream(
    local="../shared/pagerduty/openapiv3.json",
    repository="PagerDuty/api-schema",
    path="reference/REST/openapiv3.json",
    commit="91a06fb",
    commit_date="2026-08-14",
    sha256="b2e80f8b83b170f29702e96a69adf230702b4ec43dddab7e348a2985c707ef35",
    note="PagerDuty's own OpenAPI 3 description of its REST API v2",
)
OKTA_UPSTREAM = Upstream(
    local="../shared/okta/management-openapi.yaml",
    repository="okta/okta-management-openapi-spec",
    path="dist/current/management-oneOfInheritance-noExamples.yaml",
    commit="fdda229",
    release="2026.06.3",
    sha256="b3520baa5262a2d1ef5b2280731f2f54848922e0d6fde5da342c5580ecd6a027",
    note="Okta's own OpenAPI 3 description of its management API",
)
# What pagerduty/ and okta/ call (pagerduty.on_call, okta.groups): the sandboxes answer exactly these.
PAGERDUTY_OPERATIONS = ("listOnCalls", "getSchedule")
OKTA_OPERATIONS = ("listGroups", "listGroupUsers")

# Not called yet, but the coming work (cluster inventory, teams, custom database roles, IP access lists) will.
UPCOMING = (
    "listOrgTeams",
    "listGroupTeams",
    "listOrgTeamUsers",
    "addOrgTeamUser",
    "removeOrgTeamUser",
    "listGroupCustomDbRoleRoles",
    "createGroupCustomDbRoleRole",
    "deleteGroupCustomDbRoleRole",
    "createGroupAccessListEntry",
    "deleteGroupAccessListEntry",
    "listGroupAccessListEntries",
    "getGroupAccessListEntry",
)

# Deprecated (sunset 2027-07-01) and never to be called; the sandbox names them (atlas/sandbox/routing.py). Kept so
# that a call to one is reported as "deprecated" by its name rather than as an unknown path.
NEVER_USE = (
    "createOrgInvite",
    "listOrgInvites",
    "updateOrgInvites",
    "getOrgInvite",
    "updateOrgInviteById",
    "deleteOrgInvite",
    "updateOrgUserRoles",
    "createGroupInvite",
    "listGroupInvites",
    "updateGroupInvites",
    "getGroupInvite",
    "updateGroupInviteById",
    "deleteGroupInvite",
    "addGroupAccessUser",
    "updateGroupUserRoles",
    "addOrgTeamUsers",
    "removeOrgTeamUserFromTeam",
    "createUser",
    "getUser",
    "getUserByName",
)


class SourceError(Exception):
    """The source is not the file the script knows how to vouch for, or lacks something the project needs."""


def operation_ids() -> list[str]:
    """Every operation the trimmed spec keeps: the project's table, the coming work's, the never-use ones."""
    return sorted({*OPERATIONS, *UPCOMING, *NEVER_USE})


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def vouch(data: bytes, upstream: Upstream, source: Path) -> None:
    digest = sha256(data)
    if digest != upstream.sha256:
        raise SourceError(
            f"{source} has sha256 {digest}, not the copy of {upstream.repository}@{upstream.commit} this script "
            f"knows ({upstream.sha256}); say where the new file comes from in scripts/trim_specs.py first"
        )


# trimming


def trim(document: dict[str, Any], wanted: Iterable[str]) -> dict[str, Any]:
    """The document cut to the wanted operations and everything they reach (no header)."""
    wanted = set(wanted)
    paths: dict[str, Any] = {}
    found: set[str] = set()
    for template, item in document["paths"].items():
        kept = {key: value for key, value in item.items()
                if key not in METHODS or value.get("operationId") in wanted}  # fmt: skip
        ids = {value["operationId"] for key, value in kept.items() if key in METHODS}
        if ids:
            paths[template] = kept
            found |= ids
    if missing := sorted(wanted - found):
        raise SourceError(f"the spec has no operation {', '.join(missing)}")
    security = [document.get("security") or [], *(op.get("security") or [] for op in _operations(paths))]
    schemes = {name for requirements in security for requirement in requirements for name in requirement}
    tags = {tag for op in _operations(paths) for tag in op.get("tags") or []}
    components = _reached(document, paths)
    if schemes:
        available = document["components"].get("securitySchemes", {})
        components["securitySchemes"] = {name: available[name] for name in schemes}
    trimmed = {
        "openapi": document["openapi"],
        "info": document["info"],
        "servers": document.get("servers") or [],
        "security": document.get("security") or [],
        "tags": [tag for tag in document.get("tags") or [] if tag.get("name") in tags],
        "paths": paths,
        "components": components,
    }
    return {key: value for key, value in trimmed.items() if value}


def _operations(paths: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for item in paths.values():
        for key, value in item.items():
            if key in METHODS:
                yield value


def _reached(document: dict[str, Any], paths: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every component the paths reach, following `$ref`s and discriminator mappings (any '#/components/...')."""
    available = document.get("components", {})
    reached: dict[str, dict[str, Any]] = {}
    pending = list(_references(paths))
    while pending:
        ref = pending.pop()
        kind, _, pointer = ref.removeprefix(COMPONENTS).partition("/")
        # The component itself, also for a pointer into it (PagerDuty: `responses/Conflict/content/...`).
        name = pointer.split("/", 1)[0].replace("~1", "/").replace("~0", "~")  # JSON pointer escapes
        if name in reached.get(kind, {}):
            continue
        if name not in available.get(kind, {}):
            raise SourceError(f"{ref} does not resolve in the spec")
        node = available[kind][name]
        reached.setdefault(kind, {})[name] = node
        pending.extend(_references(node))
    return reached


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for value in node.values():
            yield from _references(value)
    elif isinstance(node, list):
        for value in node:
            yield from _references(value)
    elif isinstance(node, str) and node.startswith(COMPONENTS):
        yield node


# writing


def canonical(node: Any) -> Any:
    """Keys sorted at every level, so the bytes depend on the content only."""
    if isinstance(node, dict):
        return {key: canonical(node[key]) for key in sorted(node)}
    if isinstance(node, list):
        return [canonical(item) for item in node]
    return node


def render(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


def dated(build: Callable[[str], bytes], existing: Path, today: str) -> bytes:
    """`build(date)` rendered with the date the existing copy records when nothing else changed, else today's."""
    if existing.is_file():
        try:
            previous = json.loads(existing.read_bytes())
            recorded = previous[HEADER]["date"] if HEADER in previous else previous["date"]
        except (ValueError, KeyError, TypeError):
            recorded = None
        if isinstance(recorded, str) and build(recorded) == existing.read_bytes():
            return existing.read_bytes()
    return build(today)


def atlas_copy(source: Path, today: str) -> bytes:
    data = source.read_bytes()
    vouch(data, ATLAS_UPSTREAM, source)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    document = yaml.load(data, Loader=loader)  # noqa: S506 (a safe loader)
    trimmed = canonical(trim(document, operation_ids()))
    kept = sorted(op["operationId"] for op in _operations(trimmed["paths"]))

    def build(when: str) -> bytes:
        header = {
            "description": "The operations atlas-access uses, the deprecated ones it must never use and the ones "
            "its coming work needs, with every component they reach, copied verbatim from the official MongoDB "
            "Atlas Administration API v2 spec. Generated by scripts/trim_specs.py: do not edit by hand.",
            "source": {
                "path": ATLAS_UPSTREAM.local,
                "sha256": sha256(data),
                "infoVersion": document["info"]["version"],
                "upstream": _upstream(ATLAS_UPSTREAM),
            },
            "date": when,
            "operations": kept,
        }
        return render({HEADER: canonical(header), **trimmed})

    return dated(build, ATLAS_COPY, today)


def slack_note(source: Path, today: str) -> bytes:
    data = source.read_bytes()
    vouch(data, SLACK_UPSTREAM, source)

    def build(when: str) -> bytes:
        note = {
            "description": f"{SLACK_COPY.name} is a byte-for-byte copy of {SLACK_UPSTREAM.note}. "
            "Refreshed by scripts/trim_specs.py: do not edit by hand.",
            "source": {"path": SLACK_UPSTREAM.local, "sha256": sha256(data), "upstream": _upstream(SLACK_UPSTREAM)},
            "date": when,
        }
        return render(canonical(note))

    return dated(build, SLACK_NOTE, today)


def vendor_copy(source: Path, upstream: Upstream, operations: Iterable[str], existing: Path, today: str,
                title: str) -> bytes:
    """A vendor's spec trimmed to `operations`, with the same `x-trimmed` header as the Atlas copy."""
    data = source.read_bytes()
    vouch(data, upstream, source)
    if source.suffix == ".json":
        document = json.loads(data)
    else:
        document = yaml.load(data, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 (safe)
    trimmed = canonical(trim(document, operations))
    kept = sorted(op["operationId"] for op in _operations(trimmed["paths"]))

    def build(when: str) -> bytes:
        header = {
            "description": f"The operations atlas-access calls, with every component they reach, copied verbatim "
            f"from {title}. Generated by scripts/trim_specs.py: do not edit by hand.",
            "source": {"path": upstream.local, "sha256": sha256(data), "infoVersion": document["info"]["version"],
                       "upstream": _upstream(upstream)},
            "date": when,
            "operations": kept,
        }
        return render({HEADER: canonical(header), **trimmed})

    return dated(build, existing, today)


def _upstream(upstream: Upstream) -> dict[str, str]:
    record = {"repository": upstream.repository, "path": upstream.path, "commit": upstream.commit,
              "commitDate": upstream.commit_date, "release": upstream.release, "note": upstream.note}  # fmt: skip
    return {key: value for key, value in record.items() if value is not None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--atlas-source",
        type=Path,
        default=ROOT / ATLAS_UPSTREAM.local,
        help=f"the official Atlas spec (default: {ATLAS_UPSTREAM.local})",
    )
    parser.add_argument(
        "--slack-source",
        type=Path,
        default=ROOT / SLACK_UPSTREAM.local,
        help=f"Slack's manifest schema (default: {SLACK_UPSTREAM.local})",
    )
    parser.add_argument("--pagerduty-source", type=Path, default=ROOT / PAGERDUTY_UPSTREAM.local,
                        help=f"PagerDuty's REST API spec (default: {PAGERDUTY_UPSTREAM.local})")
    parser.add_argument("--okta-source", type=Path, default=ROOT / OKTA_UPSTREAM.local,
                        help=f"Okta's management API spec (default: {OKTA_UPSTREAM.local})")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a copy is out of date")
    args = parser.parse_args(argv)
    for source in (args.atlas_source, args.slack_source, args.pagerduty_source, args.okta_source):
        if not source.is_file():
            parser.error(f"{source} is not a file")
    today = date.today().isoformat()
    try:
        wanted = {
            ATLAS_COPY: atlas_copy(args.atlas_source, today),
            SLACK_COPY: args.slack_source.read_bytes(),
            SLACK_NOTE: slack_note(args.slack_source, today),
            PAGERDUTY_COPY: vendor_copy(args.pagerduty_source, PAGERDUTY_UPSTREAM, PAGERDUTY_OPERATIONS,
                                        PAGERDUTY_COPY, today, "PagerDuty's REST API v2 spec"),
            OKTA_COPY: vendor_copy(args.okta_source, OKTA_UPSTREAM, OKTA_OPERATIONS, OKTA_COPY, today,
                                   "Okta's management API spec"),
        }
    except SourceError as error:
        print(f"trim_specs: {error}", file=sys.stderr)
        return 2
    stale = [path for path, data in wanted.items() if not path.is_file() or path.read_bytes() != data]
    for path in stale:
        shown = path.relative_to(ROOT)
        if args.check:
            print(f"{shown} is out of date: run .venv/bin/python scripts/trim_specs.py", file=sys.stderr)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(wanted[path])
            print(f"wrote {shown} ({len(wanted[path]):,} bytes)")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
