"""Batch reads: every wait of a process reads the jobs of one task center with one list call a round.

``reader_for(client, pacer, mode)`` is the one call that gives a wait its ``JobReader``:

- ``off``: ``PerJobReader``, one paced ``get_job`` per due job (today's reads);
- ``auto`` (default) and ``on``: a ``BatchReader`` bound to the process-wide state of its task center (endpoint,
  project, service), shared by every wait of the process (the plugin's resources, a CLI run, ``GaussDBJobs``).

How a ``BatchReader`` answers the jobs due in a round:

- every due job joins the task center's next list call. Calls from several waits (threads) coalesce: the first
  caller leads, waits for its pacer slot, then takes every id pending at that moment; the others wait for its
  answer. The call is narrowed to a window on the creation times of the jobs it serves, learned from earlier
  reads (a job not read yet: this machine's time, give or take a day); more pages only while some are missing;
- a job the list shows running (or queued) is answered from the list; one it shows ended (or ``Pending``) gets one
  per-job read for its whole record (``entities``) before it is reported, so outputs are exactly a per-job read's
  (not on GeminiDB, whose list and per-job read are one API with one shape);
- a job a complete list (every page of its window read) does not show is not visible yet: it is answered "not
  found" (what its own read would say, the grace period applies) for ``ABSENT_SECONDS``, then read by itself
  each round until the list shows it (a job type the list never shows still completes, a few seconds
  later); a job past the pages read, or outside the window, is read by itself;
- a list call refused as not offered or not permitted (404, 403, the services' "not supported" codes) switches
  the task center to per-job reads for the rest of the process, and ``notice`` hears one line saying why
  (``auto``); with ``on`` the refusal is the outcome of the jobs it would have served.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from provider.core.errors import ApiError, GaussDBError, JobNotFound
from provider.taskcenter import lists
from provider.taskcenter.client import TaskCenterClient
from provider.taskcenter.models import Job
from provider.taskcenter.perjob import PerJobReader
from provider.taskcenter.reader import Due, JobReader, Outcome, Pacer

Notice = Callable[[str], None]
# How long (seconds of the reader's clock) a job may be missing from complete lists before it is read by itself:
# the task centers show a new job "several seconds" after it was created (reference/README.md gives no number;
# 10 s is unverified, above the emulator's scripted cases, 0 to 8 s).
ABSENT_SECONDS = 10.0
# A follower looks at its deadline and cancel this often (seconds of the reader's clock) while it waits.
FOLLOW_POLL = 0.25


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _key(job_id: str) -> str:
    return job_id.strip().lower()


@dataclass
class _Round:
    """One list call (its pages) and the jobs waiting for it."""

    ids: set[str] = field(default_factory=set)
    # Each id as its wait wrote it (ids are matched in lower case, sent as given).
    given: dict[str, str] = field(default_factory=dict)
    created: list[datetime] = field(default_factory=list)
    # Some job's creation time is not known yet: the window also holds this machine's time.
    unknown: bool = False
    started: bool = False
    done: bool = False
    # The leader's turn did not come: the round is given up and its members join the next one.
    abandoned: bool = False
    listed: dict[str, Job] = field(default_factory=dict)
    # Every page of the window was read: a job missing from ``listed`` is not in the list.
    complete: bool = False
    # A round of one job reads it by itself (a per-job read costs what a list call does and answers in full).
    whole: dict[str, Outcome] = field(default_factory=dict)
    error: GaussDBError | None = None
    # The list call was refused: every member reads its jobs one by one.
    fallback: bool = False


class TaskCenterState:
    """What every wait of the process shares about one task center: creation times, the round being formed,
    whether the list call was refused, and counts (tests and the benchmark read them)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.cond = threading.Condition()
        self.created: dict[str, datetime] = {}
        # Since when complete lists have not shown a job never read yet (the reader's clock).
        self.absent: dict[str, float] = {}
        # Jobs some read has shown: one a list then leaves out is read by itself at once, never "not found".
        self.seen: set[str] = set()
        # Jobs a list showed ended (or Pending): read by themselves from then on, never listed again (a list call
        # would only say so again, and take the turn their own read needs).
        self.ended: set[str] = set()
        self.pending: _Round | None = None
        self.refused: str | None = None
        self.list_calls = 0
        self.rounds = 0

    def learn(self, outcomes: dict[str, Outcome]) -> None:
        with self.cond:
            for job_id, outcome in outcomes.items():
                if isinstance(outcome, Job):
                    self.seen.add(_key(job_id))
                    if outcome.created is not None:
                        self.created[_key(job_id)] = outcome.created

    def not_yet_visible(self, job_id: str, now: float) -> bool:
        """A complete list did not show the job at ``now``: whether it is still to be taken as not visible yet
        (never read, and missing for less than ``ABSENT_SECONDS``) rather than read by itself."""
        key = _key(job_id)
        with self.cond:
            return key not in self.seen and now - self.absent.setdefault(key, now) < ABSENT_SECONDS

    def refuse(self, reason: str, notice: Notice | None) -> None:
        with self.cond:
            first = self.refused is None
            self.refused = self.refused or reason
        if first and notice is not None:
            notice(reason)


_registry: dict[tuple[str, str, str], TaskCenterState] = {}
_registry_lock = threading.Lock()


def task_center(client: TaskCenterClient, mode: str) -> TaskCenterState:
    """The process-wide state of the client's task center (created on first use), in ``mode``."""
    settings = client.settings
    key = (settings.endpoint.rstrip("/").lower(), settings.project_id, settings.service)
    with _registry_lock:
        state = _registry.get(key)
        if state is None:
            state = _registry[key] = TaskCenterState(mode)
    with state.cond:
        # The mode is one setting of the process (the plugin's stack config); whoever asks last sets it, as the
        # request budget's cap is set (a process that runs several CLI commands in turn: the tests).
        state.mode = mode
    return state


def forget_task_centers() -> None:
    """Drop every task center's state (tests: one process runs many emulators on reused ports)."""
    with _registry_lock:
        _registry.clear()


class BatchReader:
    """A wait's reader over its task center's shared state; its own client and pacer send its requests."""

    def __init__(
        self,
        client: TaskCenterClient,
        pacer: Pacer,
        state: TaskCenterState,
        *,
        notice: Notice | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.client = client
        self.pacer = pacer
        self.state = state
        self.notice = notice
        self.clock = clock
        self.wall = wall

    @property
    def answers_many(self) -> bool:
        """One list call answers every job asked (``JobReader``): false once the call was refused (``auto``)."""
        with self.state.cond:
            return self.state.refused is None or self.state.mode != "auto"

    def read(
        self, due: Sequence[Due], *, deadline: float | None = None, cancel: threading.Event | None = None
    ) -> dict[str, Outcome]:
        state = self.state
        with state.cond:
            refused = state.refused is not None and state.mode == "auto"
            ended_before = {item.job_id for item in due if _key(item.job_id) in state.ended}
            # Jobs not due yet (``Due.early``) join a list call only: never a read of their own.
            shown_ended = [item for item in due if item.job_id in ended_before and not item.early]
            listable = [item for item in due if item.job_id not in ended_before]
            known = {item.job_id: state.created.get(_key(item.job_id)) for item in listable}
        alone = [item for item in due if not item.early] if refused else []
        together = [] if refused else listable
        outcomes: dict[str, Outcome] = {}
        if shown_ended and not refused:
            # First the whole records of jobs an earlier list showed ended (their turn did not come then).
            outcomes = PerJobReader.for_client(self.client, self.pacer).read(
                shown_ended, deadline=deadline, cancel=cancel
            )
            if len(outcomes) < len(shown_ended):
                state.learn(outcomes)
                return outcomes  # the round's time is up: the others are queued
        # Whole records of jobs the list shows ended: read before the jobs it does not show (their lag is what
        # a user sees; the others are mostly not visible yet and will say so).
        ended: list[Due] = []
        call = self.client.settings.service_row.list_call
        whole = call is not None and call.whole_record
        if together:
            created = [moment for moment in known.values() if moment is not None]
            served = self._round(together, created, len(created) < len(known), deadline, cancel)
            if served is not None:
                for item in together:
                    if item.early and (served.error is not None or served.fallback):
                        continue
                    if served.error is not None:
                        outcomes[item.job_id] = served.error
                        continue
                    if _key(item.job_id) in served.whole:
                        outcomes[item.job_id] = served.whole[_key(item.job_id)]
                        continue
                    job = None if served.fallback else served.listed.get(_key(item.job_id))
                    if job is None and item.early:
                        continue
                    if job is None and served.complete and state.not_yet_visible(item.job_id, self.clock()):
                        outcomes[item.job_id] = JobNotFound(item.job_id, "not in the task center's list yet")
                    elif job is None:
                        alone.append(item)  # not in the list: read by itself
                    elif (job.finished or job.scheduled) and not whole:
                        ended.append(replace(item, early=False))  # its whole record: its end is worth a read
                        with state.cond:
                            state.ended.add(_key(item.job_id))
                    else:
                        outcomes[item.job_id] = job
        outcomes.update(
            PerJobReader.for_client(self.client, self.pacer).read(ended + alone, deadline=deadline, cancel=cancel)
        )
        state.learn(outcomes)
        return outcomes

    # -- one round: lead it or follow it ----------------------------------------------------------------------

    def _round(
        self,
        due: list[Due],
        created: list[datetime],
        unknown: bool,
        deadline: float | None,
        cancel: threading.Event | None,
    ) -> _Round | None:
        """The round that served ``due``, or None when it was not asked before ``deadline`` or ``cancel``."""
        state = self.state
        priority = max(item.priority for item in due)
        while True:
            with state.cond:
                current = state.pending
                leader = current is None
                if current is None:
                    current = state.pending = _Round()
                current.ids.update(_key(item.job_id) for item in due)
                current.given.update((_key(item.job_id), item.job_id) for item in due)
                current.created.extend(created)
                current.unknown = current.unknown or unknown
            if leader:
                return self._lead(current, priority, deadline, cancel)
            outcome = self._follow(current, deadline, cancel)
            if outcome is not None or current.done:
                return outcome
            if self._late(deadline, cancel):
                return None  # the leader gave up and so does this wait's turn

    def _late(self, deadline: float | None, cancel: threading.Event | None) -> bool:
        return (cancel is not None and cancel.is_set()) or (deadline is not None and self.clock() >= deadline)

    def _lead(
        self, current: _Round, priority: float, deadline: float | None, cancel: threading.Event | None
    ) -> _Round | None:
        state = self.state
        granted = self.pacer.acquire(priority=priority, deadline=deadline, cancel=cancel)
        with state.cond:
            if state.pending is current:
                state.pending = None  # later callers form the next round
            if not granted:
                current.abandoned = True
                state.cond.notify_all()
                return None
            current.started = True
            ids, created = set(current.ids), list(current.created)
            around = self.wall() if current.unknown else None
            state.rounds += 1
        if len(ids) == 1:
            # One job alone: its own read, in the turn granted; a single wait goes exactly as with per-job reads.
            (only,) = ids
            current.whole = {only: self._whole(current.given[only])}
            with state.cond:
                current.done = True
                state.cond.notify_all()
            return current
        try:
            current.listed, current.complete = self._list(ids, created, around, priority, cancel)
        except lists.ListRefused as refusal:
            if state.mode == "on":
                current.error = ApiError(f"{refusal} (listApi is on)", status=refusal.status)
            else:
                current.fallback = True
                host = self.client.settings.endpoint
                state.refuse(f"{refusal} at {host}: reading jobs one by one from now on", self.notice)
        except GaussDBError as error:
            current.error = error
        with state.cond:
            current.done = True
            state.cond.notify_all()
        return current

    def _whole(self, job_id: str) -> Outcome:
        try:
            job = self.client.get_job(job_id)
        except GaussDBError as error:
            self.pacer.feedback(throttled=isinstance(error, ApiError) and error.throttled)
            return error
        self.pacer.feedback(throttled=False)
        return job

    def _list(
        self,
        ids: set[str],
        created: list[datetime],
        around: datetime | None,
        priority: float,
        cancel: threading.Event | None,
    ) -> tuple[dict[str, Job], bool]:
        """The jobs of ``ids`` the list shows: page after page (the first one's turn already granted) while some
        are missing and more pages exist; and whether every page was read."""
        call = self.client.settings.service_row.list_call
        if call is None:
            raise lists.ListRefused(f"{self.client.settings.service_row.title} has no list call", status=404)
        span = lists.window(call, created, around)
        found: dict[str, Job] = {}
        complete = False
        for number in range(lists.MAX_PAGES):
            page = lists.read_page(
                self.client,
                self.pacer,
                span,
                number,
                priority=priority,
                # The round's deadline bounds its first turn only: a round cut after its first page would start
                # over from the first page next round, and the jobs on later pages would never be answered.
                deadline=None,
                cancel=cancel,
                acquired=number == 0,
            )
            with self.state.cond:
                self.state.list_calls += 0 if page is None else 1
            if page is None:
                break
            found.update({key: job for key, job in page.jobs.items() if key in ids})
            read = (number + 1) * call.page_size
            complete = page.count < call.page_size or (page.total is not None and read >= page.total)
            if complete or len(found) == len(ids):
                break
        return found, complete

    def _follow(self, current: _Round, deadline: float | None, cancel: threading.Event | None) -> _Round | None:
        state = self.state
        with state.cond:
            while not current.done and not current.abandoned:
                if self._late(deadline, cancel):
                    return None
                state.cond.wait(FOLLOW_POLL)
            return current if current.done else None


def reader_for(
    client: TaskCenterClient,
    pacer: Pacer,
    mode: str = "auto",
    *,
    notice: Notice | None = None,
    clock: Callable[[], float] = time.monotonic,
    wall: Callable[[], datetime] = _utcnow,
) -> JobReader:
    """The reader a wait on ``client``'s task center uses: ``mode`` is the ``listApi`` setting (auto, on, off;
    ``provider.config.settings.list_api``); ``notice`` hears the one line said when a list call is refused;
    ``clock`` is the clock of ``pacer`` (its deadlines), ``wall`` this machine's time (UTC)."""
    if mode == "off":
        return PerJobReader.for_client(client, pacer)
    return BatchReader(client, pacer, task_center(client, mode), notice=notice, clock=clock, wall=wall)
