"""Exit codes on closed or broken streams (docs/cli.md, "Pipes and closed streams"), the plain failure line, the
summary's counts and the live row's layout from 40 columns up."""

from __future__ import annotations

import io
import subprocess

import pytest

from gaussdb_emulator.server import Emulator
from provider.cli.display import LiveDisplay, PlainDisplay
from provider.cli.main import main
from provider.core import durations
from provider.core.errors import ConfigError, JobFailed, JobNotFound
from provider.taskcenter.models import Job
from tests.support.cli import BIN, FAST_POLICY, UNKNOWN, process_env

REASON = "Disk full on the primary node: the binlog volume reached 100 % while the resize copied data"


def _bash(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", script], env=process_env(env), capture_output=True, text=True, timeout=60, check=False
    )


def test_a_failed_job_with_a_closed_stdout_exits_6(emulator: Emulator, emu_env: dict[str, str]) -> None:
    job = emulator.create_job(duration=0, outcome="Failed", fail_reason="boom")
    result = _bash(f'"{BIN / "gaussdb-job"}" wait {job["id"]} -q >&-', emu_env)
    assert result.returncode == 6, result.stderr  # the result was not delivered: worse than the job's 1
    assert "could not write the jobs" in result.stderr and "Traceback" not in result.stderr


def test_a_closed_stderr_keeps_the_jobs_exit_code(emulator: Emulator, emu_env: dict[str, str]) -> None:
    job = emulator.create_job(duration=0, outcome="Failed", fail_reason="boom")
    result = _bash(f'"{BIN / "gaussdb-job"}" wait {job["id"]} 2>&-', emu_env)
    assert result.returncode == 1 and '"status": "Failed"' in result.stdout


def _job(job_id: str, name: str, status: str, process: str = "", reason: str | None = None) -> Job:
    return Job.model_validate(
        {"id": job_id, "name": name, "status": status, "created": "2018-08-06T10:41:14+0800", "process": process}
        | ({"fail_reason": reason} if reason else {})
    )


def test_a_plain_failure_line_names_the_job_once(emulator: Emulator, emu_env: dict[str, str]) -> None:
    job = emulator.create_job(name="ResizeFlavor", duration=0, outcome="Failed", fail_reason=REASON)
    err = io.StringIO()
    main(["wait", job["id"], "--progress", "plain"], env=emu_env, stdout=io.StringIO(), stderr=err, policy=FAST_POLICY)
    (line,) = [line for line in err.getvalue().splitlines() if line.startswith("[") and "failed" in line]
    assert line.count(job["id"]) == 1 and line.count("ResizeFlavor") == 1, line
    assert line.endswith(f"ResizeFlavor: failed: {REASON}")


def test_a_failed_job_gets_one_plain_line(emulator: Emulator, emu_env: dict[str, str]) -> None:
    job = emulator.create_job(name="ResizeFlavor", duration=0.3, outcome="Failed", fail_reason=REASON)
    err = io.StringIO()
    main(["wait", job["id"], "--progress", "plain"], env=emu_env, stdout=io.StringIO(), stderr=err, policy=FAST_POLICY)
    lines = [line for line in err.getvalue().splitlines() if line.startswith("[")]
    assert [line for line in lines if "ailed" in line] == [line for line in lines if line.endswith(REASON)], lines
    assert len([line for line in lines if line.endswith(REASON)]) == 1, lines


def test_the_summary_does_not_count_a_job_not_found_as_failed() -> None:
    ids = ["11111111-1111-1111-1111-111111111111", UNKNOWN]
    display = PlainDisplay(ids, io.StringIO(), timeout=60, not_found_grace=1, outage_limit=1, clock=lambda: 0.0)
    failed = _job(ids[0], "Resize", "Failed", reason="boom")
    display.finish(ids[0], failed, str(JobFailed(failed)))
    display.finish(UNKNOWN, None, str(JobNotFound(UNKNOWN)), outcome="NotFound")
    assert display.summary(0.0).startswith("2/2 done · 1 failed · 1 not found")


@pytest.mark.parametrize("width", [40, 50, 60, 80, 120])
def test_live_rows_keep_status_and_percentage_before_the_name(width: int) -> None:
    ids = [
        "22222222-2222-2222-2222-222222222222",
        "33333333-3333-3333-3333-333333333333",
        "44444444-4444-4444-4444-444444444444",
    ]
    display = LiveDisplay(ids, io.StringIO(), timeout=60, not_found_grace=60, outage_limit=60, clock=lambda: 0.0)
    running = _job(ids[0], "RestartGaussDBInstanceWithAVeryLongName", "Running", "40%")
    display.poll(ids[0], running)
    display.problem(ids[1], JobNotFound(ids[1]))
    rows = [display._row(display.rows[job_id], width, 0.0).plain for job_id in ids]
    assert all(len(row) < width for row in rows), rows
    assert "Running" in rows[0] and "40%" in rows[0], rows[0]
    assert "Waiting" in rows[1] and "not visible" in rows[1], rows[1]  # the note is not cut to a word
    if width >= 60:
        assert "not visible yet; retry" in rows[1], rows[1]  # the name gives way to the note
    if width >= 80:
        assert "RestartGaussDBInstance" in rows[0]  # with room, the name is there too


def test_upper_case_duration_units_are_refused() -> None:
    with pytest.raises(ConfigError, match="lower-case"):
        durations.parse("10M", "--timeout")
    assert durations.parse("10m", "--timeout") == 600
