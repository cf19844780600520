"""The fake Slack's Socket Mode: `apps.connections.open` hands out a WebSocket URL, and the link sends envelopes.

As Slack does: the app opens the socket with its app-level token (`xapp-`), gets a `hello`, then receives
envelopes (`slash_commands`, `interactive`, `events_api`) and must ack each by its `envelope_id` within 3 s,
optionally with a response payload. The link answers pings with pongs. The WebSocket framing (RFC 6455) is
the little a test needs: text, ping, pong and close frames, client frames masked, no fragmentation.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import struct
import threading
import uuid
from typing import Any, BinaryIO

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA


def accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + GUID).encode("ascii")).digest()).decode("ascii")  # noqa: S324 (RFC 6455)


def write_frame(out: BinaryIO, opcode: int, payload: bytes) -> None:
    """A server frame: final, unmasked."""
    head = bytes([0x80 | opcode])
    size = len(payload)
    if size < 126:
        head += bytes([size])
    elif size < 1 << 16:
        head += bytes([126]) + struct.pack("!H", size)
    else:
        head += bytes([127]) + struct.pack("!Q", size)
    out.write(head + payload)
    out.flush()


def read_frame(stream: BinaryIO) -> tuple[int, bytes] | None:
    """(opcode, payload) of the client's next frame, unmasked; None when the connection is gone."""
    head = stream.read(2)
    if len(head) < 2:
        return None
    opcode, masked, size = head[0] & 0x0F, head[1] & 0x80, head[1] & 0x7F
    if size == 126:
        size = struct.unpack("!H", stream.read(2))[0]
    elif size == 127:
        size = struct.unpack("!Q", stream.read(8))[0]
    mask = stream.read(4) if masked else b"\0\0\0\0"
    data = stream.read(size)
    return opcode, bytes(b ^ mask[i % 4] for i, b in enumerate(data))


class SocketModeLink:
    """The app's Socket Mode connection(s): envelopes pushed to the newest one, acks collected by envelope id."""

    def __init__(self, app_id: str) -> None:
        self._app_id = app_id
        self._lock = threading.Condition()
        self._writers: list[tuple[BinaryIO, threading.Lock]] = []
        self.acks: dict[str, dict[str, Any]] = {}
        self.opened = 0  # connections the app has opened (a reconnect opens another)

    def connected(self, timeout: float) -> bool:
        with self._lock:
            return self._lock.wait_for(lambda: bool(self._writers), timeout)

    def push(self, kind: str, payload: dict[str, Any]) -> str:
        """Send an envelope of `kind` to the app; its envelope id, to wait for the ack with."""
        envelope_id = uuid.uuid4().hex
        envelope = {"envelope_id": envelope_id, "type": kind, "payload": payload,
                    "accepts_response_payload": kind != "events_api", "retry_attempt": 0, "retry_reason": ""}
        with self._lock:
            if not self._writers:
                raise RuntimeError("the app has no Socket Mode connection")
            out, lock = self._writers[-1]
        with lock:
            write_frame(out, TEXT, json.dumps(envelope).encode("utf-8"))
        return envelope_id

    def ack(self, envelope_id: str, timeout: float) -> dict[str, Any] | None:
        """The app's ack of `envelope_id` (with its `payload`, if it sent one), or None if none came in time."""
        with self._lock:
            self._lock.wait_for(lambda: envelope_id in self.acks, timeout)
            return self.acks.get(envelope_id)

    def serve(self, connection: socket.socket, rfile: BinaryIO, wfile: BinaryIO) -> None:
        """Run one connection after its handshake, until the app closes it."""
        lock = threading.Lock()
        with lock:
            write_frame(wfile, TEXT, json.dumps({
                "type": "hello", "num_connections": 1, "connection_info": {"app_id": self._app_id},
                "debug_info": {"host": "fake-slack", "approximate_connection_time": 18060},
            }).encode("utf-8"))  # fmt: skip
        with self._lock:
            self._writers.append((wfile, lock))
            self.opened += 1
            self._lock.notify_all()
        try:
            while (frame := read_frame(rfile)) is not None:
                opcode, data = frame
                if opcode == CLOSE:
                    with lock:
                        write_frame(wfile, CLOSE, data[:2])
                    return
                if opcode == PING:
                    with lock:
                        write_frame(wfile, PONG, data)
                elif opcode == TEXT:
                    message = json.loads(data.decode("utf-8"))
                    if isinstance(message, dict) and message.get("envelope_id"):
                        with self._lock:
                            self.acks[str(message["envelope_id"])] = message
                            self._lock.notify_all()
        except (OSError, ValueError):
            return
        finally:
            with self._lock:
                self._writers = [(w, k) for w, k in self._writers if w is not wfile]
            connection.close()
