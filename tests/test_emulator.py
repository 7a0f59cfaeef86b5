"""The emulator over real HTTP on loopback: wire shapes, auth, IAM, faults, control API and CLI."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from gaussdb_emulator.auth import IAM_TIME_FORMAT
from gaussdb_emulator.clock import VirtualClock
from gaussdb_emulator.faults import Fault, FaultQueue
from gaussdb_emulator.jobs import JobStore, build_job, render
from gaussdb_emulator.server import Emulator, EmulatorConfig, _is_loopback
from provider.wire import signer
from tests.support.emulator import running_emulator

ROOT = Path(__file__).resolve().parent.parent
CFG = EmulatorConfig()
PATHS = ("/mysql/v3", "/v3")
CREATED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}$")
DEADLINE = 10.0


@pytest.fixture
def emu(emulator: Emulator) -> Emulator:
    """A fresh emulator per test (tests/conftest.py), under this module's short name."""
    return emulator


@pytest.fixture
def vclock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def vemu(vclock: VirtualClock) -> Iterator[Emulator]:
    """An emulator whose jobs run on ``vclock``: a test moves time instead of waiting for it."""
    with running_emulator(clock=vclock) as emulator:
        yield emulator


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def jobs_url(emu: Emulator, prefix: str = "/v3", project: str | None = None) -> str:
    return f"{emu.url}{prefix}/{project or emu.config.project_id}/jobs"


def signed_headers(
    emu: Emulator,
    url: str,
    *,
    access_key: str = CFG.access_key,
    secret_key: str = CFG.secret_key,
    extra: dict[str, str] | None = None,
    timestamp: str | None = None,
) -> dict[str, str]:
    parts = urlsplit(url)
    headers = {"Host": parts.netloc, signer.DATE_HEADER: timestamp or signer.timestamp_now(), **(extra or {})}
    names = sorted(name.lower() for name in headers)
    headers["Authorization"] = signer.sign(
        access_key=access_key,
        secret_key=secret_key,
        method="GET",
        path=parts.path,
        query=signer.query_pairs(parts.query),
        headers={k.lower(): v for k, v in headers.items()},
        signed=names,
        body=None,
        timestamp=headers[signer.DATE_HEADER],
    )
    return headers


def get_job(
    http: requests.Session, emu: Emulator, job_id: str, prefix: str = "/v3", **kwargs: Any
) -> requests.Response:
    url = f"{jobs_url(emu, prefix)}?id={job_id}"
    return http.get(url, headers=signed_headers(emu, url, **kwargs), timeout=5)


def poll(fetch: Callable[[], requests.Response], done: Callable[[requests.Response], bool]) -> requests.Response:
    """Re-query until ``done`` holds; the deadline only bounds a broken run, it never paces a passing one."""
    deadline = time.monotonic() + DEADLINE
    while True:
        response = fetch()
        if done(response):
            return response
        assert time.monotonic() < deadline, f"gave up waiting; last answer {response.status_code} {response.text}"
        time.sleep(0.02)


def assert_common_headers(response: requests.Response) -> None:
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-Id"])
    assert response.headers["Content-Type"] == "application/json"
    assert int(response.headers["Content-Length"]) == len(response.content)


# -- job shapes -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", PATHS)
def test_running_job_has_the_page_shape(emu: Emulator, http: requests.Session, prefix: str) -> None:
    entities = {"instance": {"endpoint": "192.168.1.203:3306", "type": "Cluster"}, "resource_ids": ["a.vm"]}
    job = emu.create_job(
        name=" RestartGaussDBInstance",
        duration=600,
        instance={"id": "inst-1", "name": "DO-NOT-TOUCH"},
        entities=entities,
    )
    response = get_job(http, emu, job["id"], prefix)
    assert response.status_code == 200
    assert_common_headers(response)
    body = response.json()
    assert list(body) == ["job"]
    view = body["job"]
    assert list(view) == ["id", "name", "status", "created", "process", "instance", "entities"]
    assert view["id"] == job["id"]
    assert view["name"] == " RestartGaussDBInstance"
    assert view["status"] == "Running"
    assert CREATED.match(view["created"])
    assert re.fullmatch(r"\d{1,2}%", view["process"])
    assert view["instance"] == {"id": "inst-1", "name": "DO-NOT-TOUCH"}
    assert view["entities"] == entities


def test_job_completes_with_ended_and_empty_process(
    vemu: Emulator, vclock: VirtualClock, http: requests.Session
) -> None:
    job = vemu.create_job(duration=30, outcome="Completed")
    vclock.advance(29.9)
    seen_running = get_job(http, vemu, job["id"]).json()["job"]
    assert seen_running["status"] == "Running"
    assert seen_running["process"] == "99%"
    vclock.advance(0.1)
    done = get_job(http, vemu, job["id"]).json()["job"]
    assert done["status"] == "Completed"
    assert done["process"] == ""
    assert CREATED.match(done["ended"])
    created = datetime.strptime(done["created"], "%Y-%m-%dT%H:%M:%S%z")
    assert datetime.strptime(done["ended"], "%Y-%m-%dT%H:%M:%S%z") - created == timedelta(seconds=30)
    assert "fail_reason" not in done


def test_failed_job_carries_fail_reason(vemu: Emulator, vclock: VirtualClock, http: requests.Session) -> None:
    job = vemu.create_job(duration=20, outcome="Failed", fail_reason="disk full")
    assert get_job(http, vemu, job["id"]).json()["job"]["status"] == "Running"
    vclock.advance(20)
    done = get_job(http, vemu, job["id"]).json()["job"]
    assert done["status"] == "Failed"
    assert done["fail_reason"] == "disk full"
    assert done["process"] == ""
    assert "ended" in done


def test_zero_duration_is_finished_at_once(emu: Emulator, http: requests.Session) -> None:
    job = emu.create_job(duration=0)
    assert job["status"] == "Completed"
    assert get_job(http, emu, job["id"]).json()["job"]["status"] == "Completed"


def _job(progress: str, duration: float = 100.0, outcome: str = "Completed") -> Any:
    return build_job(
        {"progress": progress, "duration": duration, "outcome": outcome},
        default_project_id="p",
        started=0.0,
        created_at=datetime(2018, 8, 6, 10, 41, 14, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("progress", "elapsed", "process"),
    [
        ("linear", 0.0, "0%"),
        ("linear", 42.5, "42%"),
        ("linear", 99.99, "99%"),
        ("steps", 0.0, "0%"),
        ("steps", 24.9, "0%"),
        ("steps", 25.0, "20%"),
        ("steps", 60.0, "50%"),
        ("steps", 80.0, "90%"),
        ("none", 50.0, ""),
    ],
)
def test_progress_shapes(progress: str, elapsed: float, process: str) -> None:
    view = render(_job(progress), elapsed)
    assert view["status"] == "Running"
    assert view["process"] == process
    assert "ended" not in view


def test_finished_view_times_use_the_page_format() -> None:
    view = render(_job("linear", duration=3600, outcome="Failed"), 4000)
    assert view["created"] == "2018-08-06T10:41:14+0000"
    assert view["ended"] == "2018-08-06T11:41:14+0000"
    assert view["status"] == "Failed"
    assert view["fail_reason"]


def test_job_store_hides_jobs_until_visible_and_from_other_projects() -> None:
    now = [0.0]
    store = JobStore("mine", clock=lambda: now[0])
    store.create({"id": "j", "visible_after": 5, "duration": 10})
    store.create({"id": "other", "project_id": "theirs"})
    assert store.lookup("j", "mine") is None
    now[0] = 5.0
    view = store.lookup("j", "mine")
    assert view is not None and view["process"] == "50%"
    assert store.lookup("other", "mine") is None
    assert store.lookup("other", "theirs") is not None


# -- task-center errors -----------------------------------------------------------------------------------------


def test_visible_after_answers_not_found_then_the_job(
    vemu: Emulator, vclock: VirtualClock, http: requests.Session
) -> None:
    job = vemu.create_job(visible_after=8.0, duration=60)
    vclock.advance(7.9)
    early = get_job(http, vemu, job["id"])
    assert early.status_code == 400
    assert early.json() == {"error_code": "DBS.200543", "error_msg": "The job does not exist."}
    vclock.advance(0.1)
    later = get_job(http, vemu, job["id"])
    assert later.json()["job"]["id"] == job["id"]


@pytest.mark.parametrize("prefix", PATHS)
def test_unknown_job_is_dbs_200543(emu: Emulator, http: requests.Session, prefix: str) -> None:
    response = get_job(http, emu, "a9767ede-fe0f-4888-9003-e843a4c90514", prefix)
    assert response.status_code == 400
    assert_common_headers(response)
    assert response.json() == {"error_code": "DBS.200543", "error_msg": "The job does not exist."}


def test_job_of_another_project_is_not_found(emu: Emulator, http: requests.Session) -> None:
    job = emu.create_job(project_id="someone-elses-project", duration=0)
    response = get_job(http, emu, job["id"])
    assert response.status_code == 400
    assert response.json()["error_code"] == "DBS.200543"


@pytest.mark.parametrize("query", ["", "?id=", "?id=%20", "?other=1"])
def test_missing_id_is_a_parameter_error(emu: Emulator, http: requests.Session, query: str) -> None:
    url = jobs_url(emu) + query
    response = http.get(url, headers=signed_headers(emu, url), timeout=5)
    assert response.status_code == 400
    assert response.json()["error_code"] == "DBS.200001"
    assert response.json()["error_msg"]


# -- authentication ---------------------------------------------------------------------------------------------


def _assert_401(response: requests.Response, *secrets: str) -> None:
    assert response.status_code == 401
    assert_common_headers(response)
    body = response.json()
    assert body["error_code"] == "APIGW.0301"
    assert body["error_msg"].startswith("Incorrect IAM authentication information")
    for secret in secrets:
        assert secret not in response.text


def test_missing_credentials_are_401(emu: Emulator, http: requests.Session) -> None:
    job = emu.create_job()
    _assert_401(http.get(f"{jobs_url(emu)}?id={job['id']}", timeout=5))


def test_bad_signature_is_401(emu: Emulator, http: requests.Session) -> None:
    job = emu.create_job()
    _assert_401(get_job(http, emu, job["id"], secret_key="wrong-secret"), "wrong-secret")


def test_signature_over_a_different_request_is_401(emu: Emulator, http: requests.Session) -> None:
    job = emu.create_job()
    url = f"{jobs_url(emu)}?id={job['id']}"
    headers = signed_headers(emu, url + "x")
    _assert_401(http.get(url, headers=headers, timeout=5))


def test_unknown_access_key_is_401(emu: Emulator, http: requests.Session) -> None:
    job = emu.create_job()
    _assert_401(get_job(http, emu, job["id"], access_key="NOSUCHKEY0000000000"), "NOSUCHKEY0000000000")


def test_stale_signature_date_is_401(emu: Emulator, http: requests.Session) -> None:
    job = emu.create_job()
    stale = (datetime.now(UTC) - timedelta(minutes=16)).strftime(signer.DATE_FORMAT)
    _assert_401(get_job(http, emu, job["id"], timestamp=stale))
    recent = (datetime.now(UTC) - timedelta(minutes=10)).strftime(signer.DATE_FORMAT)
    assert get_job(http, emu, job["id"], timestamp=recent).status_code == 200


def test_signature_covers_whatever_headers_the_client_names(emu: Emulator, http: requests.Session) -> None:
    job = emu.create_job()
    extra = {"X-Project-Id": CFG.project_id, "Content-Type": "application/json", "User-Agent": "t/1"}
    assert get_job(http, emu, job["id"], extra=extra).status_code == 200


def test_temporary_keys_need_the_security_token(emu: Emulator, http: requests.Session) -> None:
    job = emu.create_job()
    temp = {"access_key": CFG.temp_access_key, "secret_key": CFG.temp_secret_key}
    _assert_401(get_job(http, emu, job["id"], **temp))
    _assert_401(
        get_job(http, emu, job["id"], **temp, extra={"X-Security-Token": "forged"}),
        "forged",
    )
    ok = get_job(http, emu, job["id"], **temp, extra={"X-Security-Token": CFG.security_token})
    assert ok.status_code == 200


def test_static_token_is_accepted_and_unknown_tokens_are_not(emu: Emulator, http: requests.Session) -> None:
    job = emu.create_job()
    url = f"{jobs_url(emu)}?id={job['id']}"
    assert http.get(url, headers={"X-Auth-Token": CFG.token}, timeout=5).status_code == 200
    _assert_401(http.get(url, headers={"X-Auth-Token": "not-a-token"}, timeout=5), "not-a-token")


@pytest.mark.parametrize("prefix", PATHS)
def test_another_project_in_the_path_is_403(emu: Emulator, http: requests.Session, prefix: str) -> None:
    url = f"{jobs_url(emu, prefix, project='11111111111111111111111111111111')}?id=x"
    for headers in (signed_headers(emu, url), {"X-Auth-Token": CFG.token}):
        response = http.get(url, headers=headers, timeout=5)
        assert response.status_code == 403
        assert response.json()["error_code"] == "APIGW.0302"
        assert response.json()["error_msg"]


# -- IAM --------------------------------------------------------------------------------------------------------


def password_body(
    *, user: str = CFG.user, password: str = CFG.password, domain: str = CFG.domain, project: Any = None
) -> dict[str, Any]:
    return {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"name": user, "password": password, "domain": {"name": domain}}},
            },
            "scope": {"project": project or {"name": "eu-de"}},
        }
    }


def get_token(http: requests.Session, emu: Emulator, **kwargs: Any) -> requests.Response:
    return http.post(f"{emu.url}/v3/auth/tokens", json=password_body(**kwargs), timeout=5)


@pytest.mark.parametrize(
    "project", [{"name": "eu-de"}, {"id": CFG.project_id}, {"name": CFG.project_id}, {"name": "eu-de_sub"}]
)
def test_iam_password_flow_issues_a_working_token(
    emu: Emulator, http: requests.Session, project: dict[str, str]
) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    response = get_token(http, emu, project=project)
    assert response.status_code == 201
    token = response.headers["X-Subject-Token"]
    assert token and token not in response.text
    body = response.json()["token"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", body["expires_at"])
    expires = datetime.strptime(body["expires_at"], IAM_TIME_FORMAT).replace(tzinfo=UTC)
    issued = datetime.strptime(body["issued_at"], IAM_TIME_FORMAT).replace(tzinfo=UTC)
    assert issued >= before
    assert expires - issued == timedelta(seconds=CFG.token_ttl)
    assert body["methods"] == ["password"]
    assert body["project"]["id"] == CFG.project_id
    assert body["user"]["name"] == CFG.user
    assert body["user"]["domain"]["name"] == CFG.domain

    job = emu.create_job()
    ok = http.get(f"{jobs_url(emu)}?id={job['id']}", headers={"X-Auth-Token": token}, timeout=5)
    assert ok.status_code == 200


@pytest.mark.parametrize("wrong", [{"password": "nope"}, {"user": "mallory"}, {"domain": "other-domain"}])
def test_iam_refuses_wrong_credentials(emu: Emulator, http: requests.Session, wrong: dict[str, str]) -> None:
    response = get_token(http, emu, **wrong)
    assert response.status_code == 401
    assert "X-Subject-Token" not in response.headers
    assert response.json() == {
        "error": {"code": 401, "message": "The username or password is wrong.", "title": "Unauthorized"}
    }


def test_iam_refuses_an_unknown_project(emu: Emulator, http: requests.Session) -> None:
    response = get_token(http, emu, project={"id": "0" * 32})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == 401


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b"{}",
        json.dumps({"auth": {"identity": {"methods": ["token"]}}}).encode(),
        json.dumps({"auth": {"identity": {"methods": ["password"], "password": {"user": "x"}}}}).encode(),
        json.dumps({**password_body(), "auth": {**password_body()["auth"], "scope": None}}).encode(),
    ],
)
def test_iam_malformed_body_is_400(emu: Emulator, http: requests.Session, body: bytes) -> None:
    response = http.post(f"{emu.url}/v3/auth/tokens", data=body, timeout=5)
    assert response.status_code == 400
    assert_common_headers(response)
    assert response.json()["error"]["code"] == 400


def test_revoking_tokens_forces_reauthentication(emu: Emulator, http: requests.Session) -> None:
    token = get_token(http, emu).headers["X-Subject-Token"]
    job = emu.create_job()
    url = f"{jobs_url(emu)}?id={job['id']}"
    assert http.get(url, headers={"X-Auth-Token": token}, timeout=5).status_code == 200
    assert http.delete(f"{emu.url}/_emulator/tokens", timeout=5).status_code == 204
    _assert_401(http.get(url, headers={"X-Auth-Token": token}, timeout=5), token)
    assert http.get(url, headers={"X-Auth-Token": CFG.token}, timeout=5).status_code == 200
    fresh = get_token(http, emu).headers["X-Subject-Token"]
    assert http.get(url, headers={"X-Auth-Token": fresh}, timeout=5).status_code == 200


def test_iam_tokens_expire_after_token_ttl(http: requests.Session) -> None:
    with Emulator(EmulatorConfig(token_ttl=1.0)) as emu:
        response = get_token(http, emu)
        token = response.headers["X-Subject-Token"]
        body = response.json()["token"]
        expires = datetime.strptime(body["expires_at"], IAM_TIME_FORMAT)
        issued = datetime.strptime(body["issued_at"], IAM_TIME_FORMAT)
        assert expires - issued == timedelta(seconds=1)
        job = emu.create_job()
        url = f"{jobs_url(emu)}?id={job['id']}"
        assert http.get(url, headers={"X-Auth-Token": token}, timeout=5).status_code == 200
        expired = poll(
            lambda: http.get(url, headers={"X-Auth-Token": token}, timeout=5), lambda r: r.status_code != 200
        )
        _assert_401(expired, token)


# -- faults -----------------------------------------------------------------------------------------------------


def add_fault(http: requests.Session, emu: Emulator, **body: Any) -> requests.Response:
    response = http.post(f"{emu.url}/_emulator/faults", json=body, timeout=5)
    assert response.status_code == 200, response.text
    return response


@pytest.mark.parametrize(
    ("kind", "status", "code"), [("500", 500, "DBS.108000"), ("503", 503, "APIGW.0201"), ("429", 429, "APIGW.0308")]
)
def test_error_faults_come_before_auth(
    emu: Emulator, http: requests.Session, kind: str, status: int, code: str
) -> None:
    add_fault(http, emu, kind=kind, count=2, retry_after=7)
    url = f"{jobs_url(emu)}?id=x"
    for _ in range(2):
        response = http.get(url, timeout=5)
        assert response.status_code == status
        assert_common_headers(response)
        assert response.json()["error_code"] == code
        assert response.json()["error_msg"]
    if kind == "429":
        assert response.headers["Retry-After"] == "7"
        assert response.json() == {"error_code": "APIGW.0308", "error_msg": "The request is throttled"}
    _assert_401(http.get(url, timeout=5))


def test_garbage_fault_is_200_with_a_body_that_is_not_json(emu: Emulator, http: requests.Session) -> None:
    add_fault(http, emu, kind="garbage")
    response = http.get(f"{jobs_url(emu)}?id=x", timeout=5)
    assert response.status_code == 200
    with pytest.raises(ValueError):
        json.loads(response.content)


def test_html_fault_is_a_502_gateway_page(emu: Emulator, http: requests.Session) -> None:
    add_fault(http, emu, kind="html")
    response = http.get(f"{jobs_url(emu)}?id=x", timeout=5)
    assert response.status_code == 502
    assert response.headers["Content-Type"].startswith("text/html")
    assert "<html>" in response.text


def test_reset_fault_resets_the_connection(emu: Emulator, http: requests.Session) -> None:
    add_fault(http, emu, kind="reset")
    with pytest.raises(requests.ConnectionError) as caught:
        http.get(f"{jobs_url(emu)}?id=x", timeout=5)
    assert "reset" in str(caught.value).lower()
    # The session recovers on a fresh connection.
    assert http.get(f"{jobs_url(emu)}?id=x", timeout=5).status_code == 401


def test_hang_fault_holds_then_drops_the_request(emu: Emulator, http: requests.Session) -> None:
    add_fault(http, emu, kind="hang", hang_seconds=0.2)
    started = time.monotonic()
    with pytest.raises(requests.ConnectionError):
        http.get(f"{jobs_url(emu)}?id=x", timeout=5)
    assert time.monotonic() - started >= 0.2


def test_hang_fault_times_out_a_client_and_stop_releases_it(http: requests.Session) -> None:
    emu = Emulator().start()
    try:
        add_fault(http, emu, kind="hang")
        with pytest.raises(requests.ReadTimeout):
            http.get(f"{jobs_url(emu)}?id=x", timeout=0.3)
        add_fault(http, emu, kind="hang")
        outcome: list[BaseException] = []

        def hung_client() -> None:
            try:
                requests.get(f"{jobs_url(emu)}?id=x", timeout=20)
            except requests.RequestException as error:
                outcome.append(error)

        client = threading.Thread(target=hung_client)
        client.start()
        poll(lambda: http.get(f"{emu.url}/_emulator/stats", timeout=5), lambda r: r.json()["total"] == 2)
    finally:
        started = time.monotonic()
        emu.stop()
        stop_took = time.monotonic() - started
    client.join(timeout=5)
    assert not client.is_alive()
    assert outcome and isinstance(outcome[0], requests.ConnectionError)
    assert stop_took < 3


def test_faults_queue_in_order_and_count_zero_clears(emu: Emulator, http: requests.Session) -> None:
    add_fault(http, emu, kind="500")
    assert add_fault(http, emu, kind="429", count=2).json() == {"pending": 3}
    url = f"{jobs_url(emu)}?id=x"
    assert [http.get(url, timeout=5).status_code for _ in range(4)] == [500, 429, 429, 401]
    add_fault(http, emu, kind="503", count=5)
    assert add_fault(http, emu, count=0).json() == {"pending": 0}
    assert http.get(url, timeout=5).status_code == 401


@pytest.mark.parametrize(
    "body", [{"kind": "teapot"}, {"kind": "500", "count": -1}, {"kind": "429", "retry_after": 1.5}, {"x": 1}]
)
def test_bad_fault_definitions_are_400(emu: Emulator, http: requests.Session, body: dict[str, Any]) -> None:
    response = http.post(f"{emu.url}/_emulator/faults", json=body, timeout=5)
    assert response.status_code == 400
    assert response.json()["error_msg"]


def test_fault_queue_hands_each_unit_to_exactly_one_taker() -> None:
    queue = FaultQueue()
    queue.add(Fault("500"), 300)
    taken: list[Fault | None] = []

    def take() -> None:
        for _ in range(100):
            taken.append(queue.take())

    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(fault is not None for fault in taken) == 300
    assert queue.pending() == 0


# -- stats and control ------------------------------------------------------------------------------------------


def test_stats_count_every_task_center_request(emu: Emulator, http: requests.Session) -> None:
    job = emu.create_job()
    get_job(http, emu, job["id"])
    get_job(http, emu, job["id"], "/mysql/v3")
    http.get(f"{jobs_url(emu)}?id={job['id']}", timeout=5)  # refused: 401
    add_fault(http, emu, kind="500")
    get_job(http, emu, "other")  # faulted
    http.get(jobs_url(emu), timeout=5)  # no id at all
    http.post(f"{emu.url}/v3/auth/tokens", json=password_body(), timeout=5)  # IAM is not the task center
    stats = http.get(f"{emu.url}/_emulator/stats", timeout=5)
    assert stats.status_code == 200
    body = stats.json()
    log = body.pop("log")
    assert body == {"total": 5, "jobs": {job["id"]: 3, "other": 1}}
    # The log: every task-center request in arrival order (the one without an id as null), on one monotonic clock.
    assert [entry[1] for entry in log] == [job["id"], job["id"], job["id"], "other", None]
    assert {entry[2] for entry in log} == {"job"}
    assert [entry[0] for entry in log] == sorted(entry[0] for entry in log)
    assert emu.stats() == {**body, "log": log}


def test_reset_clears_jobs_faults_and_stats(emu: Emulator, http: requests.Session) -> None:
    job = emu.create_job()
    get_job(http, emu, job["id"])
    add_fault(http, emu, kind="500")
    assert http.post(f"{emu.url}/_emulator/reset", timeout=5).status_code == 204
    assert emu.stats() == {"total": 0, "jobs": {}, "log": []}
    assert get_job(http, emu, job["id"]).json()["error_code"] == "DBS.200543"


def test_control_creates_and_deletes_jobs(emu: Emulator, http: requests.Session) -> None:
    created = http.post(
        f"{emu.url}/_emulator/jobs",
        json={"id": "fixed-id", "name": "CreateMysqlInstance", "duration": 0, "entities": {"public_ip": "1.2.3.4"}},
        timeout=5,
    )
    assert created.status_code == 201
    assert created.json()["job"]["id"] == "fixed-id"
    assert created.json()["job"]["entities"] == {"public_ip": "1.2.3.4"}
    assert get_job(http, emu, "fixed-id").status_code == 200
    again = http.post(f"{emu.url}/_emulator/jobs", json={"id": "fixed-id"}, timeout=5)
    assert again.status_code == 409
    assert http.get(f"{emu.url}/_emulator/jobs/fixed-id", timeout=5).json()["job"]["status"] == "Completed"
    assert http.delete(f"{emu.url}/_emulator/jobs/fixed-id", timeout=5).status_code == 204
    assert get_job(http, emu, "fixed-id").json()["error_code"] == "DBS.200543"
    missing = http.delete(f"{emu.url}/_emulator/jobs/fixed-id", timeout=5)
    assert missing.status_code == 404
    assert missing.json()["error_msg"]


def test_control_job_defaults(emu: Emulator, http: requests.Session) -> None:
    job = http.post(f"{emu.url}/_emulator/jobs", timeout=5).json()["job"]
    assert re.fullmatch(r"[0-9a-f-]{36}", job["id"])
    assert job["status"] == "Running"
    assert set(job["instance"]) == {"id", "name"}
    assert job["entities"] == {}


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1]",
        b'{"duration": -1}',
        b'{"duration": "5"}',
        b'{"duration": true}',
        b'{"outcome": "Done"}',
        b'{"progress": "quadratic"}',
        b'{"entities": []}',
        b'{"instance": "x"}',
        b'{"durations": 5}',
        b'{"id": ""}',
    ],
)
def test_control_rejects_bad_job_definitions(emu: Emulator, http: requests.Session, body: bytes) -> None:
    response = http.post(f"{emu.url}/_emulator/jobs", data=body, timeout=5)
    assert response.status_code == 400
    assert_common_headers(response)
    assert response.json()["error_msg"]


def test_create_job_in_process_validates() -> None:
    with Emulator() as emu, pytest.raises(ValueError, match="outcome"):
        emu.create_job(outcome="Maybe")


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/nope", 404),
        ("GET", "/v3/p/jobs/extra", 404),
        ("GET", "/_emulator/nope", 404),
        ("POST", "/v3/{project}/jobs?id=x", 405),
        ("DELETE", "/mysql/v3/{project}/jobs", 405),
        ("GET", "/v3/auth/tokens", 405),
        ("GET", "/_emulator/jobs", 405),
        ("POST", "/_emulator/stats", 405),
        ("GET", "/_emulator/tokens", 405),
    ],
)
def test_unknown_paths_and_wrong_methods_answer_json(
    emu: Emulator, http: requests.Session, method: str, path: str, status: int
) -> None:
    url = emu.url + path.format(project=CFG.project_id)
    response = http.request(method, url, timeout=5)
    assert response.status_code == status
    assert_common_headers(response)
    assert response.json()["error_code"]


def test_loopback_detection() -> None:
    assert _is_loopback("127.0.0.1")
    assert _is_loopback("127.10.0.3")
    assert _is_loopback("::1")
    assert _is_loopback("::ffff:127.0.0.1")
    assert not _is_loopback("10.0.0.1")
    assert not _is_loopback("::ffff:10.0.0.1")
    assert not _is_loopback("garbage")


# -- HTTP behaviour ---------------------------------------------------------------------------------------------


def raw_exchange(emu: Emulator, data: bytes) -> bytes:
    port = emu.config.port
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(data)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize(
    "data",
    [
        b"GARBAGE\r\n\r\n",
        b"GET /v3 HTTP/9.9\r\n\r\n",
        b"BREW /v3 HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /_emulator/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        b"POST /_emulator/jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"POST /_emulator/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n",
    ],
)
def test_malformed_requests_get_json_errors_not_tracebacks(
    emu: Emulator, data: bytes, capfd: pytest.CaptureFixture[str]
) -> None:
    answer = raw_exchange(emu, data)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert re.match(rb"HTTP/1\.[01] [45]\d\d ", head)
    assert b"X-Request-Id:" in head
    assert json.loads(body)["error_code"]
    assert "Traceback" not in capfd.readouterr().err


def test_keep_alive_reuses_one_connection(emu: Emulator) -> None:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", emu.config.port, timeout=5)
    try:
        conn.request("POST", "/_emulator/jobs", body=b'{"duration": 0}')
        first = conn.getresponse()
        first.read()
        sock = conn.sock
        for _ in range(3):
            conn.request("GET", f"/v3/{CFG.project_id}/jobs?id=x", headers={"X-Auth-Token": CFG.token})
            response = conn.getresponse()
            assert response.status == 400
            response.read()
        assert conn.sock is sock
    finally:
        conn.close()


def test_many_concurrent_clients(emu: Emulator) -> None:
    job = emu.create_job(duration=0)
    url = f"{jobs_url(emu)}?id={job['id']}"
    failures: list[str] = []

    def client() -> None:
        with requests.Session() as session:
            for _ in range(10):
                response = session.get(url, headers={"X-Auth-Token": CFG.token}, timeout=10)
                if response.status_code != 200:
                    failures.append(response.text)

    threads = [threading.Thread(target=client) for _ in range(100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert emu.stats()["jobs"][job["id"]] == 1000


def test_config_reports_the_real_port() -> None:
    emu = Emulator(EmulatorConfig(port=0))
    with emu:
        assert emu.config.port > 0
        assert emu.url == f"http://127.0.0.1:{emu.config.port}"
        assert requests.get(f"{emu.url}/_emulator/stats", timeout=5).status_code == 200


# -- CLI --------------------------------------------------------------------------------------------------------


def start_cli(*args: str) -> tuple[subprocess.Popen[str], str, list[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "gaussdb_emulator", "--port", "0", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    lines: list[str] = []
    for line in process.stdout:
        lines.append(line.rstrip("\n"))
        match = re.fullmatch(r"listening on (http://127\.0\.0\.1:(\d+))", lines[-1])
        if match:
            assert int(match[2]) > 0
            return process, match[1], lines
    process.kill()
    raise AssertionError(f"no listening line in {lines!r}; stderr {process.communicate()[1]!r}")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_serves_and_exits_cleanly_on_signal(sig: signal.Signals) -> None:
    process, url, lines = start_cli("--verbose")
    try:
        banner = "\n".join(lines)
        assert CFG.project_id in banner and CFG.access_key in banner
        response = requests.get(f"{url}/v3/{CFG.project_id}/jobs?id=x", headers={"X-Auth-Token": CFG.token}, timeout=5)
        assert response.json()["error_code"] == "DBS.200543"
        process.send_signal(sig)
        _, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert "Traceback" not in err
    assert "/jobs?id=x" in err  # --verbose logs the request line ...
    assert CFG.token not in err  # ... but never a credential


def test_cli_is_quiet_without_verbose() -> None:
    process, url, _ = start_cli("--project-id", "p1", "--token", "cli-token")
    try:
        response = requests.get(f"{url}/v3/p1/jobs?id=x", headers={"X-Auth-Token": "cli-token"}, timeout=5)
        assert response.status_code == 400
        process.terminate()
        _, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert err == ""


def test_cli_reports_a_busy_port_in_one_line() -> None:
    with Emulator() as emu:
        result = subprocess.run(
            [sys.executable, "-m", "gaussdb_emulator", "--port", str(emu.config.port)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=20,
        )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_stats_stay_bounded_however_many_ids_are_asked_for() -> None:
    from gaussdb_emulator.server import RequestStats

    stats = RequestStats(clock=lambda: 1.0)
    for i in range(RequestStats.JOBS_SIZE + 50):
        stats.record(f"id-{i}")
    stats.record("x" * 10_000)
    snapshot = stats.snapshot()
    assert len(snapshot["jobs"]) == RequestStats.JOBS_SIZE
    assert "id-0" not in snapshot["jobs"] and "x" * 128 in snapshot["jobs"]
    assert len(snapshot["log"]) == RequestStats.LOG_SIZE
    assert snapshot["total"] == RequestStats.JOBS_SIZE + 51
