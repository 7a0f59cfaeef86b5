"""The wait engine: one loop that schedules every job of a wait, whether one job or a thousand.

At each step it takes every job that is due, asks the reader about all of them in one call
(``JobReader.read``, the contract in ``provider.taskcenter.reader``), feeds each outcome to the job's ``Tracker``
(``provider.waiting.tracker``), and sleeps on the clock until the next job is due. A job absent from the reader's
answer was not asked (its turn in the request budget did not come within the round): it is queued, stays due,
and goes ahead in the next round by the time it has waited. No thread per job: the loop runs in the caller's
thread, and the reader paces every request it sends through the process's request budget.

What a caller gives: the reader, the job ids, ``WaitOptions`` (timeout, policy, acceptors, jitter, cancel), a
``Clock`` and ``Hooks`` (a job seen, an error tolerated, a job queued, a job's wait ended). What it gets: one
``Result`` per job, in the order given.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from provider.core import deadline as deadlines
from provider.core.errors import GaussDBError
from provider.taskcenter.models import Job
from provider.taskcenter.reader import Due, JobReader, Outcome
from provider.waiting.clock import SYSTEM_CLOCK, Clock
from provider.waiting.policy import DEFAULT_POLICY, DEFAULT_TIMEOUT, Policy
from provider.waiting.tracker import Tracker, Verdict


@dataclass(frozen=True)
class WaitOptions:
    """How to wait; the same for every job of a wait."""

    timeout: float = DEFAULT_TIMEOUT  # seconds, for every job together
    policy: Policy = DEFAULT_POLICY
    # A Pending job (scheduled for the maintenance window) counts as done.
    accept_scheduled: bool = False
    # The first answer counts as done, whatever the status (a refresh reads, it does not wait).
    accept_any: bool = False
    # Jitter is drawn from it (None: no jitter); callers on a real clock pass one so waits drift apart.
    rng: random.Random | None = None
    # Set from outside (Ctrl-C, the plugin's shutdown or Cancel): every wait ends at once, sleeps included.
    cancel: threading.Event | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Result:
    """How one job's wait ended: the last job seen, and the error when it did not end done."""

    job_id: str
    verdict: Verdict
    job: Job | None
    error: GaussDBError | None

    def unwrap(self) -> Job:
        """The job when done; else raises the error (JobFailed, JobNotFound, WaitTimeout, WaitCancelled, ...)."""
        if self.error is not None:
            raise self.error
        assert self.job is not None
        return self.job


class Hooks:
    """What a wait tells its caller as it goes; every method does nothing unless overridden. Called from the
    thread that runs the wait."""

    def seen(self, job_id: str, job: Job) -> None:
        """A read gave the job (every answer, not only changes)."""

    def tolerated(self, job_id: str, error: GaussDBError) -> None:
        """A read gave an error the wait rides out (a job not visible yet, a transient API error)."""

    def queued(self, job_id: str) -> None:
        """The job was due, but its turn in the request budget did not come within the round."""

    def ended(self, job_id: str, result: Result) -> None:
        """The job's wait is over."""


NO_HOOKS = Hooks()


def wait_all(
    reader: JobReader,
    job_ids: Sequence[str],
    options: WaitOptions = WaitOptions(),
    *,
    clock: Clock = SYSTEM_CLOCK,
    hooks: Hooks = NO_HOOKS,
) -> dict[str, Result]:
    """Wait for every job of ``job_ids`` side by side; one ``Result`` per job, in the order given."""
    start = clock.now()
    trackers = [
        Tracker(
            job_id,
            start,
            timeout=options.timeout,
            policy=options.policy,
            accept_scheduled=options.accept_scheduled,
            accept_any=options.accept_any,
            rng=options.rng,
        )
        for job_id in dict.fromkeys(job_ids)
    ]
    results: dict[str, Result] = {}
    cancel = options.cancel

    def end(tracker: Tracker) -> None:
        result = Result(tracker.job_id, tracker.verdict, tracker.last, tracker.error)
        results[tracker.job_id] = result
        hooks.ended(tracker.job_id, result)

    active = list(trackers)
    while active:
        if cancel is not None and cancel.is_set():
            for tracker in active:
                tracker.cancel()
                end(tracker)
            break
        now = clock.now()
        due = [t for t in active if t.due <= now]
        # A reader that answers many jobs with one call (batch reads, while its list call is offered) is asked
        # about the jobs due within the round's shortest interval too: the call answers them at no extra cost,
        # and their rounds then fall together. Each job's own policy still sets when it is due.
        early = (
            [t for t in active if now < t.due <= now + min(u.policy.min_interval for u in due)]
            if due and getattr(reader, "answers_many", False)
            else []
        )
        if due:
            answers = _read(reader, due, early, now, clock, cancel)
            after = clock.now()
            if not answers and after == now and not (cancel is not None and cancel.is_set()):
                # A reader that asked nothing without waiting for the pacer would spin this loop: pause a round.
                clock.sleep(min(t.policy.min_interval for t in due), cancel)
                after = clock.now()
            for tracker in due + early:
                outcome = answers.get(tracker.job_id)
                if outcome is None and tracker in early:
                    continue  # not due yet: it was not held back, it keeps its own time
                if outcome is None:
                    verdict = tracker.queued(after)
                    if verdict is Verdict.WAITING:
                        hooks.queued(tracker.job_id)
                else:
                    verdict = tracker.feed(outcome, now, after)
                    if isinstance(outcome, Job):
                        hooks.seen(tracker.job_id, outcome)
                    elif verdict is Verdict.WAITING:
                        hooks.tolerated(tracker.job_id, outcome)
                if verdict is not Verdict.WAITING:
                    end(tracker)
            active = [t for t in active if t.active]
            continue
        first = min(active, key=lambda t: t.due)
        # The pause the verdict asked for, exactly, when nothing happened since: a single job sleeps as it always
        # did (the same figures to the last bit in virtual time); else the time left until the next job is due.
        pause = first.pause if first.fed_at == now else first.due - now
        clock.sleep(max(pause, 0.0), cancel)
        if first.fed_at == now:
            # The clock may not land exactly on ``due`` (float sums): the job slept its pause, so it is due.
            first.due = min(first.due, clock.now())
    return {job_id: results[job_id] for job_id in dict.fromkeys(job_ids)}


def _read(
    reader: JobReader,
    due: list[Tracker],
    early: list[Tracker],
    now: float,
    clock: Clock,
    cancel: threading.Event | None,
) -> dict[str, Outcome]:
    """One round: every due job asked about, most urgent first, within the budget's share of one poll interval
    (and the ``early`` ones, not due yet, that a reader answering many jobs at once may answer too)."""
    asks = sorted((Due(t.job_id, t.priority(now)) for t in due), key=lambda d: -d.priority)
    asks += [Due(t.job_id, t.priority(now), early=True) for t in early]
    # The pacer may hold the round for at most the shortest interval: then the jobs not asked yet are queued, and
    # the next round (with the jobs due by then) orders them anew, each keeping its place by the time it waited.
    deadline = min(min(t.deadline for t in due), now + min(t.policy.min_interval for t in due))
    # The HTTP deadline of the round: the latest any of its jobs allows (one job's outage does not cut the others'
    # requests short; it ends at that job's next verdict).
    request_deadline = clock.request_deadline(max(t.request_deadline(now) for t in due))
    with deadlines.within(request_deadline):
        return reader.read(asks, deadline=deadline, cancel=cancel)
