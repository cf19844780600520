"""FakeSlackWebAPI: a local Slack Web API on a loopback port that answers, enforces and records like Slack."""

from __future__ import annotations

import copy
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from bot.clock import SystemClock
from bot.slack_sim import web_chat, web_directory, web_views
from bot.slack_sim.records import Fault, ResponsePost, SlackCall, SlackError, UploadedFile, readable_args
from bot.slack_sim.socket_mode import SocketModeLink
from bot.slack_sim.wire import SimServer
from bot.slack_sim.workspace import Clock, Workspace

T = TypeVar("T")

METHODS: dict[str, web_chat.Method] = {**web_chat.METHODS, **web_views.METHODS, **web_directory.METHODS}
GENERAL_CHANNEL = "C0GENERAL"


class FakeSlackWebAPI:
    """A threaded HTTP fake of the Slack Web API for `WebClient(base_url=sim.url + "/api/")`.

    Seed it with users, user groups and channels; the app then calls it as it would call Slack. Every call is
    recorded (`calls`), limits are enforced with Slack's errors, and failures can be injected (`fail_next`).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str = "xoxb-sim-token",  # noqa: S107 (the fake's own token, not a secret)
        app_token: str = "xapp-sim-app-token",  # noqa: S107 (Socket Mode's app-level token, the fake's own)
        clock: Clock | None = None,
        *,
        team_id: str = "T1",
        bot_user_id: str = "U0BOT",
        channel_burst: int | None = 20,
    ) -> None:
        self._address = (host, port)
        self._token = token
        self._app_token = app_token
        self.workspace = Workspace(
            clock=clock or SystemClock(), team_id=team_id, bot_user_id=bot_user_id, bot_id="B0BOT", app_id="A0SIM"
        )
        self.workspace.channel_burst = channel_burst
        self._calls: list[SlackCall] = []
        self._faults: dict[str, list[Fault]] = {}
        self._server: SimServer | None = None
        self._thread: threading.Thread | None = None
        web_directory.seed_user(
            self.workspace, user_id=bot_user_id, name="atlas-access", email=None, team_id=team_id, is_bot=True,
            real_name="atlas-access",
        )  # fmt: skip
        self.add_channel(GENERAL_CHANNEL, name="general")
        self.socket = SocketModeLink(app_id="A0SIM")  # Socket Mode: envelopes to the app, its acks

    def __repr__(self) -> str:
        return f"FakeSlackWebAPI(url={self.url if self._server else None!r})"  # never the token

    # lifecycle

    def start(self) -> FakeSlackWebAPI:
        self._server = SimServer(self._address, self)
        host, port = self._server.server_address[:2]
        self.workspace.public_url = f"http://{host!s}:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-slack", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server, self._thread = None, None

    def __enter__(self) -> FakeSlackWebAPI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL, e.g. http://127.0.0.1:40123; the Web API lives under `/api/`."""
        if not self.workspace.public_url:
            raise RuntimeError("the fake Slack is not started")
        return self.workspace.public_url

    @property
    def team_id(self) -> str:
        return self.workspace.team_id

    @property
    def bot_user_id(self) -> str:
        return self.workspace.bot_user_id

    @property
    def app_id(self) -> str:
        return self.workspace.app_id

    @property
    def general_channel(self) -> str:
        return GENERAL_CHANNEL

    # seeding

    def add_user(
        self, user_id: str = "U1", *, name: str = "ann", email: str | None = "ann@example.com",
        team_id: str | None = None, is_bot: bool = False, real_name: str | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        with self.workspace.lock:
            return copy.deepcopy(web_directory.seed_user(
                self.workspace, user_id=user_id, name=name, email=email, team_id=team_id or self.team_id,
                is_bot=is_bot, real_name=real_name,
            ))  # fmt: skip

    def add_usergroup(
        self, usergroup_id: str = "S1", *, handle: str, members: list[str], name: str | None = None
    ) -> dict[str, Any]:
        with self.workspace.lock:
            return copy.deepcopy(web_directory.seed_usergroup(
                self.workspace, usergroup_id=usergroup_id, handle=handle, members=members, name=name,
                team_id=self.team_id,
            ))  # fmt: skip

    def add_channel(self, channel_id: str, *, name: str | None = None, is_private: bool = False) -> dict[str, Any]:
        with self.workspace.lock:
            return copy.deepcopy(
                web_directory.seed_channel(self.workspace, channel_id=channel_id, name=name or channel_id.lower(),
                                           is_private=is_private)
            )  # fmt: skip

    # behaviour switches

    def fail_next(
        self, method: str, error: str | None = None, retry_after: int = 1, count: int = 1, status: int | None = None
    ) -> None:
        """Fail the next `count` calls of `method`: by default HTTP 429 `ratelimited` with Retry-After."""
        status = status if status is not None else (200 if error not in (None, "ratelimited") else 429)
        error = error or ("internal_error" if status >= 500 else "ratelimited")
        fault = Fault(error=error, status=status, retry_after=retry_after if status == 429 else None, count=count)
        with self.workspace.lock:
            self._faults.setdefault(method, []).append(fault)

    def clear_faults(self, method: str | None = None) -> None:
        """Slack is back: forget the failures still queued for `method` (every method by default)."""
        with self.workspace.lock:
            if method is None:
                self._faults.clear()
            else:
                self._faults.pop(method, None)

    @property
    def channel_burst(self) -> int | None:
        """chat.postMessage calls allowed per channel per second before a 429; None switches the limit off."""
        return self.workspace.channel_burst

    @channel_burst.setter
    def channel_burst(self, limit: int | None) -> None:
        with self.workspace.lock:
            self.workspace.channel_burst = limit

    def new_trigger_id(self, user_id: str | None = None) -> str:
        with self.workspace.lock:
            return self.workspace.issue_trigger(user_id)

    def new_response_url(self, *, channel: str | None = None, message_ts: str | None = None) -> str:
        with self.workspace.lock:
            return self.workspace.issue_response_url(channel=channel, message_ts=message_ts)

    def im_channel(self, user_id: str) -> str:
        """The app's DM channel id with a user (opened if need be)."""
        with self.workspace.lock:
            return self.workspace.im_channel(user_id)

    # the Dispatcher the HTTP layer calls

    def web_api(self, *, method: str, args: dict[str, Any], token: str | None) -> tuple[int, dict[str, str], Any]:
        ws = self.workspace
        with ws.lock:
            moment = ws.now().timestamp()
            recorded = readable_args(args)
            try:
                answer = self._answer(method, args, token)
            except SlackError as exc:
                self._calls.append(SlackCall(method=method, args=recorded, ok=False, error=exc.error, ts=moment))
                headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else {}
                return exc.status, headers, exc.body()
            self._calls.append(SlackCall(method=method, args=recorded, ok=True, error=None, ts=moment))
            return 200, {}, answer

    def socket_mode(self, connection: Any, rfile: Any, wfile: Any) -> None:
        self.socket.serve(connection, rfile, wfile)

    def _answer(self, method: str, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        if method == "apps.connections.open":  # the one method for the app-level token, and only for it
            if token != self._app_token:
                raise SlackError("invalid_auth" if token != self._token else "not_allowed_token_type")
            return {"ok": True, "url": self.url.replace("http://", "ws://") + f"/link?ticket={uuid.uuid4().hex}"}
        if token != self._token:
            raise SlackError("invalid_auth")  # missing or wrong token alike
        faults = self._faults.get(method)
        if faults:
            fault = faults[0]
            fault.count -= 1
            if fault.count <= 0:
                faults.pop(0)
            raise fault.to_error()
        handler = METHODS.get(method)
        if handler is None:
            raise SlackError("unknown_method")
        try:
            return handler(self.workspace, args)
        except SlackError:
            raise
        except Exception as exc:  # a bug in the fake must surface, not hang the app under test
            raise SlackError("fatal_error", messages=[f"fake Slack failed: {exc!r}"], status=500) from exc

    def upload(self, *, file_id: str, content: bytes) -> tuple[int, str]:
        with self.workspace.lock:
            return self.workspace.receive_upload(file_id, content)

    def respond(self, *, key: str, body: Any) -> tuple[int, str]:
        if not isinstance(body, dict):
            return 400, "invalid_payload"
        with self.workspace.lock:
            return self.workspace.receive_response(key, body)

    # what happened

    def _read(self, read: Callable[[Workspace], T]) -> T:
        with self.workspace.lock:
            return copy.deepcopy(read(self.workspace))

    def user(self, user_id: str) -> dict[str, Any] | None:
        return self._read(lambda ws: ws.users.get(user_id))

    def channel_info(self, channel_id: str) -> dict[str, Any] | None:
        return self._read(lambda ws: ws.channels.get(channel_id))

    @property
    def calls(self) -> list[SlackCall]:
        with self.workspace.lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[SlackCall]:
        return [call for call in self.calls if call.method == method]

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """The messages of a channel (a user id means the app's DM with them), as they are now."""
        return self._read(lambda ws: ws.messages.get(ws.ims.get(channel, channel), []))

    def message(self, channel: str, ts: str) -> dict[str, Any]:
        for message in self.messages(channel):
            if message["ts"] == ts:
                return message
        raise LookupError(f"no message {ts} in {channel}")

    def dms(self, user_id: str) -> list[dict[str, Any]]:
        return self._read(lambda ws: ws.messages.get(ws.ims[user_id], []) if user_id in ws.ims else [])

    def ephemerals(self, user: str | None = None, channel: str | None = None) -> list[dict[str, Any]]:
        return self._read(
            lambda ws: [e for e in ws.ephemerals if user in (None, e["user"]) and channel in (None, e["channel"])]
        )

    def home(self, user_id: str) -> dict[str, Any] | None:
        return self._read(lambda ws: ws.homes.get(user_id))

    @property
    def views(self) -> dict[str, dict[str, Any]]:
        return self._read(lambda ws: ws.views)

    def last_view(self, user_id: str | None = None, callback_id: str | None = None) -> dict[str, Any] | None:
        """The most recently opened or pushed modal, optionally for a user (via its trigger) and callback_id."""

        def pick(ws: Workspace) -> dict[str, Any] | None:
            matching = [
                view for view_id, view in ws.views.items()
                if user_id in (None, ws.view_users.get(view_id)) and callback_id in (None, view["callback_id"])
            ]  # fmt: skip
            return matching[-1] if matching else None

        return self._read(pick)

    @property
    def uploaded_files(self) -> list[UploadedFile]:
        return self._read(lambda ws: ws.uploaded_files)

    @property
    def responses(self) -> list[ResponsePost]:
        return self._read(lambda ws: ws.responses)

    def wait_for(self, predicate: Callable[[FakeSlackWebAPI], T], timeout: float = 5.0, interval: float = 0.01) -> T:
        """Poll until `predicate(sim)` is truthy and return its value; the app works after its ack."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate(self)
            if value:
                return value
            if time.monotonic() >= deadline:
                raise TimeoutError(f"the fake Slack did not reach the expected state within {timeout} s")
            time.sleep(interval)
