"""``GaussDBJob``: a Pulumi dynamic resource whose create blocks until a task-center job is done.

How Pulumi runs it (see the README): the program pickles ``GaussDBJobProvider()`` by reference (this module is
importable) into the ``__provider`` input; the engine's dynamic-provider plugin unpickles it, calls
``configure`` with the stack config, then check/diff/create/read/update/delete. The provider object holds
nothing, so what lands in state is a few dozen bytes naming this class. Credentials are read from the stack
config (kept in this module of the plugin process, never on the object) or the environment when a call needs
them.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Mapping
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

from provider import auth, settings, validate
from provider.client import client_from
from provider.errors import ConfigError, GaussDBError, JobFailed, JobNotFound, redact
from provider.models import Job
from provider.waiter import DEFAULT_POLICY, Policy, wait_for_job

DEFAULT_TIMEOUT = 3600.0
INPUTS = ("job_id", "project_id", "region", "endpoint", "api_path", "timeout", "fail_on_error", "not_found_grace")
REPLACE_ON = ("job_id", "project_id", "endpoint")
OUTPUTS = ("job_id", "name", "status", "created", "ended", "process", "instance", "entities", "fail_reason")
UNKNOWN = pulumi.runtime.rpc.UNKNOWN
# Progress lines in `pulumi up`: on every status change and every 10 % step, else at most one a minute.
HEARTBEAT_SECONDS = 60.0

# Stack configuration of the plugin process, set by ``configure``; a module global, so never pickled.
_STACK_CONFIG: dict[str, Any] = {}
_STACK_CONFIG_LOCK = threading.Lock()


def _stack_config() -> dict[str, Any]:
    with _STACK_CONFIG_LOCK:
        return dict(_STACK_CONFIG)


def _fail(exc: GaussDBError) -> NoReturn:
    """Re-raise with a bare traceback: the engine shows it to the user, so the message is what counts."""
    message = redact(str(exc), auth.secret_values(_stack_config(), os.environ))
    raise GaussDBJobError(message) from None


class GaussDBJobError(Exception):
    """What `pulumi up` shows when a wait fails: one line naming the job and what happened."""


class _ProgressLog:
    def __init__(self, job_id: str, clock: Any = time.monotonic) -> None:
        self._job_id = job_id
        self._clock = clock
        self._last: tuple[str, int] | None = None
        self._last_at = 0.0

    def __call__(self, job: Job) -> None:
        decile = int((job.percent or 0) // 10)
        state = (job.status, decile)
        now = self._clock()
        if state != self._last or now - self._last_at >= HEARTBEAT_SECONDS:
            self._last, self._last_at = state, now
            progress = f" {job.process}" if job.process else ""
            # Without an engine connection in the plugin, pulumi.log writes "info: ..." to stderr, which the
            # engine relays into the `pulumi up` output.
            pulumi.log.info(f"GaussDBJob {self._job_id} ({job.name or '?'}): {job.status}{progress}")
            sys.stderr.flush()


def _known(value: Any) -> bool:
    return value is not None and value != UNKNOWN


def _check_inputs(news: Mapping[str, Any]) -> tuple[dict[str, Any], list[CheckFailure]]:
    inputs = {key: news[key] for key in INPUTS if key in news and news[key] is not None}
    failures: list[CheckFailure] = []
    checks = {
        "job_id": validate.job_id,
        "project_id": validate.project_id,
        "endpoint": validate.endpoint,
        "api_path": validate.api_path,
        "timeout": validate.timeout,
        "not_found_grace": validate.timeout,
    }
    if "job_id" not in inputs:
        failures.append(CheckFailure("job_id", "job_id is required: the task-center job id to wait for"))
    for key, check in checks.items():
        if key in inputs and _known(inputs[key]):
            try:
                inputs[key] = check(inputs[key])
            except ConfigError as exc:
                failures.append(CheckFailure(key, str(exc)))
    if _known(inputs.get("fail_on_error")) and not isinstance(inputs.get("fail_on_error"), bool):
        failures.append(CheckFailure("fail_on_error", "fail_on_error must be true or false"))
    inputs.setdefault("timeout", DEFAULT_TIMEOUT)
    inputs.setdefault("fail_on_error", True)
    if not failures and all(_known(inputs.get(k)) for k in ("project_id", "region", "endpoint", "api_path")):
        # Settings can be resolved now: report a missing project or endpoint at preview, not mid-`up`.
        try:
            settings.resolve(inputs, _stack_config(), os.environ)
        except ConfigError as exc:
            failures.append(CheckFailure("project_id" if "project" in str(exc) else "endpoint", str(exc)))
    return inputs, failures


class GaussDBJobProvider(ResourceProvider):
    """Stateless: everything it needs comes with each call, so it pickles to a reference to this class."""

    serialize_as_secret_always = False

    def configure(self, req: ConfigureRequest) -> None:
        raw = getattr(req.config, "_props", {}) or {}
        with _STACK_CONFIG_LOCK:
            _STACK_CONFIG.clear()
            _STACK_CONFIG.update({k: v for k, v in raw.items() if isinstance(k, str) and k.startswith("gaussdb:")})

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs, failures = _check_inputs(news)
        return CheckResult(inputs, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [key for key in INPUTS if olds.get(key) != news.get(key)]
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
            job = client_from(props, _stack_config(), os.environ).get_job(id_)
        except JobNotFound:
            # Jobs leave the task center after a month; the last outputs are still the truth about that job.
            return ReadResult(id_, props)
        except GaussDBError as exc:
            _fail(exc)
        return ReadResult(id_, self._outputs(props, job))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """A job cannot be undone; forgetting it is all delete means."""

    @staticmethod
    def _outputs(props: Mapping[str, Any], job: Job) -> dict[str, Any]:
        return {**{k: props.get(k) for k in INPUTS}, **job.fields()}

    def _wait(self, props: Mapping[str, Any]) -> Job:
        job_id = str(props.get("job_id"))
        try:
            client = client_from(props, _stack_config(), os.environ)
            grace = props.get("not_found_grace")
            policy = (
                DEFAULT_POLICY
                if grace is None
                else Policy(**{**DEFAULT_POLICY.__dict__, "not_found_grace": float(grace)})
            )
            try:
                return wait_for_job(
                    lambda: client.get_job(job_id),
                    timeout=float(props.get("timeout") or DEFAULT_TIMEOUT),
                    policy=policy,
                    on_poll=_ProgressLog(job_id),
                    job_id=job_id,
                )
            except JobFailed as exc:
                if props.get("fail_on_error", True) is False:
                    return exc.job
                raise
            finally:
                client.close()
        except GaussDBError as exc:
            _fail(exc)


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
    """Waits (on create) for a GaussDB task-center job to complete, and exposes every field of the job."""

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
        props: dict[str, Any] = {key: getattr(args, key) for key in INPUTS}
        props.update({key: None for key in OUTPUTS if key not in props})
        super().__init__(GaussDBJobProvider(), resource_name, props, opts)
