"""Starting a GaussDB (for MySQL) / TaurusDB operation that answers with a job, exactly once.

The operations are data (``OPERATIONS``: method, path, body from the checked parameters, the answer's fields),
from the API reference as gathered in the project's ``reference/OPERATIONS.md``. No GaussDB call takes an
idempotency token, so "once" rests on how each request is sent and what each answer proves:

- the request is sent with ``repeatable=False``: the transport never retries it;
- a 409 "another operation is being performed" (``BUSY_CODES``) or a 429 proves it was *not* accepted: it is
  sent again after a polite pause, within the caller's timeout, through the caller's ``Pacer``;
- a request that could not connect was never sent: it fails, nothing started;
- a request that was sent and then lost its answer (reset, timeout, a 5xx, an unreadable body) may have started
  the operation: it is never sent again. Its job is looked for among the task center's recent jobs (same
  instance, a job name of the operation, created after the request was sent) through the service's list call
  (``provider.taskcenter.lists``: paced, scrubbed, windowed and paged as the batch reads are) where it has one,
  and adopted; otherwise ``OperationUncertain`` says the operation may have started and how to adopt its job;
- an answer with an ``order_id`` and no job (a yearly/monthly instance) was accepted as an order: nothing to wait
  for, never sent again (``OperationOrdered``).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

import requests
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from requests.auth import AuthBase
from urllib3.exceptions import NewConnectionError

from provider.config.credentials import secret_values
from provider.config.settings import Settings
from provider.core.errors import ApiError, AuthError, ConfigError, GaussDBError
from provider.core.sanitize import clean
from provider.taskcenter import lists
from provider.taskcenter.client import TaskCenterClient
from provider.taskcenter.models import Job
from provider.taskcenter.reader import Pacer
from provider.wire.jsondepth import json_too_deep
from provider.wire.transport import DEFAULT_TRANSPORT, Transport

# 409 codes meaning "another operation is being performed on the DB instance" (OPERATIONS.md: the codes both
# Terraform providers retry on, and the OTC error table's 409s of that meaning, DBS.201205 a backup in progress).
BUSY_CODES = frozenset(
    {
        "DBS.200011",
        "DBS.200019",
        "DBS.200047",
        "DBS.201014",
        "DBS.201015",
        "DBS.201205",
        "DBS.05000084",
        "DBS.212033",
    }
)
# Seconds between tries while the instance is busy: the Terraform providers' interval (OPERATIONS.md).
BUSY_INTERVAL = 10.0
# A job the lost request started is looked for from this long before the request was sent: the task center's
# clock and ours may disagree by a little (unverified: no page states the skew; a minute is generous for NTP).
ADOPT_SLACK = timedelta(seconds=60)
# Ports PUT .../port refuses (OPERATIONS.md, "change port").
RESERVED_PORTS = frozenset({5342, 5343, 5344, 5345, 12017, 20000, 20201, 20202, 33062})
_INSTANCE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _sleep(seconds: float, cancel: threading.Event | None) -> bool:
    if cancel is None:
        time.sleep(seconds)
        return False
    return cancel.wait(seconds)


class OperationUncertain(GaussDBError):
    """The request was sent but its answer was lost: the operation may have started. Not to be sent again."""

    def __init__(self, message: str, sent_at: datetime | None = None) -> None:
        super().__init__(message)
        # When the request was sent (UTC): its job, if it started one, was created after this.
        self.sent_at = sent_at


class OperationBusy(GaussDBError):
    """The instance stayed busy with another operation until the timeout: this one was not started."""


class OperationOrdered(GaussDBError):
    """The operation was accepted as an order (a yearly/monthly instance): it goes on, with no job to wait for.
    Not to be sent again."""

    def __init__(self, message: str, order_id: str, answer: Mapping[str, Any]) -> None:
        super().__init__(message)
        self.order_id = order_id
        # What the operation answered besides the order (node names of an enlarge), kept as outputs.
        self.answer = dict(answer)


class _Unpaced:
    """A pacer that never holds a request back: for a client given none (tests, one-off use)."""

    def acquire(
        self, *, priority: float = 0.0, deadline: float | None = None, cancel: threading.Event | None = None
    ) -> bool:
        return not (cancel is not None and cancel.is_set())

    def feedback(self, *, throttled: bool) -> None:
        pass


# -- parameters: what each operation takes -----------------------------------------------------------------


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RestartParams(_Params):
    # True: in the maintenance window (the job stays Pending until then).
    delay: bool = False


class ResizeFlavorParams(_Params):
    spec_code: Annotated[str, Field(min_length=1, max_length=128)]


class AddReadReplicasParams(_Params):
    # One failover priority (1-16) per new read replica (OPERATIONS.md); at most 15 read replicas (the product's
    # limit: unverified).
    priorities: Annotated[list[Annotated[int, Field(ge=1, le=16)]], Field(min_length=1, max_length=15)]


class DeleteReadReplicaParams(_Params):
    node_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class RenameParams(_Params):
    # 4-64 characters, a letter first, then letters, digits, hyphens or underscores (the console's rule; unverified
    # against the API page).
    name: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]{3,63}$")]


class ChangePortParams(_Params):
    port: Annotated[int, Field(ge=1024, le=65535)]

    @field_validator("port")
    @classmethod
    def _not_reserved(cls, value: int) -> int:
        if value in RESERVED_PORTS:
            raise ValueError(f"port {value} is reserved (not {', '.join(map(str, sorted(RESERVED_PORTS)))})")
        return value


class ModifyParametersParams(_Params):
    parameter_values: Annotated[dict[str, str], Field(min_length=1)]

    @field_validator("parameter_values", mode="before")
    @classmethod
    def _as_text(cls, value: object) -> object:
        # The API takes every value as a string; a stack or a --set naturally writes 500 or true.
        if isinstance(value, dict):
            return {
                k: json.dumps(v) if isinstance(v, bool) else str(v) if isinstance(v, int | float) else v
                for k, v in value.items()
            }
        return value


class BackupParams(_Params):
    # 4-64 characters (the console's rule; unverified against the API page).
    name: Annotated[str, Field(min_length=4, max_length=64)]
    description: Annotated[str, Field(max_length=256)] | None = None


@dataclass(frozen=True)
class Operation:
    """One operation: how it is sent and what its answer carries besides ``job_id``."""

    name: str
    method: str
    # Below /v3/{project_id}; {instance_id} and the parameters' fields are filled in (URL-quoted).
    path: str
    params: type[_Params]
    body: Callable[[Any, str], dict[str, Any] | None]
    # The answer's fields kept as outputs, besides job_id.
    answer: tuple[str, ...] = ()
    # Job names the task center gives this operation's jobs (to recognise the job of a lost answer); each with its
    # source in OPERATIONS below. "ListImmediateJobs" is Huawei Cloud's TaurusDB API page of that name (the
    # job_name values of its query table, support.huaweicloud.com/api-taurusdb/ListImmediateJobs.html).
    job_names: tuple[str, ...] = ()


OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in (
        Operation(
            "restart",
            "POST",
            "instances/{instance_id}/restart",
            RestartParams,
            lambda p, _i: {"delay": p.delay},
            job_names=(
                # ListImmediateJobs; and OTC's task example (reference/gaussdb_04_0014.rst: " RestartGaussDBInstance")
                "RebootGaussDBforMySQLInstance",
                "RestartGaussDBInstance",
            ),
        ),
        Operation(
            "resize-flavor",
            "POST",
            "instances/{instance_id}/action",
            ResizeFlavorParams,
            lambda p, _i: {"resize_flavor": {"spec_code": p.spec_code}},
            answer=("order_id",),
            job_names=("ResizeGaussDBforMySQLFlavor",),  # ListImmediateJobs
        ),
        Operation(
            "add-read-replicas",
            "POST",
            "instances/{instance_id}/nodes/enlarge",
            AddReadReplicasParams,
            lambda p, _i: {"priorities": list(p.priorities)},
            answer=("instance_id", "node_names", "order_id"),
            job_names=("AddGaussDBforMySQLNodes",),  # ListImmediateJobs
        ),
        Operation(
            "delete-read-replica",
            "DELETE",
            "instances/{instance_id}/nodes/{node_id}",
            DeleteReadReplicaParams,
            lambda _p, _i: None,
            job_names=("DeleteGaussDBforMySQLNode",),  # ListImmediateJobs
        ),
        Operation(
            "rename",
            "PUT",
            "instances/{instance_id}/name",
            RenameParams,
            lambda p, _i: {"name": p.name},
            job_names=("RenameGaussDBforMySQLInstance",),  # ListImmediateJobs
        ),
        Operation(
            "change-port",
            "PUT",
            "instances/{instance_id}/port",
            ChangePortParams,
            lambda p, _i: {"port": p.port},
            job_names=("ModifyGaussDBforMySQLPort",),  # ListImmediateJobs
        ),
        Operation(
            "modify-parameters",
            "PUT",
            "instances/{instance_id}/configurations",
            ModifyParametersParams,
            lambda p, _i: {"parameter_values": dict(p.parameter_values)},
            answer=("restart_required",),
            job_names=("ModifyConfiguration",),  # unverified: no page lists it (the emulator's name)
        ),
        Operation(
            "backup",
            "POST",
            "backups/create",
            BackupParams,
            lambda p, i: {
                "instance_id": i,
                "name": p.name,
                **({"description": p.description} if p.description else {}),
            },
            answer=("backup",),
            job_names=("CreateManualSnapshot",),  # unverified: no page lists it (the emulator's name)
        ),
    )
}
# Every answer field any operation keeps (outputs and the CLI's JSON have them all, null where not answered).
ANSWER_FIELDS = ("instance_id", "node_names", "order_id", "restart_required", "backup")


def lookup(operation: object) -> Operation:
    if isinstance(operation, str) and operation in OPERATIONS:
        return OPERATIONS[operation]
    shown = repr(operation)[:40]
    raise ConfigError(f"unknown operation {shown}: expected one of {', '.join(OPERATIONS)}")


def check_instance_id(value: object) -> str:
    if not isinstance(value, str) or not _INSTANCE_ID.match(value.strip()):
        raise ConfigError(f"invalid instance_id {repr(value)[:80]}: expected the DB instance id (letters, digits)")
    return value.strip()


def check_parameters(operation: str, parameters: Mapping[str, Any] | None) -> _Params:
    """The operation's parameters, checked; ``ConfigError`` naming each problem otherwise (nothing sent)."""
    op = lookup(operation)
    try:
        return op.params.model_validate(dict(parameters or {}))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'parameters'}: {e['msg']}" for e in exc.errors()[:5]
        )
        fields = ", ".join(op.params.model_fields) or "none"
        raise ConfigError(f"invalid parameters for {operation} ({problems}); it takes: {fields}") from None


# -- adoption: the job a lost request started ------------------------------------------------------------------


def find_started_job(jobs: Sequence[Job], *, instance_id: str, names: Sequence[str], sent_at: datetime) -> Job | None:
    """The one job of ``jobs`` (as a list call shows them) the request sent at ``sent_at`` started: on the
    instance, a name of the operation, created after the request was sent (less ``ADOPT_SLACK``). None when there
    is none; ``OperationUncertain`` when several match (two operations of the kind at once: no guess is safe)."""
    wanted = {name.strip().lower() for name in names}
    since = sent_at - ADOPT_SLACK
    matches = [
        job
        for job in jobs
        if job.instance is not None
        and job.instance.id == instance_id
        and job.name.strip().lower() in wanted
        and job.created is not None
        and job.created >= since
    ]
    if len(matches) > 1:
        ids = ", ".join(job.id for job in matches)
        raise OperationUncertain(
            f"{len(matches)} jobs could be the one the lost request started ({ids}): adopt the right one by its id"
        )
    return matches[0] if matches else None


def list_recent_jobs(
    tasks: TaskCenterClient,
    pacer: Pacer,
    since: datetime,
    now: datetime,
    *,
    deadline: float | None = None,
    cancel: threading.Event | None = None,
) -> list[Job] | None:
    """The jobs the task center's list call shows created between ``since`` and ``now`` (``lists``: the service's
    window and paging, each page paced by ``pacer`` and scrubbed by the client); None where the service has no
    list call or it is not offered here (404 on OTC, "not supported", 403). Raises ``ApiError``/``AuthError``."""
    call = tasks.settings.service_row.list_call
    if call is None:
        return None
    span = lists.window(call, [since, now])
    jobs: list[Job] = []
    try:
        for number in range(lists.MAX_PAGES):
            page = lists.read_page(tasks, pacer, span, number, deadline=deadline, cancel=cancel)
            if page is None:
                raise ApiError("no turn in the request budget to list the recent jobs before the deadline")
            jobs.extend(page.jobs.values())
            if page.count < call.page_size or (page.total is not None and (number + 1) * call.page_size >= page.total):
                break
    except lists.ListRefused:
        return None
    return jobs


# -- sending -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Started:
    """An operation the API accepted: its job and what else it answered."""

    operation: str
    instance_id: str
    job_id: str
    answer: dict[str, Any] = field(default_factory=dict)
    # True: the answer was lost and the job was found in the task center's list instead.
    adopted: bool = False


# Lists the task center's recent jobs created since a time; None when it has no list call.
Lister = Callable[[datetime], Sequence[Job] | None]


def adopt_hint(operation: str, instance_id: str, sent_at: datetime) -> str:
    names = " or ".join(OPERATIONS[operation].job_names)
    return (
        f"find its job in the task center (instance {instance_id}, job name {names}, created after "
        f"{sent_at.strftime('%Y-%m-%dT%H:%M:%SZ')}) and adopt it instead of starting the operation again: "
        f"GaussDBOperation(..., adopt_job_id=JOB_ID) in a stack, or `gaussdb-job wait JOB_ID`"
    )


class OperationClient:
    """Sends operations for one project. ``pacer`` paces every request (the process's request budget);
    ``delay(elapsed)`` is the pause before sending again to a busy instance; ``tasks`` is the task center's client
    (its list call finds the job of a lost answer; its ``scrub`` cleans every answer); ``lister`` replaces that
    list call (tests)."""

    def __init__(
        self,
        settings: Settings,
        auth: AuthBase,
        *,
        transport: Transport | None = None,
        session: requests.Session | None = None,
        pacer: Pacer | None = None,
        delay: Callable[[float], float] | None = None,
        tasks: TaskCenterClient | None = None,
        lister: Lister | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float, threading.Event | None], bool] | None = None,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if settings.service != "gaussdb-mysql":
            raise ConfigError(f"operations are GaussDB (for MySQL) / TaurusDB calls; the service is {settings.service}")
        self.settings = settings
        self._auth = auth
        self._transport = transport or DEFAULT_TRANSPORT
        self._session = session or self._transport.session()
        self._pacer = pacer
        self._delay = delay or (lambda _elapsed: BUSY_INTERVAL)
        self._clock = clock
        # A clock's sleep (``provider.waiting.clock``): returns True when ``cancel`` ended it early.
        self._sleep = sleep or _sleep
        self._wall_clock = wall_clock
        self._host = urlsplit(settings.endpoint).netloc
        self._tasks = tasks or TaskCenterClient(settings, auth, transport=self._transport)
        self._lister = lister if lister is not None else self._list_recent_jobs

    def base_url(self) -> str:
        # Operations live under /v3 even where the task center is read under the older /mysql/v3.
        path = self.settings.api_path
        if path.endswith("/mysql/v3"):
            path = path[: -len("/mysql/v3")] + "/v3"
        return f"{self.settings.endpoint}{path}/{self.settings.project_id}"

    def close(self) -> None:
        self._session.close()
        self._tasks.close()

    def scrub(self, value: Any) -> Any:
        """``value`` without any credential this process knows (the task-center client's scrub)."""
        return self._tasks.scrub(value)

    def start(
        self,
        operation: str,
        instance_id: str,
        parameters: Mapping[str, Any] | None = None,
        *,
        timeout: float,
        cancel: threading.Event | None = None,
    ) -> Started:
        """Send the operation once it can be accepted; its job id and answer. Raises ``ConfigError`` (bad input,
        nothing sent), ``ApiError``/``AuthError`` (refused: nothing started), ``OperationBusy`` (the instance
        stayed busy until ``timeout``), ``OperationUncertain`` (sent, answer lost, its job not found)."""
        op = lookup(operation)
        instance_id = check_instance_id(instance_id)
        params = check_parameters(operation, parameters)
        values = {"instance_id": instance_id, **params.model_dump()}
        url = f"{self.base_url()}/" + op.path.format(**{k: quote(str(v), safe="") for k, v in values.items()})
        body = op.body(params, instance_id)
        start = self._clock()
        deadline = start + timeout
        busy: str | None = None
        while True:
            if cancel is not None and cancel.is_set():
                raise OperationBusy(f"{operation} of instance {instance_id} not started: cancelled")
            if self._pacer is not None and not self._pacer.acquire(deadline=deadline, cancel=cancel):
                raise OperationBusy(self._busy_message(operation, instance_id, timeout, busy))
            # A fresh connection for every operation request: a kept-alive one the server has meanwhile closed
            # fails only after the request is written, which would look like a lost answer.
            self._session.close()
            sent_at = self._wall_clock()
            try:
                response = self._transport.fetch(
                    self._session,
                    op.method,
                    url,
                    repeatable=False,
                    auth=self._auth,
                    json=body,
                )
            except requests.RequestException as exc:
                if _never_sent(exc):
                    raise ApiError(
                        f"could not reach {self._host} to {operation} instance {instance_id}: nothing was sent",
                        transient=True,
                    ) from None
                return self.adopt(operation, instance_id, sent_at, f"its answer was lost ({_lost_reason(exc)})")
            if self._pacer is not None:
                self._pacer.feedback(throttled=response.status_code == 429)
            status = response.status_code
            if status in (200, 201, 202):
                answer = _answer_body(response)
                if answer is None:
                    return self.adopt(operation, instance_id, sent_at, f"its answer (HTTP {status}) could not be read")
                return self._started(op, instance_id, answer)
            code = _error_code(response)
            if (status == 409 and code in BUSY_CODES) or status == 429:
                busy = code or f"HTTP {status}"
                left = deadline - self._clock()
                pause = self._delay(self._clock() - start)
                if left <= 0 or pause >= left:
                    raise OperationBusy(self._busy_message(operation, instance_id, timeout, busy))
                self._sleep(pause, cancel)
                continue
            if status >= 500:
                return self.adopt(operation, instance_id, sent_at, f"it was answered HTTP {status}")
            raise self._refused(operation, instance_id, response, code)

    def _busy_message(self, operation: str, instance_id: str, timeout: float, busy: str | None) -> str:
        why = f"instance busy with another operation ({busy})" if busy else "no turn to send before the deadline"
        return f"{operation} of instance {instance_id} not started within {timeout:g} s: {why}; nothing was started"

    def _started(self, op: Operation, instance_id: str, answer: Mapping[str, Any]) -> Started:
        answer = self.scrub(dict(answer))
        job_id = answer.get("job_id")
        kept = {key: answer[key] for key in op.answer if key in answer}
        if not isinstance(job_id, str) or not job_id.strip():
            order = answer.get("order_id")
            if isinstance(order, str | int) and not isinstance(order, bool) and str(order).strip():
                order_id = clean(str(order).strip(), 80)
                raise OperationOrdered(
                    f"{op.name} of instance {instance_id} was accepted as order {order_id} (a yearly/monthly "
                    "instance: the change is billed through an order, and the API answers no task-center job), so "
                    "there is nothing to wait for and it is not sent again; follow the order in the console's "
                    "Billing Center and the instance's status until it is done",
                    order_id,
                    {**kept, "order_id": order_id},
                )
            raise OperationUncertain(
                f"{op.name} of instance {instance_id} was accepted but the answer named no job: it has started; "
                + adopt_hint(op.name, instance_id, self._wall_clock())
            )
        return Started(op.name, instance_id, job_id.strip(), kept)

    def adopt(self, operation: str, instance_id: str, sent_at: datetime, what: str = "its answer was lost") -> Started:
        """A request sent at ``sent_at`` whose fate is unknown: find the job it started, never send it again.
        Raises ``OperationUncertain`` (with how to adopt the job by hand) when it cannot be found."""
        op = lookup(operation)
        where = f"{op.name} of instance {instance_id} was sent but {what}: the operation may have started"
        hint = adopt_hint(op.name, instance_id, sent_at)
        try:
            jobs = self._lister(sent_at - ADOPT_SLACK)
        except GaussDBError as exc:
            raise OperationUncertain(f"{where}; looking for its job failed ({exc}); {hint}", sent_at) from None
        if jobs is None:
            raise OperationUncertain(f"{where}; this task center has no list call to find its job; {hint}", sent_at)
        try:
            found = find_started_job(jobs, instance_id=instance_id, names=op.job_names, sent_at=sent_at)
        except OperationUncertain as exc:
            raise OperationUncertain(f"{where}; {exc}", sent_at) from None
        if found is None:
            raise OperationUncertain(f"{where}; no job of it is listed yet; {hint}", sent_at)
        return Started(op.name, instance_id, found.id, {}, adopted=True)

    def _refused(self, operation: str, instance_id: str, response: requests.Response, code: str | None) -> GaussDBError:
        body = self.scrub(_answer_body(response) or {})
        code = self.scrub(code)
        msg = body.get("error_msg")
        status = response.status_code
        detail = f"HTTP {status}" + (f" {clean(code, 40)}" if code else "")
        detail += f": {clean(msg, 300)}" if isinstance(msg, str) and msg else ""
        request_id = self.scrub(response.headers.get("X-Request-Id"))
        if isinstance(request_id, str) and request_id:
            detail += f" (request id {clean(request_id, 80)})"
        message = f"{operation} of instance {instance_id} refused, nothing started: {detail}"
        if status in (401, 403):
            return AuthError(message)
        return ApiError(
            message,
            status=status,
            error_code=code,
            error_msg=msg if isinstance(msg, str) else None,
            request_id=request_id,
        )

    def _list_recent_jobs(self, since: datetime) -> list[Job] | None:
        return list_recent_jobs(self._tasks, self._pacer or _Unpaced(), since, self._wall_clock())


def _never_sent(exc: requests.RequestException) -> bool:
    """The connection was never made, so the request never left: safe to say nothing started."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if not isinstance(exc, requests.ConnectionError):
        return False
    # requests wraps urllib3's MaxRetryError, whose reason is the NewConnectionError of a refused connection.
    inner = exc.args[0] if exc.args else None
    return isinstance(inner, NewConnectionError) or isinstance(getattr(inner, "reason", None), NewConnectionError)


def _lost_reason(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.Timeout):
        return "no answer in time"
    text = str(exc).lower()
    if "reset" in text or "aborted" in text or "remotedisconnected" in text or "cut short" in text:
        return "connection dropped"
    return type(exc).__name__


def _answer_body(response: requests.Response) -> dict[str, Any] | None:
    if json_too_deep(response.content):
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _error_code(response: requests.Response) -> str | None:
    body = _answer_body(response)
    code = body.get("error_code") if body is not None else None
    return code.strip().upper() if isinstance(code, str) else None


def operation_client_for(
    args: Mapping[str, Any],
    config: Mapping[str, Any],
    env: Mapping[str, str],
    *,
    transport: Transport | None = None,
    pacer: Pacer | None = None,
    delay: Callable[[float], float] | None = None,
) -> OperationClient:
    """An operation client for these settings and credentials (argument > stack config > environment); what the
    server answers is scrubbed of every configured credential and every token issued to this process."""
    from provider.taskcenter import compose

    resolved = compose.resolve(args, config, env)
    auth = compose.auth_for(resolved, transport)
    tasks = TaskCenterClient(resolved.settings, auth, transport=transport, secrets=lambda: secret_values(config, env))
    return OperationClient(resolved.settings, auth, transport=transport, pacer=pacer, delay=delay, tasks=tasks)
