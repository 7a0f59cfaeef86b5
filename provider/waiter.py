"""Waiting for a job: a short loop over ``fetch`` with the polling policy as data.

Modelled on botocore's waiter (policy as data, a short loop) and Terraform's StateChangeConf (target states,
not-found tolerance, a deadline). Time is injected (``clock``, ``sleep``) so the policy runs in virtual time
in tests and benchmarks.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from provider.errors import ApiError, JobFailed, JobNotFound, WaitTimeout
from provider.models import Job


@dataclass(frozen=True)
class Policy:
    """When to poll next. Intervals grow with elapsed time (a job that has run for t seconds is unlikely to
    end in the next few percent of t), are bounded, and are jittered down only, so a bound is never exceeded.
    Progress (``process``) shortens or lengthens the wait when it is consistent enough to predict the end."""

    min_interval: float = 1.0
    max_interval: float = 30.0
    # interval = growth x elapsed, clamped: detection lag stays within a few percent of the job's duration.
    growth: float = 0.04
    jitter: float = 0.1
    # Progress-based prediction: sleep a fraction of the predicted remaining time (halving toward the end
    # tolerates a job that runs up to 1/fraction times faster than its progress says), never more than this.
    predict_fraction: float = 0.5
    max_predicted_interval: float = 120.0
    # Progress at or above this is not trusted (jobs stall at 99 % while the last step runs).
    trust_below_percent: float = 95.0
    # DBS.200543 is expected for the first seconds of a job's life: tolerated this long from the start.
    not_found_grace: float = 60.0
    # Transient API errors (429, 5xx, dropped connections, garbage) tolerated this long in a row.
    outage_limit: float = 120.0


DEFAULT_POLICY = Policy()


@dataclass
class Progress:
    """Samples of (elapsed seconds, percent) from one wait, and the predictions drawn from them."""

    samples: list[tuple[float, float]] = field(default_factory=list)

    def add(self, elapsed: float, percent: float | None) -> None:
        if percent is not None:
            self.samples.append((elapsed, percent))

    def remaining(self, policy: Policy) -> float | None:
        """Seconds until the job should reach 100 %, or None when progress cannot be trusted."""
        moving = [(t, p) for t, p in self.samples if p > 0.0]
        if len(moving) < 2:
            return None
        (t0, p0), (t1, p1) = moving[0], moving[-1]
        previous = moving[-2][1]
        if p1 >= policy.trust_below_percent or p1 <= p0 or t1 <= t0 or p1 < previous:
            return None
        if p1 == previous and len(moving) >= 3:
            return None  # stalled since the last poll: the rate says nothing about the rest
        rate = (p1 - p0) / (t1 - t0)
        return (100.0 - p1) / rate


def next_delay(policy: Policy, elapsed: float, progress: Progress, rng: random.Random | None) -> float:
    base = min(max(policy.growth * elapsed, policy.min_interval), policy.max_interval)
    delay = base
    remaining = progress.remaining(policy)
    if remaining is not None:
        if remaining * policy.predict_fraction > base:
            # Far from the predicted end: halve the distance, a long sleep that stays safe if the job is faster.
            delay = min(remaining * policy.predict_fraction, policy.max_predicted_interval)
        else:
            # Near it: aim at the predicted end, never later than the elapsed-time rule would.
            delay = min(base, max(remaining, policy.min_interval))
    if rng is not None and policy.jitter > 0:
        delay *= 1.0 - rng.uniform(0.0, policy.jitter)
    return delay


def wait_for_job(
    fetch: Callable[[], Job],
    *,
    timeout: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    policy: Policy = DEFAULT_POLICY,
    on_poll: Callable[[Job], None] | None = None,
    job_id: str = "",
    rng: random.Random | None = None,
) -> Job:
    """Poll until the job is Completed (returned) or Failed (``JobFailed``), or ``timeout`` seconds pass
    (``WaitTimeout``). The first call is immediate; the last is at the deadline, never after it."""
    if rng is None and sleep is time.sleep:
        rng = random.Random()
    start = clock()
    deadline = start + timeout
    progress = Progress()
    last: Job | None = None
    last_error: Exception | None = None
    failing_since: float | None = None
    while True:
        now = clock()
        try:
            job = fetch()
        except JobNotFound as exc:
            if now - start >= policy.not_found_grace:
                raise
            last_error = exc
        except ApiError as exc:
            if not exc.transient:
                raise
            failing_since = now if failing_since is None else failing_since
            if now - failing_since >= policy.outage_limit:
                raise
            last_error = exc
        else:
            failing_since, last_error, last = None, None, job
            if on_poll is not None:
                on_poll(job)
            if job.status == "Completed":
                return job
            if job.status == "Failed":
                raise JobFailed(job)
            progress.add(now - start, job.percent)
        now = clock()
        if now >= deadline:
            raise WaitTimeout(job_id or (last.id if last else "?"), timeout, last, last_error)
        delay = next_delay(policy, now - start, progress, rng)
        sleep(max(0.0, min(delay, deadline - now)))
