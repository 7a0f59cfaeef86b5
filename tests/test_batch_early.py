"""Jobs not due yet (``Due.early``): the wait engine asks a reader that answers many jobs at once about the jobs due
within the round's shortest interval too; a batch reader answers them from its list call only, never with a read
of their own, and the engine neither queues them nor moves them when they are left out. Real HTTP to the emulator
in virtual time; the engine test uses a fake reader (pure scheduling logic)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace

import pytest

from gaussdb_emulator.clock import VirtualClock
from gaussdb_emulator.server import Emulator
from provider.core.errors import ApiError
from provider.taskcenter import batch
from provider.taskcenter.compose import client_for
from provider.taskcenter.models import Job
from provider.taskcenter.perjob import PerJobReader
from provider.taskcenter.reader import Due, Outcome
from provider.waiting.budget import RequestBudget
from provider.waiting.engine import Hooks, WaitOptions, wait_all
from provider.waiting.policy import DEFAULT_POLICY
from tests.support.emulator import aksk_env, running_emulator


@pytest.fixture
def vemu() -> Iterator[tuple[Emulator, VirtualClock]]:
    clock = VirtualClock()
    with running_emulator(clock=clock) as emu:
        yield emu, clock


def _kinds(emu: Emulator) -> list[tuple[str | None, str]]:
    return [(job_id, kind) for _, job_id, kind in emu.stats()["log"]]


@pytest.mark.integration
def test_an_early_job_is_answered_from_the_list_and_never_read_by_itself(
    vemu: tuple[Emulator, VirtualClock],
) -> None:
    emu, clock = vemu
    running = emu.create_job(duration=600)["id"]
    ended = emu.create_job(duration=0)["id"]
    hidden = emu.create_job(duration=600, visible_after=3600)["id"]
    due = emu.create_job(duration=600)["id"]
    client = client_for(env={**aksk_env(emu), "GAUSSDB_API_PATH": "/v3"})
    reader = batch.reader_for(client, RequestBudget(1000, clock=clock), "auto", clock=clock.now, wall=clock.wall)
    asks = [Due(due), Due(running, early=True), Due(ended, early=True), Due(hidden, early=True)]
    outcomes = reader.read(asks)
    # The list answered the running one; the ended one got its whole record (its end is worth a read); the one
    # the list does not show was left out (not "not found", not read by itself).
    listed, whole = outcomes[running], outcomes[ended]
    assert isinstance(listed, Job) and listed.status == "Running"
    assert isinstance(whole, Job) and whole.status == "Completed"
    assert hidden not in outcomes and isinstance(outcomes[due], Job)
    assert _kinds(emu) == [(None, "list"), (ended, "job")]


@pytest.mark.integration
def test_after_a_refusal_early_jobs_are_not_read(vemu: tuple[Emulator, VirtualClock]) -> None:
    emu, clock = vemu
    emu.set_list_api("gaussdb-mysql", False)
    first, second = (emu.create_job(duration=600)["id"] for _ in range(2))
    client = client_for(env={**aksk_env(emu), "GAUSSDB_API_PATH": "/v3"})
    reader = batch.reader_for(client, RequestBudget(1000, clock=clock), "auto", clock=clock.now, wall=clock.wall)
    assert reader.answers_many  # type: ignore[attr-defined]
    outcomes = reader.read([Due(first), Due(second, early=True)])
    assert set(outcomes) == {first}
    assert not reader.answers_many  # type: ignore[attr-defined]
    assert _kinds(emu) == [(None, "list"), (first, "job")]
    assert PerJobReader.for_client(client).read([Due(second, early=True)]) == {}


class _ManyAnswers:
    """A reader answering every job at once: Running with progress until 60 s, then Completed; job "b"'s first
    answer is a transient error (its next round comes at another time than "a"'s); ``leave_out`` early asks of a
    job go unanswered."""

    answers_many = True

    def __init__(self, clock: VirtualClock, leave_out: str | None = None) -> None:
        self.clock = clock
        self.leave_out = leave_out
        self.asks: list[list[Due]] = []
        self.failed_once = False

    def read(
        self, due: Sequence[Due], *, deadline: float | None = None, cancel: threading.Event | None = None
    ) -> dict[str, Outcome]:
        self.asks.append(list(due))
        self.clock.advance(0.1)
        answers: dict[str, Outcome] = {}
        for item in due:
            if item.early and item.job_id == self.leave_out:
                continue
            if item.job_id == "b" and not self.failed_once:
                self.failed_once = True
                answers["b"] = ApiError("bad gateway", status=502, transient=True)
                continue
            done = self.clock.now() >= 60
            answers[item.job_id] = Job.model_validate(
                {
                    "id": item.job_id,
                    "name": "Resize",
                    "status": "Completed" if done else "Running",
                    "process": "" if done else f"{int(self.clock.now())}%",
                }
            )
        return answers


class _Queued(Hooks):
    def __init__(self) -> None:
        self.jobs: list[str] = []

    def queued(self, job_id: str) -> None:
        self.jobs.append(job_id)


OPTIONS = WaitOptions(timeout=120, policy=replace(DEFAULT_POLICY, jitter=0.0))


def test_the_engine_asks_about_jobs_due_soon_and_their_rounds_fall_together() -> None:
    clock = VirtualClock()
    reader = _ManyAnswers(clock)
    hooks = _Queued()
    results = wait_all(reader, ["a", "b"], OPTIONS, clock=clock, hooks=hooks)
    assert all(result.job is not None and result.job.status == "Completed" for result in results.values())
    # Round 2: "a" due, "b" (whose error moved its round) asked early; from then on one round asks both.
    assert [(d.job_id, d.early) for d in reader.asks[1]] == [("a", False), ("b", True)]
    assert all({d.job_id for d in asks} == {"a", "b"} for asks in reader.asks)
    assert hooks.jobs == []


def test_an_early_job_left_out_keeps_its_own_time_and_is_not_queued() -> None:
    clock = VirtualClock()
    reader = _ManyAnswers(clock, leave_out="b")
    hooks = _Queued()
    results = wait_all(reader, ["a", "b"], OPTIONS, clock=clock, hooks=hooks)
    assert all(result.job is not None and result.job.status == "Completed" for result in results.values())
    rounds = [[(d.job_id, d.early) for d in asks] for asks in reader.asks]
    first = next(i for i, asks in enumerate(rounds) if ("b", True) in asks)
    # Left out, it was asked again in the very next round, the one in which it was due.
    assert ("b", False) in rounds[first + 1]
    assert hooks.jobs == []


def test_a_reader_answering_one_job_at_a_time_is_never_asked_early() -> None:
    clock = VirtualClock()
    reader = _ManyAnswers(clock)
    reader.answers_many = False
    wait_all(reader, ["a", "b"], OPTIONS, clock=clock)
    assert not any(d.early for asks in reader.asks for d in asks)
