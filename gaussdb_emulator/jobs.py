"""Scripted task-center jobs whose state is a pure function of the time elapsed since they were created.

Nothing ticks in the background: every read computes status and progress from the clock, so any number of
threads can query at once and the answers stay consistent with each other.
"""

from __future__ import annotations

import copy
import math
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from gaussdb_emulator.services import DEFAULT_SERVICE, SHAPES

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
OUTCOMES = ("Completed", "Failed")
PROGRESS_SHAPES = ("linear", "steps", "none")
DEFAULT_NAME = "RestartGaussDBInstance"
DEFAULT_DURATION = 5.0
DEFAULT_FAIL_REASON = "The task failed (scripted by the emulator)."
DEFAULT_INSTANCE_NAME = "emulator-gaussdb"

# (fraction of the duration reached, progress shown from then on): coarse jumps like the real task center's.
_STEPS = ((0.75, 90), (0.5, 50), (0.25, 20), (0.0, 0))

_FIELDS = frozenset(
    {
        "id",
        "name",
        "duration",
        "outcome",
        "fail_reason",
        "progress",
        "visible_after",
        "instance",
        "entities",
        "project_id",
        "service",
        "pending_for",
    }
)


class JobError(ValueError):
    """A job definition was refused; the message is safe to show to the caller."""


class JobConflict(JobError):
    """A job with the requested id already exists."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Job:
    id: str
    name: str
    project_id: str
    duration: float
    outcome: str
    fail_reason: str
    progress: str
    visible_after: float
    instance: dict[str, Any]
    entities: dict[str, Any]
    created_at: datetime
    started: float = field(repr=False)
    # Which task center's shape the job is answered in, and how long it stays Pending (scheduled) before running.
    service: str = DEFAULT_SERVICE
    pending_for: float = 0.0


def _number(payload: Mapping[str, object], key: str, default: float) -> float:
    value = payload.get(key, default)
    # bool is an int subclass; `"duration": true` is a mistake, not one second.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise JobError(f"{key} must be a number of seconds")
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise JobError(f"{key} must be a finite number >= 0")
    return number


def _string(payload: Mapping[str, object], key: str, default: str, *, allow_empty: bool = True) -> str:
    value = payload.get(key, default)
    if not isinstance(value, str):
        raise JobError(f"{key} must be a string")
    if not allow_empty and not value.strip():
        raise JobError(f"{key} must not be empty")
    return value


def _choice(payload: Mapping[str, object], key: str, default: str, choices: tuple[str, ...]) -> str:
    value = _string(payload, key, default)
    if value not in choices:
        raise JobError(f"{key} must be one of {', '.join(choices)}")
    return value


def _instance(payload: Mapping[str, object]) -> dict[str, Any]:
    value = payload.get("instance", {})
    if not isinstance(value, dict):
        raise JobError("instance must be an object with id and name")
    instance: dict[str, Any] = {"id": uuid.uuid4().hex + "in07", "name": DEFAULT_INSTANCE_NAME}
    instance.update(copy.deepcopy(value))
    if not isinstance(instance["id"], str) or not isinstance(instance["name"], str):
        raise JobError("instance.id and instance.name must be strings")
    return instance


def build_job(payload: Mapping[str, object], *, default_project_id: str, started: float, created_at: datetime) -> Job:
    """Validate a job definition (the body of ``POST /_emulator/jobs``) and fill in the defaults."""
    unknown = sorted(set(payload) - _FIELDS)
    if unknown:
        raise JobError(f"unknown field(s): {', '.join(unknown)}")
    entities = payload.get("entities", {})
    if not isinstance(entities, dict):
        raise JobError("entities must be an object")
    return Job(
        id=_string(payload, "id", str(uuid.uuid4()), allow_empty=False),
        name=_string(payload, "name", DEFAULT_NAME),
        project_id=_string(payload, "project_id", default_project_id, allow_empty=False),
        duration=_number(payload, "duration", DEFAULT_DURATION),
        outcome=_choice(payload, "outcome", "Completed", OUTCOMES),
        fail_reason=_string(payload, "fail_reason", DEFAULT_FAIL_REASON),
        progress=_choice(payload, "progress", "linear", PROGRESS_SHAPES),
        visible_after=_number(payload, "visible_after", 0.0),
        instance=_instance(payload),
        # A copy, so a caller mutating its dict afterwards cannot rewrite the job's history.
        entities=copy.deepcopy(entities),
        created_at=created_at,
        started=started,
        service=_choice(payload, "service", DEFAULT_SERVICE, tuple(SHAPES)),
        pending_for=_number(payload, "pending_for", 0.0),
    )


def _process(job: Job, elapsed: float) -> str:
    if job.progress == "none":
        return ""
    fraction = elapsed / job.duration
    if job.progress == "steps":
        percent = next(shown for reached, shown in _STEPS if fraction >= reached)
    else:
        percent = min(99, max(0, math.floor(100 * fraction)))
    return f"{percent}%"


def render(job: Job, elapsed: float) -> dict[str, Any]:
    """The job as GaussDB (for MySQL)'s ``GET .../jobs?id=`` shows it ``elapsed`` seconds after its creation (the
    canonical view; ``gaussdb_emulator.services.body`` writes it in the job's own service's shape).

    A job first stays ``Pending`` for ``pending_for`` seconds (scheduled, no progress), then runs for ``duration``.
    """
    pending = elapsed < job.pending_for
    running = elapsed - job.pending_for
    finished = not pending and running >= job.duration
    view: dict[str, Any] = {
        "id": job.id,
        "name": job.name,
        "status": "Pending" if pending else job.outcome if finished else "Running",
        "created": job.created_at.strftime(TIME_FORMAT),
    }
    if finished:
        view["ended"] = (job.created_at + timedelta(seconds=job.pending_for + job.duration)).strftime(TIME_FORMAT)
    view["process"] = "" if finished or pending else _process(job, running)
    view["instance"] = dict(job.instance)
    view["entities"] = job.entities
    if finished and job.outcome == "Failed":
        view["fail_reason"] = job.fail_reason
    return view


class JobStore:
    """Thread-safe registry of scripted jobs."""

    def __init__(
        self,
        default_project_id: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._default_project_id = default_project_id
        self._clock = clock
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}

    def create(self, payload: Mapping[str, object]) -> Job:
        job = build_job(
            payload,
            default_project_id=self._default_project_id,
            started=self._clock(),
            created_at=self._wall_clock(),
        )
        with self._lock:
            if job.id in self._jobs:
                raise JobConflict(f"job {job.id} already exists")
            self._jobs[job.id] = job
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def all(self) -> list[Job]:
        """Every job, in creation order (a copy: the list calls read it while others create jobs)."""
        with self._lock:
            return list(self._jobs.values())

    def now(self) -> datetime:
        """The wall-clock time the jobs' ``created`` and ``ended`` are on."""
        return self._wall_clock()

    def view(self, job: Job) -> dict[str, Any]:
        return render(job, self._clock() - job.started)

    def lookup(self, job_id: str, project_id: str) -> dict[str, Any] | None:
        """What the task center answers for ``project_id``; None where it would say the job does not exist."""
        found = self.find(job_id, project_id)
        return found[1] if found is not None else None

    def find(self, job_id: str, project_id: str) -> tuple[Job, dict[str, Any] | None] | None:
        """The job (None if unknown or another project's) and its canonical view (None while not yet visible)."""
        job = self.get(job_id)
        if job is None or job.project_id != project_id:
            return None
        elapsed = self._clock() - job.started
        return job, (None if elapsed < job.visible_after else render(job, elapsed))

    def delete(self, job_id: str) -> bool:
        with self._lock:
            return self._jobs.pop(job_id, None) is not None

    def clear(self) -> None:
        with self._lock:
            self._jobs.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._jobs)
