"""``python -m benchmarks``: the waiter's default policy against the Terraform provider's fixed 10 s schedule.

Virtual time first (a suite of simulated jobs, tables, the lag-versus-calls chart), then real time against the
emulator (``--no-realtime`` skips it). Exits 1 when a target the README states is missed.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from benchmarks import batch, report
from harness.simulation import (
    INVISIBLE,
    SEEDS,
    TERRAFORM,
    Case,
    ScriptedJob,
    Summary,
    ours,
    ours_with_budget,
    run_suite,
    suite,
)
from provider.waiting.clock import VirtualClock
from provider.waiting.policy import DEFAULT_POLICY, Policy

NAMES = ("ours", "terraform")
CHART = Path(__file__).with_name("lag_vs_calls.png")

# The targets: share of cases noticed on time, and calls relative to the fixed 10 s schedule.
MIN_ON_TIME = 0.95
MAX_CALLS_RATIO = 0.6

# Variants printed by --sweep: one parameter moved at a time around the default.
SWEEP: tuple[dict[str, float], ...] = (
    {},
    {"max_interval": 20.0},
    {"max_interval": 60.0},
    {"min_interval": 1.0},
    {"min_interval": 3.0},
    {"growth": 0.04},
    {"growth": 0.07},
    {"earliest_end_percent": 40.0},
    {"earliest_end_percent": 60.0},
    {"predict_growth": 0.25},
    {"predict_growth": 1.0},
    {"max_predicted_interval": 30.0},
    {"max_predicted_interval": 600.0},
    {"jitter": 0.0},
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--no-realtime", action="store_true", help="skip the real-time run against the emulator")
    parser.add_argument("--seeds", type=int, default=len(SEEDS), help="jitter seeds per case (default %(default)s)")
    parser.add_argument("--chart", type=Path, default=CHART, help="where to write the PNG (default %(default)s)")
    parser.add_argument(
        "--batch-chart", type=Path, default=batch.CHART, help="where to write the batch PNG (default %(default)s)"
    )
    parser.add_argument("--sweep", action="store_true", help="also print the suite's totals for policy variants")
    parser.add_argument("--calls", type=int, default=500, help="calls per real-time measurement (default 500)")
    return parser


def already_finished(policy: Policy) -> str:
    case = Case(0.0, "linear", 0.0, 1)
    clock = VirtualClock()
    fetch = ScriptedJob(case, clock)
    ours(policy)(fetch, 60.0, clock, random.Random(1))
    return report.finished_job_line(case, len(fetch.calls), clock.sleeps)


def sweep(cases: Sequence[Case], terraform_calls: int) -> str:
    lines = [f"{'variant':<36} {'on time':>8} {'mean lag':>9} {'max lag':>8} {'calls ratio':>12}"]
    for change in SWEEP:
        summary = Summary(run_suite(ours(replace(DEFAULT_POLICY, **change)), cases))
        label = ", ".join(f"{k}={v:g}" for k, v in change.items()) or "default"
        lines.append(
            f"{label:<36} {100 * summary.on_time_share:>7.1f}% {summary.mean_lag:>8.2f}s {summary.max_lag:>7.1f}s"
            f" {summary.calls / terraform_calls:>12.3f}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    began = time.perf_counter()
    cases = suite(seeds=range(1, args.seeds + 1))
    mine = run_suite(ours(DEFAULT_POLICY), cases)
    theirs = run_suite(TERRAFORM, cases)
    summary_ours, summary_theirs = Summary(mine), Summary(theirs)

    print("Virtual time: the default policy ('ours') against Terraform's fixed schedule (first call after 10 s,")
    print(f"then every 10 s) on {len(cases)} simulated waits: 14 durations x 6 progress shapes x jobs unknown to")
    print(f"the task center for their first {', '.join(f'{i:g}' for i in INVISIBLE)} s x {args.seeds} seeds.")
    print(f"Policy: {DEFAULT_POLICY}")
    print()
    print(report.duration_table(mine, theirs, NAMES))
    print()
    print(report.shape_table(mine, theirs, NAMES))
    print()
    print(report.totals(mine, theirs, NAMES))
    print(already_finished(DEFAULT_POLICY))
    ratio = summary_ours.calls / summary_theirs.calls
    ok = summary_ours.on_time_share >= MIN_ON_TIME and ratio <= MAX_CALLS_RATIO
    print(
        f"targets: on time >= {MIN_ON_TIME:.0%} and calls <= {MAX_CALLS_RATIO:g} x terraform:"
        f" {'met' if ok else 'MISSED'}"
    )
    chart = report.chart(mine, theirs, NAMES, args.chart)
    print(f"chart: {chart}")
    budgeted = run_suite(ours_with_budget(DEFAULT_POLICY), cases)
    same = [(o.calls, o.detected_at) for o in budgeted] == [(o.calls, o.detected_at) for o in mine]
    ok = ok and same
    print(
        f"the same {len(cases)} waits, each with the default request budget: "
        + ("identical calls and lags (the budget is never the bottleneck of one wait)" if same else "DIFFERENT")
    )
    print()
    # Reported, not gated: at the default rate some of the targets are missed, and the report says why
    # (docs/batch-reads.md).
    print("Virtual time: 50 and 200 jobs side by side on the wait engine, list calls against per-job reads")
    print("(python -m benchmarks.batch)")
    batch.report(print, args.batch_chart)
    print(f"(virtual time: {time.perf_counter() - began:.1f} s)")

    if args.sweep:
        print()
        print(sweep(cases, summary_theirs.calls))

    if not args.no_realtime:
        from benchmarks import realtime

        print()
        began = time.perf_counter()
        latencies, waits = realtime.run(calls=args.calls)
        print(realtime.report(latencies, waits))
        print(f"(real time: {time.perf_counter() - began:.1f} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
