"""`gaussdb-job wait` on many jobs waits for them side by side, and exits with the worst outcome's code."""

from __future__ import annotations

import re

from gaussdb_emulator.server import Emulator
from tests.support.cli import UNKNOWN, WAIT_FIELDS, cli


def test_twenty_jobs_are_waited_for_side_by_side(emulator: Emulator, emu_env: dict[str, str]) -> None:
    jobs = [emulator.create_job(name=f"Job{i:02d}", duration=1.5, progress="linear") for i in range(20)]
    result = cli(["wait", *[job["id"] for job in jobs], "--max-rate", "200", "--progress", "plain"], emu_env)
    assert result.code == 0, result.stderr
    finals = result.jobs()
    assert [f["job_id"] for f in finals] == [job["id"] for job in jobs]  # in the order given
    assert all(f["status"] == "Completed" and f["error"] is None for f in finals)
    # Side by side, not one after another: every job was seen still Running. Waited in sequence, every job
    # after the first would already be Completed at its first poll.
    running = set(re.findall(r"\] (\S+) Job\d\d: Running", result.stderr))
    assert running == {job["id"] for job in jobs}
    calls = emulator.stats()["jobs"]
    print(f"\n20 jobs of 1.5 s: {sum(calls[j['id']] for j in jobs)} calls")


def test_exit_code_is_the_worst_outcome_and_every_entry_has_the_same_keys(
    emulator: Emulator, emu_env: dict[str, str]
) -> None:
    ok = emulator.create_job(duration=0.3)
    failed = emulator.create_job(duration=0.3, outcome="Failed", fail_reason="boom")
    result = cli(["wait", ok["id"], failed["id"], UNKNOWN, "--not-found-grace", "0.3"], emu_env)
    assert result.code == 4  # not found (4) outranks failed (1)
    finals = {f["job_id"]: f for f in result.jobs()}
    assert all(set(f) == WAIT_FIELDS for f in finals.values())
    assert finals[ok["id"]]["status"] == "Completed" and finals[ok["id"]]["error"] is None
    assert finals[failed["id"]]["status"] == "Failed" and "boom" in finals[failed["id"]]["error"]
    assert "not found" in finals[UNKNOWN]["error"]
    # Every failure on stderr, each on its own line, in the order given.
    errors = [line for line in result.errors() if "hint:" not in line]
    assert len(errors) == 2 and "boom" in errors[0] and "not found" in errors[1]
    assert cli(["wait", ok["id"], failed["id"]], emu_env).code == 1


def test_forty_jobs_at_eight_requests_a_second_keep_the_cap_and_all_complete(
    emulator: Emulator, emu_env: dict[str, str]
) -> None:
    """The issue's check, through the CLI and the emulator's request log: no 2-second window holds more than 16
    task-center requests (list calls and per-job reads alike) at ``--max-rate 8``, and every job still completes."""
    jobs = [emulator.create_job(name=f"Job{i:02d}", duration=i % 4, progress="linear") for i in range(40)]
    ids = [job["id"] for job in jobs]
    start = len(emulator.stats()["log"])
    result = cli(["wait", ",".join(ids[:20]), *ids[20:], "--max-rate", "8", "--progress", "none"], emu_env)
    assert result.code == 0, result.stderr
    assert [f["job_id"] for f in result.jobs()] == ids and all(f["status"] == "Completed" for f in result.jobs())
    times = [t for t, job_id, kind in emulator.stats()["log"][start:] if job_id in set(ids) or kind == "list"]
    assert len(times) >= 40  # one read per job at least (its whole record), plus the list calls
    busiest = max(sum(1 for u in times if t <= u < t + 2.0) for t in times)
    assert busiest <= 16, f"{busiest} requests in one 2 s window at a cap of 8/s"
