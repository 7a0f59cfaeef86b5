"""``GaussDBJob``: a Pulumi dynamic resource whose create blocks until a task-center job is done.

How Pulumi runs it (see the README): the program pickles ``GaussDBJobProvider()`` by reference (this module is
importable) into the ``__provider`` input; the engine's dynamic-provider plugin (``python -u -m pulumi.dynamic``)
unpickles it, calls ``configure`` with the stack config, then check/diff/create/read/update/delete. The provider
object holds nothing, so what lands in state is a few dozen bytes naming this class. Credentials are read from the
stack config (kept on the configured instance in the plugin process, never pickled) or the plugin's environment when a
call needs them.

What the engine shows of a failed call is the traceback of the exception (the gRPC error details): every error
raised here is a ``GaussDBJobError`` raised without context, whose last line names the job and what happened and
has been scrubbed of every configured secret.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import random
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)
from pulumi.output import Unknown

from provider.config import settings
from provider.config.credentials import CONFIG_KEYS, redact, secret_values
from provider.core import validate
from provider.core.errors import ApiError, ConfigError, GaussDBError, JobFailed, WaitTimeout
from provider.core.sanitize import clean
from provider.resources import plugin_pool
from provider.taskcenter import caps, compose
from provider.taskcenter.batch import reader_for
from provider.taskcenter.models import OUTPUT_FIELDS, Job, progress_key, progress_text
from provider.waiting import budget as budget_module
from provider.waiting.engine import Hooks, WaitOptions, wait_all
from provider.waiting.engine import Result as WaitResult
from provider.waiting.policy import DEFAULT_POLICY, DEFAULT_TIMEOUT
from provider.waiting.tracker import Verdict


@dataclasses.dataclass(kw_only=True)
class WaitSettings:
    """What every wait takes besides its job ids: the inputs GaussDBJob and GaussDBJobs share.

    Each defaults to stack config (``gaussdb:...``), then the environment, then the documented default.
    """

    project_id: pulumi.Input[str] | None = None
    region: pulumi.Input[str] | None = None
    endpoint: pulumi.Input[str] | None = None
    api_path: pulumi.Input[str] | None = None
    # The task center: a name or alias of provider/core/services.py (default gaussdb-mysql).
    service: pulumi.Input[str] | None = None
    # Seconds the wait may last (default 3600, at most 7 days): customTimeouts do not reach dynamic providers.
    timeout: pulumi.Input[float] | None = None
    # False: a Failed job is recorded in the outputs instead of failing the update.
    fail_on_error: pulumi.Input[bool] | None = None
    # Seconds a job may be unknown to the task center (it appears a few seconds after it starts).
    not_found_grace: pulumi.Input[float] | None = None
    # True: a job scheduled for the maintenance window (Pending) counts as done, with status Pending.
    accept_scheduled: pulumi.Input[bool] | None = None


@dataclasses.dataclass
class GaussDBJobArgs(WaitSettings):
    """Inputs of ``GaussDBJob``. Only ``job_id`` is required."""

    job_id: pulumi.Input[str]


SHARED_INPUTS = tuple(field.name for field in dataclasses.fields(WaitSettings))
INPUTS = ("job_id", *SHARED_INPUTS)
# Another service is another task center, so the same id names another job.
REPLACE_ON = ("job_id", "project_id", "endpoint", "service")
OUTPUTS = OUTPUT_FIELDS
SETTING_INPUTS = ("project_id", "region", "endpoint", "api_path", "service")
# An unknown value (preview, an input computed by another resource) reaches the plugin as the wire string
# ``pulumi.runtime.rpc.UNKNOWN`` and leaves ``deserialize_properties(..., keep_unknowns=True)`` as an instance of
# ``pulumi.output.Unknown``: both mean "not known yet".
UNKNOWN = pulumi.runtime.rpc.UNKNOWN
# Progress lines in `pulumi up`: on every status change and progress step (``models.progress_key``), else at most
# one a minute (a readability choice, unverified).
HEARTBEAT_SECONDS = 60.0
# How long a refresh (read) may take for all its jobs together: a transient error is ridden out for as long as a
# wait would (the policy's outage_limit), then the job keeps its last outputs.
REFRESH_TIMEOUT = DEFAULT_POLICY.outage_limit
# The longest job name a progress line shows; the outputs keep it whole (a readability choice, unverified).
NAME_LIMIT = 80
# The longest error `pulumi up` shows for one call: a GaussDBJobs error names every job that did not complete
# (256 jobs with a short reason each fit; a bound, not a measured figure: unverified).
ERROR_LIMIT = 8000


class GaussDBJobError(Exception):
    """What `pulumi up` shows when a call fails: one line naming the job and what happened."""


def _scrub(text: str, config: Mapping[str, Any]) -> str:
    """Text fit for `pulumi up`: no credential (in any form), no escape sequence or control character, so
    server text cannot forge a line or drive the terminal (``provider.core.sanitize``, as the CLI's)."""
    return clean(redact(text, secret_values(config, os.environ)), ERROR_LIMIT)


def _fail(exc: BaseException, config: Mapping[str, Any], job_id: str | None = None) -> NoReturn:
    """Re-raise as one clear line without the chained exception: the engine shows the traceback to the user."""
    raise GaussDBJobError(_scrub(_message(exc, job_id), config)) from None


def _message(exc: BaseException, job_id: str | None = None) -> str:
    if isinstance(exc, WaitTimeout):
        # Create failed, so the resource is not in state: the next `pulumi up` waits for the same job again.
        message = f"{exc}; the job goes on in the task center: run `pulumi up` again to wait anew, or raise timeout"
    elif isinstance(exc, GaussDBError):
        message = str(exc)
    else:
        # Not one of ours (a library bug, an unexpected value): say so, still without leaking a secret.
        where = f" while handling job {job_id}" if job_id else ""
        message = f"unexpected {type(exc).__name__}{where}: {exc}"
    return message


class _Progress(Hooks):
    """Progress lines for the jobs of one wait (one ``_ProgressLog`` each); a line when the budget holds jobs back."""

    def __init__(self, job_ids: list[str]) -> None:
        self._logs = {job_id: _ProgressLog(job_id) for job_id in job_ids}
        self._queued_told = False

    def seen(self, job_id: str, job: Job) -> None:
        self._logs[job_id](job)

    def queued(self, job_id: str) -> None:
        if not self._queued_told:
            self._queued_told = True
            _log_info(
                f"GaussDBJob {job_id}: waiting for its turn in the request budget; if the account's API gateway "
                f"allows more, raise {budget_module.MAX_RATE_CONFIG} (or {budget_module.MAX_RATE_ENV})"
            )


def _options(props: Mapping[str, Any], *, refresh: bool = False) -> WaitOptions:
    """The wait's options from the inputs; a refresh reads (the first answer is the job) within REFRESH_TIMEOUT, or
    the resource's own ``timeout`` when that is shorter (a refresh never waits longer than a create would)."""
    grace = props.get("not_found_grace")
    policy = DEFAULT_POLICY if grace is None else dataclasses.replace(DEFAULT_POLICY, not_found_grace=float(grace))
    if refresh:
        return WaitOptions(
            timeout=min(REFRESH_TIMEOUT, float(props.get("timeout") or REFRESH_TIMEOUT)),
            policy=dataclasses.replace(policy, not_found_grace=0.0),
            accept_any=True,
            rng=random.Random(),
            cancel=plugin_pool.shutdown_event(),
        )
    return WaitOptions(
        timeout=float(props.get("timeout") or DEFAULT_TIMEOUT),
        policy=policy,
        accept_scheduled=props.get("accept_scheduled") is True,
        rng=random.Random(),
        cancel=plugin_pool.shutdown_event(),
    )


def _wait_jobs(
    props: Mapping[str, Any], config: Mapping[str, Any], ids: list[str], *, refresh: bool = False
) -> dict[str, WaitResult]:
    """Every job of ``ids`` on one wait engine, under the process's request budget."""
    client = compose.client_for(props, config, os.environ)
    try:
        budget = budget_module.process_budget_from(config)
        # One reader per task center for every resource of the stack (this plugin process): one list call a round
        # serves the jobs of every create and refresh waiting then (docs/batch-reads.md).
        mode = settings.list_api(config, os.environ)
        notice = functools.partial(_list_refused, config=config)
        reader = reader_for(client, budget, mode, notice=notice, clock=budget.clock.now)
        hooks = Hooks() if refresh else _Progress(ids)
        return wait_all(reader, ids, _options(props, refresh=refresh), clock=budget.clock, hooks=hooks)
    finally:
        client.close()


def _list_refused(reason: str, *, config: Mapping[str, Any]) -> None:
    """The one line logged when a task center refuses its list call (once per task center and plugin process)."""
    _log_info(
        _scrub(
            f"GaussDB task center: {reason}; set {settings.LIST_API_CONFIG} (or {settings.LIST_API_ENV}) to off to "
            "skip the list call, or to on to make its refusal an error",
            config,
        )
    )


class _ProgressLog:
    """One line per status change or 10 % step, else a heartbeat at most once a minute."""

    def __init__(
        self,
        job_id: str,
        clock: Callable[[], float] = time.monotonic,
        emit: Callable[[str], None] | None = None,
    ) -> None:
        self._job_id = job_id
        self._clock = clock
        self._emit = emit or _log_info
        self._start = clock()
        self._last: tuple[str, int | None] | None = None
        self._last_at = 0.0

    def __call__(self, job: Job) -> None:
        state = progress_key(job)
        now = self._clock()
        if state != self._last or now - self._last_at >= HEARTBEAT_SECONDS:
            self._last, self._last_at = state, now
            # The job came through the client, scrubbed of credentials; its text is cleaned here for the terminal.
            name = clean(job.name, NAME_LIMIT).strip() or "?"
            self._emit(f"GaussDBJob {self._job_id} ({name}): {progress_text(job)} after {now - self._start:.0f} s")


def _log_info(message: str) -> None:
    # Without an engine connection in the plugin, pulumi.log writes "info: ..." to stderr, which the engine
    # relays into the `pulumi up` output.
    pulumi.log.info(message)
    sys.stderr.flush()


def _known(value: Any) -> bool:
    return value is not None and not isinstance(value, Unknown) and value != UNKNOWN


_CHECKS: dict[str, Callable[[object], Any]] = {
    "job_id": validate.job_id,
    "project_id": validate.project_id,
    "endpoint": validate.endpoint,
    "api_path": validate.api_path,
    "timeout": validate.timeout,
    "not_found_grace": functools.partial(validate.timeout, what="not_found_grace", allow_zero=True),
    "region": settings.check_region,
    "service": lambda value: settings.resolve_service(value).name,
}


def _check_inputs(news: Mapping[str, Any], config: Mapping[str, Any]) -> tuple[dict[str, Any], list[CheckFailure]]:
    inputs = {key: news[key] for key in INPUTS if key in news and news[key] is not None}
    failures: list[CheckFailure] = []
    if "job_id" not in inputs:
        failures.append(CheckFailure("job_id", "job_id is required: the task-center job id to wait for"))
    for key, check in _CHECKS.items():
        if key in inputs and _known(inputs[key]):
            try:
                inputs[key] = check(inputs[key])
            except ConfigError as exc:
                failures.append(CheckFailure(key, str(exc)))
    for flag in ("fail_on_error", "accept_scheduled"):
        if _known(inputs.get(flag)) and not isinstance(inputs.get(flag), bool):
            failures.append(CheckFailure(flag, f"{flag} must be true or false"))
    inputs.setdefault("timeout", DEFAULT_TIMEOUT)
    inputs.setdefault("fail_on_error", True)
    if not failures and all(_known(inputs[key]) for key in SETTING_INPUTS if key in inputs):
        # Settings and credentials resolve without a request: report a missing project, endpoint or credential
        # at preview, not after the other resources of the update have been created.
        try:
            compose.resolve(inputs, config, os.environ)
        except ConfigError as exc:
            # Blamed on the input when the setting came from one; on the resource when from config or environment.
            failures.append(CheckFailure(exc.setting if exc.setting in inputs else "", str(exc)))
    for setting in (budget_module.max_rate, settings.list_api):
        try:
            # What create would refuse, check refuses: a bad gaussdb:maxRate or gaussdb:listApi (or their
            # environment variables) fails at preview.
            setting(config, os.environ)
        except ConfigError as exc:
            failures.append(CheckFailure("", str(exc)))
    # Input values are echoed in messages, and one could be a secret pasted in the wrong place.
    return inputs, [CheckFailure(f.property, _scrub(f.reason, config)) for f in failures]


def _same(key: str, old: Any, new: Any) -> bool:
    if key == "job_id" and isinstance(old, str) and isinstance(new, str):
        return old.lower() == new.lower()  # the API may spell the id in another case than the input
    return bool(old == new)


class GaussDBJobProvider(ResourceProvider):
    """Stateless: everything it needs comes with each call, so it pickles to a reference to this class."""

    # It holds nothing secret (see the module docstring), so its pickle need not be a secret in state.
    serialize_as_secret_always = False

    # Stack config, set by ``configure`` in the plugin process on the instance that ``pulumi.dynamic.__main__``
    # caches per serialized provider. The program pickles the instance before configure ever runs, and
    # ``__getstate__`` drops it anyway, so it can never reach state.
    _config: Mapping[str, Any] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {}

    def configure(self, req: ConfigureRequest) -> None:
        found = {f"gaussdb:{key}": req.config.get(f"gaussdb:{key}") for key in CONFIG_KEYS}
        self._config = {key: value for key, value in found.items() if value is not None}

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        try:
            inputs, failures = _check_inputs(news, self._config)
        except Exception as exc:  # noqa: BLE001 - re-raised as one clean line
            _fail(exc, self._config)
        return CheckResult(inputs, _point_to_many(news, failures))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        # `olds` are the last outputs, which repeat every input (see ``_outputs``).
        changed = [key for key in INPUTS if not _same(key, olds.get(key), news.get(key))]
        replaces = [key for key in REPLACE_ON if key in changed]
        return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        job = self._wait(props)
        return CreateResult(job.id, self._outputs(props, job))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        # Only timeout, fail_on_error and the like changed: the job is the same one, nothing to wait for.
        return UpdateResult({**{k: olds.get(k) for k in OUTPUTS}, **{k: news.get(k) for k in INPUTS}})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        try:
            result = _wait_jobs(props, self._config, [id_], refresh=True)[id_]
        except Exception as exc:  # noqa: BLE001 - re-raised as one clean line
            _fail(exc, self._config, id_)
        if result.verdict is Verdict.NOT_FOUND:
            # Jobs leave the task center after a month; the last outputs are still the truth about that job.
            return ReadResult(id_, props)
        if result.job is None or result.error is not None:
            _fail(result.error or ApiError("no answer"), self._config, id_)
        return ReadResult(id_, self._outputs(props, result.job))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """A job cannot be undone; forgetting it is all delete means."""

    @staticmethod
    def _outputs(props: Mapping[str, Any], job: Job) -> dict[str, Any]:
        return {**{k: props.get(k) for k in INPUTS}, **job.fields()}

    def _wait(self, props: Mapping[str, Any]) -> Job:
        job_id = str(props.get("job_id"))
        try:
            result = _wait_jobs(props, self._config, [job_id])[job_id]
            if result.verdict is Verdict.FAILED and result.job is not None and props.get("fail_on_error") is False:
                return result.job
            return result.unwrap()
        except Exception as exc:  # noqa: BLE001 - re-raised as one clean line
            _fail(exc, self._config, job_id)


def resource_props(
    kind: str,
    args_type: Callable[..., Any],
    args: Any,
    kwargs: Mapping[str, Any],
    inputs: Sequence[str],
    outputs: Sequence[str],
) -> dict[str, Any]:
    """A resource's properties from either its args object or keyword arguments (not both): every input, and
    every output as None until the provider fills it (how Pulumi learns the resource's outputs)."""
    if args is None:
        unknown = set(kwargs) - set(inputs)
        if unknown:
            raise TypeError(f"{kind} got unexpected arguments: {', '.join(sorted(unknown))}")
        args = args_type(**kwargs)
    elif kwargs:
        raise TypeError(f"{kind} takes either args or keyword arguments, not both")
    props: dict[str, Any] = {key: getattr(args, key, None) for key in inputs}
    props.update({key: None for key in outputs if key not in props})
    return props


class GaussDBJob(pulumi.dynamic.Resource, module="gaussdb", name="GaussDBJob"):
    """Waits (on create) for a GaussDB task-center job to complete, and exposes every field of the job.

    ``timeout`` (seconds, default 3600) bounds the wait: Pulumi's ``customTimeouts`` do not reach dynamic
    providers. Credentials never pass through here: the provider reads them from the stack config
    (``gaussdb:accessKey`` ...) or the environment in the plugin process.
    """

    job_id: pulumi.Output[str]
    name: pulumi.Output[str]
    status: pulumi.Output[str]
    created: pulumi.Output[str | None]
    ended: pulumi.Output[str | None]
    process: pulumi.Output[str]
    instance: pulumi.Output[dict[str, Any] | None]
    entities: pulumi.Output[dict[str, Any]]
    fail_reason: pulumi.Output[str | None]

    def __init__(
        self,
        resource_name: str,
        args: GaussDBJobArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **kwargs: Any,
    ) -> None:
        props = resource_props("GaussDBJob", GaussDBJobArgs, args, kwargs, INPUTS, OUTPUTS)
        super().__init__(GaussDBJobProvider(), resource_name, props, opts)


# -- GaussDBJobs: many jobs, waited for side by side ---------------------------------------------------------------

MANY_INPUTS = ("job_ids", *SHARED_INPUTS)
MANY_REPLACE_ON = ("job_ids", *(key for key in REPLACE_ON if key != "job_id"))
MANY_OUTPUTS = ("job_ids", "jobs", "status", "failed")
# Overall status: the first of these that any job has (a Failed job outranks one still Running, and so on).
OVERALL_ORDER = ("Failed", "Running", "Pending", "Completed")
# Job ids one GaussDBJobs takes: its outputs hold every job's fields, and one plugin answer must stay far below
# gRPC's message limit (a choice, unverified beyond issue 20's measurements of large answers).
MAX_IDS_PER_RESOURCE = 256
# The ``jobs`` output of one GaussDBJobs, in bytes as ``caps.wire_size`` counts them. Each job is capped
# (``provider.taskcenter.caps``), yet 256 jobs at their caps could come to about 6 MiB: past this limit the largest
# ``entities`` are replaced by their marker until the jobs fit. 2 MiB keeps a whole answer (with ``failed`` and the
# inputs) under gRPC's default 4 MiB receive limit (``GRPC_DEFAULT_MAX_RECV_MESSAGE_LENGTH`` in grpc's
# ``grpc_types.h``), a hundredth of the 400 MiB the engine accepts (``_MAX_RPC_MESSAGE_SIZE`` in
# ``pulumi/runtime/_grpc_settings.py``; issue 20 saw a 461 MB answer go past it).
JOBS_OUTPUT_LIMIT = 2 * 1024 * 1024


def _point_to_many(news: Mapping[str, Any], failures: list[CheckFailure]) -> list[CheckFailure]:
    """A comma-separated ``job_id`` (what adding read replicas answers) fails with a message naming GaussDBJobs."""
    value = news.get("job_id")
    if not (isinstance(value, str) and "," in value):
        return failures
    message = (
        f"job_id {value!r} holds {len([p for p in value.split(',') if p.strip()])} job ids: GaussDBJob waits for one"
        " job; use GaussDBJobs(job_ids=...) to wait for several (it takes the comma-separated string as it is)"
    )
    return [f for f in failures if f.property != "job_id"] + [CheckFailure("job_id", message)]


def split_job_ids(value: object) -> list[Any]:
    """``job_ids`` as a list: a list as given, a string split on commas (blanks dropped). Ids are not checked."""
    if isinstance(value, str):
        return validate.split_ids(value)
    if isinstance(value, list | tuple):
        return list(value)
    raise ConfigError(
        f"job_ids must be a list of job ids or a comma-separated string, not {type(value).__name__}", setting="job_ids"
    )


def _check_job_ids(value: object) -> tuple[Any, list[CheckFailure]]:
    if not _known(value):
        return value, []
    try:
        ids = split_job_ids(value)
    except ConfigError as exc:
        return value, [CheckFailure("job_ids", str(exc))]
    failures: list[CheckFailure] = []
    if not ids:
        failures.append(CheckFailure("job_ids", "job_ids is empty: give at least one task-center job id"))
    if len(ids) > MAX_IDS_PER_RESOURCE:
        failures.append(
            CheckFailure("job_ids", f"job_ids holds {len(ids)} ids; at most {MAX_IDS_PER_RESOURCE} per resource")
        )
    checked: list[Any] = []
    for index, item in enumerate(ids):
        if item is not None and not _known(item):  # computed by another resource: checked when it is known
            checked.append(item)
            continue
        try:
            checked.append(validate.job_id(item))
        except ConfigError as exc:
            failures.append(CheckFailure("job_ids", f"job_ids[{index}]: {exc}"))
            checked.append(item)
    seen: set[str] = set()
    for item in checked:
        if isinstance(item, str) and _known(item):
            if item in seen:
                failures.append(CheckFailure("job_ids", f"job id {item} is listed twice"))
            seen.add(item)
    return checked, failures


def _within(jobs: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """``jobs`` as they are when they fit in ``limit`` bytes together; else with the largest ``entities`` replaced
    by the marker that says how large they were, until they fit (or no entities are left to replace)."""
    sizes = [caps.wire_size(job) for job in jobs]
    total = sum(sizes)
    if total <= limit:
        return jobs
    kept = list(jobs)
    entity_sizes = [caps.wire_size(job.get("entities")) for job in jobs]
    for index in sorted(range(len(jobs)), key=lambda i: -entity_sizes[i]):
        if total <= limit:
            break
        marker = caps.omitted("entities", entity_sizes[index], limit // max(len(jobs), 1))
        kept[index] = {**jobs[index], "entities": marker}
        total -= entity_sizes[index] - caps.wire_size(marker)
    return kept


def _overall(jobs: list[dict[str, Any]]) -> str:
    statuses = {job.get("status") for job in jobs}
    return next((status for status in OVERALL_ORDER if status in statuses), "Completed")


def _resource_id(ids: list[str]) -> str:
    # Stable for a set of ids whatever their order (a reordering is not a new set), short whatever their number.
    return "jobs-" + hashlib.sha256(",".join(sorted(ids)).encode()).hexdigest()[:20]


class GaussDBJobsProvider(GaussDBJobProvider):
    """Waits for many jobs side by side: one wait engine over every job, in the thread of the one create call, on
    the process's request budget, with the options and progress lines a GaussDBJob's wait has, so one job here
    behaves exactly as a GaussDBJob."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        try:
            # The settings inputs are checked as GaussDBJob checks them; job_ids on its own.
            single = {key: value for key, value in news.items() if key not in ("job_ids", "job_id")}
            inputs, failures = _check_inputs({**single, "job_id": UNKNOWN}, self._config)
            inputs.pop("job_id", None)
            failures = [f for f in failures if f.property != "job_id"]
            if news.get("job_ids") is None:
                failures.insert(0, CheckFailure("job_ids", "job_ids is required: a list of job ids or 'id1,id2'"))
            else:
                inputs["job_ids"], more = _check_job_ids(news["job_ids"])
                failures = more + failures
        except Exception as exc:  # noqa: BLE001 - re-raised as one clean line
            _fail(exc, self._config)
        return CheckResult(inputs, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [key for key in MANY_INPUTS if not self._same_many(key, olds.get(key), news.get(key))]
        replaces = [key for key in MANY_REPLACE_ON if key in changed]
        if "job_ids" in replaces and self._same_set(olds.get("job_ids"), news.get("job_ids")):
            replaces.remove("job_ids")  # the same jobs in another order: update reorders the outputs
        return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=False)

    @staticmethod
    def _same_many(key: str, old: Any, new: Any) -> bool:
        if key == "job_ids" and isinstance(old, list) and isinstance(new, list):
            return [str(x).lower() for x in old] == [str(x).lower() for x in new]
        return _same(key, old, new)

    @staticmethod
    def _same_set(old: Any, new: Any) -> bool:
        if not (isinstance(old, list) and isinstance(new, list) and all(_known(x) for x in new)):
            return False
        return sorted(str(x).lower() for x in old) == sorted(str(x).lower() for x in new)

    def create(self, props: dict[str, Any]) -> CreateResult:
        ids = [str(item) for item in props["job_ids"]]
        jobs = self._wait_all(props, ids)
        return CreateResult(_resource_id(ids), self._many_outputs(props, ids, [job.fields() for job in jobs]))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        # The same set of jobs (a new set replaces): nothing to wait for; the outputs follow the new order.
        ids = [str(item) for item in news["job_ids"]]
        by_id = {str(job.get("job_id", "")).lower(): job for job in olds.get("jobs") or []}
        jobs = [by_id.get(job_id.lower(), {"job_id": job_id}) for job_id in ids]
        outputs = {**{k: news.get(k) for k in MANY_INPUTS}, "job_ids": ids, "jobs": jobs}
        return UpdateResult({**outputs, "status": _overall(jobs), "failed": olds.get("failed") or {}})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Every job read side by side on one wait engine, under the budget, within REFRESH_TIMEOUT. A job the
        task center no longer knows (a month), or one whose reads kept failing transiently, keeps its last outputs:
        one job's trouble does not fail the refresh of the others. Errors no retry can mend (credentials) do."""
        ids = [str(item) for item in props.get("job_ids") or []]
        old = {str(job.get("job_id", "")).lower(): job for job in props.get("jobs") or []}
        try:
            results = _wait_jobs(props, self._config, ids, refresh=True)
        except Exception as exc:  # noqa: BLE001 - re-raised as one clean line
            _fail(exc, self._config, ", ".join(ids))
        jobs: list[dict[str, Any]] = []
        for job_id in ids:
            result = results[job_id]
            if result.job is not None and result.error is None:
                jobs.append(result.job.fields())
            elif isinstance(result.error, ApiError | WaitTimeout) or result.verdict is Verdict.NOT_FOUND:
                jobs.append(old.get(job_id.lower(), {"job_id": job_id}))
            else:
                _fail(result.error or ApiError("no answer"), self._config, job_id)
        return ReadResult(id_, self._many_outputs(props, ids, jobs))

    @staticmethod
    def _many_outputs(props: Mapping[str, Any], ids: list[str], jobs: list[dict[str, Any]]) -> dict[str, Any]:
        """The outputs for ``jobs``, each the job's fields (``Job.fields()``, or the last outputs kept for it)."""
        jobs = _within(jobs, JOBS_OUTPUT_LIMIT)
        failed = {j["job_id"]: j.get("fail_reason") or "" for j in jobs if j.get("status") == "Failed"}
        return {
            **{k: props.get(k) for k in MANY_INPUTS},
            "job_ids": ids,
            "jobs": jobs,
            "status": _overall(jobs),
            "failed": failed,
        }

    def _wait_all(self, props: Mapping[str, Any], ids: list[str]) -> list[Job]:
        """Every job waited for side by side; raises one GaussDBJobError naming every job that failed or could
        not be waited for (a Failed job only when fail_on_error)."""
        try:
            results = _wait_jobs(props, self._config, ids)
        except Exception as exc:  # noqa: BLE001 - re-raised as one clean line
            _fail(exc, self._config, ", ".join(ids))
        outcomes: list[Job | BaseException] = []
        for job_id in ids:
            result = results[job_id]
            if result.job is not None and (result.error is None or result.verdict is Verdict.FAILED):
                outcomes.append(result.job)  # a Failed job is judged below, with fail_on_error
            else:
                outcomes.append(GaussDBJobError(_message(result.error or ApiError("no answer"), job_id)))
        problems = [str(o) for o in outcomes if isinstance(o, BaseException)]
        if props.get("fail_on_error", True) is not False:
            problems += [str(JobFailed(o)) for o in outcomes if isinstance(o, Job) and o.status == "Failed"]
        if problems:
            raise GaussDBJobError(
                _scrub(f"{len(problems)} of {len(ids)} jobs did not complete: " + "; ".join(problems), self._config)
            ) from None
        return [o for o in outcomes if isinstance(o, Job)]


@dataclasses.dataclass
class GaussDBJobsArgs(WaitSettings):
    """Inputs of ``GaussDBJobs``: ``job_ids`` (a list, or a comma-separated string as read-replica calls answer)
    and the settings every wait shares."""

    job_ids: pulumi.Input[str] | pulumi.Input[list[pulumi.Input[str]]]


class GaussDBJobs(pulumi.dynamic.Resource, module="gaussdb", name="GaussDBJobs"):
    """Waits (on create) for every job of ``job_ids`` side by side, and exposes every field of each.

    Outputs: ``job_ids`` (in input order), ``jobs`` (each job's fields, as GaussDBJob's outputs, same order),
    ``status`` (Failed if any job failed, else Completed), ``failed`` (job id -> fail reason). A Failed job fails
    the create naming every failed job and its reason, unless ``fail_on_error=False``. A change of the set of ids
    replaces the resource (a new wait).
    """

    job_ids: pulumi.Output[list[str]]
    jobs: pulumi.Output[list[dict[str, Any]]]
    status: pulumi.Output[str]
    failed: pulumi.Output[dict[str, str]]

    def __init__(
        self,
        resource_name: str,
        args: GaussDBJobsArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **kwargs: Any,
    ) -> None:
        props = resource_props("GaussDBJobs", GaussDBJobsArgs, args, kwargs, MANY_INPUTS, MANY_OUTPUTS)
        super().__init__(GaussDBJobsProvider(), resource_name, props, opts)


# The state contract: Pulumi pickles providers by module path and class name into every stack's state, and a
# provider's errors are shown to users under that path. These names belong to ``provider.resource`` forever.
STATE_MODULE = "provider.resource"
for _frozen in (GaussDBJobProvider, GaussDBJobsProvider, GaussDBJobError):
    _frozen.__module__ = STATE_MODULE

# In the plugin process this module is imported while the first call is served (the provider is unpickled then):
# from here on, creates wait on a pool of their own instead of the plugin's four workers (see plugin_pool).
plugin_pool.install()
