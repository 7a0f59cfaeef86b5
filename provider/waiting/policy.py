"""The polling policy as data, and the pure functions that read it: when one job is next due, what its progress
predicts, and how urgent its next request is for the shared request budget.

Modelled on botocore's waiter (policy as data) and Terraform's StateChangeConf (not-found tolerance, a deadline);
``python -m benchmarks`` tunes the defaults below against a suite of simulated jobs.

The schedule, in short:

- the first call is immediate: a job that is already finished costs one call and no sleep;
- without usable progress, the interval is ``growth`` x the time waited so far, clamped to
  ``[min_interval, max_interval]``: a job that ends after t seconds is noticed within 5 % of t, 2 s for short
  jobs, 30 s at most;
- with progress (``process``) that moves forward, the waiter bounds the job's rate from above and skips the
  polls before the earliest moment the job could reach ``earliest_end_percent`` (50 %): progress may lag
  reality by up to 2x (a job that ends at 60 %) without the end being noticed late. Past that point, or when
  progress stalls (99 % for minutes), jumps, goes backwards or vanishes, the elapsed-time rule above applies,
  and while progress keeps moving, one poll is aimed at the moment it would reach 100 %;
- jitter only shortens an interval, so no bound is ever exceeded; transient errors back off exponentially;
- the last poll is at the deadline, never after it;
- a ``Pending`` job (scheduled for the maintenance window, possibly hours away) is polled at ``max_interval``:
  nothing it reports can change before it runs.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Policy:
    """When to poll next. Every field is a number of seconds unless said otherwise."""

    # The elapsed-time rule: interval = growth x elapsed, within [min_interval, max_interval]. growth bounds the
    # detection lag relative to the job's duration (5 %), min_interval the lag of short jobs (2 s).
    min_interval: float = 2.0
    max_interval: float = 30.0
    growth: float = 0.05
    # Each interval is shortened by a random fraction in [0, jitter) when the wait has an rng (every wait on the
    # real clock has one): waits started together drift apart instead of hitting the API in bursts.
    jitter: float = 0.1
    # Progress-based skipping: a job is assumed not to end before its progress could reach this percent (so it
    # tolerates a job that runs up to 100 / earliest_end_percent times faster than its progress says). A skip
    # lasts at most predict_growth x elapsed and max_predicted_interval: a job whose progress lies worse than that
    # is still noticed within those bounds.
    earliest_end_percent: float = 50.0
    predict_growth: float = 0.5
    max_predicted_interval: float = 300.0
    # After n transient errors in a row the interval is at least min_interval x error_backoff ** n (up to
    # max_interval): a throttled (429) or failing gateway is not hammered.
    error_backoff: float = 2.0
    # DBS.200543 is expected for the first seconds of a job's life: tolerated this long from the start.
    not_found_grace: float = 60.0
    # Transient API errors (429, 5xx, dropped connections, garbage) tolerated this long in a row.
    outage_limit: float = 120.0

    def __post_init__(self) -> None:
        values = [getattr(self, name) for name in self.__dataclass_fields__]
        if not all(isinstance(v, int | float) and math.isfinite(v) and v >= 0 for v in values):
            raise ValueError("policy values must be finite numbers >= 0")
        if self.min_interval <= 0 or self.max_interval < self.min_interval:
            raise ValueError("policy needs 0 < min_interval <= max_interval")
        if self.jitter >= 1 or self.error_backoff < 1 or not 0 < self.earliest_end_percent <= 100:
            raise ValueError("policy needs jitter < 1, error_backoff >= 1 and 0 < earliest_end_percent <= 100")


DEFAULT_POLICY = Policy()
# How long a wait lasts unless told otherwise (the resource's ``timeout``, the CLI's ``--timeout``): seconds.
DEFAULT_TIMEOUT = 3600.0


@dataclass(frozen=True)
class Trend:
    """What the progress seen so far says, folded from the polls by ``observe``: enough to bound the job's rate.

    ``first`` is the first percent seen and ``still_first_at`` the last time progress still showed it (a job
    queued at 0 % has not started to move yet); ``last``/``last_at`` the latest reading, ``moved`` whether it was
    higher than the one before. Progress that goes backwards or vanishes marks the trend ``misleading`` for the
    rest of the wait.
    """

    first: float | None = None
    still_first_at: float = 0.0
    last: float | None = None
    last_at: float = 0.0
    moved: bool = False
    misleading: bool = False


def observe(trend: Trend, elapsed: float, percent: float | None) -> Trend:
    """The trend after a poll at ``elapsed`` seconds that showed ``percent`` (None: no readable progress)."""
    if trend.misleading:
        return trend
    if trend.first is None or trend.last is None:
        return trend if percent is None else Trend(percent, elapsed, percent, elapsed)
    if percent is None or percent < trend.last:
        return replace(trend, misleading=True)
    if percent == trend.first:
        return replace(trend, still_first_at=elapsed, last_at=elapsed, moved=False)
    return replace(trend, last=percent, last_at=elapsed, moved=percent > trend.last)


def _span(trend: Trend) -> tuple[float, float, float] | None:
    """(first, last, seconds between them) when progress has moved forward and says something."""
    if trend.misleading or trend.first is None or trend.last is None or trend.last <= trend.first:
        return None
    span = trend.last_at - trend.still_first_at
    return (trend.first, trend.last, span) if span > 0 else None


def earliest_end(trend: Trend, policy: Policy) -> float | None:
    """The elapsed time before which the job cannot plausibly end, or None when progress says nothing about it.

    The rate is bounded from above: progress is shown rounded down, so at ``last_at`` it may be just under
    ``last + 1``, and it was still ``first`` at ``still_first_at``. From there, at that rate, the job reaches
    ``earliest_end_percent`` no earlier than the returned time.
    """
    moving = _span(trend)
    if moving is None:
        return None
    first, last, span = moving
    ceiling = last + 1.0
    if ceiling >= policy.earliest_end_percent:
        return None
    return trend.last_at + (policy.earliest_end_percent - ceiling) / ((ceiling - first) / span)


def predicted_end(trend: Trend) -> float | None:
    """When progress that is still moving would reach 100 % at the slowest rate the readings allow, or None.

    Aiming a poll there notices a job that keeps its pace right when it ends. Progress that did not move at the
    last poll (a stall at 99 %, a plateau between jumps) predicts nothing.
    """
    moving = _span(trend)
    if moving is None or not trend.moved or moving[1] >= 100.0:
        return None
    first, last, span = moving
    rate = (last - first - 1.0) / span
    return trend.last_at + (100.0 - last) / rate if rate > 0 else None


def next_delay(
    policy: Policy,
    elapsed: float,
    trend: Trend | None = None,
    failures: int = 0,
    rng: random.Random | None = None,
    *,
    pending: bool = False,
) -> float:
    """Seconds to sleep after a poll ``elapsed`` seconds into the wait; ``failures`` transient errors in a row;
    ``pending``: the job last read was scheduled for the maintenance window (polled at the long interval)."""
    delay = min(max(policy.growth * elapsed, policy.min_interval), policy.max_interval)
    if pending and not failures:
        delay = policy.max_interval
    elif failures:
        backoff = policy.min_interval * policy.error_backoff ** min(failures, 64)
        delay = max(delay, min(backoff, policy.max_interval))
    elif trend is not None:
        start, finish = earliest_end(trend, policy), predicted_end(trend)
        if start is not None:
            delay = max(delay, min(start - elapsed, policy.predict_growth * elapsed, policy.max_predicted_interval))
        elif finish is not None and elapsed < finish < elapsed + delay:
            # Aimed at the predicted end, earlier than the regular poll: no jitter, it would only aim too early.
            return max(finish - elapsed, policy.min_interval)
    if rng is not None and policy.jitter > 0:
        delay *= 1.0 - rng.uniform(0.0, policy.jitter)
    return delay


# Progress at or past this percent counts as "ending" for the request budget, whatever the trend predicts.
ENDING_PERCENT = 90.0
# A job predicted to be ending is served by a shared request budget as if it had asked this much earlier.
ENDING_HEAD_START = 60.0


def budget_priority(trend: Trend, elapsed: float, policy: Policy) -> float:
    """How many seconds earlier than it asks a shared request budget should treat this poll as asked.

    Earliest deadline first: a poll is due by the time its lag would exceed what the policy allows, so a job that
    the policy polls every 30 s (it tolerates 30 s of lag) waits behind one polled every 2 s; a job predicted to be
    ending (progress predicted to reach 100 % before the next regular poll, or already at ``ENDING_PERCENT``)
    goes ahead of both.
    """
    tolerance = min(max(policy.growth * elapsed, policy.min_interval), policy.max_interval) - policy.min_interval
    if trend.misleading or trend.last is None:
        return -tolerance
    finish = predicted_end(trend)
    if trend.last >= ENDING_PERCENT or (finish is not None and finish <= elapsed + policy.min_interval):
        return ENDING_HEAD_START
    return -tolerance


# The poll at the deadline gets this long to be answered: without it the last poll could never be read.
LAST_POLL_GRACE = 1.0
