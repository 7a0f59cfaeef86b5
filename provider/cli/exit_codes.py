"""The CLI's exit codes: one table, from which the code of an error and the ``--help`` text come.

The codes are the product contract's (``gaussdb-job``'s "exit codes"; the README lists them for readers, and
tests/test_rules.py checks the help against this table); the errors themselves know nothing of them.
"""

from __future__ import annotations

from enum import IntEnum

from provider.core.errors import (
    AuthError,
    ConfigError,
    GaussDBError,
    JobFailed,
    JobNotFound,
    WaitCancelled,
    WaitTimeout,
)
from provider.taskcenter.operations import OperationBusy


class ExitCode(IntEnum):
    COMPLETED = 0
    FAILED = 1
    USAGE = 2
    TIMED_OUT = 3
    NOT_FOUND = 4
    CREDENTIALS = 5
    API = 6
    INTERRUPTED = 130
    TERMINATED = 143


# What each code means, as the help text says it.
MEANINGS: dict[ExitCode, str] = {
    ExitCode.COMPLETED: "every job Completed",
    ExitCode.FAILED: "a job Failed (its fail_reason is on stderr and in the JSON)",
    ExitCode.USAGE: "usage or configuration error (nothing was sent)",
    ExitCode.TIMED_OUT: "timed out",
    ExitCode.NOT_FOUND: "job not found (after --not-found-grace)",
    ExitCode.CREDENTIALS: "credentials refused",
    ExitCode.API: "API or network error that persisted, stdout closed (the jobs not delivered), or an unexpected error",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C): the jobs go on in the task center",
    ExitCode.TERMINATED: "terminated (SIGTERM): the jobs go on in the task center",
}

# Error kind -> code, most specific first; anything else (ours or not) is an API or unexpected error.
_BY_ERROR: tuple[tuple[type[BaseException], ExitCode], ...] = (
    (JobFailed, ExitCode.FAILED),
    (ConfigError, ExitCode.USAGE),
    (WaitTimeout, ExitCode.TIMED_OUT),
    (OperationBusy, ExitCode.TIMED_OUT),  # the instance stayed busy until the timeout: nothing was started
    (JobNotFound, ExitCode.NOT_FOUND),
    (AuthError, ExitCode.CREDENTIALS),
    (WaitCancelled, ExitCode.INTERRUPTED),
    (GaussDBError, ExitCode.API),
)


def for_error(exc: BaseException | None) -> ExitCode:
    """The exit code of a run that ended with ``exc`` (None: success)."""
    if exc is None:
        return ExitCode.COMPLETED
    return next((code for kind, code in _BY_ERROR if isinstance(exc, kind)), ExitCode.API)


def help_text() -> str:
    """The "exit codes:" section of ``--help``, generated from ``MEANINGS``."""
    lines = [f"  {code.value:<4} {MEANINGS[code]}" for code in ExitCode]
    return "exit codes:\n" + "\n".join(lines) + "\n  With several jobs, the worst (highest) code.\n"
