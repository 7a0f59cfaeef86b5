"""A task center's list call, as data: the request for one page (window, paging) and its answer read as ``Job``s.

The row of each service (``provider.core.services.ListCall``) says where the call is, how its window is written
and how its items name their fields; this module builds the query, sends it through the client's transport after
``pacer.acquire`` (and reports to ``pacer.feedback``), and maps the answer and its errors.

No status filter is sent: a job that ends would leave a ``status=Running`` list, and a ``Pending`` (scheduled) job
would never be in it. The window on the creation time keeps the list to the jobs being waited for and the few
others started in the same minutes.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from pydantic import ValidationError

from provider.core.errors import ApiError, AuthError, GaussDBError
from provider.core.sanitize import clean
from provider.core.services import ListCall, Service
from provider.taskcenter.client import TaskCenterClient
from provider.taskcenter.models import ErrorBody, Job, JobInstance, parse_time
from provider.taskcenter.reader import Pacer
from provider.wire import retry_after
from provider.wire.transport import DEFAULT_TRANSPORT

# The gateway's "no such API" (404) and the services' "operation not supported" codes (the DDS, GeminiDB and
# openGauss error appendices in reference/): a list call refused with one of these is not offered here.
# A list answer's Retry-After is bounded as a per-job read's is (the transport's bound).
RETRY_AFTER_LIMIT = float(DEFAULT_TRANSPORT.retry_after_max)
NOT_OFFERED_CODES = frozenset({"APIGW.0101", "DBS.280343", "DBS.06020162"})
# Pages read in one round at most; jobs beyond them are read one by one (a busy account's window).
MAX_PAGES = 4
# The window reaches this far beyond the jobs' creation times: the times are whole seconds, rounded either way.
WINDOW_MARGIN = timedelta(minutes=1)
# A job whose creation time is not known yet was created a moment ago by the cloud's clock; this machine's clock
# may be off by much less than this (a day: a guess that needs no source, it only widens the list a little).
CLOCK_SKEW = timedelta(days=1)


class ListRefused(ApiError):
    """The list call is not offered or not permitted here (404, 403, "not supported"): read jobs one by one."""


@dataclass(frozen=True)
class Page:
    jobs: dict[str, Job]  # by id, lower case
    total: int | None
    count: int


def window(call: ListCall, created: list[datetime], around: datetime | None = None) -> tuple[datetime, datetime] | None:
    """The creation-time window that holds ``created`` (with a margin), and ``around`` (this machine's time, for
    jobs whose creation time is not known yet) give or take ``CLOCK_SKEW``; None when there is nothing to hold.
    A window longer than the call allows is cut to its newest part: older jobs are then read one by one."""
    moments = list(created)
    if around is not None:
        moments += [around - CLOCK_SKEW, around + CLOCK_SKEW]
    if not moments:
        return None
    start, end = min(moments) - WINDOW_MARGIN, max(moments) + WINDOW_MARGIN
    if call.max_span_days is not None:
        start = max(start, end - timedelta(days=call.max_span_days) + WINDOW_MARGIN)
    return start, end


def _time(call: ListCall, moment: datetime) -> str:
    if call.time_format == "ms":
        return str(int(moment.timestamp() * 1000))
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def query(call: ListCall, span: tuple[datetime, datetime] | None, page: int) -> dict[str, str]:
    """The query of page ``page`` (from 0) of the list over ``span``."""
    params = {"limit": str(call.page_size)}
    params["offset"] = str(page + 1) if call.offset_kind == "pages" else str(page * call.page_size)
    if span is not None:
        params["start_time"], params["end_time"] = _time(call, span[0]), _time(call, span[1])
    return params


def url(client: TaskCenterClient, call: ListCall) -> str:
    settings = client.settings
    return settings.endpoint + call.path.format(project_id=settings.project_id)


def _item_time(value: Any) -> Any:
    # Epoch milliseconds where a service writes them so (a number, or digits), else the text as it came.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC)
    if isinstance(value, str) and value.strip().isdigit():
        return datetime.fromtimestamp(int(value.strip()) / 1000, UTC)
    return parse_time(value)


def as_job(call: ListCall, item: Mapping[str, Any]) -> Job:
    """One list item as a ``Job`` (no entities: the list has none). Raises ValidationError or ValueError."""
    if call.instance_field:
        nested = item.get(call.instance_field) or {}
        instance = {"id": nested.get(call.instance_id), "name": nested.get(call.instance_name)}
    else:
        instance = {"id": item.get(call.instance_id), "name": item.get(call.instance_name)}
    return Job(
        id=item.get(call.id_field),
        name=item.get(call.name_field) or "",
        status=item.get("status"),
        created=_item_time(item.get(call.created_field)),
        ended=_item_time(item.get(call.ended_field)),
        process=item.get(call.progress_field) or "",
        instance=JobInstance.model_validate(instance),
        fail_reason=item.get("fail_reason"),
    )


def parse_page(
    response: requests.Response, call: ListCall, service: Service, scrub: Callable[[Any], Any] = lambda v: v
) -> Page:
    """The jobs of a list answer; raises ``ListRefused``, ``AuthError`` or ``ApiError`` for an error answer.
    ``scrub`` (the client's) removes every known secret from what the server sent before anything is read."""
    status = response.status_code
    host = client_host(response)
    if status != 200:
        raise _error(response, service, scrub)
    try:
        body = scrub(json.loads(response.content))
        items = body[call.items]
        if not isinstance(items, list):
            raise TypeError(call.items)
        total = body.get("total_count")
    except (ValueError, TypeError, KeyError, AttributeError):
        # A 200 that is not this call's list (a gateway or proxy answering the path with something else) says the
        # call is not usable here: per-job reads always are, so this task center falls back to them (auto mode)
        # rather than fail every round until the outage limit.
        raise ListRefused(
            f"malformed list answer from {host} (HTTP 200 without a '{call.items}' list)", status=status
        ) from None
    jobs = {}
    for item in items:
        # An item this model cannot read (another user's job in a status the model does not know, such as
        # TaurusDB's newer "Canceled") must not spoil the list for the others: skipped, so a job of ours that it
        # would have been is read by itself and reported as its own read reports it.
        try:
            job = as_job(call, item)
        except (ValueError, TypeError, AttributeError, ValidationError):
            continue
        jobs[job.id.lower()] = job
    return Page(jobs, total if isinstance(total, int) and not isinstance(total, bool) else None, len(items))


def client_host(response: requests.Response) -> str:
    return urlsplit(response.url or "").netloc or "the task center"


def _error(response: requests.Response, service: Service, scrub: Callable[[Any], Any]) -> GaussDBError:
    status = response.status_code
    try:
        body = ErrorBody.model_validate(scrub(json.loads(response.content)))
    except (ValueError, ValidationError):
        body = ErrorBody()
    code = (body.error_code or "").strip().upper()
    detail = (
        f"HTTP {status}"
        + (f" {clean(code, 40)}" if code else "")
        + (f": {clean(body.error_msg, 200)}" if body.error_msg else "")
    )
    if status == 429 or code == ApiError.THROTTLE_CODE:
        # A throttle under any status (403 included): never a refused list call, never a reason to fall back.
        return ApiError(
            f"throttled by the API gateway: {detail}",
            status=status,
            error_code=code or None,
            error_msg=body.error_msg,
            transient=True,
            retry_after=retry_after.seconds(response.headers.get("Retry-After"), limit=RETRY_AFTER_LIMIT),
        )
    if status in (403, 404) or code in NOT_OFFERED_CODES:
        return ListRefused(
            f"the {service.title} list call is not available ({detail})", status=status, error_code=code or None
        )
    if status == 401:
        return AuthError(f"credentials refused by the API gateway ({detail})")
    return ApiError(
        f"task-center list call failed: {detail}",
        status=status,
        error_code=code or None,
        error_msg=body.error_msg,
        transient=status == 429 or status >= 500,
    )


def read_page(
    client: TaskCenterClient,
    pacer: Pacer,
    span: tuple[datetime, datetime] | None,
    page: int,
    *,
    priority: float = 0.0,
    deadline: float | None = None,
    cancel: threading.Event | None = None,
    acquired: bool = False,
) -> Page | None:
    """One page of the client's task center's list: paced (unless the caller ``acquired`` its turn already),
    sent, read. None when the pacer's turn did not come before ``deadline`` or ``cancel`` (nothing was sent).
    Raises as ``parse_page``; ``ApiError`` for no answer."""
    service = client.settings.service_row
    call = service.list_call
    if call is None:
        raise ListRefused(f"{service.title} has no list call", status=404)
    if not acquired and not pacer.acquire(priority=priority, deadline=deadline, cancel=cancel):
        return None
    try:
        response = client.fetch(url(client, call), query(call, span, page))
        result = parse_page(response, call, service, client.scrub)
    except ApiError as error:
        pacer.feedback(throttled=error.throttled)
        raise
    pacer.feedback(throttled=False)
    return result
