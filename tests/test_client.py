"""The task-center client over real HTTP against the emulator: each auth method, each error class, both paths."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from gaussdb_emulator.server import Emulator
from provider.config.settings import Settings
from provider.core.errors import ApiError, AuthError, ConfigError, JobNotFound
from provider.taskcenter.client import TaskCenterClient
from provider.taskcenter.compose import client_for
from provider.waiting.waiter import Policy, WaitOptions, wait_for_job
from provider.wire.auth import AkSkAuth, PasswordAuth, TokenAuth
from provider.wire.transport import Transport


def _settings(emu: Emulator, api_path: str = "/mysql/v3", project_id: str | None = None) -> Settings:
    return Settings(
        project_id=project_id or emu.config.project_id,
        region=None,
        endpoint=emu.url,
        api_path=api_path,
        auth_url=f"{emu.url}/v3",
    )


def _aksk(emu: Emulator) -> AkSkAuth:
    return AkSkAuth(emu.config.access_key, emu.config.secret_key)


def _post(emu: Emulator, path: str, payload: dict[str, Any]) -> dict[str, Any]:
    response = requests.post(f"{emu.url}/_emulator/{path}", json=payload, timeout=5)
    assert response.status_code in (200, 201), response.text
    return response.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize("api_path", ["/mysql/v3", "/v3"])
def test_both_api_paths_return_the_job(emulator: Emulator, api_path: str) -> None:
    created = emulator.create_job(
        name=" RestartGaussDBInstance",
        duration=0,
        instance={"id": "a48e43ff268f4c0e879652d65e63d0fbin01", "name": "db1"},
        entities={"instance": {"endpoint": "192.168.1.203:3306"}, "resource_ids": ["x"]},
    )
    job = TaskCenterClient(_settings(emulator, api_path), _aksk(emulator)).get_job(created["id"])
    assert job.id == created["id"]
    assert job.name == "RestartGaussDBInstance"
    assert job.status == "Completed"
    assert job.instance is not None and job.instance.name == "db1"
    assert job.entities == {"instance": {"endpoint": "192.168.1.203:3306"}, "resource_ids": ["x"]}
    assert job.created is not None and job.ended is not None
    assert emulator.stats()["jobs"][created["id"]] == 1  # one call per lookup


def test_temporary_aksk_with_security_token(emulator: Emulator) -> None:
    cfg = emulator.config
    created = emulator.create_job(duration=0)
    auth = AkSkAuth(cfg.temp_access_key, cfg.temp_secret_key, cfg.security_token)
    assert TaskCenterClient(_settings(emulator), auth).get_job(created["id"]).status == "Completed"
    # The temporary key without its token is refused.
    with pytest.raises(AuthError):
        TaskCenterClient(_settings(emulator), AkSkAuth(cfg.temp_access_key, cfg.temp_secret_key)).get_job(created["id"])


def test_static_token(emulator: Emulator) -> None:
    created = emulator.create_job(duration=0)
    client = TaskCenterClient(_settings(emulator), TokenAuth(emulator.config.token))
    assert client.get_job(created["id"]).status == "Completed"
    with pytest.raises(AuthError, match="401"):
        TaskCenterClient(_settings(emulator), TokenAuth("not-a-token")).get_job(created["id"])


def _password_auth(emu: Emulator, clock: Any = None, password: str | None = None) -> PasswordAuth:
    cfg = emu.config
    kwargs = {"clock": clock} if clock else {}
    return PasswordAuth(f"{emu.url}/v3", cfg.user, password or cfg.password, cfg.domain, cfg.project_id, **kwargs)


def test_password_flow_caches_the_token_and_renews_it_before_expiry(emulator: Emulator) -> None:
    created = emulator.create_job(duration=0)
    now = [1000.0]
    auth = _password_auth(emulator, clock=lambda: now[0])
    client = TaskCenterClient(_settings(emulator), auth)
    client.get_job(created["id"])
    first = auth.token()
    client.get_job(created["id"])
    assert auth.token() == first  # cached: no second login
    now[0] += 24 * 3600 - 60  # inside the renewal margin before the emulator's 24 h expiry
    client.get_job(created["id"])
    assert auth.token() != first


def test_password_flow_renews_once_on_401(emulator: Emulator) -> None:
    created = emulator.create_job(duration=0)
    auth = _password_auth(emulator)
    client = TaskCenterClient(_settings(emulator), auth)
    client.get_job(created["id"])
    before = auth.token()
    assert requests.delete(f"{emulator.url}/_emulator/tokens", timeout=5).status_code == 204
    assert client.get_job(created["id"]).status == "Completed"  # refused, renewed, re-sent
    assert auth.token() != before


def test_wrong_password_is_refused_without_echoing_it(emulator: Emulator) -> None:
    created = emulator.create_job(duration=0)
    client = TaskCenterClient(_settings(emulator), _password_auth(emulator, password="wrong-pass-1234"))
    with pytest.raises(AuthError) as caught:
        client.get_job(created["id"])
    assert "wrong-pass-1234" not in str(caught.value)


def test_bad_signature_and_other_project(emulator: Emulator) -> None:
    created = emulator.create_job(duration=0)
    bad = TaskCenterClient(_settings(emulator), AkSkAuth(emulator.config.access_key, "wrong-secret-key-000"))
    with pytest.raises(AuthError, match="401"):
        bad.get_job(created["id"])
    other = TaskCenterClient(_settings(emulator, project_id="f" * 32), _aksk(emulator))
    with pytest.raises(AuthError, match="403"):
        other.get_job(created["id"])


def test_unknown_job_is_job_not_found(emulator: Emulator) -> None:
    with pytest.raises(JobNotFound):
        TaskCenterClient(_settings(emulator), _aksk(emulator)).get_job("a9767ede-fe0f-4888-9003-e843a4c90514")


def test_invalid_job_id_sends_nothing(emulator: Emulator) -> None:
    client = TaskCenterClient(_settings(emulator), _aksk(emulator))
    for bad in ["", " ", "../jobs", "a9767ede-fe0f-4888-9003-e843a4c90514&id=x", "ä" * 36]:
        with pytest.raises(ConfigError):
            client.get_job(bad)
    assert emulator.stats()["total"] == 0


@pytest.mark.parametrize("kind", ["500", "503", "429", "reset", "garbage", "html"])
def test_a_short_burst_of_faults_is_retried_away(emulator: Emulator, kind: str) -> None:
    """Only when the caller asks for retries (``show``); a wait's reads are retried by the wait engine."""
    created = emulator.create_job(duration=0)
    _post(emulator, "faults", {"kind": kind, "count": 1, "retry_after": 0})
    client = TaskCenterClient(_settings(emulator), _aksk(emulator), transport=Transport(backoff_factor=0.01))
    if kind == "garbage":
        # A 200 with a broken body is not retried by the transport: the waiter rides it out as transient.
        with pytest.raises(ApiError) as caught:
            client.get_job(created["id"], retries=2)
        assert caught.value.transient
        assert client.get_job(created["id"]).status == "Completed"
    else:
        assert client.get_job(created["id"], retries=2).status == "Completed"


@pytest.mark.parametrize("kind", ["503", "429", "reset"])
def test_a_wait_read_is_sent_once_whatever_the_fault(emulator: Emulator, kind: str) -> None:
    """One retry policy: a read without ``retries`` is one request; the wait engine asks again later, paced."""
    created = emulator.create_job(duration=0)
    _post(emulator, "faults", {"kind": kind, "count": 1, "retry_after": 0})
    client = TaskCenterClient(_settings(emulator), _aksk(emulator), transport=Transport(backoff_factor=0.01))
    before = emulator.stats()["total"]
    with pytest.raises(ApiError) as caught:
        client.get_job(created["id"])
    assert caught.value.transient
    assert emulator.stats()["total"] == before + 1


@pytest.mark.parametrize(("kind", "status"), [("500", 500), ("503", 503), ("429", 429), ("html", 502)])
def test_a_lasting_fault_becomes_a_transient_api_error(emulator: Emulator, kind: str, status: int) -> None:
    created = emulator.create_job(duration=0)
    _post(emulator, "faults", {"kind": kind, "count": 10, "retry_after": 0})
    client = TaskCenterClient(_settings(emulator), _aksk(emulator), transport=Transport(retries=2, backoff_factor=0.01))
    with pytest.raises(ApiError) as caught:
        client.get_job(created["id"], retries=2)
    assert caught.value.transient and caught.value.status == status
    assert caught.value.request_id or kind == "html"
    assert "\n" not in str(caught.value)


def test_dropped_connections_become_a_transient_api_error(emulator: Emulator) -> None:
    created = emulator.create_job(duration=0)
    _post(emulator, "faults", {"kind": "reset", "count": 10})
    client = TaskCenterClient(_settings(emulator), _aksk(emulator), transport=Transport(retries=2, backoff_factor=0.01))
    with pytest.raises(ApiError, match="connection") as caught:
        client.get_job(created["id"])
    assert caught.value.transient


def test_a_hung_request_is_cut_off_by_the_request_timeout(emulator: Emulator) -> None:
    created = emulator.create_job(duration=0)
    _post(emulator, "faults", {"kind": "hang", "count": 1, "hang_seconds": 30})
    client = TaskCenterClient(
        _settings(emulator),
        _aksk(emulator),
        transport=Transport(connect_timeout=2.0, read_timeout=0.5, retries=2, backoff_factor=0.01),
    )
    # The hung attempt is abandoned after the read timeout and retried (when asked for, as show does).
    assert client.get_job(created["id"], retries=2).status == "Completed"


def test_a_not_yet_visible_job_is_waited_for(emulator: Emulator) -> None:
    created = emulator.create_job(duration=0.5, visible_after=1.0)
    client = TaskCenterClient(_settings(emulator), _aksk(emulator))
    with pytest.raises(JobNotFound):
        client.get_job(created["id"])
    job = wait_for_job(lambda: client.get_job(created["id"]), WaitOptions(timeout=30, policy=Policy(min_interval=0.2)))
    assert job.status == "Completed"
    assert emulator.stats()["jobs"][created["id"]] >= 2


def test_client_for_resolves_argument_over_config_over_environment(emulator: Emulator) -> None:
    created = emulator.create_job(duration=0)
    cfg = emulator.config
    env = {
        "HW_PROJECT_ID": "e" * 32,
        "GAUSSDB_ENDPOINT": "https://unused.example",
        "HW_ACCESS_KEY": cfg.access_key,
        "HW_SECRET_KEY": cfg.secret_key,
    }
    config = {"gaussdb:endpoint": emulator.url, "gaussdb:projectId": "d" * 32}
    client = client_for({"project_id": cfg.project_id}, config, env)
    assert client.settings.endpoint == emulator.url and client.settings.project_id == cfg.project_id
    assert client.get_job(created["id"]).status == "Completed"
    # Stack config credentials win over the environment's.
    client = client_for({"project_id": cfg.project_id}, {**config, "gaussdb:secretKey": "bad-secret-0000"}, env)
    with pytest.raises(AuthError):
        client.get_job(created["id"])


def test_a_deadline_already_passed_sends_nothing(emulator: Emulator) -> None:
    created = emulator.create_job(duration=0)
    client = TaskCenterClient(_settings(emulator), _aksk(emulator))
    with pytest.raises(ApiError, match="deadline") as caught:
        client.get_job(created["id"], deadline=time.monotonic() - 1)
    assert caught.value.transient
    assert emulator.stats()["total"] == 0
    assert client.get_job(created["id"], deadline=time.monotonic() + 10).status == "Completed"
