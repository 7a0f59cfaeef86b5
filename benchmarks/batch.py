"""``python -m benchmarks.batch``: batch reads against per-job reads, 50 and 200 jobs, on the real wait engine in
virtual time.

The task center is the emulator's own code run in process (its job store, its per-job answer and its list call,
``gaussdb_emulator.lists``), behind a ``TaskCenterClient`` whose ``fetch`` answers from it instead of the network,
so the real wait engine (``provider.waiting.engine.wait_all``, one loop for every job of a wait, as ``gaussdb-job
wait`` and ``GaussDBJobs`` run it), the real readers (``provider.taskcenter.batch.reader_for``), the real request
budget and the default polling policy run unchanged on one ``VirtualClock``: an hour of 200 jobs takes seconds.
No jitter (``WaitOptions.rng`` None), so every run gives the same figures.

Scenarios, for 50 and 200 jobs that start together (durations spread geometrically from 3 s to an hour, progress
shapes and "not yet visible" periods cycling): list mode at the default rate, per-job mode at the default rate,
and per-job mode without a budget. Figures: calls (list calls, per-job reads), peak requests in any 60 s,
detection lag (mean, p90, max) from the moment the end could be seen to the moment the engine ended the job's
wait, and wall time to the last job. Then the issue's targets are checked and printed, met or missed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.auth import AuthBase

from gaussdb_emulator import lists as emulator_lists
from gaussdb_emulator.clock import VirtualClock
from gaussdb_emulator.jobs import JobStore
from gaussdb_emulator.services import body as service_body
from gaussdb_emulator.services import not_found
from provider.config.settings import Settings
from provider.taskcenter.batch import forget_task_centers, reader_for, task_center
from provider.taskcenter.client import TaskCenterClient
from provider.taskcenter.perjob import PerJobReader
from provider.taskcenter.reader import JobReader
from provider.waiting.budget import DEFAULT_MAX_RATE, RequestBudget
from provider.waiting.engine import Hooks, WaitOptions, wait_all
from provider.waiting.engine import Result as WaitResult
from provider.waiting.policy import DEFAULT_POLICY

PROJECT = "0483b6b16e954cb88930a360d2c4e663"
SHORTEST, LONGEST = 3.0, 3600.0
ROUND = DEFAULT_POLICY.min_interval
TIMEOUT = 2 * LONGEST
SHAPES = ("linear", "steps", "none")
# Rates the per-job targets are also checked at: what the targets would need.
FASTER = (4.0, 10.0)
INVISIBLE = (0.0, 2.0, 5.0, 8.0)


class _NoAuth(AuthBase):
    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request


@dataclass
class TaskCenter:
    """The emulator's task center in process: the answers it gives and when each request came."""

    clock: VirtualClock
    service: str = "gaussdb-mysql"
    store: JobStore = field(init=False)
    requests: list[tuple[float, str]] = field(default_factory=list)
    # Per-job reads of a job the latest list call did not show (not visible yet when it was listed).
    absent_reads: int = 0
    _latest: tuple[float, set[str]] | None = None
    # The first time a per-job answer showed a job ended (its whole record: what the user sees).
    noticed: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.store = JobStore(PROJECT, clock=self.clock.monotonic, wall_clock=self.clock.wall)

    def answer(self, url: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        now = self.clock.monotonic()
        path = urlsplit(url).path
        if "id" in params and path.endswith("/jobs"):
            self.requests.append((now, "job"))
            if self._latest is not None and params["id"] not in self._latest[1]:
                self.absent_reads += 1
            view = self.store.lookup(params["id"], PROJECT)
            if view is None:
                return not_found(self.service)
            if view["status"] in ("Completed", "Failed"):
                self.noticed.setdefault(params["id"], now)
            return 200, service_body(self.service, view)
        self.requests.append((now, "list"))
        spec = emulator_lists.SPECS[self.service]
        visible = ((job, view) for job in self.store.all() if (view := self.store.lookup(job.id, PROJECT)))
        query = "&".join(f"{k}={v}" for k, v in params.items()).replace("+", "%2B")
        body = emulator_lists.answer(spec, query, visible, self.store.now())
        shown = {str(item.get("id") or item.get("job_id")) for item in body.get("jobs", body.get("tasks", []))}
        first_page = params.get("offset") in (None, "0", "1")
        if self._latest is not None and not first_page:
            shown |= self._latest[1]  # the later pages of one round's list
        self._latest = (now, shown)
        return 200, body


class SimulatedClient(TaskCenterClient):
    """A client whose requests the in-process task center answers (no sockets, no time spent)."""

    def __init__(self, center: TaskCenter) -> None:
        settings = Settings(
            project_id=PROJECT,
            region=None,
            service=center.service,
            endpoint="https://task-center.invalid",
            api_path="/v3",
            auth_url=None,
        )
        super().__init__(settings, _NoAuth())
        self.center = center

    def fetch(
        self, url: str, params: dict[str, str], *, deadline: float | None = None, retries: int = 0
    ) -> requests.Response:
        status, payload = self.center.answer(url, params)
        response = requests.Response()
        response.status_code = status
        response._content = json.dumps(payload).encode()
        response.headers["Content-Type"] = "application/json"
        response.url = url
        return response


@dataclass(frozen=True)
class Spec:
    duration: float
    shape: str
    invisible: float


def jobs(count: int) -> list[Spec]:
    return [
        Spec(
            round(SHORTEST * (LONGEST / SHORTEST) ** (i / (count - 1)), 1),
            SHAPES[i % len(SHAPES)],
            INVISIBLE[i % len(INVISIBLE)],
        )
        for i in range(count)
    ]


@dataclass(frozen=True)
class Scenario:
    name: str
    mode: str  # the listApi setting
    rate: float | None  # None: no budget (every request sent when the policy says)


SCENARIOS = (
    Scenario(f"list mode, {DEFAULT_MAX_RATE:g}/s", "on", DEFAULT_MAX_RATE),
    Scenario(f"per-job, {DEFAULT_MAX_RATE:g}/s", "off", DEFAULT_MAX_RATE),
    Scenario("per-job, no budget", "off", None),
)


@dataclass(frozen=True)
class Result:
    scenario: Scenario
    specs: Sequence[Spec]
    list_calls: int
    job_reads: int
    peak_per_minute: int
    lags: Sequence[float]
    on_time: int
    wall: float
    rounds: int  # list rounds led by the batch reader (each one list call, or one read of a job due alone)
    absent_reads: int
    times: Sequence[float] = ()  # every request's time

    @property
    def calls(self) -> int:
        return self.list_calls + self.job_reads


def _p90(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.9 * len(ordered)) - 1)]


def _peak(times: Sequence[float], window: float = 60.0) -> int:
    ordered = sorted(times)
    return max((i + 1 - bisect_left(ordered, t - window + 1e-9) for i, t in enumerate(ordered)), default=0)


def run(scenario: Scenario, specs: Sequence[Spec], *, service: str = "gaussdb-mysql") -> Result:
    """Every job of ``specs`` waited for by one ``wait_all`` with ``scenario``'s reader and budget."""
    forget_task_centers()
    clock = VirtualClock(start=0.0, epoch=datetime(2026, 1, 1, tzinfo=UTC))
    center = TaskCenter(clock, service)
    ids = [
        center.store.create(
            {
                "id": f"{i:08x}-0000-4000-8000-000000000000",
                "duration": s.duration,
                "progress": s.shape,
                "visible_after": s.invisible,
                "service": service,
            }
        ).id
        for i, s in enumerate(specs)
    ]
    client = SimulatedClient(center)
    reader: JobReader
    if scenario.rate is None:
        reader = PerJobReader.for_client(client)
    else:
        budget = RequestBudget(scenario.rate, clock=clock)
        # The budget's clock is the wait's: the reader's deadlines are on it.
        reader = reader_for(client, budget, scenario.mode, clock=budget.clock.now, wall=clock.wall)
    start = clock.now()
    ended: dict[str, float] = {}

    class Ends(Hooks):
        def ended(self, job_id: str, result: WaitResult) -> None:
            if result.job is not None and result.job.finished:
                ended[job_id] = clock.now()

    wait_all(reader, ids, WaitOptions(timeout=TIMEOUT, policy=DEFAULT_POLICY), clock=clock, hooks=Ends())
    state = task_center(client, scenario.mode)
    seen_from = {job_id: max(spec.duration, spec.invisible) + start for job_id, spec in zip(ids, specs, strict=True)}
    lags = [ended.get(job_id, math.inf) - seen_from[job_id] for job_id in ids]
    bounds = [max(2.0, 0.05 * spec.duration) + ROUND for spec in specs]
    return Result(
        scenario,
        specs,
        sum(1 for _, kind in center.requests if kind == "list"),
        sum(1 for _, kind in center.requests if kind == "job"),
        _peak([t for t, _ in center.requests]),
        lags,
        sum(1 for lag, bound in zip(lags, bounds, strict=True) if lag <= bound),
        max(ended.values(), default=math.inf) - start,
        state.rounds if scenario.mode != "off" else 0,
        center.absent_reads,
        [t for t, _ in center.requests],
    )


def table(results: Sequence[Result]) -> str:
    head = (
        f"{'jobs':>4} {'scenario':<24} {'calls':>6} {'list':>5} {'per-job':>7} {'peak/min':>8}"
        f" {'lag mean':>8} {'p90':>7} {'max':>7} {'on time':>8} {'wall':>7}"
    )
    lines = [head]
    for r in results:
        lines.append(
            f"{len(r.specs):>4} {r.scenario.name:<24} {r.calls:>6} {r.list_calls:>5} {r.job_reads:>7}"
            f" {r.peak_per_minute:>8} {sum(r.lags) / len(r.lags):>7.1f}s {_p90(r.lags):>6.1f}s {max(r.lags):>6.1f}s"
            f" {r.on_time:>4}/{len(r.specs):<3} {r.wall:>6.0f}s"
        )
    lines.append(
        f"(default rate {DEFAULT_MAX_RATE:g}/s; lag from the moment the end could be seen to the engine ending the"
        f" job's wait; on time: lag <= max(2 s, 5 % of the duration) + one round of {ROUND:g} s)"
    )
    return "\n".join(lines)


@dataclass(frozen=True)
class Target:
    text: str
    met: bool
    figures: str
    why: str = ""  # what stands in the way when missed


def targets(results: Sequence[Result]) -> list[Target]:
    out: list[Target] = []
    for r in (r for r in results if r.scenario.mode == "on"):
        out.append(
            Target(
                f"list mode, {len(r.specs)} jobs: every job on time",
                r.on_time == len(r.specs),
                f"{r.on_time}/{len(r.specs)} on time, max lag {max(r.lags):.1f} s; the late ones last {_late(r)}",
                "jobs ending close together each need a read of their own for their whole record (entities), and"
                f" those reads queue in the budget at {r.scenario.rate:g} a second",
            )
        )
        pages = math.ceil(len(r.specs) / 50)
        # A round of one due job reads it by itself instead of listing: one call either way.
        allowed = r.rounds * pages + len(r.specs) + r.absent_reads
        out.append(
            Target(
                f"list mode, {len(r.specs)} jobs: calls <= one list call a round (plus pages) + one read a job"
                " + reads of jobs not yet visible",
                r.calls <= allowed,
                f"{r.calls} calls ({r.list_calls} list, {r.job_reads} per-job, {r.absent_reads} of them of jobs the"
                f" list did not show yet) in {r.rounds} rounds; allowed {allowed}",
            )
        )
    return out


BUCKETS = ((3.0, 10.0), (10.0, 60.0), (60.0, 300.0), (300.0, LONGEST + 1))


def by_duration(results: Sequence[Result]) -> str:
    """Mean lag per duration bucket, per scenario."""
    head = f"{'jobs':>4} {'scenario':<24}" + "".join(f" {f'{lo:g}-{hi:g} s':>14}" for lo, hi in BUCKETS[:-1])
    lines = [head + f" {f'>= {BUCKETS[-1][0]:g} s':>14}"]
    for r in results:
        cells = []
        for lo, hi in BUCKETS:
            lags = [lag for spec, lag in zip(r.specs, r.lags, strict=True) if lo <= spec.duration < hi]
            cells.append(f" {sum(lags) / len(lags):>13.1f}s" if lags else f" {'-':>14}")
        lines.append(f"{len(r.specs):>4} {r.scenario.name:<24}" + "".join(cells))
    lines.append("(mean lag of the jobs of each duration)")
    return "\n".join(lines)


def _late(r: Result) -> str:
    """The durations of the jobs noticed late: how many under each bound."""
    late = sorted(
        spec.duration for spec, lag in zip(r.specs, r.lags, strict=True) if lag > max(2.0, 0.05 * spec.duration) + ROUND
    )
    if not late:
        return "-"
    within = [bound for bound in (20.0, 60.0, 300.0, 600.0) if bound >= late[0]]
    parts = [f"{sum(1 for d in late if d <= bound)} under {bound:g} s" for bound in within if bound < late[-1]]
    return f"{late[0]:g} to {late[-1]:g} s" + (f" ({', '.join(parts)})" if parts else "")


def issue_per_job_targets(rate: float) -> list[Target]:
    """The issue's per-job targets at ``rate``: 20 jobs of 4 s noticed within 3 s of their end; 200 jobs of 3 s
    all done within 60 s. Run in both modes, so the table says what each mode does."""
    out: list[Target] = []
    for mode in ("off", "on"):
        name = "per-job" if mode == "off" else "list"
        twenty = run(Scenario(name, mode, rate), [Spec(4.0, "linear", 0.0)] * 20)
        out.append(
            Target(
                f"{name} mode at {rate:g}/s: 20 jobs of 4 s noticed within 3 s of their end",
                max(twenty.lags) <= 3.0,
                f"max lag {max(twenty.lags):.1f} s, {twenty.calls} calls",
                f"20 jobs ending together need 20 reads (one each, for entities): {20 / rate:g} s at {rate:g}/s",
            )
        )
        hundreds = run(Scenario(name, mode, rate), [Spec(3.0, "linear", 0.0)] * 200)
        out.append(
            Target(
                f"{name} mode at {rate:g}/s: 200 jobs of 3 s all done within 60 s",
                hundreds.wall <= 60.0,
                f"last done at {hundreds.wall:.0f} s, {hundreds.calls} calls",
                f"200 jobs need 200 reads (one each, for entities): {200 / rate:g} s at {rate:g}/s",
            )
        )
    return out


def single_job_unchanged() -> Target:
    """One job waits exactly as today: the same calls and the same lag in list mode and per-job mode."""
    spec = [Spec(300.0, "linear", 5.0)]
    per_job = run(Scenario("per-job", "off", DEFAULT_MAX_RATE), spec)
    listed = run(Scenario("list", "on", DEFAULT_MAX_RATE), spec)
    return Target(
        "a single job: the same requests at the same times and the same lag as with per-job reads",
        listed.lags == per_job.lags and list(listed.times) == list(per_job.times) and listed.list_calls == 0,
        f"lag {listed.lags[0]:.1f} s vs {per_job.lags[0]:.1f} s; calls {listed.calls} ({listed.list_calls} list)"
        f" vs {per_job.calls}",
    )


CHART = Path(__file__).with_name("batch.png")


def chart(results: Sequence[Result], path: Path = CHART) -> Path:
    """Per job count (a row each): requests per minute over time (left), each job's lag against its duration
    (right), per scenario."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = sorted({len(r.specs) for r in results})
    fig, axes = plt.subplots(len(counts), 2, figsize=(14, 5.5 * len(counts)), dpi=100, squeeze=False)
    for (rate_ax, lag_ax), count in zip(axes, counts, strict=True):
        for r in (r for r in results if len(r.specs) == count):
            times = sorted(r.times)
            end = max(times[-1] if times else 0.0, 60.0)
            edges = [60.0 * k for k in range(int(end // 60) + 2)]
            per_minute = [bisect_left(times, b) - bisect_left(times, a) for a, b in itertools.pairwise(edges)]
            rate_ax.step([e / 60 for e in edges[:-1]], per_minute, where="post", label=r.scenario.name)
            lag_ax.scatter(
                [s.duration for s in r.specs], [max(lag, 0.1) for lag in r.lags], s=12, label=r.scenario.name
            )
        rate_ax.axhline(60 * DEFAULT_MAX_RATE, color="black", linestyle=":", linewidth=1, label="60 a minute")
        rate_ax.set_yscale("log")
        rate_ax.set_ylim(bottom=0.8)
        rate_ax.set_xlabel("minutes since the jobs started")
        rate_ax.set_ylabel("requests per minute")
        rate_ax.set_title(f"{count} jobs side by side: requests per minute")
        durations = sorted(s.duration for s in next(r for r in results if len(r.specs) == count).specs)
        lag_ax.plot(durations, [max(2.0, 0.05 * d) for d in durations], "k--", linewidth=1, label="max(2 s, 5 %)")
        lag_ax.set_xscale("log")
        lag_ax.set_yscale("log")
        lag_ax.set_xlabel("job duration, s (log)")
        lag_ax.set_ylabel("detection lag, s (log)")
        lag_ax.set_title(f"{count} jobs: lag per job")
        for ax in (rate_ax, lag_ax):
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def report(out: Callable[[str], None] = print, chart_path: Path | None = None) -> list[Target]:
    """Run every scenario, print the table and the targets (met or missed, with the figures); the targets."""
    results = [run(scenario, jobs(count)) for count in (50, 200) for scenario in SCENARIOS]
    out(table(results))
    out("")
    out(by_duration(results))
    out("")
    checks = [*targets(results), *issue_per_job_targets(DEFAULT_MAX_RATE), single_job_unchanged()]
    for check in checks:
        why = f" (missed: {check.why})" if not check.met and check.why else ""
        out(f"{'met   ' if check.met else 'MISSED'} {check.text}: {check.figures}{why}")
    out("")
    out("The same targets at higher rates (--max-rate / gaussdb:maxRate), where an account allows them:")
    for rate in FASTER:
        for check in issue_per_job_targets(rate):
            out(f"{'met   ' if check.met else 'MISSED'} {check.text}: {check.figures}")
    if chart_path is not None:
        out(f"chart: {chart(results, chart_path)}")
    return checks


def main(argv: Sequence[str] | None = None, out: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.batch", description=__doc__)
    parser.add_argument("--chart", type=Path, default=None, help=f"also write the chart there (e.g. {CHART})")
    args = parser.parse_args(argv)
    report(out, args.chart)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
