"""One job's wait state: given what a read of the job gave and the time, a verdict and when the job is next due.

The engine (``provider.waiting.engine``) holds one ``Tracker`` per job and does the reading and the sleeping; the
tracker decides. What it holds: the not-found grace (``JobNotFound`` tolerated for ``policy.not_found_grace``
seconds from the start), the outage tolerance (transient ``ApiError`` for ``policy.outage_limit`` seconds in a
row, each retry no sooner than the policy's backoff and the server's ``Retry-After``), the progress trend, the
acceptors (``accept_scheduled``: a Pending job is done; ``accept_any``: the first answer is, a refresh), and the
deadline (the last read is at the deadline, never after it). It keeps the last job seen and the last error, which
is all a caller's outputs need.
"""

from __future__ import annotations

import enum
import random

from provider.core.errors import ApiError, GaussDBError, JobFailed, JobNotFound, WaitCancelled, WaitTimeout
from provider.taskcenter.models import Job
from provider.taskcenter.reader import Outcome
from provider.waiting.policy import LAST_POLL_GRACE, Policy, Trend, budget_priority, next_delay, observe


class Verdict(enum.Enum):
    WAITING = "waiting"  # not over: read again at ``Tracker.due``
    DONE = "done"  # Completed, or accepted as it is (scheduled, or any answer)
    FAILED = "failed"  # the job's status is Failed
    NOT_FOUND = "not found"  # unknown to the task center after the grace
    TIMED_OUT = "timed out"  # the deadline came first
    ERROR = "error"  # an error that ends the wait: not transient, or an outage longer than the limit
    CANCELLED = "cancelled"  # stopped from outside; the job goes on


class Tracker:
    """The wait state of one job, started at ``start`` on the engine's clock."""

    def __init__(
        self,
        job_id: str,
        start: float,
        *,
        timeout: float,
        policy: Policy,
        accept_scheduled: bool = False,
        accept_any: bool = False,
        rng: random.Random | None = None,
    ) -> None:
        self.job_id = job_id
        self.start = start
        self.timeout = timeout
        self.deadline = start + timeout
        self.policy = policy
        self.accept_scheduled = accept_scheduled
        self.accept_any = accept_any
        self.rng = rng
        self.trend = Trend()
        self.last: Job | None = None
        self.last_error: GaussDBError | None = None
        self.failing_since: float | None = None  # seconds into the wait when the errors in a row began
        self.failures = 0
        self.pending = False
        self.final = False  # the next read is the one at the deadline
        self.due = start  # when the job is next to be read (the first read is immediate)
        self.pause = 0.0  # the sleep the last verdict asked for, from ``fed_at``
        self.fed_at = start
        self.verdict = Verdict.WAITING
        self.error: GaussDBError | None = None  # why the wait ended, when it did not end DONE

    @property
    def name(self) -> str:
        return self.job_id or (self.last.id if self.last else "?")

    @property
    def active(self) -> bool:
        return self.verdict is Verdict.WAITING

    def priority(self, now: float) -> float:
        """Seconds of head start in the request budget: earliest deadline first (``budget_priority``), plus the
        time the job has been due already, so a job left over from a round keeps its place in the line."""
        return budget_priority(self.trend, now - self.start, self.policy) + max(now - self.due, 0.0)

    def request_deadline(self, now: float) -> float:
        """When a read started ``now`` must be over, on the engine's clock: the wait's deadline or the end of the
        outage limit (a request hanging that long is an outage that long), whichever is first, plus the grace."""
        outage_from = now if self.failing_since is None else self.start + self.failing_since
        # At least the grace from now: a poll after the outage limit can still say what the outage is.
        outage_end = max(outage_from + self.policy.outage_limit, now)
        return min(self.deadline, outage_end) + LAST_POLL_GRACE

    def feed(self, outcome: Outcome, polled_at: float, now: float) -> Verdict:
        """What a read begun at ``polled_at`` gave, learnt at ``now``: the verdict; when WAITING, ``due``."""
        polled = polled_at - self.start
        retry_after: float | None = None
        if isinstance(outcome, JobNotFound):
            if polled >= self.policy.not_found_grace:
                return self._end(Verdict.NOT_FOUND, outcome)
            self.failing_since, self.failures, self.last_error = None, 0, outcome
        elif isinstance(outcome, ApiError) and outcome.transient:
            self.failing_since = polled if self.failing_since is None else self.failing_since
            if polled - self.failing_since >= self.policy.outage_limit:
                return self._end(Verdict.ERROR, outcome)
            self.failures, self.last_error = self.failures + 1, outcome
            retry_after = _seconds(getattr(outcome, "retry_after", None))
        elif isinstance(outcome, Job):
            self.failing_since, self.failures, self.last_error, self.last = None, 0, None, outcome
            if self.accept_any or outcome.status == "Completed" or (outcome.scheduled and self.accept_scheduled):
                return self._end(Verdict.DONE, None)
            if outcome.status == "Failed":
                return self._end(Verdict.FAILED, JobFailed(outcome))
            self.pending = outcome.scheduled
            if not self.pending:
                self.trend = observe(self.trend, polled, outcome.percent)
        else:
            return self._end(Verdict.ERROR, outcome)
        remaining = self.deadline - now
        if self.final or remaining <= 0:
            return self.timed_out()
        delay = next_delay(
            self.policy, self.timeout - remaining, self.trend, self.failures, self.rng, pending=self.pending
        )
        if retry_after is not None:
            # The server's word, bounded by the longest interval the policy allows (a Retry-After of a day is not
            # obeyed): every retry is a new read, through the request budget like any other.
            delay = max(delay, min(retry_after, self.policy.max_interval))
        self.final = delay >= remaining
        self.pause = min(delay, remaining)
        self.fed_at = now
        self.due = now + self.pause
        return self.verdict

    def queued(self, now: float) -> Verdict:
        """The job was due but not read (its turn in the request budget did not come in the round): it stays due,
        unless the deadline has come."""
        return self.timed_out() if now >= self.deadline else self.verdict

    def timed_out(self) -> Verdict:
        return self._end(Verdict.TIMED_OUT, WaitTimeout(self.name, self.timeout, self.last, self.last_error))

    def cancel(self) -> Verdict:
        return self._end(Verdict.CANCELLED, WaitCancelled(self.name, self.last))

    def _end(self, verdict: Verdict, error: GaussDBError | None) -> Verdict:
        self.verdict, self.error = verdict, error
        return verdict


def _seconds(value: object) -> float | None:
    """A Retry-After already parsed to seconds by the client, or None for anything else (defensive: the field is
    the client's, and a wait must never end on its type)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value == value and value > 0:
        return float(value)
    return None
