"""An IAM answer that says the login worked (201) but carries no usable token is asked again, once (issue 20: it
was never retried); a refusal is not asked again, and a token that stays unusable is a clean error after two
logins. A loopback IAM counts the logins it answered."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from provider.config.settings import Settings
from provider.core.errors import ApiError, AuthError
from provider.taskcenter.client import TaskCenterClient
from provider.wire.auth import UNUSABLE_TOKEN_LOGINS, PasswordAuth
from provider.wire.transport import Transport

JOB_ID = "a9767ede-fe0f-4888-9003-e843a4c90514"
PROJECT = "0" * 32
GOOD = "iam-issued-token-0001"


@contextmanager
def iam(tokens: list[tuple[int, str]]) -> Iterator[tuple[str, list[str]]]:
    """IAM answering the logins with ``tokens`` in turn (status, X-Subject-Token), the last one over and over; the
    task center answering a Completed job to ``GOOD`` only. Yields the URL and the tokens handed out."""
    handed: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: dict[str, Any], token: str | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if token is not None:
                self.send_header("X-Subject-Token", token)
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status, token = tokens[min(len(handed), len(tokens) - 1)]
            handed.append(token)
            self._send(status, {"token": {}}, token)

        def do_GET(self) -> None:
            if self.headers.get("X-Auth-Token") != GOOD:
                self._send(401, {"error_code": "APIGW.0301", "error_msg": "bad token"})
                return
            self._send(200, {"job": {"id": JOB_ID, "name": "Restart", "status": "Completed", "process": ""}})

        def log_message(self, format: str, *args: Any) -> None:
            del format, args

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handed
    finally:
        server.shutdown()
        server.server_close()


def client_for(url: str, user: str) -> TaskCenterClient:
    settings = Settings(project_id=PROJECT, region=None, endpoint=url, api_path="/v3", auth_url=f"{url}/v3")
    # A user per test: tokens are cached per process, by IAM URL, project and user.
    auth = PasswordAuth(f"{url}/v3", user, "iam-retry-password", "domain", PROJECT)
    return TaskCenterClient(settings, auth, transport=Transport(retries=0))


@pytest.mark.parametrize("unusable", ["tok en", "tok\x1b[2Jen", ""], ids=["space", "escape", "empty"])
def test_an_unusable_token_is_asked_again_once(unusable: str) -> None:
    with iam([(201, unusable), (201, GOOD)]) as (url, handed):
        job = client_for(url, f"retry-{len(unusable)}").get_job(JOB_ID)
    assert job.status == "Completed"
    assert handed == [unusable, GOOD]


def test_a_token_that_stays_unusable_is_a_clean_error_after_two_logins() -> None:
    with iam([(201, "tok en")]) as (url, handed):
        with pytest.raises(ApiError, match="without a usable token"):
            client_for(url, "stays-unusable").get_job(JOB_ID)
    assert len(handed) == UNUSABLE_TOKEN_LOGINS == 2


def test_a_refused_login_is_not_asked_again() -> None:
    with iam([(401, "")]) as (url, handed):
        with pytest.raises(AuthError, match="refused the password login"):
            client_for(url, "refused").get_job(JOB_ID)
    assert len(handed) == 1
