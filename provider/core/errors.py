"""The few ways a job lookup or a wait can end badly. Each error carries what it is about as fields (the setting
that failed, the HTTP status, the wait after which to ask again), so callers decide on fields, never on words of
a message. Exit codes are the CLI's business (``provider.cli.exit_codes``), not the errors'.

Messages are built only from values we chose to show (ids, status, codes the API returned), never from
credentials; ``provider.config.credentials.redact`` scrubs text that comes from elsewhere (the server, libraries).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from provider.taskcenter.models import Job


class GaussDBError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigError(GaussDBError):
    """Invalid input or settings: nothing was sent.

    ``setting`` names the setting that failed, as the resource's argument is named (``project_id``,
    ``endpoint``, ``service``, ``max_rate``, ``access_key``...), or None when no single one is to blame.
    """

    def __init__(self, message: str, *, setting: str | None = None) -> None:
        self.setting = setting
        super().__init__(message)


class JobNotFound(GaussDBError):
    """The task center does not know the job (DBS.200543): not visible yet, expired, or never existed."""

    def __init__(self, job_id: str, detail: str = "") -> None:
        self.job_id = job_id
        super().__init__(f"job {job_id} not found in the task center" + (f" ({detail})" if detail else ""))


class AuthError(GaussDBError):
    """The gateway or IAM refused the credentials (401/403)."""


class ApiError(GaussDBError):
    """The API answered with an error, a malformed body, or could not be reached.

    ``transient`` marks what may pass by itself (throttling, 5xx, dropped connections, garbage from a gateway):
    the waiter keeps polling through those for a while, and reports them only if they persist.
    """

    # The API gateway's "request throttled" code: a throttle under whatever HTTP status it comes with (429, and
    # 400 or 403 from some gateways: issue 20's hostile-gateway run).
    THROTTLE_CODE = "APIGW.0308"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_code: str | None = None,
        error_msg: str | None = None,
        request_id: str | None = None,
        transient: bool = False,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.error_code = error_code
        self.error_msg = error_msg
        self.request_id = request_id
        self.transient = transient
        # Seconds the server asked us to wait before asking again (its Retry-After, already bounded), or None.
        self.retry_after = retry_after
        super().__init__(message)

    @property
    def throttled(self) -> bool:
        """The gateway said to slow down: 429, or its throttling code (APIGW.0308) under another status."""
        return self.status == 429 or (self.error_code or "").strip().upper() == self.THROTTLE_CODE


class JobFailed(GaussDBError):
    """The job ended with status Failed."""

    def __init__(self, job: Job) -> None:
        self.job = job
        reason = job.fail_reason or "no fail_reason given"
        super().__init__(f"job {job.id} ({job.name or 'unnamed'}) failed: {reason}")


class WaitTimeout(GaussDBError):
    """The deadline passed before the job finished."""

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

    def __init__(self, job_id: str, last: Job | None) -> None:
        self.job_id = job_id
        self.last = last
        super().__init__(f"wait for job {job_id} cancelled; the job goes on in the task center")
