"""The HTTP exchange every call goes through: a hard deadline, a bounded answer, retries from urllib3's policy.

Guarantees of ``Transport.fetch`` (the only way the client and the IAM login send anything):

- **Deadline.** The whole call (connecting, sending, the *whole* answer, every retry and every backoff or
  Retry-After sleep) ends by ``deadline`` (``time.monotonic`` seconds), and each attempt by its own
  connect + read timeout. Socket timeouts only bound each read, so a server that trickles its headers or body a
  byte at a time would never be cut off by them: a watchdog thread shuts the socket down when the attempt's time
  is up, which ends the blocked read at once. A retry or sleep that cannot finish before the deadline is not
  started; the last answer or error is returned instead (the waiter decides what it means).
- **Size.** An answer is read in chunks and decoded here (gzip and deflate, chunked or not) with a cap on the
  *decoded* size, ``MAX_RESPONSE_BYTES`` (1 MiB; a job is a few KB): a huge body or a compression bomb costs at
  most that much memory and ends the attempt with ``ResponseTooLarge``.
- **Abort.** ``abort_requests()`` (the plugin's shutdown and Cancel) ends every request of the process at once:
  the ones in flight are cut by the same watchdog mechanism, retry sleeps end, later ones are refused
  (``Aborted``). An operation (not repeatable) is left alone: its answer is what says whether it started.
  ``abort_scope`` gives a context a scope of its own.
- **No redirects, no clear text to a proxy.** Redirects are never followed (credentials must not go elsewhere);
  loopback endpoints bypass any proxy from the environment, and plain http through a proxy is refused.

Retries: only of a request that is safe to send twice (``repeatable``), and only as many as the caller asks
for (``retries``; default the transport's). The task-center reads of a wait ask for none: the wait engine asks
again at its next interval, through the request budget, so every request is paced (one retry policy, not two).
The IAM login keeps the transport's retries. Retries follow urllib3's ``Retry`` counters and backoff;
``Retry-After`` is read by ``provider.wire.retry_after`` (bounded, never an exception).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.utils import get_environ_proxies, select_proxy
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.util.retry import Retry

from provider import __version__
from provider.core import deadline as deadlines
from provider.core.errors import ConfigError
from provider.core.validate import is_loopback
from provider.wire import retry_after as retry_after_header

# (connect, read) seconds for one attempt; the read timeout bounds the whole answer, not each socket read.
REQUEST_TIMEOUT: tuple[float, float] = (5.0, 15.0)
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# A job is a few KB; an IAM token answer with its catalog some tens of KB. Anything past this is not an answer.
MAX_RESPONSE_BYTES = 1 << 20
CHUNK_BYTES = 64 * 1024
# A call without a deadline of its own (``show``, a refresh) still ends: connect + read + retries fit in this.
DEFAULT_CALL_SECONDS = 60.0


class ResponseTooLarge(requests.RequestException):
    """The answer (decoded) passed ``MAX_RESPONSE_BYTES``; reading stopped there."""


class DeadlineExceeded(requests.Timeout):
    """The call's deadline passed before an answer was complete."""


class Aborted(requests.RequestException):
    """The call was cut in flight, or refused before it was sent: its abort scope was aborted (``abort_requests``:
    the plugin is shutting down, or the engine called Cancel)."""


class ProxyRefused(ConfigError):
    """Plain http would go through a proxy: credentials would travel in clear text."""


# --- the watchdog: cut off an attempt whose time is up, whatever its socket is doing -------------------------


class _Guard:
    """The sockets one attempt uses; ``fire`` shuts them down so any blocked read or write returns at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.fired = False
        self.aborted = False
        self.done = False

    def attach(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            if self.done:
                return
            self._sockets.append(sock)
            if not self.fired:
                return
        _shutdown(sock)  # connected after the time was up: cut at once

    def fire(self) -> None:
        with self._lock:
            if self.done:
                return
            self.fired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shutdown(sock)

    def abort(self) -> None:
        """Fire now, because the attempt's scope was aborted (not because its time was up)."""
        self.aborted = True
        self.fire()

    def finish(self) -> None:
        with self._lock:
            self.done = True
            self._sockets.clear()


def _shutdown(sock: socket.socket) -> None:
    try:
        # The plain socket's shutdown, also for an SSLSocket: its own would tear down the TLS state under a reader.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass  # already closed


class _Watchdog:
    """One daemon thread for the whole process, firing guards at their times (a heap, not a timer per request)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Guard]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, when: float, guard: _Guard) -> None:
        with self._cond:
            heapq.heappush(self._heap, (when, next(self._seq), guard))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="gaussdb-watchdog", daemon=True)
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)  # finished in time: forget it
                if not self._heap:
                    self._cond.wait()
                    continue
                when = self._heap[0][0]
                now = time.monotonic()
                if now < when:
                    self._cond.wait(when - now)
                    continue
                guard = heapq.heappop(self._heap)[2]
            guard.fire()


_WATCHDOG = _Watchdog()
_GUARD: ContextVar[_Guard | None] = ContextVar("gaussdb_guard", default=None)


# --- abort scopes: end every request of a scope at once (shutdown, Cancel) ----------------------------------


class AbortScope:
    """The requests that ``abort`` ends at once: once it is called, every repeatable request of the scope in flight
    is cut (its sockets shut down, as the watchdog does), every retry sleep ends, and every later repeatable request
    of the scope is refused before it is sent. For good: a scope is aborted when its process is going away.

    A request that is not repeatable (an operation that changes the cloud) is left alone: its answer is what says
    whether it was accepted (and which job it started), so it ends by its own deadline; whether to send one at all
    after a cancel is its caller's decision (``provider.taskcenter.operations`` checks its cancel event first), and a
    refusal here would look to that caller like a request that may have arrived.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._guards: set[_Guard] = set()
        self._event = threading.Event()

    @property
    def aborted(self) -> bool:
        return self._event.is_set()

    def abort(self) -> int:
        """Cut every request of the scope in flight and refuse the later ones; how many were cut."""
        with self._lock:
            self._event.set()
            guards = list(self._guards)
        for guard in guards:
            guard.abort()
        return len(guards)

    def wait(self, seconds: float) -> bool:
        """Sleep ``seconds``, or less when the scope is aborted; True when it was."""
        return self._event.wait(max(seconds, 0.0))

    def _join(self, guard: _Guard) -> bool:
        with self._lock:
            if self._event.is_set():
                return False
            self._guards.add(guard)
            return True

    def _leave(self, guard: _Guard) -> None:
        with self._lock:
            self._guards.discard(guard)


# The process's scope: every request belongs to it unless ``abort_scope`` gives another (tests, a CLI run).
PROCESS_SCOPE = AbortScope()
_SCOPE: ContextVar[AbortScope] = ContextVar("gaussdb_abort_scope", default=PROCESS_SCOPE)


def abort_requests() -> int:
    """End every request of the process at once (the plugin's shutdown and Cancel); how many were cut in flight."""
    return PROCESS_SCOPE.abort()


@contextlib.contextmanager
def abort_scope(scope: AbortScope) -> Iterator[AbortScope]:
    """Requests sent within the context (in this thread or context) belong to ``scope`` instead of the process's."""
    token = _SCOPE.set(scope)
    try:
        yield scope
    finally:
        _SCOPE.reset(token)


class _GuardedConnection(HTTPConnection):
    def connect(self) -> None:
        super().connect()
        guard = _GUARD.get()
        if guard is not None:
            guard.attach(self.sock)

    def request(self, *args: Any, **kwargs: Any) -> None:
        guard = _GUARD.get()
        if guard is not None and self.sock is not None:  # a kept-alive connection, reused
            guard.attach(self.sock)
        super().request(*args, **kwargs)


class _GuardedHTTPSConnection(_GuardedConnection, HTTPSConnection):
    pass


class _GuardedPool(HTTPConnectionPool):
    ConnectionCls = _GuardedConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


_GUARDED_POOLS = {"http": _GuardedPool, "https": _GuardedHTTPSPool}


class _GuardedAdapter(HTTPAdapter):
    """requests' adapter with pools whose connections report their sockets to the current attempt's guard."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _GUARDED_POOLS

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        manager.pool_classes_by_scheme = _GUARDED_POOLS
        return manager


# --- sessions and the retry policy ---------------------------------------------------------------------------


# Methods that read and change nothing: the only ones retried unless a caller says otherwise (RFC 9110 9.2.1).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def retry_policy(total: int = 3, backoff_factor: float = 0.5, retry_after_max: int = 30) -> Retry:
    """The retry policy ``fetch`` follows (urllib3's counters, backoff and Retry-After parsing)."""
    return Retry(
        total=total,
        connect=total,
        read=total,
        status=total,
        other=0,
        redirect=0,
        # Any verb: ``fetch`` decides what may be repeated (``repeatable``) before this policy is consulted.
        allowed_methods=None,
        status_forcelist=RETRY_STATUSES,
        backoff_factor=backoff_factor,
        backoff_max=8.0,
        backoff_jitter=0.25,
        respect_retry_after_header=True,
        retry_after_max=retry_after_max,
        raise_on_status=False,
    )


def make_session(retry: Retry | None = None, pool_size: int = 32) -> requests.Session:
    """A session whose requests can be cut off by the watchdog. ``retry`` is for callers that send through the
    session directly; ``fetch`` retries by itself (to keep its sleeps within the deadline), so it passes none."""
    session = requests.Session()
    adapter = _GuardedAdapter(
        max_retries=retry or Retry(0, read=False, redirect=0), pool_connections=4, pool_maxsize=pool_size
    )
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = f"gaussdb-job/{__version__} (+python-requests)"
    # Only what ``_decoded`` can decode with a bound; brotli/zstd would bypass the cap.
    session.headers["Accept-Encoding"] = "gzip, deflate"
    return session


def proxies_for(url: str) -> dict[str, str | None]:
    """The proxies for one request: none for loopback (the emulator: its credentials must not reach a proxy),
    the environment's otherwise; plain http through a proxy is refused (tokens and passwords in clear text)."""
    parts = urlsplit(url)
    if is_loopback(parts.hostname or ""):
        # None overrides what requests would merge in from HTTP(S)_PROXY / ALL_PROXY.
        return {"http": None, "https": None, "all": None}
    proxies = get_environ_proxies(url)
    if parts.scheme == "http" and select_proxy(url, proxies):
        raise ProxyRefused(f"refusing to send credentials in clear text through a proxy to {parts.hostname}")
    return {}


# --- reading an answer within the cap ------------------------------------------------------------------------


def _decoder(encoding: str) -> Any:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip", "deflate"):
        return zlib.decompressobj(wbits=zlib.MAX_WBITS | 32)  # gzip or zlib header, detected
    raise ResponseTooLarge(f"unsupported content encoding {encoding[:20]!r}")


def _decoded(chunks: Iterator[bytes], encoding: str, limit: int) -> bytes:
    """The body, decoded, refusing to hold more than ``limit`` bytes of it at any moment."""
    decoder = _decoder(encoding)
    out = bytearray()
    for chunk in chunks:
        while chunk:
            if decoder is None:
                piece, chunk = chunk, b""
            else:
                # max_length bounds each step, so a bomb never expands past the cap in memory.
                piece = decoder.decompress(chunk, limit + 1 - len(out))
                chunk = decoder.unconsumed_tail
                if decoder.eof and decoder.unused_data:  # concatenated gzip members
                    chunk, decoder = decoder.unused_data + chunk, _decoder(encoding)
            out += piece
            if len(out) > limit:
                raise ResponseTooLarge(f"answer larger than {limit} bytes")
    if decoder is not None:
        out += decoder.flush()
        if len(out) > limit:
            raise ResponseTooLarge(f"answer larger than {limit} bytes")
    return bytes(out)


def read_body(response: requests.Response, limit: int = MAX_RESPONSE_BYTES) -> bytes:
    """Read a streamed response's body within the cap and keep it as ``response.content``."""
    if response._content_consumed:  # type: ignore[attr-defined]
        return response.content
    raw = response.raw
    declared = response.headers.get("Content-Length", "")
    encoding = response.headers.get("Content-Encoding", "")
    try:
        if not encoding and declared.isdigit() and len(declared) < 20 and int(declared) > limit:
            raise ResponseTooLarge(f"answer larger than {limit} bytes")
        body = _decoded(raw.stream(CHUNK_BYTES, decode_content=False), encoding, limit)
    except ResponseTooLarge:  # first: requests' errors are OSErrors too
        response.close()  # the rest is never read: the connection is dropped
        raise
    except ReadTimeoutError:
        response.close()
        raise requests.ReadTimeout("read timed out") from None
    except (HTTPError, OSError, zlib.error) as exc:
        response.close()
        raise requests.ConnectionError(f"answer cut short: {type(exc).__name__}") from None
    response._content = body
    response._content_consumed = True  # type: ignore[attr-defined]
    return body


# --- the transport -------------------------------------------------------------------------------------------


def _as_urllib3(exc: requests.RequestException) -> Exception:
    """The urllib3 error kind ``Retry.increment`` counts this under (connect or read)."""
    if isinstance(exc, requests.ConnectTimeout):
        return ConnectTimeoutError(None, "connect timed out")
    if isinstance(exc, requests.Timeout):
        return ReadTimeoutError(None, "", "read timed out")  # type: ignore[arg-type]
    return ProtocolError(type(exc).__name__)


@dataclass(frozen=True)
class Transport:
    """How the client talks HTTP: timeouts, retries and the size cap of each call. Tests pass fast ones."""

    connect_timeout: float = REQUEST_TIMEOUT[0]
    read_timeout: float = REQUEST_TIMEOUT[1]
    retries: int = 3
    backoff_factor: float = 0.5
    retry_after_max: int = 30
    pool_size: int = 32
    max_response_bytes: int = MAX_RESPONSE_BYTES
    call_seconds: float = DEFAULT_CALL_SECONDS

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.connect_timeout, self.read_timeout)

    def session(self) -> requests.Session:
        return make_session(pool_size=self.pool_size)

    def retry(self) -> Retry:
        return retry_policy(self.retries, self.backoff_factor, self.retry_after_max)

    def fetch(
        self,
        session: requests.Session,
        method: str,
        url: str,
        *,
        deadline: float | None = None,
        sleep: Callable[[float], object] | None = None,
        repeatable: bool | None = None,
        retries: int | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """Send with retries and return the answer with its body read (``response.content``), all by
        ``deadline`` (monotonic seconds; default ``call_seconds`` from now, and never later than the deadline of
        a call this one is made within). Raises ``requests`` errors: ``DeadlineExceeded`` (a ``Timeout``) when
        time ran out with nothing to show, ``ResponseTooLarge``, ``ConnectionError``, ``Aborted`` (the abort scope
        in force, ``abort_scope``, was aborted); ``ProxyRefused``. ``sleep`` (default: a wait that the abort
        ends) is how the pauses between tries are slept.

        ``repeatable``: whether sending the request twice is harmless. Default: only for GET, HEAD and OPTIONS. A
        request that is not repeatable is sent once and never retried, whatever happens to it (an operation that
        changes the cloud must not run twice because its answer was lost). ``retries``: how many times a
        repeatable request may be sent again (default: the transport's ``retries``; 0: sent once)."""
        if repeatable is None:
            repeatable = method.upper() in SAFE_METHODS
        allowed = self.retries if retries is None else max(0, retries)
        now = time.monotonic()
        outer = deadlines.current()
        if deadline is None and outer is None:
            deadline = now + self.call_seconds
        proxies = proxies_for(url)
        scope = _SCOPE.get()
        # No policy at all when sent once: the first outcome is the answer (an error raised as itself).
        retry = retry_policy(allowed, self.backoff_factor, self.retry_after_max) if repeatable and allowed else None
        with deadlines.within(deadline) as limit:
            assert limit is not None
            while True:
                outcome: requests.Response | requests.RequestException
                try:
                    outcome = self._attempt(session, method, url, limit, proxies, kwargs, scope, repeatable)
                except requests.RequestException as exc:
                    outcome = exc
                if isinstance(outcome, ResponseTooLarge | Aborted):
                    # The same server would send the same thing; an aborted scope refuses any retry.
                    raise outcome
                if retry is None:
                    return _final(outcome)
                try:
                    if isinstance(outcome, requests.Response):
                        status = outcome.status_code
                        has_retry_after = "Retry-After" in outcome.headers
                        if not retry.is_retry(method, status, has_retry_after):
                            return outcome
                        retry = retry.increment(method, url, response=outcome.raw)
                    else:
                        retry = retry.increment(method, url, error=_as_urllib3(outcome))
                except MaxRetryError:
                    return _final(outcome)
                pause = self._pause(retry, outcome)
                if time.monotonic() + pause >= limit:
                    return _final(outcome)  # no time to wait and try again: the last outcome stands
                if sleep is not None:
                    sleep(pause)
                elif scope.wait(pause):
                    raise Aborted("not sent again: the requests were aborted")

    def _pause(self, retry: Retry, outcome: requests.Response | requests.RequestException) -> float:
        if isinstance(outcome, requests.Response):
            after = retry_after_header.seconds(outcome.headers.get("Retry-After"), limit=float(self.retry_after_max))
            if after is not None:
                return after
        return retry.get_backoff_time()

    def _attempt(
        self,
        session: requests.Session,
        method: str,
        url: str,
        limit: float,
        proxies: Mapping[str, str | None],
        kwargs: Mapping[str, Any],
        scope: AbortScope,
        cut: bool,
    ) -> requests.Response:
        now = time.monotonic()
        left = limit - now
        if left <= 0:
            raise DeadlineExceeded("no time left")
        # The attempt's own bound: connecting, then the whole answer within the read timeout.
        end = min(limit, now + self.connect_timeout + self.read_timeout)
        guard = _Guard()
        # Joined before anything is sent: an abort from now on cuts this attempt, one before refuses it.
        if cut and not scope._join(guard):
            raise Aborted("not sent: the requests were aborted")
        token = _GUARD.set(guard)
        _WATCHDOG.arm(end, guard)
        try:
            timeout = (min(self.connect_timeout, left), min(self.read_timeout, left))
            # The verb's own method (session.get, session.post): a Session subclass that overrides it sees the call.
            send: Callable[..., requests.Response] = getattr(session, method.lower())
            response = send(
                url,
                timeout=timeout,
                stream=True,
                allow_redirects=False,
                proxies=dict(proxies),  # None entries disable a proxy
                **kwargs,
            )
            read_body(response, self.max_response_bytes)
            if guard.aborted:
                response.close()
                raise Aborted("cut in flight: the requests were aborted")
            if guard.fired:
                # The cut can look like an end of headers or body to http.client: never trust what was read.
                response.close()
                raise DeadlineExceeded(f"no complete answer within {end - now:.3g} s")
            return response
        except requests.RequestException as exc:
            if guard.aborted and not isinstance(exc, Aborted):
                raise Aborted("cut in flight: the requests were aborted") from None
            if guard.fired and not isinstance(exc, ResponseTooLarge | Aborted):
                seconds = end - now
                raise DeadlineExceeded(f"no complete answer within {seconds:.3g} s") from None
            raise
        finally:
            guard.finish()
            scope._leave(guard)
            _GUARD.reset(token)


def _final(outcome: requests.Response | requests.RequestException) -> requests.Response:
    if isinstance(outcome, requests.Response):
        return outcome
    raise outcome


DEFAULT_TRANSPORT = Transport()
