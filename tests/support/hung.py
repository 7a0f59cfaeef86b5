"""A task center that never answers: it accepts, reads the request, and holds the connection until the client
closes it. It counts the requests it got and the connections the client closed, so tests can prove by order what
a hung request did (was it cut? when?) without timing anything."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class HungServer:
    """Accepts every connection, reads the request, never answers; counts requests and the connections the client
    closed (the server sees the end of the stream)."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.requests = 0
        self.closed_by_client = 0
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self._conns.append(conn)
            threading.Thread(target=self._hold, args=(conn,), daemon=True).start()

    def _hold(self, conn: socket.socket) -> None:
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            with self._cond:
                self.requests += 1
                self._cond.notify_all()
            while conn.recv(65536):  # never answers; returns when the client closes its end
                pass
            with self._cond:
                self.closed_by_client += 1
                self._cond.notify_all()
        except OSError:
            pass

    def wait_for(self, condition: Callable[[HungServer], bool], bound: float = 30.0) -> None:
        """Block until ``condition`` holds (the bound only stops a broken run)."""
        with self._cond:
            assert self._cond.wait_for(lambda: condition(self), bound), "condition not reached within the bound"

    @contextmanager
    def running(self) -> Iterator[HungServer]:
        thread = threading.Thread(target=self._serve, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
            for conn in self._conns:
                conn.close()
            thread.join(5)
