"""How each task center writes a job and says "no such job", as its API page and error appendix show it.

Written from the pages (``reference/`` in the project's notes), independently of ``provider/core/services.py``: the
emulator is the other side of the wire, so the two tables check each other, and the official SDK of each service
checks this one (tests/test_sdk_emulator.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DEFAULT_SERVICE = "gaussdb-mysql"

_JOB_DOES_NOT_EXIST = {"error_code": "DBS.200543", "error_msg": "The job does not exist."}
_RDS_JOB_DOES_NOT_EXIST = {"error_code": "RDS.5041", "error_msg": "The job does not exist."}
_RESOURCE_NOT_FOUND = {"error_code": "DBS.280016", "error_msg": "Resource not found."}

# fail_reason of a job that did not fail: left out, null, or "" (as each page's success example has it).
ABSENT = object()


@dataclass(frozen=True)
class Shape:
    progress_field: str
    created_field: str
    ended_field: str
    # GeminiDB answers ``{"jobs": [...], "total_count": N}``; the others ``{"job": {...}}``.
    listed: bool
    # Only the GaussDB (for MySQL) and RDS jobs carry ``entities``.
    entities: bool
    fail_reason_on_success: object
    # (HTTP status, body) for an id the task center does not know.
    not_found: tuple[int, dict[str, Any]]
    # Whether the older ``/mysql/v3`` path exists (GaussDB (for MySQL) only).
    mysql_path: bool = False


SHAPES: dict[str, Shape] = {
    "gaussdb-mysql": Shape("process", "created", "ended", False, True, ABSENT, (400, _JOB_DOES_NOT_EXIST), True),
    "gaussdb": Shape("progress", "created", "ended", False, False, None, (400, _JOB_DOES_NOT_EXIST)),
    "gaussdb-nosql": Shape(
        "progress", "start_time", "end_time", True, False, "", (200, {"jobs": [], "total_count": 0})
    ),
    # The V3 error table lists DBS.200543 for RDS too; the emulator answers with the V1 code, RDS.5041 (404), so
    # that a 404 meaning "no such job" is exercised somewhere (the client accepts both for RDS).
    "rds": Shape("process", "created", "ended", False, True, ABSENT, (404, _RDS_JOB_DOES_NOT_EXIST)),
    "dds": Shape("progress", "created", "ended", False, False, None, (400, _RESOURCE_NOT_FOUND)),
}


def body(service: str, view: dict[str, Any]) -> dict[str, Any]:
    """The 200 body of ``service`` for a job whose canonical view (GaussDB (for MySQL) fields) is ``view``."""
    shape = SHAPES[service]
    job: dict[str, Any] = {"id": view["id"], "name": view["name"], "status": view["status"]}
    job[shape.created_field] = view["created"]
    # The single-job pages show "ended" only once a job has ended; GeminiDB's list shows end_time always.
    if "ended" in view or shape.listed:
        job[shape.ended_field] = view.get("ended", "")
    job[shape.progress_field] = view["process"]
    job["instance"] = view["instance"]
    if shape.entities:
        job["entities"] = view["entities"]
    if "fail_reason" in view:
        job["fail_reason"] = view["fail_reason"]
    elif shape.fail_reason_on_success is not ABSENT:
        job["fail_reason"] = shape.fail_reason_on_success
    if shape.listed:
        return {"jobs": [job], "total_count": 1}
    return {"job": job}


def not_found(service: str) -> tuple[int, dict[str, Any]]:
    status, payload = SHAPES[service].not_found
    return status, dict(payload)
