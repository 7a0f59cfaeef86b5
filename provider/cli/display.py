"""What ``gaussdb-job wait`` shows on stderr while it waits: a live board on a terminal, plain lines otherwise.

Imported only by the CLI (rich is loaded lazily, and only for the live board): the provider never shows anything.
Every text that came from the server (names, progress, fail reasons, error messages) goes through ``clean`` before
it reaches a terminal or a log line, so a job name cannot move the cursor or change the terminal's title.

Three displays share one board of job states, updated from the wait engine's thread:

- ``LiveDisplay`` (rich): one row per job (short id, name, status, progress bar, elapsed) and a summary line
  (``7/10 done · 1m20s · deadline in 58m``); rows are cut to the terminal's width; with more jobs than rows, only
  the unfinished ones and the summary. When the wait ends the live area is erased and the final state is printed
  once, with every error after it, so nothing is overwritten by a later redraw.
- ``PlainDisplay``: one line per status change or 10 % step, each with the elapsed time; a line when a job is not
  visible yet, when requests fail and are being retried, when a job first waits for its turn in the request budget
  (``queued (0.6/s budget)``), when no answer came for a while, and when a wait ends.
- ``NullDisplay`` (``--progress none``, ``-q``): nothing but the final errors.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO, cast

from provider.core import durations, sanitize
from provider.core.errors import JobNotFound
from provider.taskcenter.models import Job, progress_key, progress_text

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.live import Live
    from rich.text import Text

# Longest server text shown in a progress line (the JSON on stdout keeps it whole).
MAX_TEXT = 120
# How a wait that ended badly is counted in the summary line, in this order (Row.ending).
ENDINGS = ("failed", "not found", "timed out", "refused", "errors")
_ENDING_OF_OUTCOME = {"NotFound": "not found", "TimedOut": "timed out", "Refused": "refused"}
# The live board's fixed columns: "xxxxxxxx " (short id), the status and the elapsed time.
_ID_WIDTH, _STATUS_WIDTH, _ELAPSED_WIDTH = 9, 10, 8
# Below this many characters a name is not worth showing: the row drops it for the status and the progress.
_MIN_NAME = 4
# What a note or an error keeps at least; with less room the row shows it without the name.
_MIN_DETAIL = 24

# A job with no answer at all after this long gets a line saying so (an endpoint that is down or unreachable):
# the CLI passes 2.5 poll intervals, 5 s with the default policy.
SILENCE_NOTICE = 5.0


def clean(text: object, limit: int | None = MAX_TEXT) -> str:
    """Server text as a progress line may show it: ``provider.sanitize.clean`` with the display's length."""
    return sanitize.clean(str(text), limit).strip()


class SafeStream:
    """A stream that never raises: a closed or broken stderr must not end the waits or hide the exit code.

    After the first failed write it stays silent; ``broken`` tells the CLI.
    """

    def __init__(self, stream: TextIO | None) -> None:
        self._stream = stream
        self.broken = stream is None

    def write(self, text: str) -> int:
        if not self.broken and self._stream is not None:
            try:
                self._stream.write(text)
            except (OSError, ValueError):
                self.broken = True
        return len(text)

    def flush(self) -> None:
        if not self.broken and self._stream is not None:
            try:
                self._stream.flush()
            except (OSError, ValueError):
                self.broken = True

    def isatty(self) -> bool:
        try:
            return not self.broken and self._stream is not None and self._stream.isatty()
        except (OSError, ValueError):
            return False

    def fileno(self) -> int:
        if self._stream is None:
            raise OSError("no stream")
        return self._stream.fileno()

    @property
    def encoding(self) -> str:
        return getattr(self._stream, "encoding", None) or "utf-8"


@dataclass
class Row:
    """What is known of one job's wait."""

    job_id: str
    started: float
    job: Job | None = None
    ended: float | None = None
    error: str | None = None  # how the wait ended badly, when it did
    note: str = ""  # a tolerated problem right now: not visible yet, requests failing
    cancelled: bool = False  # the wait was stopped (Ctrl-C); the job goes on
    outcome: str = ""  # a word for how the wait ended badly when the job's status does not say it (NotFound)
    heard: bool = False  # any answer at all, even an error
    silence_told: bool = False
    queued: bool = False  # due, but waiting for its turn in the request budget
    queued_told: bool = False

    @property
    def short(self) -> str:
        return self.job_id[:8]

    @property
    def name(self) -> str:
        return clean(self.job.name, 40) if self.job and self.job.name else ""

    @property
    def status(self) -> str:
        if self.cancelled:
            return self.job.status if self.job else "Waiting"
        if self.error is not None and (self.job is None or not self.job.finished):
            return self.outcome or "Error"
        if self.job is not None and self.job.scheduled:
            return "Scheduled"  # Pending: waits for the maintenance window
        return self.job.status if self.job else "Waiting"

    @property
    def done(self) -> bool:
        return self.ended is not None

    @property
    def ending(self) -> str:
        """How the summary counts a wait that ended badly (one of ENDINGS)."""
        if self.job is not None and self.job.status == "Failed":
            return "failed"
        return _ENDING_OF_OUTCOME.get(self.outcome, "errors")

    def detail(self) -> str:
        """The error without the "job ID (name)" the row already shows in front of it."""
        text = self.error or ""
        name = self.job.name if self.job is not None and self.job.name else "unnamed"
        for prefix in (f"job {self.job_id}: ", f"job {self.job_id} ({name}) ", f"job {self.job_id} "):
            text = text.removeprefix(prefix)
        return text

    def elapsed(self, now: float) -> float:
        return (self.ended if self.ended is not None else now) - self.started


class Display:
    """The board of job states; subclasses decide how it is shown. Every method is safe from any thread."""

    def __init__(
        self,
        job_ids: list[str],
        stream: TextIO | SafeStream | None,
        *,
        timeout: float,
        not_found_grace: float,
        outage_limit: float,
        clock: Callable[[], float] = time.monotonic,
        scrub: Callable[[str], str] = str,
        silence_notice: float = SILENCE_NOTICE,
    ) -> None:
        self.silence_notice = silence_notice
        self.scrub = scrub  # removes secrets from error text before it is shown
        self.stream = stream if isinstance(stream, SafeStream) else SafeStream(stream)
        self.clock = clock
        self.start_time = clock()
        self.timeout = timeout
        self.deadline = self.start_time + timeout
        self.grace = not_found_grace
        self.outage_limit = outage_limit
        self.rows = {job_id: Row(job_id, self.start_time) for job_id in job_ids}
        self.order = list(job_ids)
        self.lock = threading.RLock()

    # -- what the CLI and the waiters report
    def start(self) -> None:
        pass

    def poll(self, job_id: str, job: Job) -> None:
        with self.lock:
            self.seen_name(job)
            row = self.rows[job_id]
            before, row.job, row.note, row.heard, row.queued = row.job, job, "", True, False
            self.changed(row, before)

    def queued(self, job_id: str, rate: float) -> None:
        """The job is due but waits for its turn in the request budget (``rate`` requests/s for every job). Shown
        while nothing was heard of it yet (instead of "no answer yet"); a job already seen keeps its progress."""
        with self.lock:
            row = self.rows[job_id]
            row.queued = True
            if row.heard or row.queued_told:
                return
            row.queued_told, row.note = True, f"queued ({rate:g}/s budget)"
            self.noted(row)

    def problem(self, job_id: str, exc: Exception) -> None:
        with self.lock:
            row = self.rows[job_id]
            row.heard, row.queued = True, False
            if isinstance(exc, JobNotFound):
                note = f"not visible yet; retrying for up to {durations.format(self.grace)}"
            else:
                note = (
                    f"failing: {clean(self.scrub(str(exc)))}; retrying for up to {durations.format(self.outage_limit)}"
                )
            # One line per kind of trouble, not per poll: a new line when it changes (or after an answer).
            fresh = not row.note or row.note.split(":")[0].split(";")[0] != note.split(":")[0].split(";")[0]
            row.note = note
            if fresh:
                self.noted(row)

    def finish(
        self, job_id: str, job: Job | None, error: str | None, *, cancelled: bool = False, outcome: str = ""
    ) -> None:
        with self.lock:
            row = self.rows[job_id]
            before = row.job
            row.job, row.error, row.ended, row.note = job or row.job, error, self.clock(), ""
            row.cancelled, row.outcome = cancelled, outcome
            if job is not None and before is not job:
                self.changed(row, before)
            self.ended(row)

    def note(self, message: str) -> None:
        """A line about the whole wait, not one job (the list call refused), written at once, in full."""
        with self.lock:
            self.write_note(clean(self.scrub(message), None))

    def write_note(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def tick(self) -> None:
        """Called a few times a second by the CLI's main thread."""
        with self.lock:
            now = self.clock()
            for row in self.rows.values():
                if row.queued or row.done:
                    continue  # not silence: the budget holds the job back, and says so
                if not row.heard and not row.silence_told and now - row.started >= self.silence_notice:
                    row.silence_told = True
                    row.note = f"no answer yet after {durations.format(now - row.started)}"
                    self.noted(row)

    def stop(self, messages: list[str]) -> None:
        """The wait is over: show the final state once, then ``messages`` (errors and hints), each in full."""
        with self.lock:
            for message in messages:
                self.stream.write(clean(message, None) + "\n")
            self.stream.flush()

    # -- hooks for subclasses
    def seen_name(self, job: Job) -> None:
        pass

    def changed(self, row: Row, before: Job | None) -> None:
        pass

    def noted(self, row: Row) -> None:
        pass

    def ended(self, row: Row) -> None:
        pass

    # -- shared text
    def summary(self, now: float) -> str:
        done = sum(1 for row in self.rows.values() if row.done and not row.cancelled)
        stopped = any(row.cancelled for row in self.rows.values())
        parts = [f"{done}/{len(self.rows)} done"]
        # "failed" is a job whose status is Failed; a job never found (or timed out, refused) is not one.
        kinds = [row.ending for row in self.rows.values() if row.done and row.error is not None and not row.cancelled]
        parts += [f"{kinds.count(kind)} {kind}" for kind in ENDINGS if kind in kinds]
        if stopped:
            parts.append("wait stopped")
        parts.append(durations.format(now - self.start_time))
        if done < len(self.rows) and not stopped:
            parts.append(f"deadline in {durations.format(max(self.deadline - now, 0))}")
        return " · ".join(parts)


class NullDisplay(Display):
    """``--progress none`` or ``-q``: only the final errors."""


class PlainDisplay(Display):
    """One line per change, for logs and pipes (Terraform's local-exec, CI)."""

    def start(self) -> None:
        count = len(self.rows)
        limit = durations.format(self.timeout)
        self.stream.write(f"waiting for {count} job{'s' if count != 1 else ''}, up to {limit}\n")
        self.stream.flush()

    def _line(self, row: Row, text: str) -> None:
        elapsed = durations.format(row.elapsed(self.clock()))
        name = f" {row.name}" if row.name else ""
        self.stream.write(self.scrub(f"[{elapsed:>6}] {row.job_id}{name}: {text}") + "\n")
        self.stream.flush()

    def changed(self, row: Row, before: Job | None) -> None:
        job = row.job
        assert job is not None
        # A Failed job's wait ends with its reason on a line of its own (ended): one line says it, not two.
        if job.status != "Failed" and (before is None or progress_key(before) != progress_key(job)):
            self._line(row, progress_text(job))

    def noted(self, row: Row) -> None:
        self._line(row, row.note)

    def ended(self, row: Row) -> None:
        if row.error is not None:
            self._line(row, clean(row.detail()))


class LiveDisplay(Display):
    """The live board on a terminal, drawn by rich."""

    def __init__(self, job_ids: list[str], stream: TextIO | SafeStream | None, **kwargs: Any) -> None:
        super().__init__(job_ids, stream, **kwargs)
        from rich.console import Console

        self.console: Console = Console(
            file=cast(TextIO, self.stream), force_terminal=True, highlight=False, soft_wrap=False
        )
        fancy = self.console.encoding.lower().startswith("utf")
        self.dot, self.full, self.empty = (" · ", "█", "░") if fancy else (" - ", "#", ".")
        self.live: Live | None = None
        # Names are cut to one width for all rows, so the columns line up.
        self.name_width = 8

    def start(self) -> None:
        from rich.live import Live

        # transient: the live area is erased at the end and the final state printed once below it, so a redraw
        # can never overwrite an error and nothing is left half-drawn.
        self.live = Live(
            get_renderable=self._render,
            console=self.console,
            auto_refresh=True,
            refresh_per_second=4,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
            vertical_overflow="crop",
        )
        self.live.start()

    def write_note(self, text: str) -> None:
        if self.live is None:
            super().write_note(text)
        else:
            # Printed above the live board, which is drawn again below it; one line, wrapped by the terminal.
            self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def stop(self, messages: list[str]) -> None:
        with self.lock:
            live, self.live = self.live, None
        if live is not None:
            try:
                live.stop()
            except (OSError, ValueError):
                pass
        with self.lock:
            width, height = self._size()
            rows = [self.rows[job_id] for job_id in self.order]
            # Messages wrap: count the lines they take, so the rows that need reading stay on the screen.
            wrapped = sum(max(1, -(-len(clean(message, None)) // max(width, 1))) for message in messages)
            if len(rows) + wrapped + 2 > height:
                rows = [row for row in rows if row.error is not None]  # the ones that need reading
            for row in rows:
                self.console.print(self._row(row, width, self.clock()))
            self.console.print(self._fit(self.summary(self.clock()).replace(" · ", self.dot), width))
            for message in messages:
                # Wrapped, not cut: an error is read in full.
                self.console.print(clean(message, None), markup=False, highlight=False, soft_wrap=False)

    def seen_name(self, job: Job) -> None:
        self.name_width = max(self.name_width, min(len(clean(job.name, 40)), 30))

    # -- rendering
    def _size(self) -> tuple[int, int]:
        """The size of the terminal stderr is on, read at each redraw so that a resize is followed. (rich would
        prefer COLUMNS/LINES from the environment, which a shell may have exported long before a resize.)"""
        try:
            size = os.get_terminal_size(self.stream.fileno())
        except (OSError, ValueError):
            return self.console.width, self.console.height
        return max(size.columns, 20), max(size.lines, 4)

    def _fit(self, text: str | Text, width: int) -> Text:
        from rich.text import Text

        line = Text(text) if isinstance(text, str) else text
        line.no_wrap = True
        line.truncate(max(width - 1, 1), overflow="ellipsis")
        return line

    def _columns(self, width: int) -> tuple[int, int, int]:
        """(room after the fixed columns, bar length, name width) for a terminal ``width``: the same for every row
        so the columns line up. Narrow terminals (40 columns up) give up the bar first, then the name; the status,
        the elapsed time and the percentage always stay."""
        room = max(width - 1 - _ID_WIDTH - _STATUS_WIDTH - _ELAPSED_WIDTH, 0)
        bar = 20 if width >= 100 else 10
        if room - (bar + 5) - 1 < _MIN_NAME + 4:  # a bar would leave the name almost nothing: percentage only
            bar = 0
        name = min(self.name_width, max(room - (bar + 5 if bar else 4) - 1, 0))
        return room, bar, name if name >= _MIN_NAME else 0

    def _row(self, row: Row, width: int, now: float) -> Text:
        """``id name status elapsed`` then the progress bar, or what is wrong when something is. A row with a note or
        an error drops its name when keeping it would leave the text less than ``_MIN_DETAIL`` characters."""
        from rich.text import Text

        status = row.status
        style = {"Completed": "green", "Running": "yellow", "Pending": "cyan", "Waiting": "dim"}.get(status, "red")
        job = row.job
        percent = 100.0 if job is not None and job.status == "Completed" else (job.percent if job else None)
        if job is not None and job.status == "Failed":
            detail = clean(job.fail_reason or "no fail_reason given")
        else:
            detail = clean(self.scrub("wait stopped" if row.cancelled else (row.detail() or row.note)))
        room, bar, name_width = self._columns(width)
        if detail and room - name_width - 1 < min(len(detail), _MIN_DETAIL):
            name_width = 0
        text = Text(no_wrap=True)
        text.append(f"{row.short} ", "bold")
        if name_width:
            text.append(f"{(row.name or '?')[:name_width]:<{name_width}} ")
        text.append(f"{status:<9} ", style)
        text.append(f"{durations.format(row.elapsed(now)):>6}  ")
        if detail:
            text.append(detail, "red" if row.error is not None and not row.cancelled else "dim")
        elif percent is not None:
            filled = round(bar * percent / 100)
            text.append(self.full * filled, style)
            text.append(self.empty * (bar - filled), "dim")
            text.append(f" {percent:3.0f}%" if bar else f"{percent:3.0f}%")
        elif job is not None and job.process:
            text.append(clean(job.process, 20))
        return self._fit(text, width)

    def _render(self) -> RenderableType:
        from rich.console import Group

        with self.lock:
            now = self.clock()
            width, height = self._size()
            rows = [self.rows[job_id] for job_id in self.order]
            room = max(height - 2, 1)  # the summary line, and one spare so the terminal never scrolls
            lines: list[Text] = []
            if len(rows) + 1 > room:
                waiting = [row for row in rows if not row.done]
                shown = waiting[: max(room - 2, 0)]
                lines = [self._row(row, width, now) for row in shown]
                hidden = len(rows) - len(shown)
                lines.append(self._fit(f"... {hidden} more not shown ({len(rows) - len(waiting)} done)", width))
            else:
                lines = [self._row(row, width, now) for row in rows]
            lines.append(self._fit(self.summary(now).replace(" · ", self.dot), width))
            return Group(*lines[-room:])


def make_display(
    mode: str, job_ids: list[str], stream: TextIO | SafeStream | None, *, term: str | None, **kwargs: Any
) -> Display:
    """``mode`` is auto (live on a terminal, plain otherwise, or on TERM=dumb), bars, plain or none."""
    safe = stream if isinstance(stream, SafeStream) else SafeStream(stream)
    if mode == "auto":
        mode = "bars" if safe.isatty() and term != "dumb" else "plain"
    if mode == "bars":
        return LiveDisplay(job_ids, safe, **kwargs)
    if mode == "plain":
        return PlainDisplay(job_ids, safe, **kwargs)
    return NullDisplay(job_ids, safe, **kwargs)
