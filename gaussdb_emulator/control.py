"""The emulator's control API described once: for ``gaussdb-emulator --help`` and ``GET /_emulator/``.

A description, not the routing (server.py routes): tests/test_emulator_control_index.py checks that every
route described here answers something other than 404 on a running emulator.
"""

from __future__ import annotations

import textwrap
from typing import Any

# (method, path, what it does); the contract (CONTRACT.md, "The emulator") is the source of the fields.
CONTROL_API: tuple[tuple[str, str, str], ...] = (
    ("GET", "/_emulator/", "this index"),
    (
        "POST",
        "/_emulator/jobs",
        'create a job: {"name", "duration", "outcome": "Completed"|"Failed", "fail_reason", '
        '"progress": "linear"|"steps"|"none", "visible_after", "instance", "entities", "project_id", "id", '
        '"service", "pending_for"} -> 201 {"job": {...}}',
    ),
    ("GET", "/_emulator/jobs/{id}", "a job's current view, whatever its visibility"),
    ("DELETE", "/_emulator/jobs/{id}", "forget a job (as the task center does after a month)"),
    (
        "POST",
        "/_emulator/faults",
        'the next N task-center requests fail: {"kind": "500"|"503"|"429"|"reset"|"hang"|"garbage"|"html", '
        '"count": N, "retry_after": S, "hang_seconds": H}; "count": 0 clears; operation faults: '
        '{"kind": "fail-next-operation", "fail_reason": "..."}, {"kind": "drop-after-accept"}',
    ),
    (
        "GET",
        "/_emulator/stats",
        'task-center requests: {"total": N, "jobs": {id: N}, "log": [[t, id or null, "job"|"list"|"operation"], '
        "...]} (the last 10,000, t on the emulator's monotonic clock)",
    ),
    (
        "POST",
        "/_emulator/instances",
        'create an instance for operations: {"name", "flavor", "nodes", "port", "project_id", "op_duration"} '
        '-> 201 {"instance": {"id", ...}}',
    ),
    ("GET", "/_emulator/instances/{id}", 'an instance: status, flavor, port, nodes, "operations" accepted'),
    ("DELETE", "/_emulator/tokens", "revoke every IAM-issued token"),
    ("POST", "/_emulator/reset", "forget jobs, faults and request counts"),
)

NOTES = (
    "Control requests are answered to loopback clients only, without authentication.",
    "List calls: each task center's list call is served for its service's jobs; "
    "--no-list-api SERVICE answers it 404 as a cloud without that call does.",
)


def index() -> dict[str, Any]:
    """The body of ``GET /_emulator/``."""
    return {
        "control": [{"method": method, "path": path, "does": does} for method, path, does in CONTROL_API],
        "notes": list(NOTES),
    }


def help_text() -> str:
    """The control API as the epilog of ``gaussdb-emulator --help``."""
    lines = ["control API (loopback only, no auth; GET /_emulator/ answers this list as JSON):"]
    for method, path, does in CONTROL_API:
        lines.append(f"  {method:<6} {path}")
        lines.append(textwrap.fill(does, width=79, initial_indent=" " * 9, subsequent_indent=" " * 9))
    lines.extend(textwrap.fill(note, width=79, initial_indent="  ", subsequent_indent="  ") for note in NOTES[1:])
    return "\n".join(lines)
