"""Every request the sandbox received, in order, in memory and optionally as JSON lines (for the conformance test).

Secrets never reach a record: the Authorization value is cut to its scheme, and password, token and secret
fields of a body are masked.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from atlas.sandbox.records import iso

RECORD_ENV = "ATLAS_SANDBOX_RECORD"
_MASKED_FIELDS = frozenset({"password", "token", "secret", "client_secret", "privateKey", "private_key"})
MASK = "**********"


@dataclass(frozen=True, kw_only=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names; authorization cut to its scheme ("Digest", "Bearer", "Basic")
    body: Any | None  # parsed JSON, or the form dict for the OAuth endpoints
    operation_id: str | None
    status: int


class Recorder:
    """Thread-safe: appends under a lock; the JSONL file is opened in append mode per line (several processes).

    The first half of the Digest handshake (a request with no Authorization header, answered 401 with a
    challenge) goes to `challenges`, not `calls`: httpx sends it once per client, so counting it would make
    every assertion on calls depend on the auth scheme and on whether the client is fresh. The JSONL file
    has every request, challenges included.
    """

    def __init__(self, *, record_path: str | None) -> None:
        self.path = record_path or os.environ.get(RECORD_ENV) or None
        self.calls: list[RecordedRequest] = []
        self.challenges: list[RecordedRequest] = []
        self._lock = threading.Lock()

    def add(self, call: RecordedRequest, *, at: datetime, challenge: bool = False) -> None:
        with self._lock:
            (self.challenges if challenge else self.calls).append(call)
            if self.path:
                line = json.dumps({**asdict(call), "ts": iso(at)}, default=str)
                with open(self.path, "a", encoding="utf-8") as handle:
                    handle.write(line + "\n")

    def count(self, operation_id: str) -> int:
        with self._lock:
            return sum(1 for c in self.calls if c.operation_id == operation_id)


def safe_headers(headers: dict[str, str]) -> dict[str, str]:
    cleaned = {name.lower(): value for name, value in headers.items()}
    if "authorization" in cleaned:
        cleaned["authorization"] = cleaned["authorization"].strip().split(" ", 1)[0]
    return cleaned


def safe_body(body: Any) -> Any:
    """The body with every secret-bearing field masked, however deep."""
    if isinstance(body, dict):
        return {k: MASK if k in _MASKED_FIELDS and v is not None else safe_body(v) for k, v in body.items()}
    if isinstance(body, list):
        return [safe_body(item) for item in body]
    return body
