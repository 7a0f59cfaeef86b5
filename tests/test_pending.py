"""``Pending``: a job scheduled for the maintenance window. Waited through at the long interval (virtual time),
returned at once with ``accept_scheduled``, shown as scheduled in progress lines, served by the emulator."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gaussdb_emulator.jobs import JobStore
from gaussdb_emulator.server import EmulatorConfig
from provider.cli.display import PlainDisplay
from provider.core.errors import WaitTimeout
from provider.resources.dynamic import _ProgressLog
from provider.taskcenter.compose import client_for
from provider.taskcenter.models import FINAL_STATUSES, Job
from provider.waiting.clock import VirtualClock
from provider.waiting.engine import Hooks, WaitOptions
from provider.waiting.waiter import DEFAULT_POLICY, Policy, wait_for_job
from provider.wire.transport import Transport
from tests.support.emulator import aksk_env, running_emulator

JOB_ID = "a9767ede-fe0f-4888-9003-e843a4c90514"
FAST = dataclasses.replace(DEFAULT_POLICY, min_interval=0.05, max_interval=0.15, jitter=0.0)


def job(status: str, process: str = "") -> Job:
    return Job.model_validate({"id": JOB_ID, "name": "RestartGaussDBInstance", "status": status, "process": process})


class Scripted:
    """A scripted job on a ``VirtualClock``: ``fetch`` answers what the job shows at the clock's time."""

    def __init__(self, script: Callable[[float], Job]) -> None:
        self.clock = VirtualClock()
        self.script = script
        self.calls: list[tuple[float, str]] = []

    @property
    def now(self) -> float:
        return self.clock.now()

    @property
    def sleeps(self) -> list[float]:
        return self.clock.sleeps

    def fetch(self) -> Job:
        answer = self.script(self.now)
        self.calls.append((self.now, answer.status))
        return answer

    def wait(self, timeout: float, policy: Policy = DEFAULT_POLICY, **kwargs: Any) -> Job:
        return wait_for_job(self.fetch, WaitOptions(timeout=timeout, policy=policy, **kwargs), clock=self.clock)


def scheduled(pending: float, running: float) -> Callable[[float], Job]:
    """Pending for ``pending`` seconds, then Running (linear progress) for ``running``, then Completed."""

    def script(at: float) -> Job:
        if at < pending:
            return job("Pending")
        if at < pending + running:
            return job("Running", f"{int(100 * (at - pending) / running)}%")
        return job("Completed")

    return script


def test_pending_is_a_valid_status_and_not_final() -> None:
    pending = job("Pending")
    assert pending.status == "Pending" and not pending.finished and pending.scheduled
    assert "Pending" not in FINAL_STATUSES
    assert pending.status_text.startswith("Pending (scheduled")
    assert pending.fields()["status"] == "Pending"
    assert job("Running").status_text == "Running" and not job("Running").scheduled


def test_a_long_pending_job_is_polled_at_the_long_interval() -> None:
    two_hours = 7200.0
    time = Scripted(scheduled(pending=two_hours, running=600))
    done = time.wait(timeout=4 * 3600)
    assert done.status == "Completed"
    pending_polls = [at for at, status in time.calls if status == "Pending"]
    # Every sleep after a Pending answer is the long interval, from the very first one: no 2 s polls.
    sleeps_after_pending = time.sleeps[: len(pending_polls)]
    assert sleeps_after_pending == [DEFAULT_POLICY.max_interval] * len(pending_polls)
    assert len(pending_polls) == pytest.approx(two_hours / DEFAULT_POLICY.max_interval, abs=1)
    # Once it runs, the usual schedule resumes and notices the end within the usual bound.
    assert any(status == "Running" for _, status in time.calls)
    assert time.calls[-1][0] - (two_hours + 600) <= DEFAULT_POLICY.max_interval


def test_pending_uses_the_policys_long_interval_not_the_short_one() -> None:
    time = Scripted(scheduled(pending=3.0, running=1.0))
    time.wait(timeout=60, policy=FAST)
    pending_polls = sum(1 for _, status in time.calls if status == "Pending")
    assert time.sleeps[:pending_polls] == [FAST.max_interval] * pending_polls
    assert pending_polls == pytest.approx(3.0 / FAST.max_interval, abs=1)


def test_jitter_only_shortens_the_pending_interval() -> None:
    import random

    time = Scripted(scheduled(pending=600.0, running=10.0))
    time.wait(timeout=3600, rng=random.Random(7))
    pending_polls = sum(1 for _, status in time.calls if status == "Pending")
    sleeps = time.sleeps[:pending_polls]
    top = DEFAULT_POLICY.max_interval
    assert all(top * (1 - DEFAULT_POLICY.jitter) <= s <= top for s in sleeps)
    assert len(set(sleeps)) > 1


def test_accept_scheduled_returns_a_pending_job_at_once() -> None:
    time = Scripted(scheduled(pending=7200, running=60))
    result = time.wait(timeout=3600, accept_scheduled=True)
    assert result.status == "Pending"
    assert time.calls == [(0.0, "Pending")] and time.sleeps == []


def test_accept_scheduled_still_waits_a_running_job() -> None:
    time = Scripted(scheduled(pending=0, running=30))
    assert time.wait(timeout=3600, accept_scheduled=True).status == "Completed"
    assert len(time.calls) > 1


def test_a_job_pending_past_the_deadline_times_out_with_status_pending() -> None:
    time = Scripted(scheduled(pending=10 * 3600, running=60))
    with pytest.raises(WaitTimeout, match="last status Pending") as caught:
        time.wait(timeout=600)
    assert caught.value.last is not None and caught.value.last.status == "Pending"
    assert time.now == 600  # the last poll at the deadline, never after
    assert len(time.calls) == pytest.approx(600 / DEFAULT_POLICY.max_interval, abs=1)


# -- the emulator's Pending jobs --------------------------------------------------------------------------------


def test_emulator_job_is_pending_then_runs_then_ends() -> None:
    now = [0.0]
    created = datetime(2026, 1, 1, tzinfo=UTC)
    store = JobStore("p" * 32, clock=lambda: now[0], wall_clock=lambda: created)
    made = store.create({"id": JOB_ID, "pending_for": 100, "duration": 10, "project_id": "p" * 32})
    states = []
    for at in (0, 99.9, 100, 105, 110):
        now[0] = at
        view = store.view(made)
        states.append((view["status"], view["process"], "ended" in view))
    assert states == [
        ("Pending", "", False),
        ("Pending", "", False),
        ("Running", "0%", False),
        ("Running", "50%", False),
        ("Completed", "", True),
    ]
    assert store.view(made)["ended"] == (created + timedelta(seconds=110)).strftime("%Y-%m-%dT%H:%M:%S%z")


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"pending_for": -1}, "pending_for must be a finite number >= 0"),
        ({"pending_for": True}, "pending_for must be a number of seconds"),
        ({"service": "redis"}, "service must be one of gaussdb-mysql, gaussdb, gaussdb-nosql, rds, dds"),
        ({"service": 5}, "service must be a string"),
    ],
)
def test_emulator_refuses_bad_pending_for_and_service(payload: dict[str, object], message: str) -> None:
    import requests

    with running_emulator() as emu:
        answer = requests.post(f"{emu.url}/_emulator/jobs", json=payload, timeout=5)
    assert answer.status_code == 400
    assert answer.json() == {"error_code": "EMU.0400", "error_msg": message}


def test_emulator_refuses_an_unknown_default_service() -> None:
    with pytest.raises(ValueError, match="unknown service 'redis'"):
        EmulatorConfig(service="redis")


# -- end to end over HTTP: waited through, with progress lines saying it is scheduled -------------------------------


@pytest.mark.parametrize("service", ["gaussdb-mysql", "gaussdb-nosql", "dds"])
def test_pending_then_running_then_completed_over_http(service: str) -> None:
    with running_emulator() as emu:
        created = emu.create_job(service=service, pending_for=0.25, duration=0.2, name="RestartInstance")
        client = client_for({"service": service}, {}, aksk_env(emu), transport=Transport(retries=1))
        stream = io.StringIO()
        reporter = PlainDisplay([created["id"]], stream, timeout=30, not_found_grace=60, outage_limit=120)
        log: list[str] = []
        progress_log = _ProgressLog(created["id"], emit=log.append)

        class Seen(Hooks):
            def seen(self, job_id: str, seen: Job) -> None:
                reporter.poll(job_id, seen)
                progress_log(seen)

        try:
            done = wait_for_job(
                lambda: client.get_job(created["id"]),
                WaitOptions(timeout=30, policy=FAST),
                hooks=Seen(),
                job_id=created["id"],
            )
        finally:
            client.close()
    assert done.status == "Completed"
    lines = stream.getvalue().splitlines()
    assert "Pending (scheduled: waits for the maintenance window)" in lines[0]
    assert any(": Running" in line for line in lines[1:])
    assert lines[-1].endswith(": Completed")
    assert "Pending (scheduled" in log[0] and "Completed" in log[-1]


def test_accept_scheduled_over_http_returns_pending_with_every_field() -> None:
    with running_emulator() as emu:
        created = emu.create_job(service="rds", pending_for=3600, duration=60)
        client = client_for({"service": "rds"}, {}, aksk_env(emu), transport=Transport(retries=1))
        try:
            done = wait_for_job(
                lambda: client.get_job(created["id"]), WaitOptions(timeout=30, policy=FAST, accept_scheduled=True)
            )
        finally:
            client.close()
        assert emu.stats()["jobs"][created["id"]] == 1
    fields = done.fields()
    assert (fields["status"], fields["process"], fields["ended"]) == ("Pending", "", None)
    assert fields["job_id"] == created["id"]
