"""`gaussdb-job wait` on many jobs waits for them side by side, and exits with the worst outcome's code."""

from __future__ import annotations

import json
import re
import time

from gaussdb_emulator.server import Emulator
from tests.test_cli import run


def test_twenty_jobs_are_waited_for_side_by_side(emulator: Emulator, emu_env: dict[str, str]) -> None:
    jobs = [emulator.create_job(name=f"Job{i:02d}", duration=3, progress="linear") for i in range(20)]
    started = time.monotonic()
    result = run(["wait", *[job["id"] for job in jobs], "--timeout", "120"], emu_env)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    finals = json.loads(result.stdout)
    assert [f["job_id"] for f in finals] == [job["id"] for job in jobs]  # in the order given
    assert all(f["status"] == "Completed" for f in finals)
    # Side by side, not one after another: every job was seen still Running. Waited in sequence, every job
    # after the first would already be Completed at its first poll.
    running = set(re.findall(r"^(\S+) Job\d\d: Running", result.stderr, re.MULTILINE))
    assert running == {job["id"] for job in jobs}
    calls = emulator.stats()["jobs"]
    print(f"\n20 jobs of 3 s waited for in {elapsed:.1f} s with {sum(calls[j['id']] for j in jobs)} calls")


def test_exit_code_is_the_worst_outcome(emulator: Emulator, emu_env: dict[str, str]) -> None:
    ok = emulator.create_job(duration=0.5)
    failed = emulator.create_job(duration=0.5, outcome="Failed", fail_reason="boom")
    missing = "a9767ede-fe0f-4888-9003-e843a4c90514"
    result = run(["wait", ok["id"], failed["id"], missing, "--not-found-grace", "1"], emu_env)
    assert result.returncode == 4  # not found (4) outranks failed (1)
    finals = {f["job_id"]: f for f in json.loads(result.stdout)}
    assert finals[ok["id"]]["status"] == "Completed" and "error" not in finals[ok["id"]]
    assert finals[failed["id"]]["status"] == "Failed" and "boom" in finals[failed["id"]]["error"]
    assert "not found" in finals[missing]["error"]
    result = run(["wait", ok["id"], failed["id"]], emu_env)
    assert result.returncode == 1
