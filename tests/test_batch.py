"""Batch reads against the emulator over real HTTP, in virtual time: one list call a round serves every job of a
task center; ended jobs get their one per-job read; a refused list call falls back with one line."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from gaussdb_emulator.clock import VirtualClock
from gaussdb_emulator.server import Emulator
from provider.config.settings import list_api
from provider.core.errors import ApiError, ConfigError, JobNotFound
from provider.taskcenter import batch
from provider.taskcenter.client import TaskCenterClient
from provider.taskcenter.compose import client_for
from provider.taskcenter.models import Job
from provider.taskcenter.reader import Due, JobReader, Outcome
from provider.waiting.budget import RequestBudget
from tests.support.emulator import aksk_env, running_emulator

ROUND = 2.0  # seconds between rounds, the policy's shortest interval


@pytest.fixture(autouse=True)
def _fresh_task_centers() -> Iterator[None]:
    batch.forget_task_centers()
    yield
    batch.forget_task_centers()


def _client(emu: Emulator, service: str = "gaussdb-mysql") -> TaskCenterClient:
    env = {**aksk_env(emu), "GAUSSDB_SERVICE": service, "GAUSSDB_API_PATH": "/v3"}
    return client_for(env=env)


def _budget(clock: VirtualClock) -> RequestBudget:
    # A fast cap: these tests count requests; the budget's own pacing is tested elsewhere.
    return RequestBudget(1000, clock=clock)


def _kinds(emu: Emulator) -> dict[str, int]:
    counts: dict[str, int] = {}
    for _, _, kind in emu.stats()["log"]:
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def _wait_all(reader: JobReader, ids: list[str], clock: VirtualClock) -> tuple[dict[str, Job], int]:
    """A minimal engine: every unfinished job is due each round; returns the final jobs and the rounds run."""
    final: dict[str, Job] = {}
    rounds = 0
    while len(final) < len(ids) and rounds < 200:
        rounds += 1
        due = [Due(job_id) for job_id in ids if job_id not in final]
        for job_id, outcome in reader.read(due).items():
            if isinstance(outcome, Job) and outcome.finished:
                final[job_id] = outcome
            elif not isinstance(outcome, Job | JobNotFound):
                raise outcome
        clock.advance(ROUND)
    return final, rounds


@pytest.fixture
def vemu() -> Iterator[tuple[Emulator, VirtualClock]]:
    clock = VirtualClock()
    with running_emulator(clock=clock) as emu:
        yield emu, clock


def _jobs(emu: Emulator, count: int, service: str = "gaussdb-mysql") -> list[str]:
    return [
        emu.create_job(
            service=service,
            duration=3 + (i * 7) % 60,
            outcome="Failed" if i % 10 == 9 else "Completed",
            entities={"instance": {"endpoint": f"10.0.0.{i}:3306"}},
        )["id"]
        for i in range(count)
    ]


def test_fifty_jobs_are_served_by_one_list_call_a_round(vemu: tuple[Emulator, VirtualClock]) -> None:
    emu, clock = vemu
    ids = _jobs(emu, 50)
    client = _client(emu)
    reader = batch.reader_for(client, _budget(clock), "auto", wall=clock.wall)
    final, rounds = _wait_all(reader, ids, clock)
    kinds = _kinds(emu)
    assert set(final) == set(ids)
    # Each job: one per-job read, for its whole record once the list shows it ended.
    assert kinds["job"] == len(ids)
    # Every round: one list call (one page holds the 50 jobs).
    assert kinds["list"] == rounds
    # Outputs as a per-job read gives them, entities included.
    for job_id in ids:
        assert final[job_id] == client.get_job(job_id)
        assert final[job_id].entities["instance"]["endpoint"].startswith("10.0.0.")


def test_the_same_wait_with_the_list_call_off_reads_every_job_every_round(
    vemu: tuple[Emulator, VirtualClock],
) -> None:
    emu, clock = vemu
    ids = _jobs(emu, 50)
    reader = batch.reader_for(_client(emu), _budget(clock), "off")
    final, rounds = _wait_all(reader, ids, clock)
    kinds = _kinds(emu)
    assert set(final) == set(ids)
    assert "list" not in kinds
    # Every unfinished job every round: far more than the list mode's two reads a job.
    assert kinds["job"] > 10 * len(ids)
    assert rounds > 10


@pytest.mark.parametrize("service", ["gaussdb-mysql", "rds", "gaussdb", "dds", "gaussdb-nosql"])
def test_each_service_is_served_by_its_list_call(service: str) -> None:
    clock = VirtualClock()
    with running_emulator(clock=clock, service=service) as emu:
        ids = _jobs(emu, 6, service)
        client = _client(emu, service)
        reader = batch.reader_for(client, _budget(clock), "on", wall=clock.wall)
        final, rounds = _wait_all(reader, ids, clock)
        kinds = _kinds(emu)
        # What a wait reports is what a per-job read gives (GeminiDB's list item is that record).
        assert all(final[job_id] == client.get_job(job_id) for job_id in ids)
    assert set(final) == set(ids)
    # A round costs one request (its list call; a round of one job reads that job instead), plus one read a job
    # for its whole record (none on GeminiDB, whose list item is the whole record).
    finals = 0 if service == "gaussdb-nosql" else len(ids)
    assert kinds["list"] >= rounds - len(ids)
    assert kinds["list"] + kinds.get("job", 0) <= rounds + finals


def test_a_refused_list_call_falls_back_with_one_line(vemu: tuple[Emulator, VirtualClock]) -> None:
    emu, clock = vemu
    emu.set_list_api("all", False)
    ids = _jobs(emu, 5)
    lines: list[str] = []
    budget = _budget(clock)
    reader = batch.reader_for(_client(emu), budget, "auto", notice=lines.append, wall=clock.wall)
    # A second wait of the same process on the same task center shares what the first one learned.
    other = batch.reader_for(_client(emu), budget, "auto", notice=lines.append, wall=clock.wall)
    final, _ = _wait_all(reader, ids[:3], clock)
    final_other, _ = _wait_all(other, ids[3:], clock)
    assert set(final) | set(final_other) == set(ids)
    assert _kinds(emu)["list"] == 1  # refused once, never asked again
    assert len(lines) == 1
    assert "list call is not available (HTTP 404 APIGW.0101" in lines[0]
    assert "reading jobs one by one from now on" in lines[0]


def test_with_list_api_on_a_refused_list_call_is_the_jobs_error(vemu: tuple[Emulator, VirtualClock]) -> None:
    emu, clock = vemu
    emu.set_list_api("gaussdb-mysql", False)
    ids = _jobs(emu, 2)
    reader = batch.reader_for(_client(emu), _budget(clock), "on", wall=clock.wall)
    outcomes = reader.read([Due(job_id) for job_id in ids])
    for error in outcomes.values():
        assert isinstance(error, ApiError) and "listApi is on" in str(error) and not error.transient
    assert _kinds(emu) == {"list": 1}


def test_a_job_missing_from_the_list_is_not_found_then_read_by_itself(vemu: tuple[Emulator, VirtualClock]) -> None:
    emu, clock = vemu
    shown = emu.create_job(duration=600)["id"]
    hidden = emu.create_job(visible_after=13, duration=600)["id"]
    reader = batch.reader_for(_client(emu), _budget(clock), "auto", clock=clock.monotonic, wall=clock.wall)
    answers = []
    for _ in range(8):  # rounds at 0, 2, ... 14 s
        outcomes = reader.read([Due(shown), Due(hidden)])
        assert isinstance(outcomes[shown], Job)
        answers.append(type(outcomes[hidden]).__name__)
        clock.advance(ROUND)
    assert answers == ["JobNotFound"] * 7 + ["Job"]
    # Missing from complete lists for less than ABSENT_SECONDS: "not found" without a request; from then on, read
    # by itself (the task center says not found too) until the list shows it.
    kinds = [entry[2] for entry in emu.stats()["log"]]
    assert kinds == ["list"] * 5 + ["list", "job", "list", "job", "list"]
    assert batch.ABSENT_SECONDS == 10.0


def test_a_job_the_list_never_shows_is_read_by_itself_once_seen(vemu: tuple[Emulator, VirtualClock]) -> None:
    emu, clock = vemu
    shown = emu.create_job(duration=600)["id"]
    # An RDS job asked for at the GaussDB (for MySQL) task center: its per-job read answers (the emulator answers
    # a known job in its own service's shape), its list never shows it: a job type a list leaves out.
    unlisted = emu.create_job(service="rds", duration=600)["id"]
    reader = batch.reader_for(_client(emu), _budget(clock), "auto", clock=clock.monotonic, wall=clock.wall)
    answers = []
    for _ in range(8):  # rounds at 0, 2, ... 14 s
        answers.append(type(reader.read([Due(shown), Due(unlisted)])[unlisted]).__name__)
        clock.advance(ROUND)
    # Not visible yet for ABSENT_SECONDS, then found by its own read and from then on read by itself every round,
    # never "not found" again.
    assert answers == ["JobNotFound"] * 5 + ["Job"] * 3
    kinds = [entry[2] for entry in emu.stats()["log"]]
    assert kinds == ["list"] * 5 + ["list", "job"] * 3


class _GatePacer:
    """Grants every turn, the first one only once the test opens the gate (pure logic, no I/O)."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.granted = 0

    def acquire(self, *, priority: float = 0.0, deadline: float | None = None, cancel: Any = None) -> bool:
        self.gate.wait(10)
        self.granted += 1
        return True

    def feedback(self, *, throttled: bool) -> None:
        pass


def test_concurrent_waits_share_one_list_call(emulator: Emulator) -> None:
    ids = [emulator.create_job(duration=600)["id"] for _ in range(8)]
    state = batch.task_center(_client(emulator), "auto")
    before = len(emulator.stats()["log"])
    pacer = _GatePacer()
    results: dict[str, Outcome] = {}
    lock = threading.Lock()

    def wait_one(job_id: str) -> None:
        outcome = batch.reader_for(_client(emulator), pacer, "auto").read([Due(job_id)])
        with lock:
            results.update(outcome)

    threads = [threading.Thread(target=wait_one, args=(job_id,)) for job_id in ids]
    for thread in threads:
        thread.start()
    with state.cond:
        # Every wait has joined the round its leader formed while waiting for its turn.
        assert state.cond.wait_for(lambda: state.pending is not None and len(state.pending.ids) == 8, timeout=10)
    pacer.gate.set()
    for thread in threads:
        thread.join(10)
    log = emulator.stats()["log"][before:]
    assert [entry[2] for entry in log] == ["list"]
    assert pacer.granted == 1
    assert set(results) == set(ids) and all(isinstance(r, Job) and r.status == "Running" for r in results.values())


def test_the_setting_reads_flag_config_environment_then_auto() -> None:
    assert list_api({}, {}) == "auto"
    assert list_api({}, {"GAUSSDB_LIST_API": "OFF"}) == "off"
    assert list_api({"gaussdb:listApi": "on"}, {"GAUSSDB_LIST_API": "off"}) == "on"
    assert list_api({"gaussdb:listApi": "on"}, {}, flag="off") == "off"
    with pytest.raises(ConfigError, match="invalid GAUSSDB_LIST_API 'sometimes': expected one of auto, on, off"):
        list_api({}, {"GAUSSDB_LIST_API": "sometimes"})
