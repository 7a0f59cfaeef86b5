"""Waiting for one job: ``wait_for_job``, the engine (``provider.waiting.engine``) over a one-job reader.

The policy's names are re-exported here for the callers that knew them from this module.
"""

from __future__ import annotations

from collections.abc import Callable

from provider.taskcenter.models import Job
from provider.taskcenter.perjob import PerJobReader
from provider.taskcenter.reader import Pacer
from provider.waiting.clock import SYSTEM_CLOCK, Clock
from provider.waiting.engine import NO_HOOKS, Hooks, WaitOptions, wait_all
from provider.waiting.policy import DEFAULT_POLICY, DEFAULT_TIMEOUT, Policy

__all__ = ["DEFAULT_POLICY", "DEFAULT_TIMEOUT", "Policy", "WaitOptions", "wait_for_job"]


def wait_for_job(
    fetch: Callable[[], Job],
    options: WaitOptions = WaitOptions(),  # noqa: B008 - frozen, so one shared default is safe
    *,
    job_id: str = "",
    clock: Clock = SYSTEM_CLOCK,
    pacer: Pacer | None = None,
    hooks: Hooks = NO_HOOKS,
) -> Job:
    """Wait for the job ``fetch`` reads (after ``pacer``, when given). Returns it when done (Completed, or as
    accepted); raises what ended the wait otherwise: ``JobFailed``, ``JobNotFound``, ``WaitTimeout``,
    ``WaitCancelled``, ``ApiError``, ``AuthError``. ``job_id`` names the job in errors (default: the id read)."""
    reader = PerJobReader(lambda _job_id: fetch(), pacer)
    return wait_all(reader, [job_id], options, clock=clock, hooks=hooks)[job_id].unwrap()
