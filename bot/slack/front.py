"""How the HTTP server holds against many, idle, slow or oversized connections: waitress's limits, and open files.

waitress keeps every connection in one poll loop and hands a request to a worker thread only once it has
arrived whole, so an idle or slow socket costs a descriptor and a few buffers, never a thread. Its defaults are
made for a server behind a proxy, not for one Slack (and anyone else) reaches directly:

- `connection_limit` (default 100): at the limit waitress stops accepting, and every later connection, Slack's
  and the load balancer's health check included, waits in the kernel's queue. A hundred idle sockets were
  enough to make `/healthz` and signed commands time out. Here 2,000 by default (`HTTP_CONNECTION_LIMIT`).
- `channel_timeout` (120 s) and `cleanup_interval` (30 s): an idle connection, one that sent nothing or half a
  request and then stopped, lived for up to 150 s. Here it is closed after `HTTP_IDLE_TIMEOUT_SECONDS`
  (default 5) without a byte, checked every second. A connection whose request is being served is never idle.
- `max_request_body_size` (1 GB): a body was buffered whole before the app could refuse it. Here anything
  over `shape.MAX_BODY` gets 413 as soon as its Content-Length is read, or as soon as a chunked body passes
  the limit; the connection is then closed, unread. Headers are capped at 32 KiB; a body's first 64 KiB is
  kept in memory and the rest (up to the 1 MB cap) in a temporary file, so a full house of slow uploads holds
  about 200 MB of memory at most (2,000 × 96 KiB), not 2 GB. waitress would still answer a request
  that asks first (`Expect: 100-continue`, as curl does) with "100 Continue" and read 1 MB before refusing it;
  `_Channel` answers it with the 413 straight away.
- select() cannot watch a descriptor numbered 1024 or more, and waitress uses it unless told otherwise: with a
  thousand sockets open the loop would fail. poll() has no such limit.
- Every connection takes a descriptor, and one holding a large body a second (its temporary file). Most hosts
  start a process with a soft limit of 1024 open files, so at start-up the soft limit is raised toward the hard
  limit (which a process may do) as far as the connection limit needs; where the hard limit is lower, the
  connection limit is lowered to fit, with a warning.
"""

from __future__ import annotations

import logging
import resource
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server

from bot.slack import shape

log = logging.getLogger(__name__)
HEADER_LIMIT = 32 * 1024  # Slack's headers are about 1 KiB; proxies add a few more
BODY_IN_MEMORY = 64 * 1024  # a larger body (up to the cap) waits in a temporary file; Slack's are mostly smaller
CLEANUP_SECONDS = 1  # how often idle connections are looked for
FDS_PER_CONNECTION = 2  # the socket, and a body's temporary file
RESERVED_FDS = 512  # the database pool (and SQLite's WAL files), HTTP clients to Slack and Atlas, logs, Socket Mode


@dataclass(frozen=True, kw_only=True)
class HttpFront:
    """The server's sizes; `adjustments()` are waitress's keyword arguments for them."""

    threads: int = 32
    connection_limit: int = 2000
    idle_timeout_seconds: int = 5

    def adjustments(self) -> dict[str, Any]:
        return {
            "threads": self.threads,
            "connection_limit": self.connection_limit,
            "channel_timeout": self.idle_timeout_seconds,
            "cleanup_interval": CLEANUP_SECONDS,
            "max_request_body_size": shape.MAX_BODY + 1,  # waitress refuses a body of this size or more
            "max_request_header_size": HEADER_LIMIT,
            "inbuf_overflow": BODY_IN_MEMORY,
            "asyncore_use_poll": True,
            "ident": "atlas-access",
        }

    def fitted_to_open_files(self) -> HttpFront:
        """This front, after raising the open-files soft limit for it; its connection limit lowered if the hard
        limit cannot hold it."""
        available = raise_open_files_limit(needed=self.needed_fds())
        fits = max(1, (available - RESERVED_FDS) // FDS_PER_CONNECTION)
        if fits >= self.connection_limit:
            return self
        log.warning("the open-files limit (%d) holds only %d connections, not HTTP_CONNECTION_LIMIT=%d: serving "
                    "at most %d at once; raise the hard limit (ulimit -Hn, LimitNOFILE=) to serve more",
                    available, fits, self.connection_limit, fits)
        return HttpFront(threads=self.threads, connection_limit=fits, idle_timeout_seconds=self.idle_timeout_seconds)

    def needed_fds(self) -> int:
        return self.connection_limit * FDS_PER_CONNECTION + RESERVED_FDS


def create_front_server(app: Callable[..., Any], *, host: str, port: int, front: HttpFront,
                        map: dict[int, Any] | None = None) -> Any:
    """A waitress server for `app` (one, or one a listening address when `host` has several), sized by `front`."""
    sockets: dict[int, Any] = {} if map is None else map
    server = create_server(app, host=host, port=port, map=sockets, **front.adjustments())
    for listener in list(sockets.values()):
        if isinstance(listener, BaseWSGIServer):
            listener.channel_class = _Channel
    return server


class _Channel(HTTPChannel):
    """waitress's connection, except that a request it has already refused gets its refusal, not 100 Continue.

    waitress decides "too large" while parsing the header and then, seeing `Expect: 100-continue`, invites the
    body anyway (and marks the request incomplete, so it reads up to the limit before answering 413).
    """

    def send_continue(self) -> None:
        if self.request is not None and self.request.error is not None:
            self.request.expect_continue = False
            return
        super().send_continue()


def raise_open_files_limit(*, needed: int) -> int:
    """Raise the soft RLIMIT_NOFILE toward `needed`, as far as the hard limit allows; the soft limit after."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if _at_least(soft, needed):
        return _finite(soft, needed)
    target = needed if _at_least(hard, needed) else hard
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError) as error:  # a sandbox that forbids it: serve with what there is
        log.warning("could not raise the open-files limit from %d to %d: %s", soft, target, error)
        return soft
    log.info("open-files limit raised from %d to %d for the HTTP server's connections", soft, target)
    return target


def _at_least(limit: int, needed: int) -> bool:
    return limit == resource.RLIM_INFINITY or limit >= needed


def _finite(limit: int, needed: int) -> int:
    return needed if limit == resource.RLIM_INFINITY else limit
