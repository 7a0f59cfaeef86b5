"""A gateway that echoes the credential back (issue 20): a loopback task center that repeats the request's
``X-Auth-Token`` in every field it answers (name, fail_reason, entities keys and values, instance, error_msg,
the request id). Whatever it sends, the token is nowhere: not in the CLI's ``show`` or ``wait`` (stdout JSON,
stderr lines), not in the real plugin's outputs, progress lines or create errors. Tokens hold ``"``, ``\\``, a
tab, non-ASCII (Latin-1) and URL-special characters, so that JSON escaping or URL encoding cannot carry them
through.

Also here: hostile ``Retry-After`` values through the CLI, the plugin and the IAM login (bounded, never an
exception), and terminal-safe plugin text (no escape sequence, no forged line).
"""

from __future__ import annotations

import io
import json
import os
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from harness.plugin import PluginError, PluginProcess, serialize_provider  # noqa: E402
from provider.cli.main import main  # noqa: E402
from provider.config.credentials import secret_forms  # noqa: E402
from provider.config.settings import Settings  # noqa: E402
from provider.core.errors import ApiError  # noqa: E402
from provider.resource import GaussDBJobProvider  # noqa: E402
from provider.taskcenter.client import TaskCenterClient  # noqa: E402
from provider.wire.auth import PasswordAuth, TokenAuth  # noqa: E402
from provider.wire.transport import Transport  # noqa: E402
from tests.support.cli import FAST_POLICY  # noqa: E402

pytestmark = pytest.mark.timeout(60)

JOB_ID = "a9767ede-fe0f-4888-9003-e843a4c90514"
PROJECT = "0" * 32
MARK = "SeKrEt"  # every token starts with it: a cut-off token leaks this prefix first
TOKENS = {
    "quote": f'{MARK}"quote"-0001',
    "backslash": f"{MARK}\\back\\slash-0002",
    "tab": f"{MARK}\ttab-0003",
    "latin1": f"{MARK}-né-ü-0004",
    "url": f"{MARK}+plus%25&amp=/?-0005",
}
# Every hard character in one token: one plugin process serves it (each process costs about a second).
ALL_IN_ONE = f'{MARK}"q\\b\tt-né+%25&-0006'
# A wait polls again soon after an error (the default waits seconds): the tests count requests, not time.
# A job name that tries to drive the terminal and forge a line of its own in `pulumi up`.
HOSTILE_NAME = "name\x1b]0;title\x07\x1b[2J\r\nFAKE LINE: Completed\x9b31m"
# Hostile Retry-After values (issue 20): 5,000 digits, a year 99999, garbage, zero.
RETRY_AFTERS = {
    "digits": "9" * 5000,
    "year-99999": "Fri, 31 Dec 99999 23:59:59 GMT",
    "garbage": "soon\x01, maybe",
    "zero": "0",
}

Answer = tuple[int, dict[str, str], dict[str, Any]]


def echo_job(token: str, status: str = "Completed", name: str | None = None) -> dict[str, Any]:
    return {
        "job": {
            "id": JOB_ID,
            "name": f"echo {token}" if name is None else name,
            "status": status,
            "created": "2026-01-01T10:00:00+0800",
            "ended": "2026-01-01T10:01:00+0800" if status in ("Completed", "Failed") else "",
            "process": "" if status != "Running" else "50%",
            "instance": {"id": token, "name": f"db {token}"},
            "entities": {"echo": token, token: [token, {"nested": f"x{token}x"}]},
            "fail_reason": f"gateway said {token}" if status == "Failed" else None,
        }
    }


class EchoServer:
    """A loopback task center (and IAM) whose answers come from ``script``: a function of (path, the request's
    token, the request number) returning (status, headers, body). It records every request's path."""

    def __init__(self, script: Callable[[str, str, int], Answer]) -> None:
        self.script = script
        self.requests: list[str] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                with server._lock:
                    server.requests.append(self.path)
                    number = len(server.requests)
                token = self.headers.get("X-Auth-Token", "")
                status, headers, body = server.script(self.path, token, number)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = _answer
            do_POST = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        # A short poll interval: shutdown() waits for the serving loop to notice, up to that long.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.01,), daemon=True)

    def __enter__(self) -> EchoServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def job_reads(self) -> int:
        return sum(1 for path in self.requests if "/jobs" in path)


def assert_nowhere(token: str, *texts: str) -> None:
    """No form of ``token`` (raw, JSON-escaped, URL-encoded, repr) and not even its prefix in any text."""
    for text in texts:
        assert MARK not in text, f"the token's prefix leaked: {text[:2000]!r}"
        for form in secret_forms(token):
            assert form not in text


def cli_env(url: str, token: str) -> dict[str, str]:
    return {
        "GAUSSDB_ENDPOINT": url,
        "GAUSSDB_API_PATH": "/v3",
        "HW_PROJECT_ID": PROJECT,
        "HW_AUTH_TOKEN": token,
        "GAUSSDB_MAX_RATE": "50",
    }


def run_cli(argv: list[str], env: dict[str, str], transport: Transport | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, env=env, stdout=out, stderr=err, transport=transport, policy=FAST_POLICY)
    return code, out.getvalue(), err.getvalue()


# --- the CLI ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(TOKENS))
def test_show_and_wait_print_no_echoed_token(kind: str) -> None:
    token = TOKENS[kind]
    with EchoServer(lambda path, sent, n: (200, {"X-Request-Id": sent}, echo_job(sent))) as server:
        env = cli_env(server.url, token)
        code, out, err = run_cli(["show", JOB_ID], env)
        assert code == 0, err
        shown = json.loads(out)
        assert shown["status"] == "Completed" and shown["name"] == "echo ***"
        assert shown["entities"] == {"echo": "***", "***": ["***", {"nested": "x***x"}]}
        assert_nowhere(token, out, err)

        code, out, err = run_cli(["wait", JOB_ID, "--progress", "plain", "--timeout", "30"], env)
        assert code == 0, err
        assert json.loads(out)[0]["instance"] == {"id": "***", "name": "db ***"}
        assert "echo ***" in err  # the progress line was written, with the name scrubbed
        assert_nowhere(token, out, err)
    # The server did see the token: the test would fail for the right reason if scrubbing stopped.
    assert server.requests


@pytest.mark.parametrize("kind", ["quote", "tab", "latin1"])
def test_failed_job_and_error_answers_carry_no_echoed_token(kind: str) -> None:
    token = TOKENS[kind]

    def failed(path: str, sent: str, n: int) -> Answer:
        return 200, {}, echo_job(sent, status="Failed")

    def refused(path: str, sent: str, n: int) -> Answer:
        return 400, {"X-Request-Id": f"req {sent}"}, {"error_code": f"DBS.{sent}", "error_msg": f"bad {sent}"}

    with EchoServer(failed) as server:
        code, out, err = run_cli(["wait", JOB_ID, "--progress", "plain"], cli_env(server.url, token))
        assert code == 1
        assert json.loads(out)[0]["fail_reason"] == "gateway said ***"
        assert "gateway said ***" in err
        assert_nowhere(token, out, err)
    with EchoServer(refused) as server:
        code, out, err = run_cli(["show", JOB_ID], cli_env(server.url, token))
        assert code == 6
        assert "bad ***" in err and "\n" not in err.rstrip("\n").split("\n")[0][:-1]
        assert_nowhere(token, out, err)


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("Zq9v\r\nX-Evil: 1", "control characters"),
        ("Zq9v\nX-Evil: 1", "control characters"),
        ("Zq9v-\u4e2d\u6587-value", "Latin-1"),
        ("Zq9v-\u2603-value", "Latin-1"),
    ],
)
@pytest.mark.parametrize("variable", ["HW_AUTH_TOKEN", "HW_SECURITY_TOKEN", "HW_SECRET_KEY"])
def test_unsendable_credentials_are_refused_at_start_without_repeating_them(
    variable: str, value: str, why: str
) -> None:
    env = {"GAUSSDB_ENDPOINT": "http://127.0.0.1:9", "HW_PROJECT_ID": PROJECT, "HW_ACCESS_KEY": "AK-0000-test"}
    env |= {"HW_SECRET_KEY": "SK-0000-test", variable: value}
    code, out, err = run_cli(["show", JOB_ID], env)
    assert code == 2, err
    assert why in err and variable in err
    assert "Zq9v" not in err and "Evil" not in err and "Traceback" not in err and out == ""


# --- Retry-After -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", list(RETRY_AFTERS))
def test_cli_rides_out_a_hostile_retry_after(case: str) -> None:
    """show retries its one read (SHOW_RETRIES) through any Retry-After; wait's read is retried by the waiter."""
    token = TOKENS["quote"]

    def throttled_once(path: str, sent: str, n: int) -> Answer:
        if n == 1:
            return 429, {"Retry-After": RETRY_AFTERS[case]}, {"error_code": "APIGW.0308", "error_msg": sent}
        return 200, {}, echo_job(sent)

    fast = Transport(retry_after_max=1, backoff_factor=0.01)
    with EchoServer(throttled_once) as server:
        code, out, err = run_cli(["show", JOB_ID], cli_env(server.url, token), fast)
        assert code == 0, err
        assert server.job_reads() == 2
    if case != "digits":
        return  # one wait is enough to show the read is not retried by the transport (each costs a poll interval)
    with EchoServer(throttled_once) as server:
        code, out, err = run_cli(["wait", JOB_ID, "--progress", "plain"], cli_env(server.url, token), fast)
        assert code == 0, err
        assert "unexpected" not in err
        assert server.job_reads() == 2  # the throttled read, then the waiter's next one: none by the transport
        assert_nowhere(token, out, err)


@pytest.mark.parametrize("case", list(RETRY_AFTERS))
def test_a_persisting_throttle_with_a_hostile_retry_after_is_a_clean_api_error(case: str) -> None:
    def always(path: str, sent: str, n: int) -> Answer:
        return 429, {"Retry-After": RETRY_AFTERS[case]}, {"error_code": "APIGW.0308", "error_msg": "slow down"}

    with EchoServer(always) as server:
        code, _, err = run_cli(
            ["show", JOB_ID], cli_env(server.url, TOKENS["tab"]), Transport(retry_after_max=0, backoff_factor=0.01)
        )
    assert code == 6
    assert "throttled" in err and "unexpected" not in err and "Traceback" not in err
    assert server.job_reads() == 3  # show's one read and its two retries (SHOW_RETRIES), then it gives up


@pytest.mark.parametrize("case", list(RETRY_AFTERS))
def test_the_retry_after_an_error_carries_is_bounded(case: str) -> None:
    def always(path: str, sent: str, n: int) -> Answer:
        return 429, {"Retry-After": RETRY_AFTERS[case]}, {"error_code": "APIGW.0308", "error_msg": "slow down"}

    with EchoServer(always) as server:
        settings = Settings(project_id=PROJECT, region=None, endpoint=server.url, api_path="/v3", auth_url=None)
        client = TaskCenterClient(settings, TokenAuth("t0k3n-value"), transport=Transport(retry_after_max=30))
        with pytest.raises(ApiError) as caught:
            client.get_job(JOB_ID)
    error = caught.value
    assert error.throttled and error.transient
    # Too many digits or too far ahead: the bound; unreadable: None (the waiter's own interval); zero: zero.
    assert error.retry_after == {"digits": 30.0, "year-99999": 30.0, "garbage": None, "zero": 0.0}[case]
    assert server.job_reads() == 1  # a read is sent once: the wait engine asks again, paced by the budget


@pytest.mark.parametrize("case", list(RETRY_AFTERS))
def test_iam_login_rides_out_a_hostile_retry_after(case: str) -> None:
    issued = "iam-issued-token-echo-0001"

    def iam(path: str, sent: str, n: int) -> Answer:
        if path.startswith("/v3/auth/tokens"):
            if n == 1:
                return 429, {"Retry-After": RETRY_AFTERS[case]}, {"error_code": "APIGW.0308"}
            return 201, {"X-Subject-Token": issued}, {"token": {}}
        return 200, {}, echo_job(sent)

    with EchoServer(iam) as server:
        transport = Transport(retry_after_max=1, backoff_factor=0.01)
        settings = Settings(
            project_id=PROJECT, region=None, endpoint=server.url, api_path="/v3", auth_url=f"{server.url}/v3"
        )
        auth = PasswordAuth(f"{server.url}/v3", f"user-{case}", "pw-echo-0001", "domain", PROJECT, transport=transport)
        client = TaskCenterClient(settings, auth, transport=transport)
        job = client.get_job(JOB_ID)
    assert job.status == "Completed"
    assert server.requests[:2] == ["/v3/auth/tokens", "/v3/auth/tokens"]  # the login retried, through our transport
    assert issued not in job.name and job.name == "echo ***"  # the issued token is scrubbed too


# --- the real plugin ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def provider_blob() -> str:
    return serialize_provider(GaussDBJobProvider())


def plugin_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HW_", "OS_", "GAUSSDB_"))}
    return env | {"GAUSSDB_MAX_RATE": "50"}


JOB_URN = "urn:pulumi:dev::gaussdb-job-demo::pulumi-python:dynamic/gaussdb:GaussDBJob::echo"


@pytest.fixture
def plugin_for(tmp_path: Path, provider_blob: str) -> Iterator[Callable[[EchoServer, str], PluginProcess]]:
    started: list[PluginProcess] = []

    def start(server: EchoServer, token: str) -> PluginProcess:
        process = PluginProcess(tmp_path, env=plugin_env(), default_provider=provider_blob).start()
        started.append(process)
        config = {
            "gaussdb:endpoint": server.url,
            "gaussdb:apiPath": "/v3",
            "gaussdb:projectId": PROJECT,
            "gaussdb:authToken": token,
        }
        process.configure(config, secret_keys=["gaussdb:authToken"])
        return process

    yield start
    for process in started:
        process.stop()


def test_plugin_outputs_progress_and_errors_hold_no_echoed_token(
    plugin_for: Callable[[EchoServer, str], PluginProcess],
) -> None:
    token = ALL_IN_ONE
    status = {"value": "Completed"}
    with EchoServer(lambda path, sent, n: (200, {}, echo_job(sent, status=status["value"]))) as server:
        plugin = plugin_for(server, token)
        props = {"job_id": JOB_ID, "timeout": 30, "fail_on_error": False}
        _, outputs = plugin.create(JOB_URN, props, timeout=50)
        assert outputs["name"] == "echo ***" and outputs["entities"]["echo"] == "***"
        status["value"] = "Failed"
        _, failed_outputs = plugin.create(JOB_URN, props, timeout=50)
        assert failed_outputs["fail_reason"] == "gateway said ***"  # fail_on_error=False: recorded in state
        read = plugin.read(JOB_URN, JOB_ID, outputs)
        with pytest.raises(PluginError) as caught:
            plugin.create(JOB_URN, {**props, "fail_on_error": True}, timeout=50)
        assert "gateway said ***" in caught.value.details
        stderr = "\n".join(plugin.wait_for_stderr(lambda lines: any("echo ***" in line for line in lines)))
    assert "echo ***" in stderr  # progress lines were written
    everything = json.dumps([outputs, failed_outputs, read.outputs], ensure_ascii=False)
    assert_nowhere(token, everything, json.dumps([outputs, failed_outputs]), caught.value.details, stderr)


def test_plugin_text_cannot_drive_the_terminal_or_forge_a_line(
    plugin_for: Callable[[EchoServer, str], PluginProcess],
) -> None:
    def hostile(path: str, sent: str, n: int) -> Answer:
        body = echo_job(sent, status="Failed", name=HOSTILE_NAME)
        body["job"]["fail_reason"] = "reason\x1b[31m\rFAKE LINE: Completed\x07"
        return 200, {}, body

    with EchoServer(hostile) as server:
        plugin = plugin_for(server, TOKENS["quote"])
        with pytest.raises(PluginError) as caught:
            plugin.create(JOB_URN, {"job_id": JOB_ID, "timeout": 30}, timeout=50)
        # The progress line comes through a pipe: wait for it (a condition, not a sleep), then read it all.
        plugin.wait_for_stderr(lambda lines: any("FAKE LINE" in line for line in lines))
        stderr = plugin.stderr_text()
    for text in (stderr, caught.value.details):
        assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text and "\r" not in text
        assert not any(line.lstrip().startswith("FAKE LINE") for line in text.splitlines())
    assert "FAKE LINE: Completed" in stderr  # the text is kept, on the job's own line


def test_plugin_read_through_a_hostile_retry_after_is_one_clean_error(
    plugin_for: Callable[[EchoServer, str], PluginProcess],
) -> None:
    cases = list(RETRY_AFTERS.values())

    def always(path: str, sent: str, n: int) -> Answer:
        value = cases[(n - 1) % len(cases)]
        return 429, {"Retry-After": value}, {"error_code": "APIGW.0308", "error_msg": f"slow {sent}"}

    with EchoServer(always) as server:
        plugin = plugin_for(server, ALL_IN_ONE)
        for _ in cases:
            with pytest.raises(PluginError) as caught:
                # A refresh rides out a throttle for at most the resource's timeout, then says so.
                plugin.read(JOB_URN, JOB_ID, {"job_id": JOB_ID, "timeout": 1})
            details = caught.value.details
            assert "throttled" in details and "unexpected" not in details and "ValueError" not in details
            assert_nowhere(ALL_IN_ONE, details)
    # Retry-After is honoured (bounded): within a 1 s refresh each case is read once, or twice after a short pause.
    assert len(cases) <= server.job_reads() <= 2 * len(cases)


# --- APIGW.0308: a throttle under any status ----------------------------------------------------------------------


@pytest.mark.parametrize("status", [400, 403, 429])
def test_apigw_0308_under_any_status_is_a_transient_throttle_not_a_refusal(status: int) -> None:
    def throttle(path: str, sent: str, n: int) -> Answer:
        return status, {}, {"error_code": "APIGW.0308", "error_msg": "The request is throttled"}

    with EchoServer(throttle) as server:
        settings = Settings(project_id=PROJECT, region=None, endpoint=server.url, api_path="/v3", auth_url=None)
        client = TaskCenterClient(settings, TokenAuth("t0k3n-value"), transport=Transport())
        with pytest.raises(ApiError) as caught:
            client.get_job(JOB_ID)
    assert type(caught.value) is ApiError  # a 403 with the throttle code is not AuthError (exit 5)
    assert caught.value.throttled and caught.value.transient and caught.value.status == status


def test_a_wait_rides_out_a_403_throttle() -> None:
    def throttled_once(path: str, sent: str, n: int) -> Answer:
        if n == 1:
            return 403, {}, {"error_code": "APIGW.0308", "error_msg": "The request is throttled"}
        return 200, {}, echo_job(sent)

    with EchoServer(throttled_once) as server:
        code, out, err = run_cli(["wait", JOB_ID, "--progress", "plain"], cli_env(server.url, TOKENS["quote"]))
    assert code == 0, err
    assert json.loads(out)[0]["status"] == "Completed" and server.job_reads() == 2


def test_the_iam_login_goes_through_the_transport_the_cli_was_given() -> None:
    """compose builds PasswordAuth with the client's transport: a transport that retries nothing makes one login."""

    def refusing_iam(path: str, sent: str, n: int) -> Answer:
        if path.startswith("/v3/auth/tokens"):
            return 429, {"Retry-After": "9" * 5000}, {"error_code": "APIGW.0308", "error_msg": "slow down"}
        return 200, {}, echo_job(sent)

    with EchoServer(refusing_iam) as server:
        env = cli_env(server.url, "") | {
            "HW_USER_NAME": "user",
            "HW_PASSWORD": "pw-echo-0002",
            "HW_DOMAIN_NAME": "domain",
            "HW_AUTH_URL": f"{server.url}/v3",
        }
        del env["HW_AUTH_TOKEN"]
        code, _, err = run_cli(["show", JOB_ID], env, Transport(retries=0))
    assert code == 6 and "IAM answered HTTP 429" in err and "unexpected" not in err
    assert server.requests == ["/v3/auth/tokens"]  # one login, no retry: the given transport's policy, not the default


def test_the_plugin_refuses_an_unsendable_token_at_check_without_repeating_it(
    plugin_for: Callable[[EchoServer, str], PluginProcess],
) -> None:
    """Preview fails (check), and so does create, with a message naming the setting, never the value."""
    with EchoServer(lambda path, sent, n: (200, {}, echo_job(sent))) as server:
        plugin = plugin_for(server, "Zq9v\r\nX-Evil: 1")
        result = plugin.check(JOB_URN, {}, {"job_id": JOB_ID})
        with pytest.raises(PluginError) as caught:
            plugin.create(JOB_URN, {"job_id": JOB_ID, "timeout": 30}, timeout=50)
    assert [prop for prop, _ in result.failures] == [""]
    reason = result.failures[0][1]
    assert "gaussdb:authToken" in reason and "control characters" in reason
    for text in (reason, caught.value.details, plugin.stderr_text()):
        assert "Zq9v" not in text and "Evil" not in text
    assert server.requests == []  # nothing was sent
