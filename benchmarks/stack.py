"""A stack of 50 jobs waited for side by side in one process, in virtual time, with and without the request budget.

The jobs start together (a stack that resizes and restarts many instances at once): durations spread
geometrically from 5 s to an hour, progress shapes and "not yet visible" periods cycling through the single-job
suite's. They are waited for as ``GaussDBJobs`` and ``gaussdb-job wait`` do: one wait engine over every job, on
a ``VirtualClock``; with a budget, every request goes through one ``RequestBudget``. The gateway can be modelled
too: a sliding-window limit (200 requests per 5 minutes, as users of the Huawei Cloud provider report) answering
429 beyond it.

Figures per scenario: wall time against the longest job, requests per minute (peak over any 60 s window, and
mean) against the cap, lag per job, 429s answered.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.simulation import INVISIBLE, SHAPES, Case, ScriptedJob
from provider.core.errors import ApiError
from provider.taskcenter.models import Job
from provider.taskcenter.perjob import PerJobReader
from provider.waiting.budget import DEFAULT_MAX_RATE, RequestBudget
from provider.waiting.clock import VirtualClock
from provider.waiting.engine import Hooks, WaitOptions, wait_all
from provider.waiting.engine import Result as WaitResult

JOBS = 50
SHORTEST, LONGEST = 5.0, 3600.0
GATEWAY_LIMIT, GATEWAY_WINDOW = 200, 300.0


def stack(jobs: int = JOBS) -> list[Case]:
    shapes = list(SHAPES)
    return [
        Case(
            round(SHORTEST * (LONGEST / SHORTEST) ** (i / (jobs - 1)), 1),
            shapes[i % len(shapes)],
            INVISIBLE[i % len(INVISIBLE)],
            i + 1,
        )
        for i in range(jobs)
    ]


class Gateway:
    """The API gateway's throttling: at most ``limit`` requests in any ``window`` seconds, else 429."""

    def __init__(self, clock: Callable[[], float], limit: int = GATEWAY_LIMIT, window: float = GATEWAY_WINDOW) -> None:
        self.clock = clock
        self.limit = limit
        self.window = window
        self._accepted: deque[float] = deque()
        self.throttled = 0

    def admit(self) -> None:
        now = self.clock()
        while self._accepted and self._accepted[0] <= now - self.window:
            self._accepted.popleft()
        if len(self._accepted) >= self.limit:
            self.throttled += 1
            raise ApiError("throttled", status=429, error_code="APIGW.0308", transient=True)
        self._accepted.append(now)


@dataclass(frozen=True)
class Scenario:
    name: str
    rate: float | None  # None: no budget (every wait on its own, as before)
    gateway: tuple[int, float] | None = None  # (requests, per seconds) the gateway allows, None: unlimited


SCENARIOS = (
    Scenario("no budget", None),
    Scenario(f"budget {DEFAULT_MAX_RATE:g}/s (default)", DEFAULT_MAX_RATE),
    Scenario("budget 2/s", 2.0),
    Scenario("no budget, gw 200/5min", None, (GATEWAY_LIMIT, GATEWAY_WINDOW)),
    Scenario(f"budget {DEFAULT_MAX_RATE:g}/s, gw 200/5min", DEFAULT_MAX_RATE, (GATEWAY_LIMIT, GATEWAY_WINDOW)),
    Scenario("budget 2/s, gw 60/min", 2.0, (60, 60.0)),
)
# The chart leaves out the default budget against the gateway: it is the default budget's line (no 429 at all).
CHARTED = tuple(s for s in SCENARIOS if s is not SCENARIOS[4])


@dataclass
class Result:
    scenario: Scenario
    cases: list[Case]
    detected: list[float | None]
    requests: list[float]  # every request's time, sorted
    throttled: int
    wall: float

    @property
    def lags(self) -> list[float]:
        return [math.inf if d is None else d - c.observable_at for c, d in zip(self.cases, self.detected, strict=True)]

    @property
    def failed(self) -> int:
        return sum(d is None for d in self.detected)

    @property
    def longest(self) -> float:
        return max(c.observable_at for c in self.cases)

    def per_minute_peak(self) -> int:
        ts = self.requests
        return max((bisect.bisect_left(ts, t + 60.0) - i for i, t in enumerate(ts)), default=0)

    def per_minute_mean(self) -> float:
        return 60.0 * len(self.requests) / self.wall if self.wall else 0.0

    def on_time(self) -> float:
        bounds = [max(2.0, 0.05 * c.end) for c in self.cases]
        return sum(lag <= b + 1e-9 for lag, b in zip(self.lags, bounds, strict=True)) / len(self.cases)


def run(scenario: Scenario, cases: Sequence[Case]) -> Result:
    vt = VirtualClock()
    budget = None if scenario.rate is None else RequestBudget(scenario.rate, clock=vt)
    gateway = None if scenario.gateway is None else Gateway(vt.now, *scenario.gateway)
    scripted = {f"job-{i}": ScriptedJob(case, vt) for i, case in enumerate(cases)}
    ids = list(scripted)
    detected: dict[str, float | None] = dict.fromkeys(ids)

    def get(job_id: str) -> Job:
        job = scripted[job_id]
        if gateway is not None:
            try:
                gateway.admit()
            except ApiError:
                job.calls.append(vt.now())
                raise
        return job()

    class Ends(Hooks):
        def ended(self, job_id: str, result: WaitResult) -> None:
            if result.error is None:
                detected[job_id] = vt.now()

    options = WaitOptions(timeout=2 * max(c.end for c in cases) + 3600, rng=random.Random(1))
    wait_all(PerJobReader(get, budget), ids, options, clock=vt, hooks=Ends())
    requests = sorted(t for job in scripted.values() for t in job.calls)
    wall = max(max(job.calls, default=0.0) for job in scripted.values())
    throttled = gateway.throttled if gateway else 0
    return Result(scenario, list(cases), [detected[i] for i in ids], requests, throttled, wall)


def table(results: Sequence[Result]) -> str:
    head = (
        f"{'scenario':<28} {'wall':>7} {'longest':>8} {'req/min peak':>12} {'mean':>6} {'cap':>5}"
        f" {'lag mean':>8} {'p90':>6} {'max':>6} {'on time':>7} {'failed':>6} {'429s':>5} {'calls':>6}"
    )
    lines = [head]
    for r in results:
        lags = sorted(lag for lag in r.lags if math.isfinite(lag)) or [math.inf]
        p90 = lags[min(len(lags) - 1, math.ceil(0.9 * len(lags)) - 1)]
        cap = "-" if r.scenario.rate is None else f"{60 * r.scenario.rate:g}"
        lines.append(
            f"{r.scenario.name:<28} {r.wall:>6.0f}s {r.longest:>7.0f}s {r.per_minute_peak():>12d}"
            f" {r.per_minute_mean():>6.1f} {cap:>5} {sum(lags) / len(lags):>7.1f}s {p90:>5.1f}s {lags[-1]:>5.1f}s"
            f" {100 * r.on_time():>6.0f}% {r.failed:>6d} {r.throttled:>5d} {len(r.requests):>6d}"
        )
    lines.append(
        f"({JOBS} jobs of {SHORTEST:g} s to {LONGEST / 3600:g} h started together; lag = noticed - could be seen;"
        " on time = lag <= max(2 s, 5 % of the duration); peak = most requests in any 60 s;"
        " failed = waits given up after 120 s of 429s in a row; lag figures over the waits that ended)"
    )
    return "\n".join(lines)


def chart(results: Sequence[Result], path: Path) -> Path:
    """Requests per minute over time (left) and each job's lag against its duration (right), per scenario."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (rate_ax, lag_ax) = plt.subplots(1, 2, figsize=(14, 6), dpi=100)
    shown = [r for r in results if r.scenario in CHARTED]
    for r in shown:
        end = max(r.wall, 1.0)
        edges = [60.0 * k for k in range(int(end // 60) + 2)]
        counts = [
            bisect.bisect_left(r.requests, b) - bisect.bisect_left(r.requests, a) for a, b in itertools.pairwise(edges)
        ]
        (line,) = rate_ax.step([e / 60 for e in edges[:-1]], counts, where="post", label=r.scenario.name)
        if r.scenario.rate is not None and r.scenario.gateway is None:
            rate_ax.axhline(60 * r.scenario.rate, color=line.get_color(), linestyle=":", linewidth=1)
        lag_ax.scatter([c.end for c in r.cases], [max(lag, 0.1) for lag in r.lags], s=14, label=r.scenario.name)
    rate_ax.axhline(GATEWAY_LIMIT / 5, color="black", linestyle="--", linewidth=1, label="gateway 200/5 min (mean)")
    rate_ax.set_yscale("log")
    rate_ax.set_ylim(bottom=0.8)
    rate_ax.set_xlabel("minutes since the stack started")
    rate_ax.set_ylabel("requests per minute (dotted: the budget's cap)")
    rate_ax.set_title(f"{JOBS} jobs side by side: requests per minute")
    xs = sorted(c.end for c in shown[0].cases)
    lag_ax.plot(xs, [max(2.0, 0.05 * x) for x in xs], "k--", linewidth=1, label="on time: max(2 s, 5 %)")
    lag_ax.set_xscale("log")
    lag_ax.set_yscale("log")
    lag_ax.set_xlabel("job duration, s (log)")
    lag_ax.set_ylabel("detection lag, s (log)")
    lag_ax.set_title("Lag per job")
    for ax in (rate_ax, lag_ax):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
