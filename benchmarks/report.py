"""Tables and the lag-versus-calls chart from the virtual-time suite."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from harness.simulation import Case, Outcome, Summary, group


def _pct(share: float) -> str:
    return f"{100 * share:.1f}%"


def _side(summary: Summary) -> str:
    return (
        f"{summary.max_lag:>7.1f} {summary.mean_lag:>6.1f} {summary.mean_calls:>7.1f} {_pct(summary.on_time_share):>7}"
    )


def duration_table(ours: Sequence[Outcome], theirs: Sequence[Outcome], names: tuple[str, str]) -> str:
    by_ours = group(ours, lambda c: c.duration)
    by_theirs = group(theirs, lambda c: c.duration)
    head = f"{'lag max':>7} {'mean':>6} {'calls':>7} {'on time':>7}"
    lines = [
        f"{'':>9} | {names[0]:^30} | {names[1]:^30} |",
        f"{'duration':>9} | {head} | {head} | {'calls ratio':>11}",
    ]
    for duration, mine in by_ours.items():
        other = by_theirs[duration]
        lines.append(f"{duration:>8g}s | {_side(mine)} | {_side(other)} | {mine.calls / other.calls:>11.2f}")
    total_ours, total_theirs = Summary(list(ours)), Summary(list(theirs))
    lines.append(
        f"{'all':>9} | {_side(total_ours)} | {_side(total_theirs)} | {total_ours.calls / total_theirs.calls:>11.2f}"
    )
    lines.append(
        f"{'':>9}   (lag in seconds; calls = mean calls per wait; on time = lag <= max(2 s, 5 % of the duration))"
    )
    return "\n".join(lines)


def shape_table(ours: Sequence[Outcome], theirs: Sequence[Outcome], names: tuple[str, str]) -> str:
    by_ours = group(ours, lambda c: c.shape)
    by_theirs = group(theirs, lambda c: c.shape)
    columns = ": on time, mean lag, calls"
    lines = [f"{'progress':>9} | {names[0] + columns:>40} | {names[1] + columns:>40}"]
    for shape, mine in by_ours.items():
        other = by_theirs[shape]
        lines.append(
            f"{shape:>9} | {_pct(mine.on_time_share):>17} {mine.mean_lag:>9.1f} s {mine.calls:>10} |"
            f" {_pct(other.on_time_share):>17} {other.mean_lag:>9.1f} s {other.calls:>10}"
        )
    return "\n".join(lines)


def totals(ours: Sequence[Outcome], theirs: Sequence[Outcome], names: tuple[str, str]) -> str:
    mine, other = Summary(list(ours)), Summary(list(theirs))
    return "\n".join(
        [
            f"cases: {mine.cases}",
            f"on time (lag <= max(2 s, 5 % of duration)): {names[0]} {_pct(mine.on_time_share)},"
            f" {names[1]} {_pct(other.on_time_share)}",
            f"mean lag: {names[0]} {mine.mean_lag:.2f} s, {names[1]} {other.mean_lag:.2f} s;"
            f" max lag: {names[0]} {mine.max_lag:.1f} s, {names[1]} {other.max_lag:.1f} s",
            f"total calls: {names[0]} {mine.calls}, {names[1]} {other.calls},"
            f" ratio {names[0]}/{names[1]} = {mine.calls / other.calls:.3f}",
        ]
    )


def chart(ours: Sequence[Outcome], theirs: Sequence[Outcome], names: tuple[str, str], path: Path) -> Path:
    """Every case as a dot (calls spent, lag), the mean per duration as a labelled marker: the lag in seconds on
    the left, the lag relative to the allowed max(2 s, 5 % of the duration) on the right."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (absolute, relative) = plt.subplots(1, 2, figsize=(14, 6), dpi=100)
    for outcomes, name, color in ((theirs, names[1], "tab:orange"), (ours, names[0], "tab:blue")):
        means = group(outcomes, lambda c: c.duration)
        xs = [s.mean_calls for s in means.values()]
        for ax, relative_lag in ((absolute, False), (relative, True)):
            lags = [o.lag / o.case.bound if relative_lag else o.lag for o in outcomes]
            ax.scatter([o.calls for o in outcomes], lags, s=6, alpha=0.15, color=color)
            ys = [
                sum(o.lag / o.case.bound if relative_lag else o.lag for o in s.outcomes) / s.cases
                for s in means.values()
            ]
            ax.plot(xs, ys, "o-", color=color, label=f"{name}: mean per duration", markersize=5)
            for duration, x, y in zip(means, xs, ys, strict=True):
                if isinstance(duration, int | float) and duration in (0, 10, 60, 300, 1200, 3600):
                    ax.annotate(f"{duration:g}s", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    relative.axhline(1.0, color="black", linestyle="--", linewidth=1, label="allowed: max(2 s, 5 % of duration)")
    absolute.set_yscale("symlog", linthresh=1.0)
    absolute.set_ylabel("detection lag, s (symlog)")
    relative.set_ylabel("detection lag / allowed lag")
    for ax in (absolute, relative):
        ax.set_xscale("log")
        ax.set_ylim(bottom=0)
        ax.set_xlabel("calls per wait (log)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(loc="upper left", fontsize=8)
    absolute.set_title("Detection lag against API calls (dots: every simulated case)")
    relative.set_title("The same, relative to the allowed lag")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def finished_job_line(case: Case, calls: int, sleeps: Sequence[float]) -> str:
    return (
        f"already-finished job: {calls} call(s), {len(sleeps)} sleep(s), {sum(sleeps):.1f} s slept"
        f" (invisible {case.invisible:g} s)"
    )
