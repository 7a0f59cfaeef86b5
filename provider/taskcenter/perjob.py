"""``PerJobReader``: a ``JobReader`` (``provider.taskcenter.reader``) that sends one request per due job.

Most urgent first (the ``Due.priority`` the engine gave), each request after ``pacer.acquire`` and followed by
``pacer.feedback``, one after another in the caller's thread: no thread of its own. When the pacer refuses (the
round's deadline came, or the cancel), the jobs not asked yet are left out of the answer: queued.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Protocol

from provider.core.errors import ApiError, GaussDBError
from provider.taskcenter.models import Job
from provider.taskcenter.reader import Due, Outcome, Pacer


class _GetsJobs(Protocol):
    def get_job(self, job_id: str) -> Job: ...


class PerJobReader:
    def __init__(self, get: Callable[[str], Job], pacer: Pacer | None = None) -> None:
        self._get = get
        self._pacer = pacer

    @classmethod
    def for_client(cls, client: _GetsJobs, pacer: Pacer | None = None) -> PerJobReader:
        """Reads with ``TaskCenterClient.get_job`` (its deadline is the one in force: ``provider.core.deadline``)."""
        return cls(client.get_job, pacer)

    def read(
        self, due: Sequence[Due], *, deadline: float | None = None, cancel: threading.Event | None = None
    ) -> dict[str, Outcome]:
        answers: dict[str, Outcome] = {}
        for item in sorted((d for d in due if not d.early), key=lambda d: -d.priority):
            if cancel is not None and cancel.is_set():
                break
            if self._pacer is not None and not self._pacer.acquire(
                priority=item.priority, deadline=deadline, cancel=cancel
            ):
                break
            answers[item.job_id] = self._one(item.job_id)
        return answers

    def _one(self, job_id: str) -> Outcome:
        outcome: Outcome
        try:
            outcome = self._get(job_id)
        except GaussDBError as exc:
            outcome = exc
        except Exception as exc:  # noqa: BLE001 - one job's surprise is that job's outcome, not every job's end
            outcome = ApiError(f"unexpected error: {type(exc).__name__}: {exc}")
        if self._pacer is not None:
            self._pacer.feedback(throttled=isinstance(outcome, ApiError) and outcome.throttled)
        return outcome
