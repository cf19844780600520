"""The end-to-end world for administration stories: the request-flow world (see `harness`) with the admin
listeners registered, admins configured, and a little more in Atlas and Slack.

Admins: @atlas-admins (S2: dan) and the user id U0IDA (ida). eve (U5) is not an admin; mallory (U9) is a Slack
Connect guest. More in Atlas: clusters in payments and search, a project `orphans` tagged owner=empty-team
(S4, a user group with no members), and a second organization with its own API key (for "wrong organization").
The Atlas client's retry waits advance the clock instead of sleeping, so the sandbox's rate-limit bucket
refills as it would in real time while tests stay fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bot.app import Runtime, build_runtime
from tests.e2e.harness import DAN, Harness, blocks_text, wait

IDA = "U0IDA"
ADMINS = "@atlas-admins,U0IDA"
OTHER_CHANNEL = "C0OTHER"


class AdminHarness(Harness):
    def __init__(self, tmp_path: Path, **settings: Any) -> None:
        super().__init__(tmp_path, **({"atlas_access_admins": ADMINS, "sync_progress_seconds": 0} | settings))
        self.sim.add_user(IDA, name="ida", email="ida@example.com")
        self.sim.add_usergroup("S4", handle="empty-team", members=[])
        self.sim.add_channel(OTHER_CHANNEL, name="atlas-other")
        self.sb.add_cluster(group_id=self.atlas.projects["payments"], name="payments-main")
        self.sb.add_cluster(group_id=self.atlas.projects["payments"], name="payments-analytics")
        self.sb.add_cluster(group_id=self.atlas.projects["search"], name="search-main")
        self.atlas.projects["orphans"] = self.sb.add_project(org_id=self.atlas.org_id, name="orphans",
                                                            tags={"owner": "empty-team"})
        self.other_org = self.sb.add_org(name="Globex")
        self.other_key = self.sb.add_api_key(org_id=self.other_org, roles=["ORG_OWNER"])

    def build_runtime(self) -> Runtime:
        return build_runtime(self.settings, clock=self.clock, atlas_transport=self.atlas_transport(),
                             atlas_sleep=self._wait, slack_sleep=self.slack_sleeps.append, worker_concurrency=1,
                             **self.vendor_transports())

    def _wait(self, seconds: float) -> None:
        self.atlas_sleeps.append(seconds)
        self.clock.advance(seconds)

    # --- the admin home --------------------------------------------------------------------------------------

    def open_admin(self, user: str = DAN, *, settled: bool = True) -> dict[str, Any]:
        """/atlas-admin; the home modal once filled (and, if `settled`, once its credential checks are done)."""
        before = len(self.sim.calls_to("views.open"))
        assert self.slack.command(user, command="/atlas-admin").status_code == 200
        wait(lambda: len(self.sim.calls_to("views.open")) > before)
        view = self.sim.last_view(user_id=user, callback_id="admin_home")
        assert view is not None
        return self.home(view["id"], phrase="Integrations" if not settled else None)

    def home(self, view_id: str, *, phrase: str | None = None) -> dict[str, Any]:
        """The home modal once it shows `phrase` (default: once no credential check is still running)."""
        def ready() -> dict[str, Any] | None:
            view = self.sim.views.get(view_id)
            text = view_text(view) if view else ""
            if phrase is not None:
                return view if phrase in text else None
            return view if "Integrations" in text and "checking…" not in text else None

        return wait(ready)

    def push_count(self) -> int:
        return len(self.sim.calls_to("views.push"))

    def pushed(self, user: str, callback_id: str, before: int) -> dict[str, Any]:
        wait(lambda: self.push_count() > before)
        view = self.sim.last_view(user_id=user, callback_id=callback_id)
        assert view is not None
        return view

    def responses(self) -> list[str]:
        """What the app said through response_urls (ephemeral replies to slash commands), oldest first."""
        return [str(r.body.get("text", "")) for r in self.sim.responses]


def view_text(view: dict[str, Any] | None) -> str:
    """All the text of a modal: sections, contexts, headers, and the labels of inputs."""
    if not view:
        return ""
    parts = [blocks_text({"blocks": view.get("blocks") or []})]
    for block in view.get("blocks") or []:
        if isinstance(block.get("label"), dict):
            parts.append(block["label"].get("text", ""))
        if isinstance(block.get("hint"), dict):
            parts.append(block["hint"].get("text", ""))
    return "\n".join(parts)


@contextmanager
def admin_world(tmp_path: Path, **settings: Any) -> Iterator[AdminHarness]:
    world = AdminHarness(tmp_path, **settings)
    try:
        yield world
    finally:
        world.close()
