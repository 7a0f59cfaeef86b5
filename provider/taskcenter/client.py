"""The task-center client: one HTTP call per job lookup, errors mapped to ``provider.core.errors``.

The client is the boundary where server text enters: every Job it returns and every error it raises has been
scrubbed of every credential this process knows (configured or issued, in every form: ``credentials.redact``)
before anything serializes it, so outputs, state, progress lines, errors and the CLI's JSON are clean whatever
an echoing gateway sends back (issue 20).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import requests
from pydantic import ValidationError
from requests.auth import AuthBase

from provider.config.credentials import redact_value, runtime_secrets
from provider.config.settings import Settings
from provider.core import validate
from provider.core.errors import ApiError, AuthError, GaussDBError, JobNotFound
from provider.core.sanitize import clean
from provider.core.services import DEFAULT_SERVICE, JOB_DOES_NOT_EXIST, SERVICES, Service
from provider.taskcenter.models import ErrorBody, Job, JobEnvelope, JobList
from provider.wire import retry_after
from provider.wire.jsondepth import MAX_JSON_DEPTH, json_too_deep
from provider.wire.transport import DEFAULT_TRANSPORT, DeadlineExceeded, ResponseTooLarge, Transport

NOT_FOUND_CODE = JOB_DOES_NOT_EXIST

Scrub = Callable[[Any], Any]


def _nothing_to_scrub(value: Any) -> Any:
    return value


class TaskCenterClient:
    def __init__(
        self,
        settings: Settings,
        auth: AuthBase,
        *,
        transport: Transport | None = None,
        session: requests.Session | None = None,
        secrets: Callable[[], Iterable[str | None]] = runtime_secrets,
    ) -> None:
        """``secrets``: every credential value to scrub from what the server sends (asked at each answer, so
        IAM tokens issued later count too); by default the tokens issued to this process."""
        self.settings = settings
        self._secrets = secrets
        self._auth = auth
        self._transport = transport or DEFAULT_TRANSPORT
        self._session = session or self._transport.session()
        self._timeout = self._transport.timeout
        self._host = urlsplit(settings.endpoint).netloc
        self._service = settings.service_row

    def scrub(self, value: Any) -> Any:
        """``value`` (text, or JSON-like data) without any form of any credential this process knows."""
        return redact_value(value, list(self._secrets()))

    def get_job(self, job_id: str, *, deadline: float | None = None, retries: int = 0) -> Job:
        """The job, read in one call that ends by ``deadline`` (``time.monotonic`` seconds; None: the
        transport's own bound for one call) whatever the server does: retries, Retry-After sleeps and the whole
        answer all count against it. Raises ``ApiError`` (transient for what may pass), ``AuthError``,
        ``JobNotFound``, ``ConfigError`` (nothing sent).

        ``retries``: how often the transport may send the read again after a transient failure. 0 by default:
        a wait asks again at its own next interval, through the request budget; ``show`` (one read, no wait)
        passes a few."""
        try:
            return self._get_job(job_id, deadline, retries)
        except GaussDBError as exc:
            raise _scrubbed(exc, self.scrub) from None

    def _get_job(self, job_id: str, deadline: float | None, retries: int) -> Job:
        job_id = validate.job_id(job_id)
        response = self.fetch(self.settings.jobs_url(), {"id": job_id}, deadline=deadline, retries=retries)
        return parse_response(
            response, job_id, self._service, self.scrub, retry_after_limit=float(self._transport.retry_after_max)
        )

    def fetch(
        self, url: str, params: dict[str, str], *, deadline: float | None = None, retries: int = 0
    ) -> requests.Response:
        """GET ``url`` with ``params`` through the transport (sent again at most ``retries`` times, within
        ``deadline``), with this client's credentials; the answer whatever its status, its body read and not
        nested too deep. Raises ``ApiError`` (transient) when there is no such answer. The per-job read and the
        list calls use it; what the answer holds is the caller's to parse and scrub (``scrub``)."""
        try:
            response = self._transport.fetch(
                self._session, "GET", url, deadline=deadline, retries=retries, params=params, auth=self._auth
            )
        except ResponseTooLarge:
            raise ApiError(
                f"answer from {self._host} larger than {self._transport.max_response_bytes} bytes: not read",
                transient=True,
            ) from None
        except DeadlineExceeded:
            raise ApiError(f"no complete answer from {self._host} before the deadline", transient=True) from None
        except requests.Timeout:
            raise ApiError(
                f"no answer from {self._host} within {self._timeout[1]:g} s{_tries(retries)}", transient=True
            ) from None
        except requests.ConnectionError as exc:
            raise ApiError(
                f"could not reach {self._host}: {_connection_reason(exc)}{_tries(retries)}", transient=True
            ) from None
        except requests.RequestException as exc:
            raise ApiError(f"request to {self._host} failed: {type(exc).__name__}", transient=True) from None
        if json_too_deep(response.content):
            # Checked before any parser recurses into it (the standard library's would raise RecursionError).
            raise ApiError(
                f"malformed response from the task center (JSON nested deeper than {MAX_JSON_DEPTH} levels)",
                status=response.status_code,
                transient=True,
            )
        return response

    def close(self) -> None:
        self._session.close()


def _tries(retries: int) -> str:
    return f" (up to {retries + 1} tries)" if retries > 0 else ""


def _scrubbed(exc: GaussDBError, scrub: Scrub) -> GaussDBError:
    """``exc`` with its message (and the server's text it carries) scrubbed; the same object, so its kind and
    fields stay."""
    exc.args = tuple(scrub(arg) if isinstance(arg, str) else arg for arg in exc.args)
    if isinstance(exc, ApiError):
        exc.error_msg, exc.error_code, exc.request_id = scrub([exc.error_msg, exc.error_code, exc.request_id])
    return exc


def _connection_reason(exc: requests.ConnectionError) -> str:
    text = str(exc).lower()
    if "reset" in text or "aborted" in text or "remotedisconnected" in text:
        return "connection dropped"
    if "refused" in text:
        return "connection refused"
    if "name or service" in text or "resolve" in text or "nodename" in text:
        return "host name not resolved"
    if "certificate" in text or "ssl" in text:
        return "TLS verification failed"
    return "connection failed"


def _error_body(response: requests.Response) -> ErrorBody:
    try:
        if json_too_deep(response.content):
            return ErrorBody()
        body = json.loads(response.content)
        return ErrorBody.model_validate(body) if isinstance(body, dict) else ErrorBody()
    except (ValueError, ValidationError):
        return ErrorBody()


def parse_response(
    response: requests.Response,
    job_id: str,
    service: Service | None = None,
    scrub: Scrub = _nothing_to_scrub,
    retry_after_limit: float = float(DEFAULT_TRANSPORT.retry_after_max),
) -> Job:
    """The job in a task-center answer, read the way ``service``'s task center writes it (default GaussDB (for
    MySQL)); raises ``JobNotFound`` for the service's unknown-job answers, ``AuthError``/``ApiError`` for others.
    Everything read from the answer goes through ``scrub`` before it is used (it removes credentials). An error
    carries the answer's Retry-After in [0, ``retry_after_limit``] seconds (the transport's own bound on one)."""
    row = service or SERVICES[DEFAULT_SERVICE]
    request_id = scrub(response.headers.get("X-Request-Id"))
    status = response.status_code
    if status == 200:
        try:
            job = _read_job(response.content, job_id, row, scrub)
        except _Malformed as exc:
            raise ApiError(
                f"malformed response from the task center ({exc})",
                status=status,
                request_id=request_id,
                transient=True,
            ) from None
        if job is None:
            # GeminiDB answers a query for an unknown id with an empty list.
            raise JobNotFound(job_id)
        if job.id.lower() != job_id.lower():
            # A gateway or cache mix-up, not an answer about this job: transient, the next poll asks again.
            raise ApiError(
                f"the task center answered for job {clean(job.id, 60)} when asked for {job_id}",
                status=status,
                request_id=request_id,
                transient=True,
            )
        return job
    body = _error_body(response)
    code, msg = scrub([body.error_code, body.error_msg])
    # Server text goes into messages people read: no control characters, no screenfuls.
    detail = f"HTTP {status}" + (f" {clean(code, 40)}" if code else "") + (f": {clean(msg, 300)}" if msg else "")
    if request_id:
        detail += f" (request id {clean(request_id, 80)})"
    if code is not None and code.strip().upper() in row.not_found_codes:
        raise JobNotFound(job_id)
    wait = retry_after.seconds(response.headers.get("Retry-After"), limit=retry_after_limit)
    if status == 429 or (code or "").strip().upper() == ApiError.THROTTLE_CODE:
        # The gateway's throttle, whatever status it came with (some answer APIGW.0308 with 400 or 403): slow
        # down and ask again, never a refusal of the credentials.
        raise ApiError(
            f"throttled by the API gateway: {detail}",
            status=status,
            error_code=code,
            error_msg=msg,
            request_id=request_id,
            transient=True,
            retry_after=wait,
        )
    if status == 401:
        raise AuthError(f"credentials refused by the API gateway ({detail})")
    if status == 403:
        raise AuthError(f"not authorized for project {response.url and _project_of(response.url)} ({detail})")
    if not code and "json" not in response.headers.get("Content-Type", ""):
        detail = f"HTTP {status} with a non-JSON body (a gateway or proxy page)" + (
            f" (request id {clean(request_id, 80)})" if request_id else ""
        )
    raise ApiError(
        f"task-center API error: {detail}",
        status=status,
        error_code=code,
        error_msg=msg,
        request_id=request_id,
        transient=status >= 500,
        retry_after=wait if status >= 500 else None,
    )


class _Malformed(Exception):
    """A 200 whose body is not the service's job shape; the message says where."""


def _read_job(content: bytes, job_id: str, row: Service, scrub: Scrub) -> Job | None:
    """The job in a 200 body of ``row``'s shape, its fields renamed to the Job model's; None for an empty list."""
    try:
        body = scrub(json.loads(content))
    except ValueError:
        raise _Malformed("body: not JSON") from None
    where = "job"
    try:
        if row.listed:
            jobs = JobList.model_validate(body).jobs
            if not jobs:
                return None
            # Asked by id, the list holds that job; should it hold more, the one asked for is the answer.
            index = next((i for i, j in enumerate(jobs) if str(j.get("id", "")).strip().lower() == job_id), 0)
            where, raw = f"jobs.{index}", jobs[index]
        else:
            raw = JobEnvelope.model_validate(body).job
    except ValidationError as exc:
        raise _Malformed(_problem(exc, "")) from None
    try:
        return Job.model_validate(_as_job_fields(raw, row))
    except ValidationError as exc:
        raise _Malformed(_problem(exc, where)) from None


def _problem(exc: ValidationError, where: str) -> str:
    problem = exc.errors()[0]
    path = ".".join(
        [where, *(str(p) for p in problem.get("loc", ()))] if where else [str(p) for p in problem.get("loc", ())]
    )
    return f"{path or 'body'}: {problem.get('msg')}"


def _as_job_fields(raw: dict[str, Any], row: Service) -> dict[str, Any]:
    """The service's field names mapped to the Job model's: progress -> process, start_time -> created, ..."""
    fields = dict(raw)
    for theirs, ours in ((row.progress_field, "process"), (row.created_field, "created"), (row.ended_field, "ended")):
        if theirs != ours and theirs in fields:
            value = fields.pop(theirs)
            fields.setdefault(ours, value)
    return fields


def _project_of(url: str) -> str:
    segments = [s for s in urlsplit(url).path.split("/") if s]
    return segments[-2] if len(segments) >= 2 else "?"
