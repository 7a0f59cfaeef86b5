"""``gaussdb-job`` as users run it: a separate process, real HTTP to the emulator, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from gaussdb_emulator.server import Emulator, EmulatorConfig

BIN = Path(sys.executable).parent
FIELDS = {"job_id", "name", "status", "created", "ended", "process", "instance", "entities", "fail_reason"}


def run(args: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("HW_", "OS_", "GAUSSDB_"))}
    full_env.update(env)
    return subprocess.run(
        [str(BIN / "gaussdb-job"), *args], env=full_env, capture_output=True, text=True, timeout=timeout, check=False
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("gaussdb-job:")]
    assert lines, result.stderr
    return lines[-1]


def test_show_prints_every_field(emulator: Emulator, emu_env: dict[str, str]) -> None:
    job = emulator.create_job(
        name="RestartGaussDBInstance", duration=0, entities={"instance": {"endpoint": "10.0.0.1:3306"}}
    )
    result = run(["show", job["id"]], emu_env)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert set(shown) == FIELDS
    assert shown["status"] == "Completed" and shown["entities"]["instance"]["endpoint"] == "10.0.0.1:3306"


def test_wait_blocks_until_completed_and_prints_the_jobs(emulator: Emulator, emu_env: dict[str, str]) -> None:
    job = emulator.create_job(name="ResizeFlavor", duration=2, progress="linear")
    result = run(["wait", job["id"], "--timeout", "60"], emu_env)
    assert result.returncode == 0, result.stderr
    (final,) = json.loads(result.stdout)
    assert set(final) == FIELDS and final["status"] == "Completed" and final["ended"]
    assert "ResizeFlavor: Running" in result.stderr  # plain progress lines when stderr is not a terminal
    assert emulator.stats()["jobs"][job["id"]] >= 2


def test_wait_on_a_failed_job_exits_1_with_its_reason(emulator: Emulator, emu_env: dict[str, str]) -> None:
    job = emulator.create_job(
        name="RestartGaussDBInstance", duration=0.5, outcome="Failed", fail_reason="Instance is frozen"
    )
    result = run(["wait", job["id"]], emu_env)
    assert result.returncode == 1
    assert "Instance is frozen" in assert_one_line_error(result)
    (final,) = json.loads(result.stdout)
    assert final["status"] == "Failed" and final["fail_reason"] == "Instance is frozen"


def test_timeout_exits_3_naming_status_and_progress(emulator: Emulator, emu_env: dict[str, str]) -> None:
    job = emulator.create_job(duration=600, progress="linear")
    result = run(["wait", job["id"], "--timeout", "1.5"], emu_env)
    assert result.returncode == 3
    line = assert_one_line_error(result)
    assert job["id"] in line and "Running" in line and "%" in line


def test_unknown_job_exits_4_after_the_grace(emulator: Emulator, emu_env: dict[str, str]) -> None:
    result = run(["wait", "a9767ede-fe0f-4888-9003-e843a4c90514", "--not-found-grace", "1"], emu_env)
    assert result.returncode == 4
    assert "not found" in assert_one_line_error(result)
    assert run(["show", "a9767ede-fe0f-4888-9003-e843a4c90514"], emu_env).returncode == 4


def test_refused_credentials_exit_5_without_the_secret(emulator: Emulator, emu_env: dict[str, str]) -> None:
    job = emulator.create_job(duration=0)
    result = run(["wait", job["id"]], {**emu_env, "HW_SECRET_KEY": "definitely-wrong-secret"})
    assert result.returncode == 5
    assert_one_line_error(result)
    assert "definitely-wrong-secret" not in result.stderr + result.stdout


def test_a_lasting_outage_exits_6(emulator: Emulator, emu_env: dict[str, str]) -> None:
    job = emulator.create_job(duration=0)
    requests.post(f"{emulator.url}/_emulator/faults", json={"kind": "503", "count": 1000, "retry_after": 0}, timeout=5)
    result = run(["wait", job["id"], "--outage-limit", "2", "--timeout", "120"], emu_env)
    assert result.returncode == 6
    assert "503" in assert_one_line_error(result)


@pytest.mark.parametrize(
    ("args", "env_change"),
    [
        (["wait"], {}),
        (["frobnicate", "x"], {}),
        (["wait", "../../etc/passwd"], {}),
        (["wait", "a9767ede-fe0f-4888-9003-e843a4c90514&id=1"], {}),
        (["show", " "], {}),
        (["wait", "a9767ede-fe0f-4888-9003-e843a4c90514", "--timeout", "-1"], {}),
        (["wait", "a9767ede-fe0f-4888-9003-e843a4c90514", "--timeout", "1e12"], {}),
        (["show", "a9767ede-fe0f-4888-9003-e843a4c90514", "--project-id", "12/34"], {}),
        (["show", "a9767ede-fe0f-4888-9003-e843a4c90514", "--endpoint", "http://gaussdb.example.com"], {}),
        (["show", "a9767ede-fe0f-4888-9003-e843a4c90514"], {"HW_SECRET_KEY": ""}),
        (["show", "a9767ede-fe0f-4888-9003-e843a4c90514"], {"HW_PROJECT_ID": ""}),
    ],
)
def test_usage_and_configuration_errors_exit_2_and_send_nothing(
    emulator: Emulator, emu_env: dict[str, str], args: list[str], env_change: dict[str, str]
) -> None:
    result = run(args, {**emu_env, **env_change})
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and result.stderr.strip()
    assert emulator.stats()["total"] == 0


def test_python_dash_m_provider_works_too(emulator: Emulator, emu_env: dict[str, str]) -> None:
    job = emulator.create_job(duration=0)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("HW_", "GAUSSDB_"))}, **emu_env}
    result = subprocess.run(
        [sys.executable, "-m", "provider", "show", job["id"]],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0 and json.loads(result.stdout)["job_id"] == job["id"]


def test_a_new_user_runs_the_emulator_and_waits_on_a_job(tmp_path: Path) -> None:
    """The README's first steps: `python -m emulator`, a job through the control API, `gaussdb-job wait`."""
    server = subprocess.Popen(
        [sys.executable, "-m", "gaussdb_emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert server.stdout is not None
        url = ""
        for line in server.stdout:
            if line.startswith("listening on "):
                url = line.split()[-1]
                break
        assert url.startswith("http://127.0.0.1:")
        created: dict[str, Any] = requests.post(
            f"{url}/_emulator/jobs", json={"duration": 2, "name": "CreateInstance"}, timeout=5
        ).json()["job"]
        cfg = EmulatorConfig()  # the emulator's documented defaults, which it printed at start
        env = {
            "GAUSSDB_ENDPOINT": url,
            "HW_PROJECT_ID": cfg.project_id,
            "HW_ACCESS_KEY": cfg.access_key,
            "HW_SECRET_KEY": cfg.secret_key,
        }
        result = run(["wait", created["id"]], env)
        assert result.returncode == 0, result.stderr
        (final,) = json.loads(result.stdout)
        assert final["status"] == "Completed" and set(final) == FIELDS
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=10) == 0
