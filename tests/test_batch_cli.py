"""Batch reads through ``gaussdb-job wait`` against the emulator over real HTTP: 50 jobs served by list calls,
the same wait with the list call switched off (``--no-list-api`` at start, the control API at run time), and the
one line the CLI prints when the list call is refused. Counts come from the emulator's request log."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from gaussdb_emulator.server import Emulator
from tests.support.cli import cli
from tests.support.emulator import aksk_env, running_emulator

JOBS = 50
# The emulator's jobs run 0.6 s; the tests' policy polls every 0.05 to 0.2 s (FAST_POLICY), so a job is read a
# few times before it ends, and the budget (the cap below) never holds a request back: rounds stay in step.
DURATION = 0.6
RATE = "1000"


@pytest.fixture
def listless() -> Iterator[Emulator]:
    """An emulator whose gaussdb-mysql list call answers 404 APIGW.0101, as a cloud without it does."""
    with running_emulator(no_list_api=frozenset({"gaussdb-mysql"})) as emu:
        yield emu


def _start(emu: Emulator, count: int = JOBS) -> list[str]:
    return [
        emu.create_job(name=f"Job{i:02d}", duration=DURATION, progress="linear", entities=_entities(i))["id"]
        for i in range(count)
    ]


def _entities(index: int) -> dict[str, Any]:
    return {"instance": {"endpoint": f"10.0.0.{index}:3306"}}


def _log(emu: Emulator) -> list[tuple[str | None, str]]:
    return [(job_id, kind) for _, job_id, kind in emu.stats()["log"]]


def _wait(emu: Emulator, ids: list[str], *flags: str) -> Any:
    env = {**aksk_env(emu), "GAUSSDB_API_PATH": "/v3"}
    return cli(["wait", ",".join(ids), "--max-rate", RATE, "--progress", "plain", *flags], env)


def _all_completed(result: Any, ids: list[str]) -> bool:
    # Completed with its whole record: the entities only a per-job read gives.
    return [job["job_id"] for job in result.jobs()] == ids and all(
        job["status"] == "Completed" and job["error"] is None and job["entities"] == _entities(index)
        for index, job in enumerate(result.jobs())
    )


def _fallback_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "list call is not available" in line]


def test_fifty_jobs_are_read_with_list_calls_and_one_read_each(emulator: Emulator) -> None:
    ids = _start(emulator)
    result = _wait(emulator, ids)
    assert result.code == 0, result.stderr
    assert _all_completed(result, ids)
    log = _log(emulator)
    kinds = Counter(kind for _, kind in log)
    reads = Counter(job_id for job_id, kind in log if kind == "job")
    # Every round's 50 due jobs were asked with one list call; each job was read by itself once, for its whole
    # record (entities), when the list showed it ended.
    assert kinds["list"] >= 2
    assert set(reads) == set(ids) and set(reads.values()) == {1}
    assert kinds == {"list": kinds["list"], "job": JOBS}
    assert _fallback_lines(result.stderr) == []


def test_the_same_wait_with_the_list_call_switched_off_reads_every_job_by_itself(listless: Emulator) -> None:
    ids = _start(listless)
    result = _wait(listless, ids)
    assert result.code == 0, result.stderr
    assert _all_completed(result, ids)
    log = _log(listless)
    kinds = Counter(kind for _, kind in log)
    reads = Counter(job_id for job_id, kind in log if kind == "job")
    # One list call, refused (404): from then on every job is read by itself every round until it ends.
    assert kinds["list"] == 1 and log[0] == (None, "list")
    assert set(reads) == set(ids) and min(reads.values()) >= 2
    assert kinds["job"] == sum(reads.values()) >= 2 * JOBS


def test_the_refused_list_call_prints_one_line_in_the_clis_words(listless: Emulator) -> None:
    ids = _start(listless, 3)
    result = _wait(listless, ids)
    assert result.code == 0 and _all_completed(result, ids)
    (line,) = _fallback_lines(result.stderr)
    assert line.startswith("gaussdb-job: the GaussDB (for MySQL)")
    assert "HTTP 404 APIGW.0101" in line and listless.url in line and "reading jobs one by one" in line
    # The setting that forces a mode, as the CLI names it (no stack config key).
    assert "--list-api off (GAUSSDB_LIST_API=off)" in line and "gaussdb:" not in line
    assert Counter(kind for _, kind in _log(listless))["list"] == 1


def test_the_control_api_switches_the_list_call_off_at_run_time(emulator: Emulator) -> None:
    answer = requests.post(
        f"{emulator.url}/_emulator/list-api", json={"service": "gaussdb-mysql", "enabled": False}, timeout=5
    )
    assert answer.ok
    ids = _start(emulator, 4)
    result = _wait(emulator, ids)
    assert result.code == 0 and _all_completed(result, ids)
    assert len(_fallback_lines(result.stderr)) == 1
    kinds = Counter(kind for _, kind in _log(emulator))
    assert kinds["list"] == 1 and kinds["job"] >= 2 * len(ids)


def test_quiet_says_nothing_of_the_fallback(listless: Emulator) -> None:
    ids = _start(listless, 2)
    result = _wait(listless, ids, "--quiet")
    assert result.code == 0 and _all_completed(result, ids)
    assert _fallback_lines(result.stderr) == [] and Counter(k for _, k in _log(listless))["list"] == 1


def test_list_api_off_sends_no_list_call_and_on_makes_a_refusal_the_jobs_error(listless: Emulator) -> None:
    ids = _start(listless, 2)
    off = _wait(listless, ids, "--list-api", "off")
    assert off.code == 0 and _all_completed(off, ids)
    assert "list" not in {kind for _, kind in _log(listless)} and _fallback_lines(off.stderr) == []
    on = _wait(listless, ids, "--list-api", "on")
    assert on.code != 0
    assert all("list call is not available" in job["error"] for job in on.jobs())


def test_a_bad_list_api_setting_is_refused_in_the_clis_words(emulator: Emulator) -> None:
    env = {**aksk_env(emulator), "GAUSSDB_LIST_API": "sometimes"}
    result = cli(["wait", _start(emulator, 1)[0]], env)
    assert result.code == 2, result.stderr
    assert "GAUSSDB_LIST_API" in result.stderr and "auto, on, off" in result.stderr
    assert emulator.stats()["total"] == 0


def test_jobs_a_list_showed_ended_wait_for_their_own_reads_as_queued_with_one_hint(emulator: Emulator) -> None:
    """Six finished jobs at 4 requests/s (0.26 s apart), a round of 0.05 s (the tests' policy): the list call takes
    the first turn and shows all six ended; their own reads (for entities) then wait for their turns. Each is shown
    queued once, never "no answer yet", one hint names --max-rate, and each job is read by itself once."""
    ids = [emulator.create_job(duration=0)["id"] for _ in range(6)]
    env = {**aksk_env(emulator), "GAUSSDB_API_PATH": "/v3"}
    result = cli(["wait", *ids, "--max-rate", "4", "--progress", "plain"], env)
    assert result.code == 0, result.stderr
    queued = [line for line in result.stderr.splitlines() if "queued (4/s budget)" in line]
    assert sorted(line.split("] ")[1].split(":")[0] for line in queued) == sorted(ids)
    assert "no answer yet" not in result.stderr
    hints = [line for line in result.stderr.splitlines() if "--max-rate" in line]
    assert len(hints) == 1 and "request budget" in hints[0]
    assert [kind for *_, kind in emulator.stats()["log"]] == ["list"] + ["job"] * 6
    assert sorted(emulator.stats()["jobs"].values()) == [1] * 6


def test_the_live_board_prints_the_fallback_as_one_line_above_it(listless: Emulator) -> None:
    ids = _start(listless, 3)
    result = _wait(listless, ids, "--progress", "bars")
    assert result.code == 0 and _all_completed(result, ids)
    (line,) = _fallback_lines(result.stderr)
    assert "reading jobs one by one" in line and "--list-api on makes its refusal an error" in line


def test_a_list_answer_that_is_not_a_list_falls_back_to_reading_jobs_one_by_one(emulator: Emulator) -> None:
    """A 200 that is not the list (a proxy answering the path with something else, here the emulator's garbage
    fault on the first request, the list call): the jobs are read one by one, instead of every round failing until
    the outage limit."""
    ids = _start(emulator, 3)
    emulator.add_fault("garbage", 1)
    result = _wait(emulator, ids)
    assert result.code == 0 and _all_completed(result, ids), result.stderr
    (line,) = [line for line in result.stderr.splitlines() if "malformed list answer" in line]
    assert "reading jobs one by one" in line
    kinds = Counter(kind for _, kind in _log(emulator))
    assert kinds["list"] == 1 and kinds["job"] >= len(ids)
