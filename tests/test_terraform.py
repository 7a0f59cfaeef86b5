"""A real `terraform apply` gated on jobs in the emulator through `gaussdb-job wait`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gaussdb_emulator.server import Emulator

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "terraform" / "main.tf"
TERRAFORM = shutil.which("terraform")
pytestmark = pytest.mark.skipif(TERRAFORM is None, reason="terraform is not installed on this machine")


def _terraform(workdir: Path, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    assert TERRAFORM is not None
    return subprocess.run(
        [TERRAFORM, *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=180, check=False
    )


@pytest.fixture
def workdir(tmp_path: Path, emu_env: dict[str, str]) -> tuple[Path, dict[str, str]]:
    shutil.copy(EXAMPLE, tmp_path / "main.tf")
    cli_config = tmp_path / "terraformrc"
    cli_config.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HW_", "OS_", "GAUSSDB_"))}
    env.update(emu_env)
    env.update(
        {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",  # gaussdb-job from this venv
            "CHECKPOINT_DISABLE": "1",  # no call home: the machine has no network
            "TF_IN_AUTOMATION": "1",
            "TF_CLI_CONFIG_FILE": str(cli_config),
            "TF_INPUT": "0",
        }
    )
    init = _terraform(tmp_path, ["init", "-input=false", "-no-color"], env)
    assert init.returncode == 0, init.stdout + init.stderr
    return tmp_path, env


def test_apply_waits_for_a_completed_job_before_the_downstream(
    emulator: Emulator, workdir: tuple[Path, dict[str, str]]
) -> None:
    path, env = workdir
    job = emulator.create_job(name="RestartGaussDBInstance", duration=2, progress="linear")
    result = _terraform(path, ["apply", "-auto-approve", "-no-color", f"-var=job_id={job['id']}"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    # The downstream ran after the wait: it copied the final job the wait wrote.
    (final,) = json.loads((path / "app-deployed-after-job.json").read_text())
    assert final["job_id"] == job["id"] and final["status"] == "Completed"
    assert emulator.stats()["jobs"][job["id"]] >= 2  # it really waited: seen Running, then Completed


def test_apply_stops_on_a_failed_job_and_shows_its_reason(
    emulator: Emulator, workdir: tuple[Path, dict[str, str]]
) -> None:
    path, env = workdir
    job = emulator.create_job(
        name="RestartGaussDBInstance", duration=1, outcome="Failed", fail_reason="Disk full on the primary node"
    )
    result = _terraform(path, ["apply", "-auto-approve", "-no-color", f"-var=job_id={job['id']}"], env)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "Disk full on the primary node" in output
    assert "Traceback" not in output
    assert not (path / "app-deployed-after-job.json").exists()  # the downstream was never created
