"""Simulated jobs in virtual time: how long each waiting policy takes to notice the end, and how many calls it spends.

Every case is one wait on one scripted job: a duration, a progress shape, a period during which the task center
does not know the job yet, and a seed (for the waiter's jitter and for the job's actual end, drawn within 5 % of
the nominal duration, at most 5 s either way: real jobs do not end on a poller's 10-second grid). The clock is
virtual, so an hour-long job takes microseconds, and both policies see exactly the same jobs.

Lag is measured from the moment the end could first be seen: the job's end, or the moment it became visible if it
ended while still unknown to the task center.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from provider.core.errors import JobNotFound, WaitTimeout
from provider.taskcenter.models import Job
from provider.waiting.budget import DEFAULT_MAX_RATE, RequestBudget
from provider.waiting.clock import VirtualClock
from provider.waiting.engine import WaitOptions
from provider.waiting.policy import DEFAULT_POLICY, Policy
from provider.waiting.waiter import wait_for_job

DURATIONS: tuple[float, ...] = (0, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600)
INVISIBLE: tuple[float, ...] = (0, 2, 5, 8)
SEEDS: tuple[int, ...] = (1, 2, 3, 4, 5)

# The emulator's coarse steps: (fraction of the duration reached, percent shown from then on).
_STEPS = ((0.75, 90), (0.5, 50), (0.25, 20), (0.0, 0))


def _linear(fraction: float) -> str:
    return f"{min(99, math.floor(100 * fraction))}%"


def _steps(fraction: float) -> str:
    return f"{next(shown for reached, shown in _STEPS if fraction >= reached)}%"


def _none(fraction: float) -> str:
    return ""


def _stall(fraction: float) -> str:
    # Linear up to 99 % at three quarters of the time, then stuck at 99 % while the last step runs.
    return f"{min(99, math.floor(132 * fraction))}%"


def _fast(fraction: float) -> str:
    # The job runs faster than its progress says: it ends while showing 60 %.
    return f"{math.floor(60 * fraction)}%"


def _slow(fraction: float) -> str:
    # The job runs slower than its progress says: 99 % at half time, then nothing moves.
    return f"{min(99, math.floor(198 * fraction))}%"


SHAPES: dict[str, Callable[[float], str]] = {
    "linear": _linear,
    "steps": _steps,
    "none": _none,
    "stall99": _stall,
    "fast": _fast,
    "slow": _slow,
}


@dataclass(frozen=True)
class Case:
    duration: float  # nominal, as listed in DURATIONS
    shape: str
    invisible: float
    seed: int

    @property
    def end(self) -> float:
        """The actual end: drawn (seeded) within 5 % of the nominal duration, at most 5 s either way."""
        spread = min(0.05 * self.duration, 5.0)
        return self.duration + random.Random(f"end-{self.seed}-{self.duration}-{self.shape}").uniform(-spread, spread)

    @property
    def observable_at(self) -> float:
        return max(self.end, self.invisible)

    @property
    def bound(self) -> float:
        """The lag that counts as on time: max(2 s, 5 % of the duration)."""
        return max(2.0, 0.05 * self.end)


def suite(
    durations: Iterable[float] = DURATIONS,
    shapes: Iterable[str] = SHAPES,
    invisible: Iterable[float] = INVISIBLE,
    seeds: Iterable[int] = SEEDS,
) -> list[Case]:
    return [Case(d, s, i, seed) for d in durations for s in shapes for i in invisible for seed in seeds]


_JOBS: dict[tuple[str, str], Job] = {}


def _job(status: str, process: str) -> Job:
    """Jobs are immutable: one validated instance per (status, process) keeps a big suite fast."""
    key = (status, process)
    if key not in _JOBS:
        _JOBS[key] = Job.model_validate({"id": "bench-job", "status": status, "process": process})
    return _JOBS[key]


class ScriptedJob:
    """``fetch`` for one case: the job as the task center shows it at the virtual clock's time."""

    def __init__(self, case: Case, clock: VirtualClock) -> None:
        self.case = case
        self.clock = clock
        self.calls: list[float] = []
        self._progress = SHAPES[case.shape]

    def __call__(self) -> Job:
        now = self.clock.now()
        self.calls.append(now)
        if now < self.case.invisible:
            raise JobNotFound("bench-job")
        if now >= self.case.end:
            return _job("Completed", "")
        return _job("Running", self._progress(now / self.case.end))


@dataclass(frozen=True)
class Outcome:
    case: Case
    calls: int
    detected_at: float | None  # None: the wait gave up

    @property
    def lag(self) -> float:
        return math.inf if self.detected_at is None else self.detected_at - self.case.observable_at

    @property
    def on_time(self) -> bool:
        return self.lag <= self.case.bound + 1e-9


# A waiting strategy: (fetch, timeout, clock, sleep, rng) -> the finished job; raises like wait_for_job.
Strategy = Callable[[Callable[[], Job], float, VirtualClock, random.Random], Job]


def ours(policy: Policy = DEFAULT_POLICY) -> Strategy:
    def run(fetch: Callable[[], Job], timeout: float, clock: VirtualClock, rng: random.Random) -> Job:
        return wait_for_job(fetch, WaitOptions(timeout=timeout, policy=policy, rng=rng), clock=clock)

    return run


def ours_with_budget(policy: Policy = DEFAULT_POLICY, rate: float = DEFAULT_MAX_RATE) -> Strategy:
    """The same waits, each asking a request budget (the process's default cap) before every poll."""

    def run(fetch: Callable[[], Job], timeout: float, clock: VirtualClock, rng: random.Random) -> Job:
        budget = RequestBudget(rate, clock=clock)
        return wait_for_job(fetch, WaitOptions(timeout=timeout, policy=policy, rng=rng), clock=clock, pacer=budget)

    return run


@dataclass(frozen=True)
class FixedSchedule:
    """A Policy-like fixed schedule: Terraform's StateChangeConf as the Huawei Cloud provider configures it for
    GaussDB jobs (``Delay: 10 * time.Second, PollInterval: 10 * time.Second``): first call after ``delay``, then
    one every ``interval``, not-found answers tolerated (NotFoundChecks), no jitter."""

    delay: float = 10.0
    interval: float = 10.0
    not_found_checks: int = 20

    def __call__(self, fetch: Callable[[], Job], timeout: float, clock: VirtualClock, rng: random.Random) -> Job:
        deadline = clock.now() + timeout
        clock.sleep(self.delay)
        not_found = 0
        while True:
            try:
                job = fetch()
            except JobNotFound:
                not_found += 1
                if not_found > self.not_found_checks:
                    raise
            else:
                if job.finished:
                    return job
            if clock.now() + self.interval > deadline:
                raise WaitTimeout("bench-job", timeout, None)
            clock.sleep(self.interval)


TERRAFORM = FixedSchedule()


def run_case(strategy: Strategy, case: Case) -> Outcome:
    clock = VirtualClock()
    fetch = ScriptedJob(case, clock)
    timeout = 2 * case.end + 600
    try:
        strategy(fetch, timeout, clock, random.Random(case.seed))
    except WaitTimeout:
        return Outcome(case, len(fetch.calls), None)
    return Outcome(case, len(fetch.calls), clock.now())


def run_suite(strategy: Strategy, cases: Sequence[Case]) -> list[Outcome]:
    return [run_case(strategy, case) for case in cases]


@dataclass
class Summary:
    """Aggregates over a group of outcomes."""

    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def cases(self) -> int:
        return len(self.outcomes)

    @property
    def calls(self) -> int:
        return sum(o.calls for o in self.outcomes)

    @property
    def mean_calls(self) -> float:
        return self.calls / self.cases

    @property
    def max_lag(self) -> float:
        return max(o.lag for o in self.outcomes)

    @property
    def mean_lag(self) -> float:
        return sum(o.lag for o in self.outcomes) / self.cases

    @property
    def on_time_share(self) -> float:
        return sum(o.on_time for o in self.outcomes) / self.cases


def group(outcomes: Iterable[Outcome], key: Callable[[Case], object]) -> dict[object, Summary]:
    groups: dict[object, Summary] = {}
    for outcome in outcomes:
        groups.setdefault(key(outcome.case), Summary()).outcomes.append(outcome)
    return groups
