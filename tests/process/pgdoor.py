"""A door in front of PostgreSQL that a test shuts and opens: the database unreachable, then back.

    door = PgDoor().start()                  # listens on a free loopback port, forwards to 127.0.0.1:5432
    url = door.url_for(database_url)         # the same database, through the door
    door.shut()                              # every connection through it drops at once; new ones are refused
    door.open()                              # connections go through again
    door.close()

Shut, the door accepts a connection and closes it straight away: the client sees "server closed the connection
unexpectedly" at once, as when PostgreSQL restarts or a failover cuts it, rather than a connect that hangs.
One thread accepts; each connection has two threads pumping bytes, blocked in recv (no polling). `shut()`
shuts both sockets of every pair down (both sides see the end); the last pump of a pair closes its sockets,
so no descriptor is closed under a thread still using it.
"""

from __future__ import annotations

import contextlib
import socket
import threading

from sqlalchemy.engine import make_url

UPSTREAM = ("127.0.0.1", 5432)
CONNECT_SECONDS = 5.0


class _Pair:
    """A client connection and its upstream; the second pump to finish closes both."""

    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.sockets = (client, upstream)
        self._running = 2
        self._lock = threading.Lock()

    def hang_up(self) -> None:
        """Both sides see the connection end; the pumps blocked in recv wake up."""
        for sock in self.sockets:
            _shut_down(sock)

    def pump_done(self) -> bool:
        """True for the pump that finished last (it closes the sockets)."""
        with self._lock:
            self._running -= 1
            return self._running == 0


class PgDoor:
    def __init__(self, upstream: tuple[str, int] = UPSTREAM) -> None:
        self._upstream = upstream
        self._lock = threading.Lock()
        self._gone = threading.Condition(self._lock)
        self._open = True
        self._pairs: set[_Pair] = set()
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self.port = 0
        self.refused = 0  # connections closed at the door while it was shut
        self.dropped = 0  # connections cut by shut()

    def start(self) -> PgDoor:
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.port = int(self._listener.getsockname()[1])
        self._acceptor = threading.Thread(target=self._accept, args=(self._listener,), name="pgdoor-accept",
                                          daemon=True)
        self._acceptor.start()
        return self

    def url_for(self, database_url: str) -> str:
        """`database_url` (a PostgreSQL URL) going through the door instead."""
        return make_url(database_url).set(host="127.0.0.1", port=self.port).render_as_string(hide_password=False)

    @property
    def connections(self) -> int:
        with self._lock:
            return len(self._pairs)

    def shut(self, timeout: float = 5.0) -> None:
        """Drop every proxied connection, both sides, and refuse new ones until `open()`."""
        with self._lock:
            self._open = False
            pairs = list(self._pairs)
            self.dropped += len(pairs)
        for pair in pairs:
            pair.hang_up()
        with self._gone:  # until their pumps have closed them
            if not self._gone.wait_for(lambda: not self._pairs, timeout=timeout):
                raise AssertionError(f"{len(self._pairs)} connections still open {timeout} s after shut()")

    def open(self) -> None:
        with self._lock:
            self._open = True

    def close(self) -> None:
        listener, self._listener = self._listener, None
        if listener is None:
            return
        _shut_down(listener)  # wakes the thread blocked in accept() (Linux)
        listener.close()
        if self._acceptor is not None:
            self._acceptor.join(timeout=5)
        self.shut()

    # --- the threads ----------------------------------------------------------------------------------------

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed
            with self._lock:
                refuse = not self._open
                self.refused += int(refuse)
            if refuse:
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self._upstream, timeout=CONNECT_SECONDS)
            except OSError:
                _close(client)
                continue
            upstream.settimeout(None)
            pair = _Pair(client, upstream)
            with self._lock:
                admitted = self._open  # shut() may have come while connecting
                if admitted:
                    self._pairs.add(pair)
            if not admitted:
                _close(client)
                _close(upstream)
                continue
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(pair, source, target), name="pgdoor-pump",
                                 daemon=True).start()

    def _pump(self, pair: _Pair, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass  # reset, or shut down under us
        pair.hang_up()  # one direction ended: the connection is over for both
        if pair.pump_done():
            for sock in pair.sockets:
                sock.close()
            with self._gone:
                self._pairs.discard(pair)
                self._gone.notify_all()


def _shut_down(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already shut down, or reset by the peer
        sock.shutdown(socket.SHUT_RDWR)


def _close(sock: socket.socket) -> None:
    _shut_down(sock)
    sock.close()
