"""The emulator's HTTP front: the task-center and IAM routes, the loopback-only control API, and ``Emulator``.

Runs on the standard library's ThreadingHTTPServer (a thread per connection) speaking HTTP/1.1 keep-alive, so
``requests`` sessions and the official SDK reuse connections just as they would against the cloud.
"""

from __future__ import annotations

import copy
import errno
import ipaddress
import json
import re
import socket
import struct
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from types import TracebackType
from typing import Any, Self, cast
from urllib.parse import parse_qs, unquote, urlsplit

from gaussdb_emulator import control, lists
from gaussdb_emulator.auth import Authenticator, AuthError, Credentials, IamError, TokenStore
from gaussdb_emulator.faults import Fault, FaultError, FaultQueue, parse_fault
from gaussdb_emulator.instances import OPERATION_PATH, InstanceStore, OperationRefused
from gaussdb_emulator.instances import control as instance_control
from gaussdb_emulator.jobs import JobConflict, JobError, JobStore
from gaussdb_emulator.services import DEFAULT_SERVICE, SHAPES
from gaussdb_emulator.services import body as service_body
from gaussdb_emulator.services import not_found as service_not_found

MAX_BODY = 1024 * 1024
IDLE_TIMEOUT = 300.0

TASK_CENTER = re.compile(r"^/(?P<mysql>mysql/)?v3/(?P<project>[^/]+)/jobs$")
IAM_TOKENS = "/v3/auth/tokens"
CONTROL_JOB = re.compile(r"^/_emulator/jobs/(?P<id>[^/]+)$")

JOB_NOT_FOUND = {"error_code": "DBS.200543", "error_msg": "The job does not exist."}
MISSING_ID = {"error_code": "DBS.200001", "error_msg": "Parameter error: the query parameter id is required."}
NOT_FOUND = {
    "error_code": "APIGW.0101",
    "error_msg": "The API does not exist or has not been published in the environment.",
}
BAD_REQUEST = {"error_code": "APIGW.0201", "error_msg": "API request error."}
THROTTLED = {"error_code": "APIGW.0308", "error_msg": "The request is throttled"}
SERVER_FAILURE = {"error_code": "DBS.108000", "error_msg": "Server failure."}
UNAVAILABLE = {"error_code": "APIGW.0201", "error_msg": "Backend unavailable."}
GARBAGE = b'\xff\xfe<<not json>> {"job": {"id": '
HTML_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


@dataclass(frozen=True)
class EmulatorConfig:
    # The credential defaults are published test values (printed at start), deliberately not secrets.
    host: str = "127.0.0.1"
    port: int = 0
    project_id: str = "0483b6b16e954cb88930a360d2c4e663"
    access_key: str = "EMULATORAKEXAMPLE001"
    secret_key: str = "emulator-secret-key-do-not-use-0000000000"  # noqa: S105
    temp_access_key: str = "EMULATORTEMPAK000001"
    temp_secret_key: str = "emulator-temp-secret-key-000000000000000"  # noqa: S105
    security_token: str = "emulator-security-token"  # noqa: S105
    token: str = "emulator-static-token"  # noqa: S105
    user: str = "emulator-user"
    password: str = "emulator-password"  # noqa: S105
    domain: str = "emulator-domain"
    token_ttl: float = 86400.0
    verbose: bool = False
    # The task center whose answer an id the emulator never heard of gets (a known job is answered in its own
    # service's shape): the emulator cannot tell an unknown id's service, as the real clouds do by host name.
    service: str = DEFAULT_SERVICE
    # Services whose list call answers as where it does not exist (404): ``--no-list-api``.
    no_list_api: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.service not in SHAPES:
            raise ValueError(f"unknown service {self.service!r}: expected one of {', '.join(SHAPES)}")
        lists.parse_services(self.no_list_api)

    def credentials(self) -> Credentials:
        return Credentials(
            project_id=self.project_id,
            access_key=self.access_key,
            secret_key=self.secret_key,
            temp_access_key=self.temp_access_key,
            temp_secret_key=self.temp_secret_key,
            security_token=self.security_token,
            token=self.token,
            user=self.user,
            password=self.password,
            domain=self.domain,
        )


class RequestStats:
    """Task-center requests: counts (total and per job id) and a log of when the last ones came, for tests and
    users that check from outside how often and how fast a client polled."""

    LOG_SIZE = 10_000
    # Distinct job ids counted; past this the id counted longest ago is dropped (anyone can ask for any id).
    JOBS_SIZE = 10_000

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._total = 0
        self._jobs: dict[str, int] = {}
        # (arrival time on one monotonic clock, job id or None, kind) in arrival order; bounded so a long run
        # stays small. kind: "job" (a per-job read), "list" (a list call, no job id), "operation" (a request that
        # starts an operation: the id of the job it started, or None when it was refused).
        self._log: deque[tuple[float, str | None, str]] = deque(maxlen=self.LOG_SIZE)

    def record(self, job_id: str | None, kind: str = "job") -> None:
        job_id = (job_id or "")[:128]
        with self._lock:
            self._total += 1
            self._log.append((self._clock(), job_id or None, kind))
            if job_id and kind == "job":
                self._jobs[job_id] = self._jobs.pop(job_id, 0) + 1  # re-inserted: the dict is oldest first
                if len(self._jobs) > self.JOBS_SIZE:
                    del self._jobs[next(iter(self._jobs))]

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"total": self._total, "jobs": dict(self._jobs), "log": [list(entry) for entry in self._log]}

    def clear(self) -> None:
        with self._lock:
            self._total = 0
            self._jobs.clear()
            self._log.clear()


class _State:
    """Everything the request handlers share; each part does its own locking."""

    def __init__(
        self,
        config: EmulatorConfig,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.jobs = JobStore(config.project_id, clock=clock, **({"wall_clock": wall_clock} if wall_clock else {}))
        self.instances = InstanceStore(self.jobs, config.project_id, clock, wall_clock)
        self.faults = FaultQueue()
        self.tokens = TokenStore(config.token_ttl)
        self.authenticator = Authenticator(config.credentials(), self.tokens)
        self.stats = RequestStats(clock)
        self.stopping = threading.Event()
        self.list_off = lists.ListSwitch(config.no_list_api)

    def reset(self) -> None:
        self.jobs.clear()
        self.instances.clear()
        self.faults.clear()
        self.stats.clear()


# accept() failing for lack of descriptors or kernel memory: worth a pause, not an immediate retry.
_RESOURCE_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Closing connections at stop makes handler threads exit; joining them as well could only add a hang.
    block_on_close = False
    request_queue_size = 256
    allow_reuse_address = True

    def __init__(self, state: _State) -> None:
        self.state = state
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._accept_backoff = 0.0
        host = state.config.host
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, state.config.port), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn) that can stall for seconds offline.
        TCPServer.server_bind(self)
        self.server_name = str(self.server_address[0])
        self.server_port = int(self.server_address[1])

    def get_request(self) -> tuple[socket.socket, Any]:
        """Accept a connection; out of descriptors (or buffers), back off instead of spinning.

        The listening socket stays readable while accept fails with EMFILE, so the serve loop would retry at
        once, forever, at 100 % CPU. Waiting a little (doubling up to a second, cut short by stop) lets handler
        threads finish and free descriptors; the pending connection is accepted then.
        """
        try:
            connection, address = super().get_request()
        except OSError as exc:
            if exc.errno in _RESOURCE_ERRNOS:
                self._accept_backoff = min(max(self._accept_backoff * 2, 0.05), 1.0)
                self.state.stopping.wait(self._accept_backoff)
            raise  # socketserver skips this round
        self._accept_backoff = 0.0
        return connection, address

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients vanishing mid-request is routine (timeouts, resets); never print a traceback for it.
        if self.state.config.verbose:
            error = sys.exc_info()[1]
            sys.stderr.write(f"emulator: connection from {client_address[0]} ended: {type(error).__name__}\n")

    def close_connections(self) -> None:
        """Wake handler threads blocked reading idle keep-alive connections so they exit now."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _is_loopback(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


def _json(payload: object) -> bytes:
    return json.dumps(payload).encode("utf-8")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "gaussdb-emulator"
    # Headers and body go out in separate writes; with Nagle on, keep-alive clients would wait ~40 ms each.
    disable_nagle_algorithm = True
    timeout = IDLE_TIMEOUT

    _request_id = ""

    def version_string(self) -> str:
        return self.server_version

    @property
    def state(self) -> _State:
        return cast(_Server, self.server).state

    # -- plumbing ---------------------------------------------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:
        # The request line carries no credentials (they travel in headers), so it is safe to print.
        if self.state.config.verbose:
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Protocol-level errors raised by the base class (bad request line, unknown method): JSON, not HTML."""
        self._request_id = uuid.uuid4().hex
        self.close_connection = True
        # An unparseable request line leaves the version at HTTP/0.9, which would suppress the status line.
        if self.request_version == "HTTP/0.9":
            self.request_version = "HTTP/1.0"
        if code == 501:
            body = {"error_code": "APIGW.0101", "error_msg": "The API does not exist."}
        else:
            body = dict(BAD_REQUEST)
        try:
            self._send(code, _json(body))
        except OSError:
            pass

    def _send(
        self,
        status: int,
        body: bytes,
        *,
        content_type: str = "application/json",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        # RFC 9110 forbids Content-Length on 204; every other answer has one so keep-alive framing holds.
        if status != 204:
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Request-Id", self._request_id)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and status != 204:
            self.wfile.write(body)

    def _reply(self, status: int, payload: object | None, headers: Mapping[str, str] | None = None) -> None:
        self._send(status, b"" if payload is None else _json(payload), headers=headers)

    def _read_body(self) -> bytes | None:
        """The request body, always consumed so the next request on the connection starts cleanly."""
        if self.headers.get("Transfer-Encoding") is not None:
            self.close_connection = True
            self._reply(411, {"error_code": "APIGW.0201", "error_msg": "Content-Length is required."})
            return None
        raw = self.headers.get("Content-Length", "0")
        try:
            length = int(raw)
            if length < 0:
                raise ValueError(raw)
        except ValueError:
            self.close_connection = True
            self._reply(400, BAD_REQUEST)
            return None
        if length > MAX_BODY:
            self.close_connection = True
            self._reply(413, {"error_code": "APIGW.0201", "error_msg": "Request entity too large."})
            return None
        body = self.rfile.read(length) if length else b""
        if len(body) != length:
            self.close_connection = True
            return None
        return body

    def _dispatch(self) -> None:
        self._request_id = uuid.uuid4().hex
        try:
            body = self._read_body()
            if body is not None:
                self._route(body)
        except OSError:
            # The client went away (or a fault closed the socket); nothing can be sent any more.
            self.close_connection = True
        except Exception:  # noqa: BLE001 - a bug must cost one request a 500, never a traceback
            self.close_connection = True
            try:
                self._reply(500, SERVER_FAILURE)
            except OSError:
                pass

    # Every method goes through one dispatcher, which answers 405 for what a path does not allow.
    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = do_HEAD = do_OPTIONS = _dispatch

    def _route(self, body: bytes) -> None:
        split = urlsplit(self.path)
        path = split.path
        listed = lists.route(path, split.query, self.state.config.service)
        if listed is not None:
            if self._allow("GET"):
                self._list_call(listed[0], unquote(listed[1]), split.query, body)
            return
        match = TASK_CENTER.match(path)
        if match:
            if self._allow("GET"):
                self._task_center(unquote(match["project"]), split.query, body, mysql_path=bool(match["mysql"]))
            return
        if path == IAM_TOKENS:
            if self._allow("POST"):
                self._iam_tokens(body)
            return
        if path.startswith("/_emulator/"):
            self._control(path, body)
            return
        if OPERATION_PATH.match(path):
            self._operation(path, body)
            return
        self._reply(404, NOT_FOUND)

    def _allow(self, *methods: str) -> bool:
        if self.command in methods:
            return True
        self._reply(
            405,
            {"error_code": "APIGW.0101", "error_msg": f"Method {self.command} is not allowed here."},
            headers={"Allow": ", ".join(methods)},
        )
        return False

    # -- task center ------------------------------------------------------------------------------------------

    def _task_center(self, project_id: str, query: str, body: bytes, *, mysql_path: bool = False) -> None:
        state = self.state
        ids = parse_qs(query, keep_blank_values=True).get("id")
        job_id = ids[0] if ids else None
        state.stats.record(job_id)
        fault = state.faults.take()
        if fault is not None:
            self._fault(fault)
            return
        if not self._admitted(project_id, body):
            return
        if not job_id or not job_id.strip():
            self._reply(400, MISSING_ID)
            return
        found = state.jobs.find(job_id, project_id)
        service = found[0].service if found is not None else state.config.service
        if mysql_path and not SHAPES[service].mysql_path:
            # Only GaussDB (for MySQL) has the older /mysql/v3 path; another service's gateway has no such API.
            self._reply(404, NOT_FOUND)
            return
        if found is None or found[1] is None:
            status, payload = service_not_found(service)
            self._reply(status, payload)
            return
        self._reply(200, service_body(service, found[1]))

    def _admitted(self, project_id: str, body: bytes) -> bool:
        """The gateway's checks of a task-center request: the signature or token (401), then the project (403)."""
        state = self.state
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            state.authenticator.authenticate(self.command, self.path, headers, body)
        except AuthError as error:
            self._reply(
                401,
                {"error_code": "APIGW.0301", "error_msg": f"Incorrect IAM authentication information: {error}"},
            )
            return False
        if project_id != state.config.project_id:
            self._reply(
                403,
                {
                    "error_code": "APIGW.0302",
                    "error_msg": "The IAM user is not authorized to access the API: "
                    "the credentials are not valid for the project in the URL.",
                },
            )
            return False
        return True

    def _list_call(self, spec: lists.ListSpec, project_id: str, query: str, body: bytes) -> None:
        """A list call (gaussdb_emulator.lists): the per-job read's gateway (faults, auth, project), then the list."""
        state = self.state
        state.stats.record(None, "list")
        fault = state.faults.take()
        if fault is not None:
            self._fault(fault)
            return
        if state.list_off.is_off(spec.service):
            self._reply(404, NOT_FOUND)
            return
        if not self._admitted(project_id, body):
            return
        visible = ((job, view) for job in state.jobs.all() if (view := state.jobs.lookup(job.id, project_id)))
        try:
            self._reply(200, lists.answer(spec, query, visible, state.jobs.now()))
        except lists.ListError as error:
            self._reply(error.status, error.body)

    def _operation(self, path: str, body: bytes) -> None:
        """An operation on an instance (gaussdb_emulator.instances); logged as kind "operation"."""
        state = self.state
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            state.authenticator.authenticate(self.command, self.path, headers, body)
        except AuthError as error:
            state.stats.record(None, "operation")
            self._reply(
                401, {"error_code": "APIGW.0301", "error_msg": f"Incorrect IAM authentication information: {error}"}
            )
            return
        match = OPERATION_PATH.match(path)
        assert match is not None
        try:
            if unquote(match["project"]) != state.config.project_id:
                raise OperationRefused(403, "APIGW.0302", "The IAM user is not authorized to access the API.")
            try:
                payload: object = json.loads(body) if body.strip() else None
            except ValueError:
                raise OperationRefused(400, "DBS.200001", "Parameter error: the body is not JSON.") from None
            accepted = state.instances.operate(self.command, unquote(path), payload, state.config.project_id)
        except OperationRefused as refused:
            state.stats.record(None, "operation")
            self._reply(refused.status, refused.body)
            return
        state.stats.record(accepted.job_id, "operation")
        if state.instances.take_drop():
            self.log_message('"%s" accepted, answer dropped (drop-after-accept fault)', self.requestline)
            self._reset_connection()
            return
        self._reply(accepted.status, accepted.body)

    def _fault(self, fault: Fault) -> None:
        kind = fault.kind
        if kind == "500":
            self._reply(500, SERVER_FAILURE)
        elif kind == "503":
            self._reply(503, UNAVAILABLE)
        elif kind == "429":
            self._reply(429, THROTTLED, headers={"Retry-After": str(fault.retry_after)})
        elif kind == "garbage":
            self._send(200, GARBAGE)
        elif kind == "html":
            self._send(502, HTML_502, content_type="text/html")
        elif kind == "hang":
            self.log_message('"%s" held without an answer (hang fault)', self.requestline)
            # Waiting on the stop event (not sleeping) lets Emulator.stop() release hung requests at once.
            self.state.stopping.wait(fault.hang_seconds)
            self.close_connection = True
        elif kind == "reset":
            self.log_message('"%s" answered with a TCP reset (reset fault)', self.requestline)
            self._reset_connection()

    def _reset_connection(self) -> None:
        """Close with SO_LINGER 0 so the kernel sends RST instead of FIN: the client sees a connection reset."""
        self.close_connection = True
        connection = cast(socket.socket, self.connection)
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # The buffered reader holds a reference that would postpone the real close past our return.
        self.rfile.close()
        connection.close()

    # -- IAM --------------------------------------------------------------------------------------------------

    def _iam_tokens(self, body: bytes) -> None:
        try:
            try:
                payload = json.loads(body)
            except ValueError:
                raise IamError(400, "Bad Request", "The request body is not valid JSON.") from None
            issued, response = self.state.authenticator.grant_password_token(payload)
        except IamError as error:
            self._reply(error.status, error.body())
            return
        self._reply(201, response, headers={"X-Subject-Token": issued.token})

    # -- control ----------------------------------------------------------------------------------------------

    def _control(self, path: str, body: bytes) -> None:
        if not _is_loopback(self.client_address[0]):
            self._reply(403, {"error_code": "EMU.0403", "error_msg": "The control API answers loopback clients only."})
            return
        if path == "/_emulator/":
            if self._allow("GET"):
                self._reply(200, control.index())
            return
        state = self.state
        routes: dict[str, Callable[[bytes], None]] = {
            "/_emulator/jobs": self._control_jobs,
            "/_emulator/faults": self._control_faults,
            "/_emulator/tokens": self._control_tokens,
            "/_emulator/stats": self._control_stats,
            "/_emulator/reset": self._control_reset,
            "/_emulator/list-api": self._control_list_api,
        }
        handler = routes.get(path)
        if handler is not None:
            handler(body)
            return
        if path.startswith("/_emulator/instances"):
            payload = self._payload(body) if self.command == "POST" else {}
            if payload is not None:
                self._reply(*instance_control(state.instances, self.command, path, payload))
            return
        match = CONTROL_JOB.match(path)
        if match is None:
            self._reply(404, NOT_FOUND)
            return
        if not self._allow("GET", "DELETE"):
            return
        job_id = unquote(match["id"])
        job = state.jobs.get(job_id)
        if job is None:
            self._reply(404, {"error_code": "EMU.0404", "error_msg": "No such job."})
        elif self.command == "DELETE":
            state.jobs.delete(job_id)
            self._reply(204, None)
        else:
            self._reply(200, {"job": state.jobs.view(job)})

    def _payload(self, body: bytes) -> dict[str, Any] | None:
        try:
            payload = json.loads(body) if body.strip() else {}
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            self._reply(400, {"error_code": "EMU.0400", "error_msg": "The body must be a JSON object."})
            return None
        return payload

    def _control_jobs(self, body: bytes) -> None:
        if not self._allow("POST"):
            return
        payload = self._payload(body)
        if payload is None:
            return
        try:
            job = self.state.jobs.create(payload)
        except JobConflict as error:
            self._reply(409, {"error_code": "EMU.0409", "error_msg": str(error)})
            return
        except JobError as error:
            self._reply(400, {"error_code": "EMU.0400", "error_msg": str(error)})
            return
        self._reply(201, {"job": self.state.jobs.view(job)})

    def _control_faults(self, body: bytes) -> None:
        if not self._allow("POST"):
            return
        payload = self._payload(body)
        if payload is None:
            return
        if payload.get("kind") in ("fail-next-operation", "drop-after-accept"):
            self._reply(*instance_control(self.state.instances, "FAULT", "", payload))
            return
        try:
            fault, count = parse_fault(payload)
        except FaultError as error:
            self._reply(400, {"error_code": "EMU.0400", "error_msg": str(error)})
            return
        faults = self.state.faults
        if fault is None:
            faults.clear()
            pending = 0
        else:
            pending = faults.add(fault, count)
        self._reply(200, {"pending": pending})

    def _control_tokens(self, body: bytes) -> None:
        if self._allow("DELETE"):
            self.state.tokens.revoke_all()
            self._reply(204, None)

    def _control_stats(self, body: bytes) -> None:
        if self._allow("GET"):
            self._reply(200, self.state.stats.snapshot())

    def _control_list_api(self, body: bytes) -> None:
        """GET: the services whose list call is off; POST ``{"service": NAME|"all", "enabled": bool}``."""
        if not self._allow("GET", "POST"):
            return
        switch = self.state.list_off
        if self.command == "POST":
            payload = self._payload(body)
            if payload is None:
                return
            try:
                switch.set(payload)
            except ValueError as error:
                self._reply(400, {"error_code": "EMU.0400", "error_msg": str(error)})
                return
        self._reply(200, {"off": switch.off()})

    def _control_reset(self, body: bytes) -> None:
        if self._allow("POST"):
            self.state.reset()
            self._reply(204, None)


class Emulator:
    """The emulator served from a background thread; a context manager for tests.

    ``port=0`` in the config picks a free port; ``config`` and ``url`` report the real one once started.
    ``clock`` (monotonic seconds) and ``wall_clock`` drive the jobs: pass a ``VirtualClock``'s to run waits over
    real HTTP in virtual time.
    """

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._requested = config or EmulatorConfig()
        self._state = _State(self._requested, clock, wall_clock)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        self._state.stopping.clear()
        server = _Server(self._state)
        self._server = server
        # stop() waits up to one poll interval for the accept loop; a short one keeps test teardown fast.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._state.stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def config(self) -> EmulatorConfig:
        if self._server is None:
            return self._requested
        return replace(self._requested, port=int(self._server.server_address[1]))

    @property
    def url(self) -> str:
        config = self.config
        host = f"[{config.host}]" if ":" in config.host else config.host
        return f"http://{host}:{config.port}"

    def create_job(self, **fields: Any) -> dict[str, Any]:
        """Same fields as ``POST /_emulator/jobs``; returns the job's current view. Raises ValueError."""
        job = self._state.jobs.create(fields)
        return copy.deepcopy(self._state.jobs.view(job))

    def job(self, job_id: str) -> dict[str, Any] | None:
        """The job's current view regardless of visibility or project; None if unknown."""
        job = self._state.jobs.get(job_id)
        return None if job is None else copy.deepcopy(self._state.jobs.view(job))

    def delete_job(self, job_id: str) -> bool:
        return self._state.jobs.delete(job_id)

    def add_fault(self, kind: str, count: int = 1, *, retry_after: int = 1, hang_seconds: float = 30.0) -> int:
        """Queue a fault for the next ``count`` task-center requests; returns how many are pending."""
        fault, count = parse_fault(
            {"kind": kind, "count": count, "retry_after": retry_after, "hang_seconds": hang_seconds}
        )
        if fault is None:
            self._state.faults.clear()
            return 0
        return self._state.faults.add(fault, count)

    def create_instance(self, **fields: Any) -> dict[str, Any]:
        """Same fields as ``POST /_emulator/instances``; returns the instance's view. Raises ValueError."""
        return self._state.instances.create(fields)

    def instance(self, instance_id: str) -> dict[str, Any] | None:
        """The instance's current view (finished operations applied); None if unknown."""
        return self._state.instances.view(instance_id)

    def fail_next_operation(self, reason: str = "The operation failed (scripted by the emulator).") -> None:
        self._state.instances.fail_next(reason)

    def drop_after_accept(self) -> None:
        """The next operation request is accepted (its job starts), then its connection is reset unanswered."""
        self._state.instances.drop_next()

    def issue_token(self) -> str:
        """A fresh IAM token, as if obtained with the password flow."""
        return self._state.tokens.issue().token

    def revoke_tokens(self) -> int:
        return self._state.tokens.revoke_all()

    def stats(self) -> dict[str, Any]:
        return self._state.stats.snapshot()

    def set_list_api(self, service: str, enabled: bool) -> list[str]:
        """Switch the list call of ``service`` (or ``"all"``) on or off; returns the services now off."""
        self._state.list_off.set({"service": service, "enabled": enabled})
        return self._state.list_off.off()

    def reset(self) -> None:
        """Forget jobs, pending faults and request counts (issued tokens stay valid)."""
        self._state.reset()
