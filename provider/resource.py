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
import os
import random
import sys
import time
from collections.abc import Callable, Mapping
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

from provider import compose, plugin_pool, validate
from provider.budget import process_budget_from
from provider.credentials import CONFIG_KEYS, redact, secret_values
from provider.errors import ConfigError, GaussDBError, JobFailed, JobNotFound, WaitTimeout
from provider.models import Job
from provider.waiter import DEFAULT_POLICY, wait_for_job

DEFAULT_TIMEOUT = 3600.0
INPUTS = ("job_id", "project_id", "region", "endpoint", "api_path", "timeout", "fail_on_error", "not_found_grace")
REPLACE_ON = ("job_id", "project_id", "endpoint")
OUTPUTS = ("job_id", "name", "status", "created", "ended", "process", "instance", "entities", "fail_reason")
SETTING_INPUTS = ("project_id", "region", "endpoint", "api_path")
# An unknown value (preview, an input computed by another resource) reaches the plugin as the wire string
# ``pulumi.runtime.rpc.UNKNOWN`` and leaves ``deserialize_properties(..., keep_unknowns=True)`` as an instance of
# ``pulumi.output.Unknown``: both mean "not known yet".
UNKNOWN = pulumi.runtime.rpc.UNKNOWN
# Progress lines in `pulumi up`: on every status change and every 10 % step, else at most one a minute.
HEARTBEAT_SECONDS = 60.0


class GaussDBJobError(Exception):
    """What `pulumi up` shows when a call fails: one line naming the job and what happened."""


def _scrub(text: str, config: Mapping[str, Any]) -> str:
    return redact(text, secret_values(config, os.environ))


def _fail(exc: BaseException, config: Mapping[str, Any], job_id: str | None = None) -> NoReturn:
    """Re-raise as one clear line without the chained exception: the engine shows the traceback to the user."""
    if isinstance(exc, WaitTimeout):
        # Create failed, so the resource is not in state: the next `pulumi up` waits for the same job again.
        message = f"{exc}; the job goes on in the task center: run `pulumi up` again to wait anew, or raise timeout"
    elif isinstance(exc, GaussDBError):
        message = str(exc)
    else:
        # Not one of ours (a library bug, an unexpected value): say so, still without leaking a secret.
        where = f" while handling job {job_id}" if job_id else ""
        message = f"unexpected {type(exc).__name__}{where}: {exc}"
    raise GaussDBJobError(_scrub(message, config)) from None


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
        self._last: tuple[str, int] | None = None
        self._last_at = 0.0

    def __call__(self, job: Job) -> None:
        decile = int((job.percent or 0) // 10)
        state = (job.status, decile)
        now = self._clock()
        if state != self._last or now - self._last_at >= HEARTBEAT_SECONDS:
            self._last, self._last_at = state, now
            progress = f" {job.process}" if job.process else ""
            self._emit(
                f"GaussDBJob {self._job_id} ({job.name or '?'}): {job.status}{progress} after {now - self._start:.0f} s"
            )


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
    "not_found_grace": functools.partial(validate.timeout, what="not_found_grace"),
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
    if "region" in inputs and _known(inputs["region"]) and not isinstance(inputs["region"], str):
        failures.append(CheckFailure("region", f"invalid region {inputs['region']!r}: expected a name such as eu-de"))
    if _known(inputs.get("fail_on_error")) and not isinstance(inputs.get("fail_on_error"), bool):
        failures.append(CheckFailure("fail_on_error", "fail_on_error must be true or false"))
    inputs.setdefault("timeout", DEFAULT_TIMEOUT)
    inputs.setdefault("fail_on_error", True)
    if not failures and all(_known(inputs[key]) for key in SETTING_INPUTS if key in inputs):
        # Settings and credentials resolve without a request: report a missing project, endpoint or credential
        # at preview, not after the other resources of the update have been created.
        try:
            compose.resolve(inputs, config, os.environ)
        except ConfigError as exc:
            failures.append(CheckFailure(_blame(str(exc), inputs), _scrub(str(exc), config)))
    return inputs, failures


def _blame(message: str, inputs: Mapping[str, Any]) -> str:
    """The input a settings error is about when it came from an input; "" (the resource) when it came from
    stack config or the environment."""
    for key, word in (("project_id", "project id"), ("region", "region"), ("endpoint", "endpoint")):
        if key in inputs and word in message.split(":", 1)[0]:
            return key
    return ""


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
        return CheckResult(inputs, failures)

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
            client = compose.client_for(props, self._config, os.environ)
            try:
                job = client.get_job(id_)
            finally:
                client.close()
        except JobNotFound:
            # Jobs leave the task center after a month; the last outputs are still the truth about that job.
            return ReadResult(id_, props)
        except Exception as exc:  # noqa: BLE001 - re-raised as one clean line
            _fail(exc, self._config, id_)
        return ReadResult(id_, self._outputs(props, job))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """A job cannot be undone; forgetting it is all delete means."""

    @staticmethod
    def _outputs(props: Mapping[str, Any], job: Job) -> dict[str, Any]:
        return {**{k: props.get(k) for k in INPUTS}, **job.fields()}

    def _wait(self, props: Mapping[str, Any]) -> Job:
        job_id = str(props.get("job_id"))
        try:
            client = compose.client_for(props, self._config, os.environ)
            grace = props.get("not_found_grace")
            policy = (
                DEFAULT_POLICY if grace is None else dataclasses.replace(DEFAULT_POLICY, not_found_grace=float(grace))
            )
            try:
                return wait_for_job(
                    lambda: client.get_job(job_id),
                    timeout=float(props.get("timeout") or DEFAULT_TIMEOUT),
                    policy=policy,
                    on_poll=_ProgressLog(job_id),
                    job_id=job_id,
                    rng=random.Random(),
                    cancel=plugin_pool.shutdown_event(),
                    budget=process_budget_from(self._config),
                )
            except JobFailed as exc:
                if props.get("fail_on_error", True) is False:
                    return exc.job
                raise
            finally:
                client.close()
        except Exception as exc:  # noqa: BLE001 - re-raised as one clean line
            _fail(exc, self._config, job_id)


class GaussDBJobArgs:
    """Inputs of ``GaussDBJob``. Only ``job_id`` is required; settings default to stack config, then env."""

    def __init__(
        self,
        job_id: pulumi.Input[str],
        project_id: pulumi.Input[str] | None = None,
        region: pulumi.Input[str] | None = None,
        endpoint: pulumi.Input[str] | None = None,
        api_path: pulumi.Input[str] | None = None,
        timeout: pulumi.Input[float] | None = None,
        fail_on_error: pulumi.Input[bool] | None = None,
        not_found_grace: pulumi.Input[float] | None = None,
    ) -> None:
        self.job_id = job_id
        self.project_id = project_id
        self.region = region
        self.endpoint = endpoint
        self.api_path = api_path
        self.timeout = timeout
        self.fail_on_error = fail_on_error
        self.not_found_grace = not_found_grace


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
        if args is None:
            unknown = set(kwargs) - set(INPUTS)
            if unknown:
                raise TypeError(f"GaussDBJob got unexpected arguments: {', '.join(sorted(unknown))}")
            if "job_id" not in kwargs:
                raise TypeError("GaussDBJob needs job_id")
            args = GaussDBJobArgs(**kwargs)
        elif kwargs:
            raise TypeError("GaussDBJob takes either args or keyword arguments, not both")
        props: dict[str, Any] = {key: getattr(args, key) for key in INPUTS}
        props.update({key: None for key in OUTPUTS if key not in props})
        super().__init__(GaussDBJobProvider(), resource_name, props, opts)


# In the plugin process this module is imported while the first call is served (the provider is unpickled then):
# from here on, creates wait on a pool of their own instead of the plugin's four workers (see plugin_pool).
plugin_pool.install()
