"""How the wait engine asks a task center about jobs: every job due in a round, in one call to a reader.

The engine (``provider.waiting``) decides *when* each job is due; a reader decides *how* to learn about them:
``PerJobReader`` sends one request per job (the task center's ``jobs?id=``); a list reader (batch reads) can answer
many jobs of one task center with one list call. Both take a ``Pacer`` (the process's request budget satisfies it)
and pass it before every HTTP request they send, so every request of the process is paced, whoever sends it.

This module is the contract between the engine and the readers: keep it small and stable.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from provider.core.errors import GaussDBError
from provider.taskcenter.models import Job

# What one read of one job gave: the job, or the error reading it gave (JobNotFound, ApiError, AuthError, ...).
Outcome = Job | GaussDBError


@dataclass(frozen=True)
class Due:
    """A job the engine wants read now."""

    job_id: str
    # Seconds: the pacer serves this request as if it had asked that much earlier (earliest deadline first).
    priority: float = 0.0
    # Not due yet: asked only of a reader that ``answers_many``, to answer if its call does at no extra request
    # (or when the answer shows the job ended); left out of the answer otherwise, without being queued.
    early: bool = False


class Pacer(Protocol):
    """Grants permission to send one request (``provider.waiting.budget.RequestBudget`` is one)."""

    def acquire(
        self, *, priority: float = 0.0, deadline: float | None = None, cancel: threading.Event | None = None
    ) -> bool:
        """Block until one request may be sent; False when ``deadline`` (on the pacer's clock) or ``cancel`` came
        first, in which case nothing may be sent."""
        ...

    def feedback(self, *, throttled: bool) -> None:
        """How the request went: a throttled answer (429, APIGW.0308) lowers the rate."""
        ...


class JobReader(Protocol):
    """Reads the jobs due in a round. A reader whose one call answers many jobs says so with a true attribute
    ``answers_many`` (batch reads, while the list call is offered): the engine then also asks it about the jobs due
    within the round's shortest interval, which that call answers at no extra cost."""

    def read(
        self, due: Sequence[Due], *, deadline: float | None = None, cancel: threading.Event | None = None
    ) -> dict[str, Outcome]:
        """One outcome per job of ``due`` that was asked about. A job whose turn in the pacer did not come before
        ``deadline`` or ``cancel`` is absent from the answer: it was not asked (the engine shows it as queued)."""
        ...
