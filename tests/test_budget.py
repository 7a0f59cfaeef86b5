"""The per-process request budget: a cap, fair and ending-first, adaptive on throttling; in virtual time, and over
real HTTP against the emulator (its request log is the evidence)."""

from __future__ import annotations

import bisect
import dataclasses
import math
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from benchmarks.simulation import Case, ScriptedJob, VirtualClock, suite
from benchmarks.virtual import VirtualTime
from gaussdb_emulator.server import Emulator
from provider.core.errors import ApiError, ConfigError
from provider.taskcenter import compose
from provider.taskcenter.models import Job
from provider.waiting import budget as budget_module
from provider.waiting.budget import DEFAULT_MAX_RATE, RequestBudget, max_rate, parse_rate, process_budget
from provider.waiting.waiter import DEFAULT_POLICY, wait_for_job
from provider.wire.transport import Transport

pytestmark = pytest.mark.timeout(60)


def most_in_window(times: list[float], window: float) -> int:
    """The most requests in any half-open window [t, t + window)."""
    ts = sorted(times)
    return max((bisect.bisect_left(ts, t + window) - i for i, t in enumerate(ts)), default=0)


def job(status: str = "Running", process: str = "") -> Job:
    return Job.model_validate({"id": "j", "status": status, "process": process})


# -- a single wait ---------------------------------------------------------------------------------------------


def test_a_single_wait_keeps_its_schedule_under_the_default_budget() -> None:
    """Every case of the single-job suite (one seed, jitter on): the same polls at the same moments with the
    default budget as without one."""
    for case in suite(invisible=(0, 5), seeds=(1,)):
        schedules = []
        for with_budget in (False, True):
            clock = VirtualClock()
            fetch = ScriptedJob(case, clock)
            shared = RequestBudget(clock=clock.clock, sleep=clock.sleep) if with_budget else None
            wait_for_job(
                fetch, timeout=2 * case.end + 600, clock=clock.clock, sleep=clock.sleep, rng=random.Random(1),
                budget=shared,
            )  # fmt: skip
            schedules.append(fetch.calls)
        assert schedules[0] == schedules[1], case


# -- many waits in virtual time -------------------------------------------------------------------------------


def run_waits(
    cases: list[Case], shared: RequestBudget | None, vt: VirtualTime, gateway: Callable[[], None] | None = None
) -> tuple[list[ScriptedJob], list[Job | BaseException]]:
    jobs = [ScriptedJob(case, vt) for case in cases]  # type: ignore[arg-type]

    def waiter(scripted: ScriptedJob, seed: int) -> Callable[[], Job]:
        def fetch() -> Job:
            if gateway is not None:
                try:
                    gateway()
                except ApiError:
                    scripted.calls.append(vt.now)
                    raise
            return scripted()

        return lambda: wait_for_job(
            fetch, timeout=7200, clock=vt.clock, sleep=vt.sleep, rng=random.Random(seed), budget=shared
        )

    return jobs, vt.run([waiter(j, i) for i, j in enumerate(jobs)])


def test_forty_waits_stay_under_the_cap_and_all_complete() -> None:
    vt = VirtualTime()
    shared = RequestBudget(4.0, clock=vt.clock, sleep=vt.sleep)
    cases = [Case(float(5 + 15 * i), ("linear", "none", "steps")[i % 3], 0.0, i) for i in range(40)]
    jobs, results = run_waits(cases, shared, vt)
    assert all(isinstance(r, Job) and r.status == "Completed" for r in results)
    times = [t for j in jobs for t in j.calls]
    assert most_in_window(times, 2.0) <= 8
    # Without the budget the same waits send far more than that at the start.
    vt = VirtualTime()
    free, _ = run_waits(cases, None, vt)
    assert most_in_window([t for j in free for t in j.calls], 2.0) > 8


def test_waits_share_the_budget_fairly() -> None:
    """Ten identical long jobs without progress behind a tight cap: each gets its turn, none twice before another."""
    vt = VirtualTime()
    shared = RequestBudget(0.5, clock=vt.clock, sleep=vt.sleep)
    cases = [Case(600.0, "none", 0.0, i) for i in range(10)]
    jobs, _ = run_waits(cases, shared, vt)
    counts = [len(j.calls) for j in jobs]
    assert max(counts) - min(counts) <= 1
    # While the budget is the bottleneck (the first minute: every wait wants a poll every 2 s), the polls go
    # round: any ten consecutive requests come from ten different jobs.
    order = sorted((t, i) for i, j in enumerate(jobs) for t in j.calls if t < 60)
    owners = [i for _, i in order]
    assert all(len(set(owners[k : k + 10])) == 10 for k in range(len(owners) - 10))


def test_a_job_predicted_to_be_ending_goes_first() -> None:
    vt = VirtualTime()
    shared = RequestBudget(1.0, clock=vt.clock, sleep=vt.sleep)
    granted: list[str] = []

    def asker(name: str, at: float, priority: float) -> Callable[[], None]:
        def run() -> None:
            vt.sleep(at)
            assert shared.acquire(priority=priority)
            granted.append(name)

        return run

    # "first" takes the slot at 0; "normal" asks before "ending", yet "ending" is served first.
    vt.run([asker("first", 0.0, 0.0), asker("normal", 0.1, 0.0), asker("ending", 0.2, 60.0)])
    assert granted == ["first", "ending", "normal"]


def test_waiter_marks_a_job_near_its_end_as_ending() -> None:
    from provider.waiting.waiter import ENDING_HEAD_START, Trend, budget_priority, observe

    trend = observe(observe(Trend(), 0.0, 10.0), 100.0, 95.0)
    assert budget_priority(trend, 100.0, DEFAULT_POLICY) == ENDING_HEAD_START
    early = observe(observe(Trend(), 0.0, 10.0), 100.0, 20.0)
    assert budget_priority(early, 100.0, DEFAULT_POLICY) <= 0
    # A job polled every 30 s tolerates 28 s more lag than one polled every 2 s: it waits behind it.
    assert budget_priority(Trend(), 3000.0, DEFAULT_POLICY) == pytest.approx(-28.0)


# -- adaptive ---------------------------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_throttle_lowers_the_rate_which_then_recovers_gradually() -> None:
    clock = FakeClock()
    shared = RequestBudget(4.0, clock=clock, sleep=lambda s: None)
    assert shared.rate == 4.0
    shared.feedback(throttled=False)
    assert shared.rate == 4.0
    shared.feedback(throttled=True)
    assert shared.rate == pytest.approx(4.0 * budget_module.BETA)
    rates = []
    for second in range(1, 121):
        clock.now = float(second)
        rates.append(shared.rate)
    assert rates == sorted(rates)  # never falls back while recovering
    assert rates[10] < 4.0  # gradually, not at once
    assert rates[-1] == 4.0
    # Throttles in a row compound, down to the floor at worst.
    for _ in range(30):
        shared.feedback(throttled=True)
    assert shared.rate == budget_module.MIN_RATE


def test_after_a_burst_of_429s_the_rate_drops_then_recovers_in_virtual_time() -> None:
    """Twenty waits on a 4/s budget; the gateway answers 429 to everything from 60 s to 64 s."""
    vt = VirtualTime()
    shared = RequestBudget(4.0, clock=vt.clock, sleep=vt.sleep)

    def gateway() -> None:
        if 60.0 <= vt.now < 64.0:
            raise ApiError("throttled", status=429, transient=True)

    cases = [Case(600.0, "none", 0.0, i) for i in range(20)]
    jobs, results = run_waits(cases, shared, vt, gateway)
    assert all(isinstance(r, Job) for r in results)
    times = sorted(t for j in jobs for t in j.calls)

    def rate(start: float, end: float) -> float:
        return (bisect.bisect_left(times, end) - bisect.bisect_left(times, start)) / (end - start)

    before, after, later = rate(40, 60), rate(64, 74), rate(150, 170)
    assert shared.throttles >= 1
    assert after < 0.8 * before  # lowered
    assert later > 1.5 * after  # and recovered
    assert most_in_window(times, 2.0) <= 8


# -- the interface --------------------------------------------------------------------------------------------


def test_acquire_gives_up_at_the_deadline_or_on_cancel() -> None:
    vt = VirtualTime()
    shared = RequestBudget(0.1, clock=vt.clock, sleep=vt.sleep)
    outcomes: list[bool] = []

    def two() -> None:
        outcomes.append(shared.acquire())
        outcomes.append(shared.acquire(deadline=5.0))  # the next slot is at 10 s

    vt.run([two])
    assert outcomes == [True, False]
    assert vt.now == pytest.approx(5.0)
    cancel = threading.Event()
    cancel.set()
    assert RequestBudget(1.0).acquire(cancel=cancel) is False


def test_cancel_ends_a_real_time_acquire_promptly() -> None:
    shared = RequestBudget(0.01)  # the second slot is 100 s away
    assert shared.acquire()
    cancel = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(shared.acquire, cancel=cancel)
        cancel.set()
        assert pending.result(timeout=5) is False


def test_max_rate_setting_order_and_errors() -> None:
    assert max_rate({}, {}) == DEFAULT_MAX_RATE
    assert max_rate({}, {"GAUSSDB_MAX_RATE": "2.5"}) == 2.5
    assert max_rate({"gaussdb:maxRate": "1"}, {"GAUSSDB_MAX_RATE": "2.5"}) == 1.0
    assert max_rate({"gaussdb:maxRate": 3}, {}) == 3.0
    for bad in ("0", "-1", "fast", "nan", "inf", True, 5000):
        with pytest.raises(ConfigError, match="requests per second"):
            parse_rate(bad)
    with pytest.raises(ConfigError, match="GAUSSDB_MAX_RATE"):
        max_rate({}, {"GAUSSDB_MAX_RATE": "x"})
    with pytest.raises(ConfigError, match="gaussdb:maxRate"):
        max_rate({"gaussdb:maxRate": "0"}, {})
    assert math.isclose(DEFAULT_MAX_RATE * 300, 180)  # under the 200 per 5 minutes users report


def test_one_budget_per_process() -> None:
    first = process_budget()
    assert process_budget() is first
    cap = first.cap
    try:
        assert process_budget(2.0) is first and first.cap == 2.0
    finally:
        first.set_cap(cap)


# -- over real HTTP ---------------------------------------------------------------------------------------------


def test_thirty_real_waits_share_a_cap_in_the_emulator_log(emulator: Emulator, emu_env: dict[str, str]) -> None:
    """Thirty waits in threads, one budget of 15 requests/s: in the emulator's own log no 1-second window holds
    more than 15 task-center requests, and every job completes."""
    jobs = [emulator.create_job(duration=1.0) for _ in range(30)]
    shared = RequestBudget(15.0)
    policy = dataclasses.replace(DEFAULT_POLICY, min_interval=0.3)
    client = compose.client_for({}, {}, emu_env, transport=Transport(retries=0))

    def wait(job_id: str) -> Job:
        return wait_for_job(lambda: client.get_job(job_id), timeout=60, policy=policy, budget=shared)

    try:
        with ThreadPoolExecutor(30) as pool:
            finals = list(pool.map(wait, [j["id"] for j in jobs]))
    finally:
        client.close()
    assert all(f.status == "Completed" for f in finals)
    times = [t for t, job_id, _kind in emulator.stats()["log"]]
    assert len(times) >= 30
    # At the cap, not under it: thirty waits wanting to poll at once were held to 15 a second.
    assert 13 <= most_in_window(times, 1.0) <= 15


def test_the_emulator_logs_when_each_request_came(emulator: Emulator, emu_env: dict[str, str]) -> None:
    import requests

    job = emulator.create_job(duration=0)
    client = compose.client_for({}, {}, emu_env, transport=Transport(retries=0))
    try:
        for _ in range(3):
            client.get_job(job["id"])
    finally:
        client.close()
    stats = requests.get(f"{emulator.url}/_emulator/stats", timeout=5).json()
    assert [entry[1] for entry in stats["log"]] == [job["id"]] * 3
    times = [entry[0] for entry in stats["log"]]
    assert times == sorted(times) and all(isinstance(t, float) for t in times)
    emulator.reset()
    assert emulator.stats()["log"] == []


def test_429s_from_the_gateway_lower_the_budget(emulator: Emulator, emu_env: dict[str, str]) -> None:
    """Over real HTTP: three 429s reach the waiter (no transport retries here), each lowers the shared rate, and
    the wait still completes."""
    job = emulator.create_job(duration=0)
    emulator.add_fault("429", count=3, retry_after=0)
    shared = RequestBudget(20.0)
    policy = dataclasses.replace(DEFAULT_POLICY, min_interval=0.05, max_interval=0.2)
    client = compose.client_for({}, {}, emu_env, transport=Transport(retries=0))
    try:
        final = wait_for_job(lambda: client.get_job(job["id"]), timeout=30, policy=policy, budget=shared)
    finally:
        client.close()
    assert final.status == "Completed"
    assert shared.throttles == 3
    assert shared.rate < 20.0 * budget_module.BETA
