"""Pydantic models of the task-center response (every table of the API page).

Tolerant where the real API is loose: unknown fields are kept, ``entities`` may be ``{}`` or missing, ``ended``
may be missing or empty, offsets come as ``+0800``, names carry stray spaces. Strict where a wrong value would
mislead a gate: the status must be one the API documents, and ids must be present.

``Pending`` is the fourth status: Huawei Cloud's SDK documents it for a task scheduled for the maintenance window
(a restart or an upgrade with ``delay: true``) that has not run yet. It is valid and not final.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from provider.core.sanitize import clean
from provider.taskcenter import caps

JobStatus = Literal["Pending", "Running", "Completed", "Failed"]
FINAL_STATUSES: frozenset[str] = frozenset({"Completed", "Failed"})
PENDING = "Pending"
# How progress lines show a Pending job: the status alone would not say why nothing moves.
PENDING_TEXT = "Pending (scheduled: waits for the maintenance window)"

_PERCENT = re.compile(r"^\s*(\d{1,3}(?:\.\d+)?)\s*%?\s*$")


class _Loose(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class _Capped(_Loose):
    """Unknown fields kept while small; all dropped when together past ``caps.EXTRAS_LIMIT`` (never output)."""

    @model_validator(mode="before")
    @classmethod
    def _cap_extras(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        extras = {k: v for k, v in value.items() if k not in cls.model_fields}
        if extras and caps.wire_size(extras) > caps.EXTRAS_LIMIT:
            return {k: v for k, v in value.items() if k in cls.model_fields}
        return value


class Datastore(_Loose):
    """Table 7: the DB engine and version."""

    type: str | None = None
    version: str | None = None


class EntityInstance(_Loose):
    """Table 6: the DB instance as the task saw it."""

    endpoint: str | None = None
    type: str | None = None
    datastore: Datastore | None = None


class Entities(_Loose):
    """Tables 5 and 8: what the task touched. Which keys appear depends on the task."""

    instance: EntityInstance | None = None
    resource_ids: list[str] | None = None
    public_ip: str | None = None


class JobInstance(_Capped):
    """Table 4: the DB instance the task ran on."""

    id: str = ""
    name: str = ""

    @field_validator("id", "name", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        if isinstance(value, str):
            return caps.text(value.strip(), caps.INSTANCE_TEXT_LIMIT)
        return "" if value is None else value


def parse_time(value: Any) -> datetime | None:
    """``2018-08-06T10:41:14+0800`` (no colon in the offset), ``+08:00``, ``Z``; empty means absent."""
    if value is None or isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError("time must be a string")
    text = value.strip()
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            raise ValueError(f"time {text!r} has no offset") from None
        return parsed


# The job's fields as the resource outputs them and the CLI prints them, in this order.
OUTPUT_FIELDS: tuple[str, ...] = (
    "job_id",
    "name",
    "status",
    "created",
    "ended",
    "process",
    "instance",
    "entities",
    "fail_reason",
)


class Job(_Capped):
    """Table 3: one task-center job. Every field is capped in size (``provider.taskcenter.caps``)."""

    id: str = Field(min_length=1)
    name: str = ""
    status: JobStatus
    created: datetime | None = None
    ended: datetime | None = None
    process: str = ""
    instance: JobInstance | None = None
    entities: dict[str, Any] = Field(default_factory=dict)
    fail_reason: str | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _strip_id(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @field_validator("name", mode="before")
    @classmethod
    def _strip_text(cls, value: Any) -> Any:
        return "" if value is None else caps.text(value.strip(), caps.NAME_LIMIT) if isinstance(value, str) else value

    @field_validator("process", mode="before")
    @classmethod
    def _progress_text(cls, value: Any) -> Any:
        # Some gateways send the progress as a number (50, -5): kept as its text, so a Completed job stays
        # readable; ``percent`` decides whether it means anything (issue 20).
        if isinstance(value, int | float) and not isinstance(value, bool):
            if isinstance(value, int) and value.bit_length() > 64:
                return ""  # str() of thousands of digits raises; no progress is that large anyway
            return f"{value:g}" if isinstance(value, float) else str(value)
        if isinstance(value, str):
            return caps.text(value.strip(), caps.PROCESS_LIMIT)
        return "" if value is None else value

    @field_validator("status", mode="before")
    @classmethod
    def _strip_status(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @field_validator("created", "ended", mode="before")
    @classmethod
    def _time(cls, value: Any) -> datetime | None:
        return parse_time(value)

    @field_validator("entities", mode="before")
    @classmethod
    def _entities(cls, value: Any) -> Any:
        if value is None:
            return {}
        # Validated against the documented shapes so that a wrong type fails loudly here,
        # but kept exactly as returned: downstream users read keys we do not know about.
        Entities.model_validate(value)
        return caps.entities(value) if isinstance(value, dict) else value

    @field_validator("fail_reason", mode="before")
    @classmethod
    def _fail_reason(cls, value: Any) -> Any:
        if isinstance(value, str):
            return caps.text(value.strip(), caps.FAIL_REASON_LIMIT) or None
        return value

    @property
    def finished(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def scheduled(self) -> bool:
        """Pending: accepted by the task center, to run later (the maintenance window)."""
        return self.status == PENDING

    @property
    def status_text(self) -> str:
        """The status as progress lines show it; a Pending job says that it is scheduled."""
        return PENDING_TEXT if self.scheduled else self.status

    @property
    def percent(self) -> float | None:
        """``process`` as a number in [0, 100], or None when absent or unreadable."""
        match = _PERCENT.match(self.process)
        if not match:
            return None
        value = float(match.group(1))
        return value if 0.0 <= value <= 100.0 else None

    @property
    def typed_entities(self) -> Entities:
        return Entities.model_validate(self.entities)

    def fields(self) -> dict[str, Any]:
        """Every field as plain JSON values: the resource's outputs and the CLI's output, one shape for both."""
        values = (
            self.id,
            self.name,
            self.status,
            self.created.isoformat() if self.created else None,
            self.ended.isoformat() if self.ended else None,
            self.process,
            {"id": self.instance.id, "name": self.instance.name} if self.instance else None,
            self.entities,
            self.fail_reason,
        )
        return dict(zip(OUTPUT_FIELDS, values, strict=True))


# Progress lines (the CLI's plain lines, the plugin's lines in `pulumi up`): one per status change or per step of
# this many percent, so a 0-100 % job makes about ten lines (a readability choice, unverified).
PROGRESS_STEP = 10
# The longest progress string a line shows (it is a few characters, "60%", on the API page; the bound is ours).
PROGRESS_TEXT_LIMIT = 20


def progress_key(job: Job) -> tuple[str, int | None]:
    """What a progress line reports: a new line when this changes (the status, or the progress step)."""
    percent = job.percent
    return job.status, None if percent is None else int(percent // PROGRESS_STEP)


def progress_text(job: Job) -> str:
    """The status and progress as a line shows them, cleaned for a terminal: ``Running 60%``."""
    return job.status_text + (f" {clean(job.process, PROGRESS_TEXT_LIMIT)}" if job.process else "")


class JobResponse(_Loose):
    """Table 2: the response body."""

    job: Job


class JobEnvelope(_Loose):
    """A single-job answer read as it comes: ``provider.taskcenter.client`` maps the service's field names onto
    ``Job``'s."""

    job: dict[str, Any]


class JobList(_Loose):
    """GeminiDB's answer: a list filtered by the query (``id``), with its length; empty when no job matches."""

    jobs: list[dict[str, Any]]
    total_count: int | None = None


class ErrorBody(_Loose):
    """``{"error_code", "error_msg"}`` as the gateway and the service answer errors."""

    error_code: str | None = None
    error_msg: str | None = None
