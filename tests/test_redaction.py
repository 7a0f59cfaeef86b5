"""A secret that turns up inside an error's text is redacted before anyone sees it: in the CLI's one-line error,
in the resource's check failures and in its failed calls, through the real plugin.

The trick: configure a secret whose value also appears in the error (the job id of an unknown job, the text of a
malformed endpoint). With ``redact`` made a no-op, each of these tests fails.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from gaussdb_emulator.server import Emulator
from harness.plugin import PluginError, PluginProcess, serialize_provider
from provider.config.credentials import redact
from provider.resources.dynamic import GaussDBJobError, GaussDBJobProvider, _fail
from tests.support.plugin import clean_env

pytestmark = pytest.mark.timeout(60)

URN = "urn:pulumi:dev::gaussdb-job-demo::pulumi-python:dynamic/gaussdb:GaussDBJob::job"


def test_redact_replaces_every_secret_and_url_userinfo() -> None:
    text = "token abcd-secret in https://user:pw@host/x and abcd-secret again"
    assert redact(text, ["abcd-secret", None, "ab"]) == "token *** in https://***@host/x and *** again"


def test_the_resource_scrubs_an_unexpected_exception() -> None:
    config = {"gaussdb:secretKey": "sk-0123456789"}
    with pytest.raises(GaussDBJobError) as caught:
        _fail(RuntimeError("library said: bad signature for sk-0123456789"), config, "job-1")
    assert "sk-0123456789" not in str(caught.value)
    assert "***" in str(caught.value)


def test_cli_error_line_is_scrubbed(emu: Emulator) -> None:
    unknown = str(uuid.uuid4())
    cfg = emu.config
    env = clean_env(
        GAUSSDB_ENDPOINT=emu.url,
        HW_PROJECT_ID=cfg.project_id,
        HW_ACCESS_KEY=cfg.access_key,
        HW_SECRET_KEY=cfg.secret_key,
        HW_AUTH_TOKEN=unknown,  # a configured secret that the not-found message would repeat
    )
    bin_dir = Path(sys.executable).parent
    result = subprocess.run(
        [str(bin_dir / "gaussdb-job"), "show", unknown], env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 4
    assert unknown not in result.stderr + result.stdout
    assert "***" in result.stderr


@pytest.fixture(scope="module")
def plugin(emu: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PluginProcess, str]]:
    secret = str(uuid.uuid4())
    cfg = emu.config
    with PluginProcess(
        tmp_path_factory.mktemp("plugin-cwd"),
        env=clean_env(),
        default_provider=serialize_provider(GaussDBJobProvider()),
    ) as process:
        process.configure(
            {
                "gaussdb:endpoint": emu.url,
                "gaussdb:projectId": cfg.project_id,
                "gaussdb:accessKey": cfg.access_key,
                "gaussdb:secretKey": cfg.secret_key,
                "gaussdb:authToken": secret,
            },
            secret_keys=["gaussdb:secretKey", "gaussdb:authToken"],
        )
        yield process, secret


def test_plugin_create_failure_is_scrubbed(plugin: tuple[PluginProcess, str]) -> None:
    process, secret = plugin
    inputs = process.check(URN, {}, {"job_id": secret, "timeout": 30, "not_found_grace": 0.2}).inputs
    with pytest.raises(PluginError) as caught:
        process.create(URN, inputs)
    assert secret not in caught.value.details
    assert "not found" in caught.value.last_line and "***" in caught.value.last_line


def test_plugin_check_failure_is_scrubbed(plugin: tuple[PluginProcess, str]) -> None:
    process, secret = plugin
    result = process.check(URN, {}, {"job_id": str(uuid.uuid4()), "endpoint": f"https://{secret}.example:99999"})
    assert result.failures, "an invalid port must fail check"
    text = " ".join(reason for _, reason in result.failures)
    assert secret not in text
    assert "***" in text
