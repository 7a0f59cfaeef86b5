"""The task centers' list calls: many jobs in one answer, each service with its own path, parameters and shape.

Written from the project's notes on the list calls (``reference/LIST-APIS.md``) and the request and response
models of each service's official Python SDK 3.1.219 (``ListImmediateJobsRequest``, ``ListTasksRequest``,
``ListJobsRequest`` and their items), which tests/test_lists_sdk.py uses as the oracle:

- gaussdb-mysql: ``GET /v3/{project_id}/immediate-jobs``; limit 10, 20 or 50 (default 10); offset a page from 1;
  window ``yyyy-mm-ddThh:mm:ssZ`` (Z an offset such as ``+0100``);
- rds: ``GET /v3/{project_id}/tasklist``; limit 1-50 (default 10); offset in records from 0; window in UNIX
  milliseconds, ``end_time`` required with ``start_time``;
- gaussdb (openGauss): ``GET /v3/{project_id}/tasks``; limit 1-100 (default 100); offset in records; UNIX ms;
- dds: ``GET /v3.1/{project_id}/jobs``; limit 1-100 (default 100); offset in records; ISO window, both ends
  required, at most 30 days;
- gaussdb-nosql (GeminiDB): ``GET /v3/{project_id}/jobs`` without ``id``; limit 10, 20 or 50 (default 50); offset in
  records; ISO window, default the last 30 days, at most 30 days.

TaurusDB's ``offset`` is documented as "default 1"; read here as a page number from 1, as Terraform's data source
pages it (unverified). The window filters on the job's creation time. The format of the times *inside* the RDS
and openGauss items is not in the notes: written like the other services' (``2018-08-06T10:41:14+0000``),
unverified. Parameter errors are each service's documented "Parameter error." code (DBS.200001 in the GaussDB
(for MySQL), TaurusDB, openGauss and RDS appendices; DBS.280001 in the DDS and GeminiDB ones).

A service whose list call is switched off (``gaussdb-emulator --no-list-api``) answers it as the API gateway
answers a path it does not know: 404 APIGW.0101.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from gaussdb_emulator.jobs import TIME_FORMAT, Job

SERVICES = ("gaussdb-mysql", "rds", "gaussdb", "dds", "gaussdb-nosql")
# The longest window DDS and GeminiDB accept, and GeminiDB's default one (the SDK's request models, 3.1.219).
MAX_SPAN = timedelta(days=30)

_PARAMETER_ERROR_DBS = {"error_code": "DBS.200001", "error_msg": "Parameter error."}
_PARAMETER_ERROR_280 = {"error_code": "DBS.280001", "error_msg": "Parameter error."}


class ListError(Exception):
    """The call was refused: (HTTP status, body) as the service answers it."""

    def __init__(self, status: int, body: Mapping[str, Any], detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.body = {**body, "error_msg": f"{body['error_msg']} {detail}"}


@dataclass(frozen=True)
class ListSpec:
    service: str
    path: re.Pattern[str]
    # "iso": yyyy-mm-ddThh:mm:ssZ (Z an offset such as +0100); "ms": UNIX milliseconds, UTC.
    time_format: str
    limits: tuple[int, int] | frozenset[int]
    default_limit: int
    # "records": skip that many records, from 0; "pages": the page number, from 1.
    offset_kind: str
    id_param: str | None
    name_param: str
    statuses: frozenset[str]
    parameter_error: Mapping[str, str]
    render: Callable[[Job, dict[str, Any]], dict[str, Any]]
    envelope: Callable[[list[dict[str, Any]], int], dict[str, Any]]
    window_required: bool = False
    end_with_start: bool = False
    max_span: timedelta | None = None
    default_window: timedelta | None = None
    extra_filters: tuple[str, ...] = field(default=())


def _ended(view: Mapping[str, Any]) -> str:
    return str(view.get("ended", ""))


def _mysql_item(job: Job, view: dict[str, Any]) -> dict[str, Any]:
    return {
        "job_id": job.id,
        "job_name": view["name"],
        "status": view["status"],
        "process": view["process"],
        "created_time": view["created"],
        "ended_time": _ended(view),
        "fail_reason": view.get("fail_reason", ""),
        "instance_id": view["instance"]["id"],
        "instance_name": view["instance"]["name"],
        "instance_status": "normal",
        "order_id": "",
        "show_detail": False,
        "extend_fields": {},
    }


def _rds_item(job: Job, view: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": job.id,
        "name": view["name"],
        "instance_id": view["instance"]["id"],
        "instance_name": view["instance"]["name"],
        "instance_status": "ACTIVE",
        "order_id": "",
        "process": view["process"],
        "fail_reason": view.get("fail_reason", ""),
        "create_time": view["created"],
        "end_time": _ended(view),
        "status": view["status"],
    }


def _opengauss_item(job: Job, view: dict[str, Any]) -> dict[str, Any]:
    return {
        "job_id": job.id,
        "name": view["name"],
        "status": view["status"],
        "process": view["process"],
        "fail_reason": view.get("fail_reason", ""),
        "created_at": view["created"],
        "ended_at": _ended(view),
        "instance_info": {
            "instance_id": view["instance"]["id"],
            "instance_name": view["instance"]["name"],
            "instance_status": "ACTIVE",
        },
    }


def _dds_item(job: Job, view: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": job.id,
        "name": view["name"],
        "instance_id": view["instance"]["id"],
        "instance_name": view["instance"]["name"],
        "status": view["status"],
        "progress": view["process"],
        "fail_reason": view.get("fail_reason", ""),
        "created_at": view["created"],
        "ended_at": _ended(view),
    }


def _nosql_item(job: Job, view: dict[str, Any]) -> dict[str, Any]:
    # The same shape as its per-job answer (the list call and the per-job read are one API).
    return {
        "id": job.id,
        "name": view["name"],
        "status": view["status"],
        "start_time": view["created"],
        "end_time": _ended(view),
        "progress": view["process"],
        "instance": dict(view["instance"]),
        "fail_reason": view.get("fail_reason", ""),
    }


def _jobs_total(items: list[dict[str, Any]], total: int) -> dict[str, Any]:
    return {"jobs": items, "total_count": total}


def _mysql_envelope(items: list[dict[str, Any]], total: int) -> dict[str, Any]:
    return {"jobs": items, "total_count": total, "action_names": sorted({i["job_name"] for i in items})}


def _rds_envelope(items: list[dict[str, Any]], total: int) -> dict[str, Any]:
    return {"total_count": total, "actions": sorted({i["name"] for i in items}), "tasks": items}


def _tasks_total(items: list[dict[str, Any]], total: int) -> dict[str, Any]:
    return {"tasks": items, "total_count": total}


_RUNNING_COMPLETED_FAILED = frozenset({"Running", "Completed", "Failed"})

SPECS: Mapping[str, ListSpec] = {
    "gaussdb-mysql": ListSpec(
        "gaussdb-mysql",
        re.compile(r"^/v3/(?P<project>[^/]+)/immediate-jobs$"),
        "iso",
        frozenset({10, 20, 50}),
        10,
        "pages",
        "job_id",
        "job_name",
        _RUNNING_COMPLETED_FAILED | {"Pending", "Unauthorized", "Canceled"},
        _PARAMETER_ERROR_DBS,
        _mysql_item,
        _mysql_envelope,
    ),
    "rds": ListSpec(
        "rds",
        re.compile(r"^/v3/(?P<project>[^/]+)/tasklist$"),
        "ms",
        (1, 50),
        10,
        "records",
        "id",
        "name",
        _RUNNING_COMPLETED_FAILED,
        _PARAMETER_ERROR_DBS,
        _rds_item,
        _rds_envelope,
        end_with_start=True,
        extra_filters=("instance_id", "order_id"),
    ),
    "gaussdb": ListSpec(
        "gaussdb",
        re.compile(r"^/v3/(?P<project>[^/]+)/tasks$"),
        "ms",
        (1, 100),
        100,
        "records",
        None,
        "name",
        _RUNNING_COMPLETED_FAILED,
        _PARAMETER_ERROR_DBS,
        _opengauss_item,
        _tasks_total,
    ),
    "dds": ListSpec(
        "dds",
        re.compile(r"^/v3\.1/(?P<project>[^/]+)/jobs$"),
        "iso",
        (1, 100),
        100,
        "records",
        "id",
        "name",
        _RUNNING_COMPLETED_FAILED,
        _PARAMETER_ERROR_280,
        _dds_item,
        _jobs_total,
        window_required=True,
        max_span=MAX_SPAN,
    ),
    "gaussdb-nosql": ListSpec(
        "gaussdb-nosql",
        re.compile(r"^/v3/(?P<project>[^/]+)/jobs$"),
        "iso",
        frozenset({10, 20, 50}),
        50,
        "records",
        "id",
        "name",
        _RUNNING_COMPLETED_FAILED,
        _PARAMETER_ERROR_280,
        _nosql_item,
        _jobs_total,
        max_span=MAX_SPAN,
        default_window=MAX_SPAN,
    ),
}


def parse_services(values: Iterable[str]) -> frozenset[str]:
    """``--no-list-api`` values: service names or ``all``; ValueError naming the choices otherwise."""
    chosen: set[str] = set()
    for value in values:
        name = value.strip().lower()
        if name == "all":
            chosen.update(SERVICES)
        elif name in SERVICES:
            chosen.add(name)
        else:
            raise ValueError(f"unknown service {value!r}: expected one of {', '.join(SERVICES)} or all")
    return frozenset(chosen)


def route(path: str, query: str, default_service: str) -> tuple[ListSpec, str] | None:
    """The list call ``path`` is, and its project; None when it is none of them.

    GeminiDB's list shares its path with every service's per-job read (``/v3/{project_id}/jobs?id=``): a request
    without ``id`` there is GeminiDB's list when the emulator plays GeminiDB (``--service gaussdb-nosql``), as the
    real clouds tell the services apart by host.
    """
    for spec in SPECS.values():
        match = spec.path.match(path)
        if match is None:
            continue
        if spec.service == "gaussdb-nosql" and (
            default_service != "gaussdb-nosql" or "id" in parse_qs(query, keep_blank_values=True)
        ):
            return None
        return spec, match["project"]
    return None


def _parse_time(spec: ListSpec, name: str, text: str) -> datetime:
    try:
        if spec.time_format == "ms":
            if not text.isdigit():
                raise ValueError(text)
            return datetime.fromtimestamp(int(text) / 1000, UTC)
        return datetime.strptime(text, TIME_FORMAT)
    except (ValueError, OverflowError, OSError):
        shown = "UNIX milliseconds" if spec.time_format == "ms" else "yyyy-mm-ddThh:mm:ssZ"
        raise ListError(400, spec.parameter_error, f"{name} must be {shown}.") from None


def _integer(spec: ListSpec, name: str, text: str) -> int:
    if not text.isdigit() or len(text) > 9:
        raise ListError(400, spec.parameter_error, f"{name} must be a number >= 0.")
    return int(text)


def _limit(spec: ListSpec, text: str | None) -> int:
    if text is None:
        return spec.default_limit
    limit = _integer(spec, "limit", text)
    allowed = limit in spec.limits if isinstance(spec.limits, frozenset) else spec.limits[0] <= limit <= spec.limits[1]
    if not allowed:
        shown = (
            ", ".join(str(v) for v in sorted(spec.limits))
            if isinstance(spec.limits, frozenset)
            else f"{spec.limits[0]} to {spec.limits[1]}"
        )
        raise ListError(400, spec.parameter_error, f"limit must be {shown}.")
    return limit


def _window(spec: ListSpec, params: Mapping[str, str], now: datetime) -> tuple[datetime | None, datetime | None]:
    start = _parse_time(spec, "start_time", params["start_time"]) if "start_time" in params else None
    end = _parse_time(spec, "end_time", params["end_time"]) if "end_time" in params else None
    if spec.window_required and (start is None or end is None):
        raise ListError(400, spec.parameter_error, "start_time and end_time are required.")
    if spec.end_with_start and start is not None and end is None:
        raise ListError(400, spec.parameter_error, "end_time is required with start_time.")
    if spec.default_window is not None:
        end = end or now
        start = start or end - spec.default_window
    if start is not None and end is not None:
        if end <= start:
            raise ListError(400, spec.parameter_error, "end_time must be later than start_time.")
        if spec.max_span is not None and end - start > spec.max_span:
            raise ListError(400, spec.parameter_error, "start_time and end_time may be at most 30 days apart.")
    return start, end


def answer(spec: ListSpec, query: str, jobs: Iterable[tuple[Job, dict[str, Any]]], now: datetime) -> dict[str, Any]:
    """The 200 body of ``spec``'s list call for ``query`` over ``jobs`` (visible jobs of the caller's project, with
    their canonical views); raises ``ListError`` for a parameter the service refuses."""
    raw = parse_qs(query, keep_blank_values=True)
    params = {name: values[-1] for name, values in raw.items()}
    start, end = _window(spec, params, now)
    limit = _limit(spec, params.get("limit"))
    offset_text = params.get("offset")
    if spec.offset_kind == "pages":
        page = 1 if offset_text is None else _integer(spec, "offset", offset_text)
        if page < 1:
            raise ListError(400, spec.parameter_error, "offset must be a page number >= 1.")
        skip = (page - 1) * limit
    else:
        skip = 0 if offset_text is None else _integer(spec, "offset", offset_text)
    status = params.get("status")
    if status is not None and status not in spec.statuses:
        raise ListError(400, spec.parameter_error, f"status must be one of {', '.join(sorted(spec.statuses))}.")
    wanted_id = params.get(spec.id_param) if spec.id_param else None
    name = params.get(spec.name_param)
    selected: list[tuple[datetime, Job, dict[str, Any]]] = []
    for job, view in jobs:
        if job.service != spec.service:
            continue
        created = job.created_at
        if (start is not None and created < start) or (end is not None and created > end):
            continue
        if status is not None and view["status"] != status:
            continue
        if wanted_id and job.id != wanted_id:
            continue
        if name and view["name"].strip() != name.strip():
            continue
        if "instance_id" in spec.extra_filters and params.get("instance_id"):
            if view["instance"]["id"] != params["instance_id"]:
                continue
        if "order_id" in spec.extra_filters and params.get("order_id"):
            continue  # the emulator's jobs have no order
        selected.append((created, job, view))
    # Newest first, as the console shows the task center.
    selected.sort(key=lambda entry: (entry[0], entry[1].id), reverse=True)
    items = [spec.render(job, view) for _, job, view in selected[skip : skip + limit]]
    return spec.envelope(items, len(selected))


class ListSwitch:
    """Which services' list calls are off (answered 404); changed at start (``--no-list-api``) or by control."""

    def __init__(self, off: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._off = set(parse_services(off))

    def is_off(self, service: str) -> bool:
        with self._lock:
            return service in self._off

    def off(self) -> list[str]:
        with self._lock:
            return sorted(self._off)

    def set(self, payload: Mapping[str, object]) -> None:
        """``{"service": NAME or "all", "enabled": bool}``; ValueError (safe to show) for anything else."""
        unknown = sorted(set(payload) - {"service", "enabled"})
        if unknown:
            raise ValueError(f"unknown field(s): {', '.join(unknown)}")
        service, enabled = payload.get("service"), payload.get("enabled")
        if not isinstance(service, str) or not isinstance(enabled, bool):
            raise ValueError('expected {"service": NAME or "all", "enabled": true|false}')
        chosen = parse_services([service])
        with self._lock:
            if enabled:
                self._off -= chosen
            else:
                self._off |= chosen
