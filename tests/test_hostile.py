"""A hostile task center: answers that hang, trickle, explode, nest, lie or redirect. Whatever it does, a call
ends by its deadline, in bounded memory, with a clean error, and nothing goes where it should not.

Bounds asserted here are generous safety bounds (the deadline plus a margin), never measured figures.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
import zlib
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest

from gaussdb_emulator.server import Emulator
from provider.config.settings import Settings
from provider.core.errors import ApiError, ConfigError, WaitTimeout
from provider.core.sanitize import clean
from provider.taskcenter import caps
from provider.taskcenter.client import TaskCenterClient
from provider.waiting.waiter import Policy, WaitOptions, wait_for_job
from provider.wire.auth import PasswordAuth, TokenAuth
from provider.wire.transport import MAX_RESPONSE_BYTES, Transport
from tests.support.cli import BIN

JOB_ID = "a9767ede-fe0f-4888-9003-e843a4c90514"
OTHER_ID = "b9767ede-fe0f-4888-9003-e843a4c90515"
PROJECT = "0" * 32
TOKEN = "hostile-test-token-0001"
# A call with a deadline D seconds away must end by D + this (thread wake-ups, a loaded 2-core box).
MARGIN = 1.5

Behaviour = Callable[[socket.socket, bytes], None]


def job_body(job_id: str = JOB_ID, **fields: object) -> bytes:
    job = {"id": job_id, "name": "RestartGaussDBInstance", "status": "Running", "process": "50%", **fields}
    return json.dumps({"job": job}).encode()


_STOP = threading.Event()


def hang(seconds: float) -> None:
    _STOP.wait(seconds)


def answer(body: bytes, status: str = "200 OK", headers: str = "") -> bytes:
    # The server closes every connection after one answer, so it says so (as HTTP/1.1 servers do): a read is sent
    # once, and must not meet a kept-alive connection that the server has already closed.
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        f"Connection: close\r\n{headers}\r\n"
    )
    return head.encode() + body


class Hostile:
    """A loopback HTTP/1.1 server whose every answer is ``behaviour(conn, request)``; it records what it got."""

    def __init__(self, behaviour: Behaviour | None = None) -> None:
        self.behaviour: Behaviour = behaviour or (lambda conn, request: conn.sendall(answer(job_body())))
        self.requests: list[bytes] = []
        self.connections = 0
        self.stopping = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> Hostile:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        except OSError:
            pass
        self._listener.close()
        self._thread.join(timeout=5)

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            try:
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                self.requests.append(data)
                self.behaviour(conn, data)
            except OSError:
                pass  # the client hung up: that is the point of most of these

    def trickle(self, conn: socket.socket, data: bytes, interval: float) -> None:
        for i in range(len(data)):
            if self.stopping.wait(interval):
                return
            conn.sendall(data[i : i + 1])


def client_for(url: str, **transport: float) -> TaskCenterClient:
    settings = Settings(project_id=PROJECT, region=None, endpoint=url, api_path="/v3", auth_url=f"{url}/v3")
    return TaskCenterClient(settings, TokenAuth(TOKEN), transport=Transport(**transport))  # type: ignore[arg-type]


def timed_call(client: TaskCenterClient, seconds: float) -> tuple[Exception | None, float]:
    started = time.monotonic()
    try:
        client.get_job(JOB_ID, deadline=started + seconds)
    except Exception as exc:  # noqa: BLE001 - the test inspects it
        return exc, time.monotonic() - started
    return None, time.monotonic() - started


# --- the deadline holds ------------------------------------------------------------------------------------


def test_a_hung_server_is_cut_off_at_the_deadline_not_after_the_read_timeout() -> None:
    with Hostile(lambda conn, request: hang(30)) as server:
        error, elapsed = timed_call(client_for(server.url), 1.0)  # default read timeout: 15 s per attempt
    assert isinstance(error, ApiError) and error.transient and "deadline" in str(error)
    assert elapsed < 1.0 + MARGIN


@pytest.mark.parametrize("part", ["headers", "body"])
def test_a_trickling_answer_is_cut_off_at_the_deadline(part: str) -> None:
    whole = answer(job_body())
    split = whole.index(b"\r\n\r\n") + 4 if part == "body" else 0

    def behaviour(conn: socket.socket, request: bytes) -> None:
        conn.sendall(whole[:split])
        server.trickle(conn, whole[split:], 0.2)  # far below any per-read timeout

    with Hostile(behaviour) as server:
        error, elapsed = timed_call(client_for(server.url), 1.0)
    assert isinstance(error, ApiError) and error.transient and "deadline" in str(error)
    assert elapsed < 1.0 + MARGIN


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make a test certificate")
def test_a_trickling_tls_answer_is_cut_off_at_the_deadline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The watchdog shuts down the TCP socket under TLS too (not the TLS state a reader is using)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"),
            *("-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    whole = answer(job_body())

    def behaviour(conn: socket.socket, request: bytes) -> None:
        conn.sendall(whole[:20])
        server.trickle(conn, whole[20:], 0.2)

    server = Hostile(behaviour)
    server._listener = context.wrap_socket(server._listener, server_side=True)
    with server:
        client = client_for(server.url.replace("http://", "https://"))
        error, elapsed = timed_call(client, 1.5)
        server.behaviour = lambda conn, request: conn.sendall(answer(job_body(status="Completed", process="")))
        assert client.get_job(JOB_ID).status == "Completed"  # TLS verified, and the client still works
    assert isinstance(error, ApiError) and "deadline" in str(error)
    assert elapsed < 1.5 + MARGIN


def test_retry_after_sleeps_do_not_outlast_the_deadline() -> None:
    unavailable = answer(b'{"error_code": "X", "error_msg": "busy"}', "503 Service Unavailable", "Retry-After: 30\r\n")
    with Hostile(lambda conn, request: conn.sendall(unavailable)) as server:
        error, elapsed = timed_call(client_for(server.url), 1.0)
        assert server.connections == 1  # a 30 s Retry-After does not fit: no sleep, no second try
    assert isinstance(error, ApiError) and error.status == 503 and error.transient
    assert elapsed < 1.0 + MARGIN


def test_a_wait_against_a_hung_server_ends_at_its_timeout() -> None:
    """No deadline passed by the caller: the waiter's own deadline bounds each poll's request."""
    with Hostile(lambda conn, request: hang(30)) as server:
        client = client_for(server.url)
        started = time.monotonic()
        with pytest.raises(WaitTimeout):
            wait_for_job(lambda: client.get_job(JOB_ID), WaitOptions(timeout=1.0, policy=Policy(min_interval=0.2)))
        elapsed = time.monotonic() - started
    assert elapsed < 1.0 + 1.0 + MARGIN  # the deadline, the last poll's grace, the margin


def test_a_hung_server_ends_a_wait_at_the_outage_limit() -> None:
    with Hostile(lambda conn, request: hang(30)) as server:
        client = client_for(server.url)
        started = time.monotonic()
        with pytest.raises(ApiError, match="deadline"):
            wait_for_job(
                lambda: client.get_job(JOB_ID), WaitOptions(timeout=60, policy=Policy(min_interval=0.2, outage_limit=1))
            )
        elapsed = time.monotonic() - started
    # The limit, a grace for each of the two polls it spans, one backoff sleep, the margin.
    assert elapsed < 1.0 + 2 * 1.0 + 1.0 + MARGIN


def test_a_hung_job_does_not_hold_back_another_jobs_wait() -> None:
    def behaviour(conn: socket.socket, request: bytes) -> None:
        if JOB_ID.encode() in request:
            hang(30)
        else:
            conn.sendall(answer(job_body(OTHER_ID, status="Completed", process="")))

    with Hostile(behaviour) as server:
        client = client_for(server.url)
        results: dict[str, object] = {}

        def wait(job_id: str, timeout: float) -> None:
            try:
                results[job_id] = wait_for_job(lambda: client.get_job(job_id), WaitOptions(timeout=timeout)).status
            except Exception as exc:  # noqa: BLE001
                results[job_id] = type(exc).__name__

        hung = threading.Thread(target=wait, args=(JOB_ID, 1.0))
        hung.start()
        wait(OTHER_ID, 30)
        assert results[OTHER_ID] == "Completed" and JOB_ID not in results  # answered while the other hangs
        hung.join(timeout=1.0 + 1.0 + MARGIN)
        assert results[JOB_ID] == "WaitTimeout"


# --- bounded answers ---------------------------------------------------------------------------------------


@cache
def _gzip_bomb(size: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\0" * (1 << 20)
    return b"".join(compressor.compress(block) for _ in range(size >> 20)) + compressor.flush()


def huge_fixed(conn: socket.socket, request: bytes) -> None:
    size = 50 << 20
    conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {size}\r\n\r\n".encode())
    block = b" " * (1 << 20)
    for _ in range(50):
        conn.sendall(block)


def huge_chunked(conn: socket.socket, request: bytes) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"%x\r\n" % (1 << 20) + b" " * (1 << 20) + b"\r\n"
    for _ in range(50):
        conn.sendall(chunk)
    conn.sendall(b"0\r\n\r\n")


def gzip_bomb(conn: socket.socket, request: bytes) -> None:
    conn.sendall(answer(_gzip_bomb(256 << 20), headers="Content-Encoding: gzip\r\n"))  # 256 MiB in ~250 KB


HUGE = {"fixed": huge_fixed, "chunked": huge_chunked, "gzip-bomb": gzip_bomb}


@pytest.mark.parametrize("kind", list(HUGE))
def test_a_huge_answer_is_refused_once_past_the_cap(kind: str) -> None:
    with Hostile(HUGE[kind]) as server:
        error, elapsed = timed_call(client_for(server.url), 5.0)
        assert server.connections == 1  # not retried: the same server would send the same again
    assert isinstance(error, ApiError) and error.transient
    assert f"larger than {MAX_RESPONSE_BYTES} bytes" in str(error)
    assert elapsed < 5.0 + MARGIN


def test_small_compressed_and_chunked_answers_are_read() -> None:
    def behaviour(conn: socket.socket, request: bytes) -> None:
        body = gzip.compress(job_body(status="Completed", process=""))
        head = "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
        conn.sendall(head.encode() + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n")

    with Hostile(behaviour) as server:
        assert client_for(server.url).get_job(JOB_ID).status == "Completed"


def _run_show(url: str) -> tuple[int, str, int]:
    """``gaussdb-job show`` in a subprocess: its exit code, stderr and peak RSS in KiB (wait4's own rusage)."""
    env = {"PATH": os.environ.get("PATH", ""), "GAUSSDB_ENDPOINT": url, "HW_PROJECT_ID": PROJECT}
    env |= {"HW_AUTH_TOKEN": TOKEN, "GAUSSDB_API_PATH": "/v3", "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [str(BIN / "gaussdb-job"), "show", JOB_ID], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert proc.stderr is not None
    stderr = proc.stderr.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, stderr, usage.ru_maxrss


def test_the_cli_stays_small_whatever_it_is_sent() -> None:
    """Peak RSS of the CLI: a 256 MiB gzip bomb and a 50 MB chunked body each cost it no more than a small job."""
    with Hostile() as server:
        _, _, baseline = _run_show(server.url)
        for kind in ("gzip-bomb", "chunked"):
            server.behaviour = HUGE[kind]
            code, stderr, peak = _run_show(server.url)
            assert code == 6 and "larger than" in stderr and "Traceback" not in stderr
            # Generous: the cap is 1 MiB; unbounded reading took hundreds of MB.
            assert peak < baseline + 32 * 1024, (kind, baseline, peak)


# --- malformed and lying answers ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["200 OK", "400 Bad Request", "500 Internal Server Error"])
def test_deeply_nested_json_is_a_clean_api_error(status: str) -> None:
    deep = b'{"error_code": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with Hostile(lambda conn, request: conn.sendall(answer(deep, status))) as server:
        with pytest.raises(ApiError) as caught:
            client_for(server.url, retries=0).get_job(JOB_ID)
    assert "Recursion" not in str(caught.value)


def test_an_answer_for_another_job_is_transient_and_the_wait_goes_on() -> None:
    answers = iter([job_body(OTHER_ID), job_body(status="Completed", process="")])
    with Hostile(lambda conn, request: conn.sendall(answer(next(answers)))) as server:
        client = client_for(server.url)
        with pytest.raises(ApiError, match=f"answered for job {OTHER_ID}") as caught:
            client.get_job(JOB_ID)
        assert caught.value.transient
        job = wait_for_job(lambda: client.get_job(JOB_ID), WaitOptions(timeout=10, policy=Policy(min_interval=0.05)))
    assert job.id == JOB_ID and job.status == "Completed"


def test_escape_sequences_are_kept_in_the_job_and_cleaned_for_display() -> None:
    # Under the 1 MiB cap (a 5 MB reason is refused whole, as too large).
    hostile = "\x1b]0;owned\x07\x1b[2Jdisk\nfull\u202e" + "x" * 500_000
    body = job_body(status="Failed", process="", fail_reason=hostile)
    with Hostile(lambda conn, request: conn.sendall(answer(body))) as server:
        job = client_for(server.url).get_job(JOB_ID)
    # The JSON output keeps the server's text as sent, up to its cap (provider/taskcenter/caps.py), with a note.
    assert job.fail_reason is not None and job.fail_reason.startswith(hostile[: caps.FAIL_REASON_LIMIT])
    assert f"{len(hostile)} characters" in job.fail_reason
    shown = clean(job.fail_reason or "", 80)
    assert shown.startswith("disk full") and len(shown) == 80 and shown.isprintable()


# --- nothing goes where it should not ----------------------------------------------------------------------


@pytest.mark.parametrize("auth", ["token", "password"])
def test_a_redirect_is_not_followed_and_no_credential_reaches_the_other_host(auth: str) -> None:
    with Hostile() as elsewhere:
        location = f"Location: {elsewhere.url}/v3/{PROJECT}/jobs?id={JOB_ID}\r\n"

        def redirect(conn: socket.socket, request: bytes) -> None:
            conn.sendall(answer(b"", "302 Found", location))

        def iam_redirect(conn: socket.socket, request: bytes) -> None:
            conn.sendall(answer(b"", "307 Temporary Redirect", f"Location: {elsewhere.url}/v3/auth/tokens\r\n"))

        with Hostile(redirect if auth == "token" else iam_redirect) as server:
            client = client_for(server.url)
            if auth == "password":
                client._auth = PasswordAuth(f"{server.url}/v3", "user", "hostile-password", "domain", PROJECT)
            with pytest.raises(ApiError):
                client.get_job(JOB_ID)
            assert len(server.requests) == 1
        assert elsewhere.connections == 0 and elsewhere.requests == []


def test_loopback_requests_bypass_a_proxy_from_the_environment(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = emulator.create_job(duration=0)
    cfg = emulator.config
    with Hostile() as proxy:
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
            monkeypatch.setenv(name, proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        settings = Settings(
            project_id=cfg.project_id, region=None, endpoint=emulator.url, api_path="/v3", auth_url=f"{emulator.url}/v3"
        )
        auth = PasswordAuth(f"{emulator.url}/v3", cfg.user, cfg.password, cfg.domain, cfg.project_id)
        assert TaskCenterClient(settings, auth).get_job(created["id"]).status == "Completed"
        assert proxy.connections == 0  # neither the IAM password nor the token went to the proxy


def test_plain_http_through_a_proxy_is_refused_and_nothing_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    with Hostile() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("http_proxy", proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        # Settings built directly (validation refuses http to a non-loopback host before this point).
        client = client_for("http://db.example.invalid")
        with pytest.raises(ConfigError, match="clear text through a proxy"):
            client.get_job(JOB_ID)
        assert proxy.connections == 0


# --- a hostile IAM -----------------------------------------------------------------------------------------


def iam(token_body: object, token: str = "iam-issued-token-0001") -> Behaviour:
    def behaviour(conn: socket.socket, request: bytes) -> None:
        if request.startswith(b"POST /v3/auth/tokens"):
            conn.sendall(answer(json.dumps(token_body).encode(), "201 Created", f"X-Subject-Token: {token}\r\n"))
        else:
            conn.sendall(answer(job_body(status="Completed", process="")))

    return behaviour


ISSUED = "2026-01-01T00:00:00.000000Z"


@pytest.mark.parametrize(
    "token_body",
    [
        {"token": ["not", "an", "object"]},
        ["not", "an", "object"],
        {"token": {"issued_at": ISSUED, "expires_at": "2026-01-02T00:00:00"}},  # aware and naive
        {"token": {"issued_at": ISSUED, "expires_at": ISSUED}},  # expires when issued
        {"token": {"issued_at": ISSUED, "expires_at": "2025-12-31T00:00:00Z"}},  # expires before issued
        {"token": {"issued_at": 17, "expires_at": {"a": 1}}},
    ],
    ids=["token-list", "body-list", "naive-and-aware", "expires-when-issued", "expires-before", "not-strings"],
)
def test_odd_iam_answers_give_a_usable_token_without_a_login_per_request(token_body: object) -> None:
    with Hostile(iam(token_body)) as server:
        client = client_for(server.url)
        client._auth = PasswordAuth(f"{server.url}/v3", "user", "hostile-password", "domain", PROJECT)
        for _ in range(3):
            assert client.get_job(JOB_ID).status == "Completed"
        logins = [r for r in server.requests if r.startswith(b"POST /v3/auth/tokens")]
    assert len(logins) == 1  # a sane lifetime was assumed: the token is reused


@pytest.mark.parametrize("token", ["tok\x1b[2Jen", "tok en", "x" * 20000])
def test_an_unusable_iam_token_is_a_clean_api_error(token: str) -> None:
    with Hostile(iam({"token": {}}, token=token)) as server:
        client = client_for(server.url, retries=0)
        client._auth = PasswordAuth(f"{server.url}/v3", "user", "hostile-password", "domain", PROJECT)
        with pytest.raises(ApiError, match="without a usable token"):
            client.get_job(JOB_ID)


def test_a_hung_iam_login_ends_with_the_task_center_calls_deadline() -> None:
    with Hostile(lambda conn, request: hang(30)) as server:
        client = client_for(server.url)
        client._auth = PasswordAuth(f"{server.url}/v3", "user", "hostile-password", "domain", PROJECT)
        error, elapsed = timed_call(client, 1.0)
    assert isinstance(error, ApiError) and error.transient
    assert elapsed < 1.0 + MARGIN


def test_a_hung_iam_login_holds_back_no_other_call_past_its_deadline() -> None:
    in_login = threading.Event()

    def behaviour(conn: socket.socket, request: bytes) -> None:
        in_login.set()
        hang(30)

    with Hostile(behaviour) as server:
        first, second = client_for(server.url), client_for(server.url)
        for client in (first, second):
            client._auth = PasswordAuth(f"{server.url}/v3", "user", "hostile-password", "domain", PROJECT)
        slow = threading.Thread(target=timed_call, args=(first, 3.0))
        slow.start()
        assert in_login.wait(5)  # the first call is inside the login, holding the token lock
        error, elapsed = timed_call(second, 1.0)
        slow.join()
    assert isinstance(error, ApiError) and error.transient
    assert elapsed < 1.0 + MARGIN
