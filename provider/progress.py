"""Progress of one or many waits on stderr: a live bar per job on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from provider.models import Job

_BAR_WIDTH = 24


def _describe(job: Job) -> str:
    return f"{job.id} {job.name or '?'}: {job.status_text}" + (f" {job.process}" if job.process else "")


class ProgressReporter:
    """Thread-safe: the CLI's waiters report from several threads at once."""

    def __init__(self, job_ids: list[str], stream: TextIO | None = None, live: bool | None = None) -> None:
        self._stream = stream or sys.stderr
        self._live = self._stream.isatty() if live is None else live
        self._ids = job_ids
        self._rows: dict[str, str] = {job_id: f"{job_id}: waiting" for job_id in job_ids}
        self._last_plain: dict[str, str] = {}
        self._drawn = 0
        self._lock = threading.Lock()

    def update(self, job: Job) -> None:
        with self._lock:
            if self._live:
                self._rows[job.id] = self._bar(job)
                self._redraw()
            else:
                line = _describe(job)
                if self._last_plain.get(job.id) != line:  # one line per change, not per poll
                    self._last_plain[job.id] = line
                    self._stream.write(line + "\n")
                    self._stream.flush()

    def note(self, job_id: str, text: str) -> None:
        with self._lock:
            if self._live:
                self._rows[job_id] = f"{job_id}: {text}"
                self._redraw()

    @staticmethod
    def _bar(job: Job) -> str:
        percent = 100.0 if job.status == "Completed" else job.percent
        label: str = "scheduled" if job.scheduled else job.status
        filled = 0
        if percent is not None:
            filled, label = round(_BAR_WIDTH * percent / 100), f"{percent:3.0f}%"
        return f"[{'#' * filled}{'.' * (_BAR_WIDTH - filled)}] {label:>9} {job.name or '?'} {job.id}"

    def _redraw(self) -> None:
        if self._drawn:
            self._stream.write(f"\x1b[{self._drawn}F")  # back to the first row we drew
        for job_id in self._ids:
            self._stream.write("\x1b[2K" + self._rows[job_id] + "\n")
        self._drawn = len(self._ids)
        self._stream.flush()
