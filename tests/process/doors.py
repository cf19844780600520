"""Doors the tests hold shut: the Atlas sandbox and the fake Slack, able to keep chosen calls waiting at the door.

A held call is one the app has sent and is waiting on, which is exactly where a crash test wants the app to be
when it is killed. When the door opens the call either goes through (it reached Atlas or Slack before the
crash, and takes effect) or is dropped (it was lost on the way: 503 from Atlas, `internal_error` from Slack).
This is the sandbox's injected latency, with the test deciding when it ends instead of a timer.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Mapping
from typing import Any

from atlas.sandbox import Sandbox, routing
from bot.slack_sim import FakeSlackWebAPI

HOLD_LIMIT_SECONDS = 60.0  # a door nobody opens lets its callers through at last, so no thread hangs forever


class Door:
    """Calls matching it wait here until `release()`; `arrived` is set by the first one.

    Released, the door is gone: the calls it held go through (or are dropped) and later ones pass freely.
    """

    def __init__(self, on_release: Callable[[], None] = lambda: None) -> None:
        self._on_release = on_release
        self.arrived = threading.Event()
        self._open = threading.Event()
        self._lock = threading.Lock()
        self.through = True
        self.held = 0

    def wait_here(self) -> bool:
        """Hold the calling server thread; True if the call goes through."""
        with self._lock:
            self.held += 1
        self.arrived.set()
        self._open.wait(HOLD_LIMIT_SECONDS)
        return self.through

    def release(self, *, through: bool = True) -> None:
        self._on_release()
        self.through = through
        self._open.set()

    def wait_arrival(self, timeout: float) -> None:
        if not self.arrived.wait(timeout):
            raise AssertionError(f"no call reached the door within {timeout} s")


class _Doors:
    def __init__(self) -> None:
        self._doors: dict[str, tuple[Door, Callable[[Any], bool]]] = {}
        self._lock = threading.Lock()

    def add(self, name: str, when: Callable[[Any], bool]) -> Door:
        door = Door(on_release=lambda: self._forget(name))
        with self._lock:
            self._doors[name] = (door, when)
        return door

    def _forget(self, name: str) -> None:
        with self._lock:
            self._doors.pop(name, None)

    def find(self, name: str | None, detail: Any) -> Door | None:
        with self._lock:
            entry = self._doors.get(name or "")
        return entry[0] if entry is not None and entry[1](detail) else None

    def open_all(self) -> None:
        with self._lock:
            doors = [door for door, _ in self._doors.values()]
        for door in doors:
            door.release()


class DoorSandbox(Sandbox):
    """The Atlas sandbox; `hold("addGroupUserRole")` keeps that operation's authenticated calls at the door."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.doors = _Doors()

    def hold(self, operation_id: str) -> Door:
        return self.doors.add(operation_id, lambda headers: "authorization" in headers)

    def handle(self, method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str],
               body_bytes: bytes, *, scheme: str = "https") -> tuple[int, dict[str, str], bytes]:
        lowered = {name.lower(): value for name, value in headers.items()}
        # The first half of a Digest handshake carries no credentials and changes nothing: never held.
        door = self.doors.find(routing.resolve(method, path.split("?", 1)[0]).operation_id, lowered)
        if door is not None and not door.wait_here():
            return 503, {"Content-Type": "application/json"}, (
                b'{"error": 503, "errorCode": "SERVICE_UNAVAILABLE", "reason": "Service Unavailable", '
                b'"detail": "Dropped at the door by the test."}')
        return super().handle(method, path, query, headers, body_bytes, scheme=scheme)


class DoorSlack(FakeSlackWebAPI):
    """The fake Slack; `hold("chat.postMessage", channel="C0APPROVALS")` keeps those calls at the door."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.doors = _Doors()

    def start(self) -> DoorSlack:
        super().start()
        server = self._server
        assert server is not None
        # Dozens of worker threads in two replicas connect at once (slack_sdk opens a connection per call):
        # the stdlib's backlog of 5 would reset them, and the retries would measure the fake, not the app.
        server.socket.listen(512)
        loud = server.handle_error

        def quiet(request: Any, address: Any) -> None:
            # A call held past its caller's death is answered into a closed socket: expected here.
            if not isinstance(sys.exc_info()[1], ConnectionError):
                loud(request, address)

        server.handle_error = quiet  # type: ignore[method-assign,assignment]
        return self

    def hold(self, method: str, *, channel: str | None = None) -> Door:
        return self.doors.add(method, lambda args: channel is None or args.get("channel") == channel)

    def web_api(self, *, method: str, args: dict[str, Any], token: str | None) -> tuple[int, dict[str, str], Any]:
        door = self.doors.find(method, args)  # waits outside the workspace lock: other calls go on meanwhile
        if door is not None and not door.wait_here():
            return 200, {}, {"ok": False, "error": "internal_error"}
        return super().web_api(method=method, args=args, token=token)
