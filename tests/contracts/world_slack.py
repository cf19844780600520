"""The GroupDirectory and Notifier contracts' worlds: the fakes, and the real Slack adapters over the fake Slack
Web API (`bot.slack_sim`), asked the same questions about what a person in Slack would see."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from slack_sdk import WebClient

from access.ports import GroupDirectory, Notifier
from bot.slack.directory import SlackDirectory
from bot.slack.notifier import SlackNotifier
from bot.slack_sim import FakeSlackWebAPI
from storage.crypto import SecretBox
from storage.engine import make_engine
from storage.migrations import create_all
from storage.outbox import SqlOutbox
from storage.store import SqlStore
from storage.testing import sqlite_url
from tests.fakes import FakeDirectory, ManualClock, RecordingNotifier
from tests.fakes.notifier import METHODS, Alerted, CredentialsSent, Posted, Reminded, Told, Updated

TOKEN = "xoxb-contract-token"
APPROVALS = "C0APPROVALS"


# --- the directory ---------------------------------------------------------------------------------------------


class DirectoryWorld(Protocol):
    real: bool
    directory: GroupDirectory

    def add_user(self, user_id: str, email: str | None, *, is_bot: bool = False) -> None: ...
    def add_group(self, group_id: str, handle: str, members: Iterable[str]) -> None: ...
    def set_members(self, group_id: str, handle: str, members: Iterable[str]) -> None: ...
    def disable_group(self, group_id: str) -> None: ...
    def deactivate(self, user_id: str) -> None: ...
    def trouble(self, on: bool) -> None: ...
    def close(self) -> None: ...


class FakeDirectoryWorld:
    real = False

    def __init__(self) -> None:
        self.fake = FakeDirectory()
        self.directory: GroupDirectory = self.fake

    def add_user(self, user_id: str, email: str | None, *, is_bot: bool = False) -> None:
        self.fake.add_user(user_id, email, is_bot=is_bot)

    def add_group(self, group_id: str, handle: str, members: Iterable[str]) -> None:
        self.fake.add_group(group_id, handle, tuple(members))

    def set_members(self, group_id: str, handle: str, members: Iterable[str]) -> None:
        self.fake.set_members(group_id, tuple(members))

    def disable_group(self, group_id: str) -> None:
        self.fake.disable_group(group_id)

    def deactivate(self, user_id: str) -> None:
        self.fake.deactivate(user_id)

    def trouble(self, on: bool) -> None:
        self.fake.trouble = on

    def close(self) -> None:
        return None


class SlackDirectoryWorld:
    real = True

    def __init__(self) -> None:
        self.clock = ManualClock()
        self.sim = FakeSlackWebAPI(token=TOKEN, clock=self.clock).start()
        client = WebClient(token=TOKEN, base_url=self.sim.url + "/api/")
        self.directory: GroupDirectory = SlackDirectory(client, ttl_seconds=0, clock=self.clock)

    def add_user(self, user_id: str, email: str | None, *, is_bot: bool = False) -> None:
        self.sim.add_user(user_id, name=user_id.lower(), email=email, is_bot=is_bot)

    def add_group(self, group_id: str, handle: str, members: Iterable[str]) -> None:
        self.sim.add_usergroup(group_id, handle=handle, members=list(members))

    def set_members(self, group_id: str, handle: str, members: Iterable[str]) -> None:
        self.sim.add_usergroup(group_id, handle=handle, members=list(members))

    def disable_group(self, group_id: str) -> None:
        with self.sim.workspace.lock:
            self.sim.workspace.usergroups[group_id]["date_delete"] = 1767603600

    def deactivate(self, user_id: str) -> None:
        with self.sim.workspace.lock:
            self.sim.workspace.users[user_id]["deleted"] = True

    def trouble(self, on: bool) -> None:
        if not on:
            self.sim.clear_faults()
            return
        for method in ("usergroups.list", "users.lookupByEmail", "users.info", "users.list"):
            self.sim.fail_next(method, status=500, count=1000)

    def close(self) -> None:
        self.sim.stop()


# --- the notifier ----------------------------------------------------------------------------------------------


class NotifierWorld(Protocol):
    real: bool
    notifier: Notifier

    def top_level(self, channel: str) -> int: ...  # messages in a channel, not in threads
    def replies(self, channel: str, ts: str) -> int: ...  # messages in one message's thread
    def renders(self, channel: str, ts: str) -> int: ...  # times a message was updated
    def dms(self, user_id: str) -> int: ...  # messages in the app's DM with a person
    def places_showing(self, text: str) -> list[str]: ...  # channels and DMs whose messages contain `text`
    def refuse(self, *methods: str) -> None: ...  # Slack refuses these for good (e.g. channel_not_found)
    def close(self) -> None: ...


class FakeNotifierWorld:
    real = False

    def __init__(self) -> None:
        self.fake = RecordingNotifier()
        self.notifier: Notifier = self.fake

    def top_level(self, channel: str) -> int:
        return sum(1 for e in self.fake.events if (isinstance(e, Posted | Alerted) and e.channel == channel)
                   or (isinstance(e, Reminded) and e.channel == channel and e.thread_ts is None))

    def replies(self, channel: str, ts: str) -> int:
        return sum(1 for e in self.fake.reminders() if e.channel == channel and e.thread_ts == ts)

    def renders(self, channel: str, ts: str) -> int:
        return sum(1 for e in self.fake.events if isinstance(e, Updated) and (e.channel, e.ts) == (channel, ts))

    def dms(self, user_id: str) -> int:
        return sum(1 for e in self.fake.events if isinstance(e, Told | CredentialsSent) and e.user_id == user_id)

    def places_showing(self, text: str) -> list[str]:
        return [f"dm:{e.user_id}" for e in self.fake.credentials() if text in (e.database_user or "")]

    def refuse(self, *methods: str) -> None:
        wanted = {"chat.postMessage": [m for m in METHODS if m != "update_request"], "chat.update": ["update_request"]}
        for method in methods:
            self.fake.fail(*wanted[method])

    def close(self) -> None:
        return None


class SlackNotifierWorld:
    real = True

    def __init__(self, tmp_path: Path) -> None:
        self.clock = ManualClock()
        self.sim = FakeSlackWebAPI(token=TOKEN, clock=self.clock).start()
        self.sim.add_channel(APPROVALS, name="approvals")
        for user_id, name in (("U1", "ann"), ("U2", "bob"), ("U3", "cyd")):
            self.sim.add_user(user_id, name=name, email=f"{name}@example.com")
        self.sim.add_usergroup("S1", handle="payments-oncall", members=["U2", "U3"])
        client = WebClient(token=TOKEN, base_url=self.sim.url + "/api/")  # no retry handlers: failures at once
        self._engine = make_engine(sqlite_url(tmp_path))
        create_all(self._engine)
        store = SqlStore(self._engine, SecretBox(None), clock=self.clock)
        self.notifier: Notifier = SlackNotifier(client, directory=SlackDirectory(client, clock=self.clock),
                                                store=store, outbox=SqlOutbox(self._engine, self.clock),
                                                clock=self.clock)

    def top_level(self, channel: str) -> int:
        return sum(1 for m in self.sim.messages(channel) if m.get("thread_ts") in (None, m["ts"]))

    def replies(self, channel: str, ts: str) -> int:
        return sum(1 for m in self.sim.messages(channel) if m.get("thread_ts") == ts and m["ts"] != ts)

    def renders(self, channel: str, ts: str) -> int:
        return sum(1 for c in self.sim.calls_to("chat.update")
                   if c.ok and c.args.get("channel") == channel and c.args.get("ts") == ts)

    def dms(self, user_id: str) -> int:
        return len(self.sim.dms(user_id))

    def places_showing(self, text: str) -> list[str]:
        with self.sim.workspace.lock:
            ims = {channel: user for user, channel in self.sim.workspace.ims.items()}
            everything = {c: list(msgs) for c, msgs in self.sim.workspace.messages.items()}
        return [f"dm:{ims[c]}" if c in ims else c for c, msgs in everything.items()
                for m in msgs if text in str(m)]

    def refuse(self, *methods: str) -> None:
        for method in methods:
            self.sim.fail_next(method, error="channel_not_found", count=1000)

    def close(self) -> None:
        self.sim.stop()
        self._engine.dispose()
