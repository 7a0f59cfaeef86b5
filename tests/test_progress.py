"""The CLI's progress display: live bars on a terminal, one plain line per change otherwise."""

from __future__ import annotations

import io

from provider.models import Job
from provider.progress import ProgressReporter

A, B = "a9767ede-fe0f-4888-9003-e843a4c90514", "31b8ae23-c687-4d80-b7b4-42a66c9bb886"


def test_plain_lines_only_on_change() -> None:
    out = io.StringIO()
    reporter = ProgressReporter([A], out, live=False)
    for process in ["10%", "10%", "50%"]:
        reporter.update(Job(id=A, name="Restart", status="Running", process=process))
    reporter.update(Job(id=A, name="Restart", status="Completed"))
    assert out.getvalue().splitlines() == [
        f"{A} Restart: Running 10%",
        f"{A} Restart: Running 50%",
        f"{A} Restart: Completed",
    ]


def test_live_bars_redraw_one_row_per_job_in_place() -> None:
    out = io.StringIO()
    reporter = ProgressReporter([A, B], out, live=True)
    reporter.update(Job(id=A, name="Restart", status="Running", process="50%"))
    reporter.update(Job(id=B, name="Resize", status="Completed"))
    text = out.getvalue()
    assert "\x1b[2F" in text  # the second draw moved back over the two rows of the first
    last_frame = text.split("\x1b[2F")[-1]
    rows = [row.replace("\x1b[2K", "") for row in last_frame.splitlines()]
    assert rows[0].startswith("[" + "#" * 12 + "." * 12 + "]") and " 50%" in rows[0] and A in rows[0]
    assert rows[1].startswith("[" + "#" * 24 + "]") and "100%" in rows[1] and B in rows[1]
