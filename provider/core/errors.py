"""The few ways a job lookup or a wait can end badly; each knows its CLI exit code.

Messages are built only from values we chose to show (ids, status, codes the API returned), never from
credentials; ``provider.credentials.redact`` is the last guard for text that comes from elsewhere (library exceptions).
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from provider.taskcenter.models import Job


class ExitCode(IntEnum):
    """The CLI's exit codes, one list for the CLI, its help text and the README."""

    COMPLETED = 0
    FAILED = 1
    USAGE = 2
    TIMED_OUT = 3
    NOT_FOUND = 4
    CREDENTIALS = 5
    API = 6
    INTERRUPTED = 130
    TERMINATED = 143


class GaussDBError(Exception):
    """Base of every error this package raises on purpose."""

    exit_code: ExitCode = ExitCode.API


class ConfigError(GaussDBError):
    """Invalid input or settings: nothing was sent."""

    exit_code = ExitCode.USAGE


class JobNotFound(GaussDBError):
    """The task center does not know the job (DBS.200543): not visible yet, expired, or never existed."""

    exit_code = ExitCode.NOT_FOUND

    def __init__(self, job_id: str, detail: str = "") -> None:
        self.job_id = job_id
        super().__init__(f"job {job_id} not found in the task center" + (f" ({detail})" if detail else ""))


class AuthError(GaussDBError):
    """The gateway or IAM refused the credentials (401/403)."""

    exit_code = ExitCode.CREDENTIALS


class ApiError(GaussDBError):
    """The API answered with an error, a malformed body, or could not be reached.

    ``transient`` marks what may pass by itself (throttling, 5xx, dropped connections, garbage from a gateway):
    the waiter keeps polling through those for a while, and reports them only if they persist.
    """

    exit_code = ExitCode.API

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_code: str | None = None,
        error_msg: str | None = None,
        request_id: str | None = None,
        transient: bool = False,
    ) -> None:
        self.status = status
        self.error_code = error_code
        self.error_msg = error_msg
        self.request_id = request_id
        self.transient = transient
        super().__init__(message)

    @property
    def throttled(self) -> bool:
        """The gateway said to slow down: 429, or its throttling code (APIGW.0308) under another status."""
        return self.status == 429 or (self.error_code or "").upper() == "APIGW.0308"


class JobFailed(GaussDBError):
    """The job ended with status Failed."""

    exit_code = ExitCode.FAILED

    def __init__(self, job: Job) -> None:
        self.job = job
        reason = job.fail_reason or "no fail_reason given"
        super().__init__(f"job {job.id} ({job.name or 'unnamed'}) failed: {reason}")


class WaitTimeout(GaussDBError):
    """The deadline passed before the job finished."""

    exit_code = ExitCode.TIMED_OUT

    def __init__(self, job_id: str, timeout: float, last: Job | None, last_error: Exception | None = None) -> None:
        self.job_id = job_id
        self.timeout = timeout
        self.last = last
        self.last_error = last_error
        if last is not None:
            state = f"last status {last.status}, progress {last.process or 'unknown'}"
        elif last_error is not None:
            state = f"never read: {last_error}"
        else:
            state = "never read"
        super().__init__(f"timed out after {timeout:g} s waiting for job {job_id} ({state})")


class WaitCancelled(GaussDBError):
    """The wait was stopped from outside (Ctrl-C, SIGTERM, the engine shutting the plugin down); the job goes on."""

    exit_code = ExitCode.INTERRUPTED

    def __init__(self, job_id: str, last: Job | None) -> None:
        self.job_id = job_id
        self.last = last
        super().__init__(f"wait for job {job_id} cancelled; the job goes on in the task center")
