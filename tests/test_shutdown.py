"""Shutdown and Cancel end every wait at once, an HTTP request in flight included (issue 20).

A hung task center (a loopback server that accepts, reads the request and never answers) holds every read of a
wait until the transport's own deadline (connect 5 s + read 15 s per attempt). The plugin's SIGINT and its Cancel
RPC must not wait for that: the transport cuts every request in flight (``abort_requests``).

No timing assert: the bounds below (a 10 s grace for the exit, a 10 s gRPC deadline for the creates) are below
the 20 s a hung request would hold a wait without the cut, and far above what the cut takes.
"""

from __future__ import annotations

import importlib
import os
import signal
import socket
import subprocess
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from harness.plugin import PluginError, PluginProcess, serialize_provider
from provider.resources.dynamic import GaussDBJobProvider
from provider.wire import transport
from provider.wire.transport import AbortScope, Transport, abort_scope
from tests.support.hung import HungServer
from tests.support.plugin import clean_env, urn

pytestmark = pytest.mark.timeout(90)

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "0" * 32
JOBS = 8
# Above what the cut takes (well under a second when measured), below the 20 s a hung request would take.
GRACE = 10.0
JOB_IDS = [f"{i:08x}-fe0f-4888-9003-e843a4c90514" for i in range(JOBS)]


def start_plugin(server: HungServer, tmp_path: Path) -> PluginProcess:
    env = clean_env(PYTHONPATH=os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    env["GAUSSDB_MAX_RATE"] = "50"  # eight first polls at once
    env["GAUSSDB_LIST_API"] = "off"  # eight reads in flight, one per wait (a list call would be one for all)
    plugin = PluginProcess(tmp_path, env=env, default_provider=serialize_provider(GaussDBJobProvider())).start()
    plugin.configure(
        {
            "gaussdb:endpoint": server.url,
            "gaussdb:projectId": PROJECT,
            "gaussdb:accessKey": "shutdown-test-ak",
            "gaussdb:secretKey": "shutdown-test-sk",
        },
        secret_keys=["gaussdb:secretKey"],
    )
    return plugin


def eight_creates(plugin: PluginProcess, pool: ThreadPoolExecutor, timeout: float | None) -> list[Future[str]]:
    inputs = {job_id: plugin.check(urn(job_id), {}, {"job_id": job_id, "timeout": 900}).inputs for job_id in JOB_IDS}

    def create(job_id: str) -> str:
        try:
            plugin.create(urn(job_id), inputs[job_id], timeout=timeout)
        except PluginError as exc:
            return f"{exc.code.name}: {exc.details}"
        return "created"

    return [pool.submit(create, job_id) for job_id in JOB_IDS]


def test_sigint_with_eight_reads_in_flight_on_a_hung_server_exits_at_once(tmp_path: Path) -> None:
    server = HungServer()
    with server.running(), ThreadPoolExecutor(JOBS) as pool:
        plugin = start_plugin(server, tmp_path)
        try:
            creates = eight_creates(plugin, pool, timeout=None)
            server.wait_for(lambda s: s.requests >= JOBS)  # every wait is blocked in a read of the hung server
            process = plugin._process
            assert process is not None
            signalled = time.monotonic()
            process.send_signal(signal.SIGINT)  # as the engine does on Ctrl-C
            try:
                code = process.wait(GRACE)
            except subprocess.TimeoutExpired:
                code = None
            exited = time.monotonic() - signalled
            outcomes = [future.result(timeout=30) for future in creates]
        finally:
            plugin.stop()
        # The client closed every hung connection (the transport cut them): none was left to its deadline.
        server.wait_for(lambda s: s.closed_by_client >= JOBS)
    print(f"plugin exit after SIGINT with {JOBS} reads in flight on a hung server: {exited:.2f} s")
    assert code == 0, f"the plugin did not exit within {GRACE:g} s of SIGINT (code {code})"
    # The plugin stops its server on SIGINT (``server.stop(0)``): every create ends with its call cancelled by
    # grpc, before the waits end (``plugin_pool._at_exit``), so none answers with an error of its own.
    assert all(str(outcome).startswith("UNAVAILABLE: Cancelling") for outcome in outcomes), outcomes
    assert "Traceback" not in plugin.stderr_text(), plugin.stderr_text()


def test_the_cancel_rpc_cuts_eight_reads_in_flight_and_every_create_says_cancelled(tmp_path: Path) -> None:
    server = HungServer()
    with server.running(), ThreadPoolExecutor(JOBS) as pool:
        plugin = start_plugin(server, tmp_path)
        try:
            # The creates' own gRPC deadline is GRACE: without the cut they would end DEADLINE_EXCEEDED.
            creates = eight_creates(plugin, pool, timeout=GRACE)
            server.wait_for(lambda s: s.requests >= JOBS)
            plugin._call("Cancel", importlib.import_module("google.protobuf.empty_pb2").Empty(), timeout=10)
            outcomes = [str(future.result(timeout=30)) for future in creates]
            server.wait_for(lambda s: s.closed_by_client >= JOBS)
            requests_sent = server.requests
        finally:
            assert plugin.stop() == 0
    assert all(outcome.startswith("UNKNOWN") and "cancelled" in outcome for outcome in outcomes), outcomes
    assert requests_sent == JOBS  # nothing was sent after the Cancel


# --- the transport's abort, in process ---------------------------------------------------------------------


def test_an_abort_cuts_a_hung_read_and_refuses_the_next_one() -> None:
    server = HungServer()
    scope = AbortScope()
    quick = Transport(connect_timeout=5.0, read_timeout=60.0, retries=0)
    errors: list[BaseException] = []

    def read() -> None:
        with abort_scope(scope), quick.session() as session:
            try:
                quick.fetch(session, "GET", f"{server.url}/job")
            except requests.RequestException as exc:
                errors.append(exc)

    with server.running():
        thread = threading.Thread(target=read)
        thread.start()
        server.wait_for(lambda s: s.requests >= 1)
        assert scope.abort() == 1  # one request was in flight, and it was cut
        thread.join(30)
        assert not thread.is_alive()
        server.wait_for(lambda s: s.closed_by_client >= 1)
        with abort_scope(scope), quick.session() as session, pytest.raises(transport.Aborted, match="not sent"):
            quick.fetch(session, "GET", f"{server.url}/job")
        sent = server.requests
    assert len(errors) == 1 and isinstance(errors[0], transport.Aborted), errors
    assert sent == 1
    assert not transport.PROCESS_SCOPE.aborted  # another scope's abort is not the process's


def test_an_abort_ends_a_retry_sleep() -> None:
    """A 503 with Retry-After 30 s: the transport would sleep 30 s before trying again; the abort ends the sleep."""
    answered = threading.Event()

    def serve(listener: socket.socket) -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 503 Busy\r\nRetry-After: 30\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            answered.set()

    scope = AbortScope()
    with socket.create_server(("127.0.0.1", 0)) as listener:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/job"
        threading.Thread(target=serve, args=(listener,), daemon=True).start()
        outcome: list[BaseException | int] = []

        def read() -> None:
            slow = Transport(retries=2)
            with abort_scope(scope), slow.session() as session:
                try:
                    outcome.append(slow.fetch(session, "GET", url).status_code)
                except requests.RequestException as exc:
                    outcome.append(exc)

        thread = threading.Thread(target=read)
        thread.start()
        assert answered.wait(30)
        scope.abort()
        thread.join(20)  # far below the 30 s sleep it was in
        assert not thread.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], transport.Aborted), outcome


def test_an_abort_leaves_an_operation_in_flight_to_its_own_deadline() -> None:
    """A request that is not repeatable (an operation) is not cut: its answer would say whether it started."""
    server = HungServer()
    scope = AbortScope()
    short = Transport(connect_timeout=1.0, read_timeout=1.0, retries=0)
    errors: list[BaseException] = []

    def send() -> None:
        with abort_scope(scope), short.session() as session:
            try:
                short.fetch(session, "POST", f"{server.url}/action", json={}, repeatable=False)
            except requests.RequestException as exc:
                errors.append(exc)

    with server.running():
        thread = threading.Thread(target=send)
        thread.start()
        server.wait_for(lambda s: s.requests >= 1)
        assert scope.abort() == 0  # nothing of the scope's was cut
        thread.join(30)
    # It ended at its own read timeout, not cut by the abort.
    assert len(errors) == 1 and isinstance(errors[0], requests.Timeout), errors
    assert not isinstance(errors[0], transport.Aborted)
