"""The waiter's policy in virtual time: a fake clock and sleep, no real waiting and no timing asserts."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provider.core.errors import ApiError, JobFailed, JobNotFound, WaitTimeout
from provider.taskcenter.models import Job
from provider.waiting.clock import VirtualClock
from provider.waiting.engine import Hooks, WaitOptions
from provider.waiting.policy import (
    DEFAULT_POLICY,
    Policy,
    Trend,
    earliest_end,
    next_delay,
    observe,
    predicted_end,
)
from provider.waiting.waiter import wait_for_job

P = DEFAULT_POLICY
# The longest sleep any schedule may ask for (progress-based skips may exceed max_interval; nothing else does).
LONGEST = max(P.max_interval, P.max_predicted_interval)


def job(status: str = "Running", process: str = "", **extra: object) -> Job:
    return Job.model_validate(
        {"id": "job-1", "name": "RestartGaussDBInstance", "status": status, "process": process, **extra}
    )


class FakeTime:
    """A virtual clock (``VirtualClock``): ``sleep`` moves it, ``fetch`` reads the scripted job at its time."""

    def __init__(self, script: Callable[[float], Job], latency: float = 0.0, start: float = 1000.0) -> None:
        self.start = start
        self.vclock = VirtualClock(start)
        self.script = script
        self.latency = latency
        self.calls: list[float] = []  # elapsed time at which each call started

    @property
    def now(self) -> float:
        return self.vclock.now()

    @property
    def sleeps(self) -> list[float]:
        return self.vclock.sleeps

    def fetch(self) -> Job:
        at = self.now - self.start
        self.calls.append(at)
        self.vclock.advance(self.latency)
        return self.script(at)

    def wait(
        self,
        timeout: float = 3600.0,
        *,
        policy: Policy = DEFAULT_POLICY,
        rng: random.Random | None = None,
        on_poll: Callable[[Job], None] | None = None,
        job_id: str = "",
    ) -> Job:
        class Seen(Hooks):
            def seen(self, job_id: str, job: Job) -> None:
                if on_poll is not None:
                    on_poll(job)

        options = WaitOptions(timeout=timeout, policy=policy, rng=rng)
        return wait_for_job(self.fetch, options, clock=self.vclock, job_id=job_id, hooks=Seen())


def ends_at(end: float, progress: Callable[[float], str] = lambda f: "") -> Callable[[float], Job]:
    """A job that runs until ``end`` seconds, showing ``progress(fraction of the time elapsed)``."""

    def script(at: float) -> Job:
        return job("Completed") if at >= end else job("Running", progress(at / end))

    return script


def lag_bound(duration: float) -> float:
    return max(2.0, 0.05 * duration)


def not_after(at: float, deadline: float) -> bool:
    """``at <= deadline`` up to float rounding (the fake clock adds up sleeps)."""
    return at <= deadline + 1e-9 * max(1.0, deadline)


# --- the first call and a finished job ---------------------------------------------------------------------


def test_finished_job_costs_one_call_and_no_sleep() -> None:
    fake = FakeTime(lambda at: job("Completed"))
    result = fake.wait()
    assert result.status == "Completed"
    assert fake.calls == [0.0]
    assert fake.sleeps == []


def test_first_call_is_immediate() -> None:
    fake = FakeTime(ends_at(30))
    fake.wait()
    assert fake.calls[0] == 0.0
    assert fake.calls[-1] >= 30


def test_on_poll_sees_every_answer() -> None:
    seen: list[Job] = []
    fake = FakeTime(ends_at(10, lambda f: f"{math.floor(100 * f)}%"))
    fake.wait(on_poll=seen.append)
    assert len(seen) == len(fake.calls)
    assert seen[-1].status == "Completed"


# --- the deadline --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("timeout", [0.0, 0.5, 1.0, 7.3, 100.0, 1234.5])
def test_last_poll_is_at_the_deadline_never_after(timeout: float) -> None:
    fake = FakeTime(lambda at: job("Running", "42%"))
    with pytest.raises(WaitTimeout) as caught:
        fake.wait(timeout=timeout, job_id="job-1")
    assert all(not_after(at, timeout) for at in fake.calls)
    assert fake.calls[-1] == pytest.approx(timeout)
    assert fake.now - fake.start == pytest.approx(timeout)
    error = caught.value
    assert error.last is not None and error.last.status == "Running" and error.last.process == "42%"
    assert "job-1" in str(error) and "Running" in str(error) and "42%" in str(error)
    assert isinstance(error, WaitTimeout)  # the CLI maps it to exit code 3 (tests/test_exit_codes.py)


def test_slow_calls_never_poll_after_the_deadline() -> None:
    fake = FakeTime(lambda at: job("Running", ""), latency=0.7)
    with pytest.raises(WaitTimeout):
        fake.wait(timeout=50.0)
    assert all(not_after(at, 50.0) for at in fake.calls)


def test_job_finishing_at_the_deadline_is_returned() -> None:
    fake = FakeTime(ends_at(100.0))
    assert fake.wait(timeout=100.0).status == "Completed"
    assert fake.calls[-1] == pytest.approx(100.0)


def test_timeout_while_never_found_carries_the_error() -> None:
    def missing(at: float) -> Job:
        raise JobNotFound("job-1")

    fake = FakeTime(missing)
    with pytest.raises(WaitTimeout) as caught:
        fake.wait(timeout=10.0, job_id="job-1")
    assert caught.value.last is None
    assert isinstance(caught.value.last_error, JobNotFound)
    assert "never read" in str(caught.value)


# --- intervals -------------------------------------------------------------------------------------------------


def test_intervals_without_progress_are_monotone_and_bounded() -> None:
    fake = FakeTime(lambda at: job("Running", ""))
    with pytest.raises(WaitTimeout):
        fake.wait(timeout=7200.0)
    regular = fake.sleeps[:-1]  # the last one is cut to land on the deadline
    assert regular == sorted(regular)
    assert all(P.min_interval <= s <= P.max_interval for s in regular)
    assert regular[0] == P.min_interval
    assert regular[-1] == P.max_interval


def test_elapsed_time_rule() -> None:
    assert next_delay(P, 0.0) == P.min_interval
    assert next_delay(P, 100.0) == pytest.approx(P.growth * 100.0)
    assert next_delay(P, 1e6) == P.max_interval


@given(
    elapsed=st.floats(min_value=0, max_value=1e6),
    seed=st.integers(min_value=0, max_value=2**32),
    percent=st.one_of(st.none(), st.floats(min_value=0, max_value=100)),
)
def test_jitter_only_shortens_and_never_exceeds_the_bound(elapsed: float, seed: int, percent: float | None) -> None:
    trend = observe(observe(Trend(), 0.0, 0.0), elapsed / 2, percent)
    plain = next_delay(P, elapsed, trend)
    jittered = next_delay(P, elapsed, trend, rng=random.Random(seed))
    assert plain * (1 - P.jitter) <= jittered <= plain <= LONGEST
    without_progress = next_delay(P, elapsed, None, rng=random.Random(seed))
    assert P.min_interval * (1 - P.jitter) <= without_progress <= P.max_interval


def test_jitter_is_on_when_an_rng_is_given() -> None:
    fakes = [FakeTime(lambda at: job("Running", "")) for _ in range(2)]
    for seed, fake in enumerate(fakes):
        with pytest.raises(WaitTimeout):
            fake.wait(timeout=300.0, rng=random.Random(seed))
    assert fakes[0].sleeps != fakes[1].sleeps
    assert all(s <= P.max_interval for fake in fakes for s in fake.sleeps)


def test_transient_errors_back_off() -> None:
    assert next_delay(P, 10.0, failures=1) == P.min_interval * P.error_backoff
    assert next_delay(P, 10.0, failures=3) == P.min_interval * P.error_backoff**3
    assert next_delay(P, 10.0, failures=10_000) == P.max_interval


# --- not yet visible ---------------------------------------------------------------------------------------


def test_not_found_is_tolerated_during_the_grace() -> None:
    def appears(at: float) -> Job:
        if at < 8.0:
            raise JobNotFound("job-1")
        return job("Completed") if at >= 12.0 else job("Running", "50%")

    fake = FakeTime(appears)
    assert fake.wait().status == "Completed"
    assert fake.calls[-1] - 12.0 <= lag_bound(12.0)


@pytest.mark.parametrize("grace", [0.0, 10.0, 60.0])
def test_not_found_is_raised_after_the_grace(grace: float) -> None:
    def missing(at: float) -> Job:
        raise JobNotFound("job-1")

    fake = FakeTime(missing)
    with pytest.raises(JobNotFound):
        fake.wait(policy=replace(P, not_found_grace=grace))
    assert fake.calls[-1] >= grace
    assert all(at < grace for at in fake.calls[:-1])
    assert fake.sleeps == sorted(fake.sleeps)  # the visibility wait is polled like a job without progress


# --- errors ------------------------------------------------------------------------------------------------------


def test_transient_errors_are_tolerated_up_to_the_outage_limit() -> None:
    def flaky(at: float) -> Job:
        if 5.0 <= at < 90.0:
            raise ApiError("throttled", status=429, transient=True)
        return job("Completed") if at >= 100.0 else job("Running", "")

    fake = FakeTime(flaky)
    assert fake.wait().status == "Completed"


def test_a_persisting_outage_is_raised_at_the_limit() -> None:
    def down(at: float) -> Job:
        if at >= 5.0:
            raise ApiError("bad gateway", status=502, transient=True)
        return job("Running", "")

    fake = FakeTime(down)
    with pytest.raises(ApiError) as caught:
        fake.wait()
    assert caught.value.status == 502
    failing = [at for at in fake.calls if at >= 5.0]
    assert failing[-1] - failing[0] >= P.outage_limit
    assert failing[-2] - failing[0] < P.outage_limit
    # backing off: fewer calls than the elapsed-time rule would make in 120 s
    assert len(failing) < 10


def test_a_recovered_outage_resets_the_limit() -> None:
    def blips(at: float) -> Job:
        if at >= 1000.0:
            return job("Completed")
        if int(at // 100) % 2 == 1:  # down every other 100 s: never 120 s in a row
            raise ApiError("unavailable", status=503, transient=True)
        return job("Running", "")

    assert FakeTime(blips).wait().status == "Completed"


def test_non_transient_errors_are_raised_at_once() -> None:
    def refused(at: float) -> Job:
        raise ApiError("answered for another job", status=200)

    fake = FakeTime(refused)
    with pytest.raises(ApiError):
        fake.wait()
    assert fake.calls == [0.0]
    assert fake.sleeps == []


def test_failed_job_raises_with_the_job() -> None:
    def fails(at: float) -> Job:
        return job("Failed", fail_reason="disk full") if at >= 20.0 else job("Running", "30%")

    fake = FakeTime(fails)
    with pytest.raises(JobFailed) as caught:
        fake.wait()
    assert caught.value.job.status == "Failed"
    assert caught.value.job.fail_reason == "disk full"
    assert "disk full" in str(caught.value) and "job-1" in str(caught.value)


# --- progress -----------------------------------------------------------------------------------------------


def linear(f: float) -> str:
    return f"{min(99, math.floor(100 * f))}%"


def stall_at_99(f: float) -> str:
    return f"{min(99, math.floor(132 * f))}%"  # 99 % at three quarters of the time, then stuck


def runs_fast(f: float) -> str:
    return f"{math.floor(60 * f)}%"  # ends while showing 60 %


def runs_slow(f: float) -> str:
    return f"{min(99, math.floor(198 * f))}%"  # 99 % at half time


def steps(f: float) -> str:
    return f"{next(shown for reached, shown in ((0.75, 90), (0.5, 50), (0.25, 20), (0, 0)) if f >= reached)}%"


SHAPES = [linear, stall_at_99, runs_fast, runs_slow, steps, lambda f: ""]


@pytest.mark.parametrize("shape", SHAPES, ids=["linear", "stall99", "fast", "slow", "steps", "none"])
@pytest.mark.parametrize("duration", [1.0, 7.0, 45.0, 130.0, 610.0, 1900.0, 3650.0])
@pytest.mark.parametrize("seed", [None, 1, 2])
def test_end_is_noticed_within_the_bound(shape: Callable[[float], str], duration: float, seed: int | None) -> None:
    fake = FakeTime(ends_at(duration, shape))
    fake.wait(timeout=2 * duration + 60, rng=None if seed is None else random.Random(seed))
    assert fake.calls[-1] >= duration
    assert fake.calls[-1] - duration <= lag_bound(duration)


def test_progress_saves_calls_on_a_long_job() -> None:
    with_progress, without = FakeTime(ends_at(3600, linear)), FakeTime(ends_at(3600))
    with_progress.wait(timeout=7200)
    without.wait(timeout=7200)
    assert len(with_progress.calls) < 0.6 * len(without.calls)
    assert len(without.calls) < 360  # a fixed 10 s schedule's count


def test_progress_that_lies_completely_is_still_bounded() -> None:
    # Shows 1 % for a long time, then ends at once: skips never exceed predict_growth x elapsed.
    fake = FakeTime(ends_at(200, lambda f: "0%" if f < 0.1 else "1%"))
    fake.wait(timeout=1000)
    assert fake.calls[-1] - 200 <= P.predict_growth * 200


def test_observe_and_predictions() -> None:
    trend = Trend()
    trend = observe(trend, 0.0, None)
    assert trend == Trend()
    trend = observe(trend, 0.0, 0.0)
    trend = observe(trend, 10.0, 0.0)
    assert trend.still_first_at == 10.0 and earliest_end(trend, P) is None
    trend = observe(trend, 20.0, 10.0)
    assert trend.moved
    start = earliest_end(trend, P)
    # at most 11 % in 10 s: 50 % no earlier than 20 + 39 / 1.1 s
    assert start == pytest.approx(20.0 + 39.0 / 1.1)
    assert predicted_end(trend) == pytest.approx(20.0 + 90.0 / 0.9)
    stalled = observe(trend, 30.0, 10.0)
    assert not stalled.moved and predicted_end(stalled) is None
    assert observe(trend, 30.0, 5.0).misleading
    assert observe(trend, 30.0, None).misleading
    assert earliest_end(observe(trend, 30.0, 5.0), P) is None
    near = observe(trend, 40.0, 49.0)
    assert earliest_end(near, P) is None  # may already be past 50 %: the elapsed-time rule applies


def test_policy_is_validated_and_copyable() -> None:
    assert Policy(**{**DEFAULT_POLICY.__dict__, "not_found_grace": 5.0}).not_found_grace == 5.0
    for bad in (
        {"min_interval": 0.0},
        {"max_interval": 1.0},
        {"jitter": 1.0},
        {"growth": -0.1},
        {"outage_limit": math.inf},
        {"earliest_end_percent": 0.0},
    ):
        with pytest.raises(ValueError):
            replace(P, **bad)


# --- properties --------------------------------------------------------------------------------------------------

readings = st.one_of(
    st.just(""),
    st.integers(min_value=0, max_value=100).map(lambda p: f"{p}%"),
    st.sampled_from(["garbage", "150%", "99.5%"]),
)


@settings(max_examples=300, deadline=None)
@given(
    progress=st.lists(readings, min_size=1, max_size=60),
    timeout=st.floats(min_value=0.0, max_value=20_000.0),
    latency=st.sampled_from([0.0, 0.3, 4.0]),
    seed=st.one_of(st.none(), st.integers(min_value=0, max_value=1000)),
)
def test_any_progress_keeps_the_deadline_and_the_bounds(
    progress: list[str], timeout: float, latency: float, seed: int | None
) -> None:
    """Whatever progress a running job shows, call after call, the waiter never polls after the deadline and
    never sleeps longer than its bounds (max_interval unless progress is readable)."""
    answers = iter(progress)
    shown: list[str] = []

    def script(at: float) -> Job:
        shown.append(next(answers, progress[-1]))
        return job("Running", shown[-1])

    fake = FakeTime(script, latency=latency)
    with pytest.raises(WaitTimeout):
        fake.wait(timeout=timeout, rng=None if seed is None else random.Random(seed))
    assert all(not_after(at, timeout) for at in fake.calls)
    assert not_after(fake.now - fake.start, timeout + latency)
    for sleep, seen in zip(fake.sleeps, shown, strict=False):
        assert 0 <= sleep <= LONGEST
        if job("Running", seen).percent is None:
            assert sleep <= P.max_interval


@settings(max_examples=200, deadline=None)
@given(
    duration=st.floats(min_value=0.0, max_value=5000.0),
    shape=st.sampled_from(SHAPES),
    invisible=st.floats(min_value=0.0, max_value=8.0),
    seed=st.integers(min_value=0, max_value=1000),
)
def test_any_job_in_the_suite_is_noticed_within_the_bound(
    duration: float, shape: Callable[[float], str], invisible: float, seed: int
) -> None:
    run = ends_at(duration, shape)

    def script(at: float) -> Job:
        if at < invisible:
            raise JobNotFound("job-1")
        return run(at)

    fake = FakeTime(script)
    fake.wait(timeout=2 * duration + 60, rng=random.Random(seed))
    observable = max(duration, invisible)
    assert fake.calls[-1] >= observable
    assert fake.calls[-1] - observable <= lag_bound(duration)
