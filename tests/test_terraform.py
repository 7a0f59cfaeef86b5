"""A real `terraform apply` gated on jobs in the emulator through `gaussdb-job wait` (examples/terraform/main.tf).

Three applies in one working directory, as a user would run them: a completed job, then a new id that fails (the
apply waits, fails, and the downstream keeps the first job: still in the state, not destroyed first), then a new id
that completes (waits, succeeds). The `job` output carries the fields of the last job that completed.
"""

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


def test_every_new_job_id_is_a_new_wait_and_a_failed_one_stops_the_apply(
    emulator: Emulator, emu_env: dict[str, str], tmp_path: Path
) -> None:
    work = tmp_path / "stack"
    work.mkdir()
    shutil.copy(EXAMPLE, work / "main.tf")
    cli_config = tmp_path / "terraformrc"
    cli_config.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HW_", "OS_", "GAUSSDB_", "TF_"))}
    env.update(emu_env)
    env.update(
        {
            # The README's step: gaussdb-job on PATH (here, the one of this virtualenv).
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
            "CHECKPOINT_DISABLE": "1",  # no call home: the machine has no network
            "TF_CLI_CONFIG_FILE": str(cli_config),
            "TF_INPUT": "0",
        }
    )
    init = _terraform(work, ["init", "-input=false", "-no-color"], env)
    assert init.returncode == 0, init.stdout + init.stderr

    def apply(job_id: str) -> subprocess.CompletedProcess[str]:
        return _terraform(work, ["apply", "-auto-approve", "-no-color", "-var", f"job_id={job_id}"], env)

    def downstream() -> str:
        return _terraform(work, ["output", "-raw", "job_id"], env).stdout

    def fields() -> dict[str, object]:
        shown = _terraform(work, ["output", "-json", "job"], env)
        assert shown.returncode == 0, shown.stderr
        return json.loads(shown.stdout)  # type: ignore[no-any-return]

    def state() -> set[str]:
        listed = _terraform(work, ["state", "list"], env)
        assert listed.returncode == 0, listed.stderr
        return set(listed.stdout.split())

    first = emulator.create_job(name="RestartGaussDBInstance", duration=1, progress="linear")
    result = apply(first["id"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert downstream() == first["id"]
    assert f"deploying after job {first['id']}" in result.stdout
    # The gate asked the task center (a loaded machine may take longer to plan than the job to end, so a single
    # read that finds it Completed is a pass: the count proves the read, the log the wait's outcome).
    assert emulator.stats()["jobs"][first["id"]] >= 1
    assert f"{first['id']} RestartGaussDBInstance: Completed" in result.stdout
    assert fields()["job_id"] == first["id"] and fields()["status"] == "Completed"
    assert fields()["name"] == "RestartGaussDBInstance"

    failing = emulator.create_job(
        name="ResizeFlavor", duration=1, outcome="Failed", fail_reason="Disk full on the primary node"
    )
    result = apply(failing["id"])
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Disk full on the primary node" in output and "Traceback" not in output
    assert emulator.stats()["jobs"][failing["id"]] >= 1  # the new id was waited for, not skipped
    assert "deploying after job" not in output
    assert downstream() == first["id"]  # the downstream was not updated
    # ... and not destroyed either: create_before_destroy keeps it through the failed gate.
    assert {"terraform_data.app", "terraform_data.job"} <= state()
    assert fields()["job_id"] == first["id"]  # the fields are still the last completed job's
    assert "Disk full on the primary node" in (work / "job.next.json").read_text()  # the failed attempt, kept

    third = emulator.create_job(name="RestartGaussDBInstance", duration=1, progress="linear")
    result = apply(third["id"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert emulator.stats()["jobs"][third["id"]] >= 1
    assert downstream() == third["id"]
    assert f"deploying after job {third['id']}" in result.stdout
    assert fields()["job_id"] == third["id"]  # read during this apply, not one apply late

    # Nothing left behind but Terraform's own files.
    left = {p.name for p in work.iterdir()}
    assert left <= {
        "main.tf",
        ".terraform",
        ".terraform.lock.hcl",
        "terraform.tfstate",
        "terraform.tfstate.backup",
        "job.json",
        "job.next.json",
    }
