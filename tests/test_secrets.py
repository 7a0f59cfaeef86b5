"""No secret in anything observable: CLI output, debug logs, exception text, Pulumi outputs, serialized provider."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import logging
import traceback
import uuid

import pytest
import requests
from pulumi.dynamic import Config, ConfigureRequest
from pulumi.dynamic.dynamic import serialize_provider

from gaussdb_emulator.server import Emulator
from provider.cli.main import main
from provider.core.errors import GaussDBError
from provider.resources.dynamic import GaussDBJobProvider
from provider.taskcenter.compose import client_for
from provider.waiting.waiter import DEFAULT_POLICY
from provider.wire.transport import Transport

FAST = dataclasses.replace(DEFAULT_POLICY, min_interval=0.05, max_interval=0.2, error_backoff=1.0)
FAST_TRANSPORT = Transport(retries=1, backoff_factor=0.01)


def _marker(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex}"


SECRETS = {
    "secret_key": _marker("sk"),
    "temp_secret_key": _marker("tempsk"),
    "security_token": _marker("sectoken"),
    "token": _marker("statictoken"),
    "password": _marker("password"),
}


EMULATOR_CONFIG = SECRETS  # for the shared `emu` fixture (tests/conftest.py)


def _environments(emu: Emulator) -> dict[str, dict[str, str]]:
    cfg = emu.config
    base = {"GAUSSDB_ENDPOINT": emu.url, "HW_PROJECT_ID": cfg.project_id, "GAUSSDB_MAX_RATE": "100"}
    return {
        "aksk": {**base, "HW_ACCESS_KEY": cfg.access_key, "HW_SECRET_KEY": cfg.secret_key},
        "temporary": {
            **base,
            "HW_ACCESS_KEY": cfg.temp_access_key,
            "HW_SECRET_KEY": cfg.temp_secret_key,
            "HW_SECURITY_TOKEN": cfg.security_token,
        },
        "token": {**base, "HW_AUTH_TOKEN": cfg.token},
        "password": {
            **base,
            "HW_USER_NAME": cfg.user,
            "HW_PASSWORD": cfg.password,
            "HW_DOMAIN_NAME": cfg.domain,
            "HW_AUTH_URL": f"{emu.url}/v3",
        },
        "wrong-secret": {**base, "HW_ACCESS_KEY": cfg.access_key, "HW_SECRET_KEY": SECRETS["secret_key"] + "x"},
        "wrong-password": {
            **base,
            "HW_USER_NAME": cfg.user,
            "HW_PASSWORD": SECRETS["password"] + "x",
            "HW_DOMAIN_NAME": cfg.domain,
            "HW_AUTH_URL": f"{emu.url}/v3",
        },
    }


def _leaks(text: str) -> list[str]:
    found = [name for name, value in SECRETS.items() if value in text]
    # Refused variants of the secrets count as secrets too.
    return found + [f"{name}+x" for name, value in SECRETS.items() if value + "x" in text]


def test_cli_output_holds_no_secret(emu: Emulator) -> None:
    """In-process with a fast policy: the same code path as the console script, every stream captured."""
    ok = emu.create_job(duration=0.3)
    failed = emu.create_job(duration=0, outcome="Failed", fail_reason="boom")
    observed = []
    codes = {}
    for name, env in _environments(emu).items():
        for args in (
            ["show", ok["id"]],
            ["wait", ok["id"], failed["id"], "--timeout", "30", "--progress", "plain"],
            ["wait", "a9767ede-fe0f-4888-9003-e843a4c90514", "--not-found-grace", "0.3", "--progress", "plain"],
        ):
            out, err = io.StringIO(), io.StringIO()
            code = main(args, env=env, stdout=out, stderr=err, policy=FAST, transport=FAST_TRANSPORT)
            observed.append(out.getvalue() + err.getvalue())
            codes[(name, args[0], len(args))] = code
            assert code != 0 or name not in ("wrong-secret", "wrong-password")
    assert _leaks("\n".join(observed)) == []
    assert codes[("aksk", "show", 2)] == 0 and codes[("wrong-secret", "show", 2)] == 5  # the runs really ran
    assert any("boom" in text for text in observed)


def test_debug_logs_and_exception_text_hold_no_secret(emu: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    job = emu.create_job(duration=0)
    texts: list[str] = []
    caplog.set_level(logging.DEBUG)
    for env in _environments(emu).values():
        client = client_for({}, {}, env)
        for job_id in (job["id"], "a9767ede-fe0f-4888-9003-e843a4c90514"):
            try:
                texts.append(json.dumps(client.get_job(job_id).fields()))
            except GaussDBError as exc:
                texts.append("".join(traceback.format_exception(exc)) + repr(exc))
        texts.append(repr(client.__dict__))
    requests.delete(f"{emu.url}/_emulator/tokens", timeout=5)
    texts.append(caplog.text)
    assert caplog.text  # debug logging was really on (urllib3 logs each request)
    assert _leaks("\n".join(texts)) == []


def test_pulumi_outputs_and_serialized_provider_hold_no_secret(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    # Many waits back to back in this process: the shared request budget must not space them (its own tests).
    monkeypatch.setenv("GAUSSDB_MAX_RATE", "1000")
    cfg = emu.config
    serialized = serialize_provider(GaussDBJobProvider())
    assert len(serialized) < 4096
    texts = [serialized, base64.b64decode(serialized).decode("latin-1")]
    job = emu.create_job(duration=0.3, entities={"instance": {"endpoint": "10.1.1.1:3306"}})
    failed = emu.create_job(duration=0, outcome="Failed", fail_reason="boom")
    stack_configs = {
        "aksk": {"gaussdb:accessKey": cfg.access_key, "gaussdb:secretKey": cfg.secret_key},
        "password": {
            "gaussdb:userName": cfg.user,
            "gaussdb:password": cfg.password,
            "gaussdb:domainName": cfg.domain,
            "gaussdb:authUrl": f"{emu.url}/v3",
        },
        "wrong": {"gaussdb:accessKey": cfg.access_key, "gaussdb:secretKey": SECRETS["secret_key"] + "x"},
    }
    for stack_config in stack_configs.values():
        provider = GaussDBJobProvider()
        provider.configure(
            ConfigureRequest(
                Config(
                    raw_config={**stack_config, "gaussdb:endpoint": emu.url, "gaussdb:projectId": cfg.project_id},
                    project_name="demo",
                )
            )
        )
        for job_id in (job["id"], failed["id"]):
            checked = provider.check({}, {"job_id": job_id, "timeout": 30})
            texts.append(repr(checked.inputs) + repr(checked.failures))
            try:
                created = provider.create(checked.inputs)
                texts.append(json.dumps(created.outs))
                texts.append(json.dumps(provider.read(created.id, created.outs or {}).outs))
            except Exception as exc:  # noqa: BLE001 - the text of any error is what is scanned
                texts.append("".join(traceback.format_exception(exc)))
    texts.append(serialize_provider(provider))
    assert any("10.1.1.1:3306" in text for text in texts)  # the outputs were really produced
    assert _leaks("\n".join(texts)) == []
