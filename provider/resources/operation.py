"""``GaussDBOperation``: start a GaussDB (for MySQL) / TaurusDB operation from a stack and wait for its job, once.

Create starts the operation (``provider.taskcenter.operations``: sent once, a busy instance waited out) and waits
for its job as ``GaussDBJob`` does. A change of ``instance_id``, ``operation``, ``parameters``, ``triggers`` or
``adopt_job_id`` starts it again (an update: the resource keeps its id); any other change starts nothing. Delete
only forgets. Refresh re-reads the job.

Exactly once across ``pulumi up``s: once the operation is accepted, every failure of the call (the job Failed, a
timeout, Ctrl-C, an unexpected error) leaves the job id in the state (``partial_state``: the engine records the
resource and calls Update on the next ``up``), and that Update waits for the same job instead of starting the
operation again. A request whose answer was lost leaves the time it was sent: the next ``up`` looks for its job
again (where the task center has a list call) or says how to adopt it (``adopt_job_id``). An operation accepted
as an order (a yearly/monthly instance: no job) fails once with the order id, kept in the state; the next ``up``
sends nothing and completes. Nothing starts an operation where partial state is unavailable (the plugin is not
the one this was written for).

``timeout`` is one deadline for the whole create (or update): waiting out a busy instance and then waiting for the
job share it.
"""

from __future__ import annotations

import dataclasses
import os
import random
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult

from provider.core import validate
from provider.core.errors import ConfigError, JobNotFound
from provider.resources import journal, partial_state, plugin_pool
from provider.resources.dynamic import (
    SHARED_INPUTS,
    UNKNOWN,
    GaussDBJobError,
    GaussDBJobProvider,
    WaitSettings,
    _check_inputs,
    _fail,
    _known,
    _log_info,
    _same,
    _scrub,
    resource_props,
)
from provider.taskcenter import compose
from provider.taskcenter.models import OUTPUT_FIELDS, Job
from provider.taskcenter.operations import (
    ANSWER_FIELDS,
    OPERATIONS,
    OperationOrdered,
    OperationUncertain,
    Started,
    check_instance_id,
    check_parameters,
    lookup,
    operation_client_for,
)
from provider.waiting import budget as budget_module
from provider.waiting.policy import DEFAULT_POLICY, DEFAULT_TIMEOUT, next_delay

# What the operation is: a change of any of these starts it again.
OPERATION_INPUTS = ("instance_id", "operation", "parameters", "triggers", "adopt_job_id")
INPUTS = (*OPERATION_INPUTS, *SHARED_INPUTS)
# What the operation answered besides its job (instance_id is an input already), whether its job was adopted
# (found after a lost answer, or given), and when the request was sent (UTC, ISO 8601).
ANSWER_OUTPUTS = (*(key for key in ANSWER_FIELDS if key != "instance_id"), "adopted", "requested_at")
OUTPUTS = (*OUTPUT_FIELDS, *ANSWER_OUTPUTS)
DONE = "Completed"
# Seconds the job is still waited for when starting the operation used the whole timeout: time for one read of the
# job, so that the outputs show it (a choice, not a measured figure).
LAST_LOOK = 1.0
# The provider's clock for the create's deadline (a module attribute, so a test can stand in for it).
_now = time.monotonic


def _deadline(props: Mapping[str, Any]) -> float:
    """The one deadline of a create or update: ``timeout`` seconds from now."""
    return _now() + float(props.get("timeout") or DEFAULT_TIMEOUT)


def _left(deadline: float, floor: float = 0.0) -> float:
    return max(deadline - _now(), floor)


def _done(outputs: Mapping[str, Any]) -> bool:
    status = outputs.get("status")
    return status == DONE or (status == "Pending" and outputs.get("accept_scheduled") is True)


class GaussDBOperationProvider(GaussDBJobProvider):
    """Stateless like ``GaussDBJobProvider`` (it pickles to a reference to this class)."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        try:
            settings = {key: value for key, value in news.items() if key in SHARED_INPUTS}
            inputs, failures = _check_inputs({**settings, "job_id": UNKNOWN}, self._config)
            inputs.pop("job_id", None)
            failures = [f for f in failures if f.property != "job_id"]
            inputs.update({key: news[key] for key in OPERATION_INPUTS if news.get(key) is not None})
            failures = self._check_operation(inputs) + failures
        except Exception as exc:  # noqa: BLE001 - re-raised as one clean line
            _fail(exc, self._config)
        return CheckResult(inputs, [CheckFailure(f.property, _scrub(f.reason, self._config)) for f in failures])

    @staticmethod
    def _check_operation(inputs: dict[str, Any]) -> list[CheckFailure]:
        failures: list[CheckFailure] = []

        def checked(key: str, check: Any) -> None:
            if key in inputs and _known(inputs[key]):
                try:
                    inputs[key] = check(inputs[key])
                except ConfigError as exc:
                    failures.append(CheckFailure(key, str(exc)))

        for key, what in (("instance_id", "the DB instance id"), ("operation", ", ".join(OPERATIONS))):
            if key not in inputs:
                failures.append(CheckFailure(key, f"{key} is required: {what}"))
        checked("instance_id", check_instance_id)
        checked("operation", lambda value: lookup(value).name)
        checked("adopt_job_id", validate.job_id)
        if _known(inputs.get("triggers")) and not isinstance(inputs.get("triggers", []), list):
            failures.append(CheckFailure("triggers", "triggers must be a list (any change starts the operation)"))
        if _known(inputs.get("service")) and inputs.get("service") not in (None, "gaussdb-mysql"):
            failures.append(CheckFailure("service", "operations are GaussDB (for MySQL) / TaurusDB calls"))
        parameters = inputs.get("parameters", {})
        if _known(parameters) and not isinstance(parameters, dict):
            failures.append(CheckFailure("parameters", "parameters must be an object"))
        elif not failures and _known(inputs.get("operation")) and _deeply_known(parameters):
            try:
                model = check_parameters(inputs["operation"], parameters)
                inputs["parameters"] = model.model_dump(exclude_none=True)
            except ConfigError as exc:
                failures.append(CheckFailure("parameters", str(exc)))
        return failures

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [key for key in INPUTS if not _same(key, olds.get(key), news.get(key))]
        # Never a replacement: a replacement's create would start the operation again for a settings change.
        return DiffResult(changes=bool(changed), replaces=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        deadline = _deadline(props)
        started, requested_at = self._begin(props, deadline)
        return CreateResult(started.job_id, self._finish(started.job_id, props, started, requested_at, deadline))

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        deadline = _deadline(news)
        if any(not _same(key, olds.get(key), news.get(key)) for key in OPERATION_INPUTS):
            # The old operation's record (if it never completed) must not be resumed should its inputs come back.
            journal.remove(journal.key(olds))
            started, sent = self._begin(news, deadline)
            return UpdateResult(self._finish(id_, news, started, sent, deadline))
        kept = {**{key: olds.get(key) for key in OUTPUTS}, **{key: news.get(key) for key in INPUTS}}
        if _done(olds):
            return UpdateResult(kept)  # timeout, settings: nothing to start, nothing to wait for
        if not olds.get("job_id") and olds.get("order_id"):
            # The last up was told the operation was accepted as an order: nothing to send, nothing to wait for.
            journal.remove(journal.key(news))
            _log_info(
                f"GaussDBOperation: {news.get('operation')} of instance {news.get('instance_id')} was accepted as "
                f"order {olds.get('order_id')} by an earlier run: nothing sent, nothing to wait for"
            )
            return UpdateResult(kept)
        # The last create or update failed after the operation was accepted (partial state, or the job Failed):
        # wait for that job, never start a new one.
        requested_at = olds.get("requested_at")
        job_id = olds.get("job_id")
        if job_id:
            answer = {key: olds.get(key) for key in ANSWER_FIELDS if olds.get(key) is not None}
            operation, instance_id = str(news["operation"]), str(news["instance_id"])
            started = Started(operation, instance_id, str(job_id), answer, olds.get("adopted") is True)
        else:
            started = self._find_lost(id_, news, requested_at)
        return UpdateResult(self._finish(id_, news, started, requested_at, deadline))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        job_id = props.get("job_id")
        if not job_id:
            return ReadResult(id_, props)
        try:
            client = compose.client_for(props, self._config, os.environ)
            try:
                job = client.get_job(str(job_id))
            finally:
                client.close()
        except JobNotFound:
            return ReadResult(id_, props)
        except Exception as exc:  # noqa: BLE001 - re-raised as one clean line
            _fail(exc, self._config, str(job_id))
        return ReadResult(id_, {**props, **job.fields()})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """An operation cannot be undone; forgetting it (and its journal entry) is all delete means."""
        journal.remove(journal.key(props))

    # -- starting and waiting ---------------------------------------------------------------------------

    def _begin(self, props: Mapping[str, Any], deadline: float) -> tuple[Started, str]:
        """The operation started (or the job to adopt, or the job an earlier run started and never reported);
        raises a clean error when nothing started, and ``ResourceInitFailed`` when it may have (the time it was
        sent goes into the state) or was accepted as an order (its id goes into the state). A busy instance is
        waited out until ``deadline``."""
        operation, instance_id = str(props.get("operation")), str(props.get("instance_id"))
        adopt = props.get("adopt_job_id")
        if adopt:
            return Started(operation, instance_id, str(adopt), {}, adopted=True), datetime.now(UTC).isoformat()
        if partial_state.in_plugin() and not partial_state.reporting():
            raise GaussDBJobError(
                f"{operation} of instance {instance_id} not started: this plugin cannot keep the job id in the "
                "state if the wait fails (partial state unavailable), so the operation could run twice"
            ) from None
        name = journal.key(props)
        earlier = journal.read(name)
        if earlier is not None:
            # An earlier run sent this very operation and was stopped before the engine heard of it.
            order = earlier.answer.get("order_id")
            if not earlier.job_id and order:
                raise self._ordered(props, str(order), earlier.answer, earlier.requested_at, earlier=True)
            if earlier.job_id:
                _log_info(
                    f"GaussDBOperation: {operation} of instance {instance_id} was started by an earlier run "
                    f"(job {earlier.job_id}): waiting for that job instead of starting it again"
                )
                return Started(operation, instance_id, earlier.job_id, earlier.answer), earlier.requested_at
            return self._find_lost("", props, earlier.requested_at, name), earlier.requested_at
        requested_at = datetime.now(UTC).isoformat()
        try:
            journal.write(name, journal.Entry(requested_at))
        except OSError as exc:
            # Refused rather than degraded: without the record, a run stopped mid-wait would start it again.
            raise GaussDBJobError(
                _scrub(
                    f"{operation} of instance {instance_id} not started: cannot record it before sending it "
                    f"({journal.why(exc)}); set {journal.DIR_ENV} to a writable directory",
                    self._config,
                )
            ) from None
        try:
            client = operation_client_for(
                props,
                self._config,
                os.environ,
                pacer=budget_module.process_budget_from(self._config),
                delay=_busy_delay(),
            )
            try:
                started = client.start(
                    operation,
                    instance_id,
                    props.get("parameters") or {},
                    timeout=_left(deadline),
                    cancel=plugin_pool.shutdown_event(),
                )
            finally:
                client.close()
        except OperationOrdered as exc:
            self._record(name, journal.Entry(requested_at, None, dict(exc.answer)))
            raise self._ordered(props, exc.order_id, exc.answer, requested_at, message=str(exc)) from None
        except OperationUncertain as exc:
            sent = (exc.sent_at or datetime.now(UTC)).isoformat()
            self._record(name, journal.Entry(sent))
            outputs = self._op_outputs(props, None, None, sent)
            raise partial_state.ResourceInitFailed(
                _scrub(
                    f"{exc}; the next `pulumi up` looks for its job again and never sends the operation again",
                    self._config,
                ),
                f"unknown-job-{uuid.uuid4().hex[:12]}",
                outputs,
            ) from None
        except Exception as exc:  # noqa: BLE001 - nothing started: a plain error, the next up starts it
            journal.remove(name)
            _fail(exc, self._config)
        self._record(name, journal.Entry(requested_at, started.job_id, dict(started.answer)))
        return started, requested_at

    def _ordered(
        self,
        props: Mapping[str, Any],
        order_id: str,
        answer: Mapping[str, Any],
        requested_at: str,
        *,
        message: str | None = None,
        earlier: bool = False,
    ) -> partial_state.ResourceInitFailed:
        """The failure of an operation accepted as an order: the order id (and the rest of the answer) goes into
        the state, so the next ``up`` sends nothing."""
        operation, instance_id = props.get("operation"), props.get("instance_id")
        if message is None:
            message = (
                f"{operation} of instance {instance_id} was accepted as order {order_id} by an earlier run (a "
                "yearly/monthly instance: no job to wait for); it is not sent again; follow the order in the "
                "console's Billing Center"
            )
        started = Started(str(operation), str(instance_id), "", dict(answer))
        outputs = self._op_outputs(props, started, None, requested_at)
        outputs["job_id"] = None
        return partial_state.ResourceInitFailed(
            _scrub(
                f"{message}; the next `pulumi up` sends nothing and completes this resource (change triggers to "
                "run the operation again)",
                self._config,
            ),
            f"order-{order_id}",
            outputs,
        )

    @staticmethod
    def _record(name: str, entry: journal.Entry) -> None:
        """Update the journal after the request was sent: a failure here must not lose the job id, which the state
        keeps anyway (partial state); only a plugin stopped mid-wait then misses the record (one line says so)."""
        try:
            journal.write(name, entry)
        except OSError as exc:
            _log_info(
                f"GaussDBOperation: the journal could not be updated ({journal.why(exc)}); the state keeps the job"
            )

    def _find_lost(self, id_: str, props: Mapping[str, Any], requested_at: Any, name: str | None = None) -> Started:
        """The job a request sent at ``requested_at`` started, found in the task center's list, or
        ``ResourceInitFailed`` (the state keeps the time; nothing is sent again)."""
        operation, instance_id = str(props.get("operation")), str(props.get("instance_id"))
        id_ = id_ or f"unknown-job-{uuid.uuid4().hex[:12]}"
        try:
            sent = datetime.fromisoformat(str(requested_at))
        except ValueError:
            sent = datetime.now(UTC)
        try:
            client = operation_client_for(
                props, self._config, os.environ, pacer=budget_module.process_budget_from(self._config)
            )
            try:
                found = client.adopt(operation, instance_id, sent)
            finally:
                client.close()
        except OperationUncertain as exc:
            raise partial_state.ResourceInitFailed(
                _scrub(f"{exc}; set adopt_job_id to the job's id (or change triggers to start anew)", self._config),
                id_,
                self._op_outputs(props, None, None, str(requested_at)),
            ) from None
        except Exception as exc:  # noqa: BLE001
            raise partial_state.ResourceInitFailed(
                _scrub(f"looking for the job of the lost {operation} request failed: {exc}", self._config),
                id_,
                self._op_outputs(props, None, None, str(requested_at)),
            ) from None
        self._record(name or journal.key(props), journal.Entry(str(requested_at), found.job_id))
        return found

    def _finish(
        self, id_: str, props: Mapping[str, Any], started: Started, requested_at: Any, deadline: float
    ) -> dict[str, Any]:
        """Wait for the started job until ``deadline`` (what starting it left of the timeout); any failure leaves the
        job id in the state (``ResourceInitFailed``)."""
        job: Job | None = None
        try:
            timeout = _left(deadline, LAST_LOOK)
            job = self._wait({**props, "job_id": started.job_id, "fail_on_error": False, "timeout": timeout})
            outputs = self._op_outputs(props, started, job, requested_at)
            if job.status == "Failed" and props.get("fail_on_error", True) is not False:
                reason = job.fail_reason or "no fail_reason given"
                raise GaussDBJobError(
                    f"{started.operation} of instance {started.instance_id}: job {job.id} ({job.name or 'unnamed'}) "
                    f"failed: {reason}; it is not started again by itself: change triggers to start it anew"
                )
            journal.remove(journal.key(props))
            return outputs
        except Exception as exc:  # noqa: BLE001 - whatever happened, the job id goes into the state
            message = str(exc)
            if job is None:
                message += "; the job id is kept in the state: the next `pulumi up` waits for the same job"
            raise partial_state.ResourceInitFailed(
                _scrub(message, self._config), id_, self._op_outputs(props, started, job, requested_at)
            ) from None

    @staticmethod
    def _op_outputs(
        props: Mapping[str, Any], started: Started | None, job: Job | None, requested_at: Any
    ) -> dict[str, Any]:
        outputs: dict[str, Any] = {key: props.get(key) for key in INPUTS}
        outputs.update(dict.fromkeys(OUTPUTS))
        if started is not None:
            outputs.update({key: started.answer.get(key) for key in ANSWER_FIELDS if key != "instance_id"})
            outputs.update(job_id=started.job_id, adopted=started.adopted)
        if job is not None:
            outputs.update(job.fields())
        outputs["requested_at"] = requested_at
        return outputs


def _busy_delay() -> Any:
    rng = random.Random()
    return lambda elapsed: next_delay(DEFAULT_POLICY, elapsed, rng=rng)


def _deeply_known(value: Any) -> bool:
    if isinstance(value, dict):
        return all(_deeply_known(v) for v in value.values())
    if isinstance(value, list):
        return all(_deeply_known(v) for v in value)
    return value is None or _known(value)


@dataclasses.dataclass
class GaussDBOperationArgs(WaitSettings):
    """Inputs of ``GaussDBOperation``: ``instance_id`` and ``operation`` are required."""

    instance_id: pulumi.Input[str]
    operation: pulumi.Input[str]
    # The operation's parameters (docs/operations.md): {"spec_code": ...}, {"priorities": [1, 1]}, ...
    parameters: pulumi.Input[Mapping[str, Any]] | None = None
    # Any change of this list starts the operation again (a release number, a config hash).
    triggers: pulumi.Input[list[Any]] | None = None
    # Wait for this job instead of starting the operation (after a lost answer: the job it started).
    adopt_job_id: pulumi.Input[str] | None = None


class GaussDBOperation(pulumi.dynamic.Resource, module="gaussdb", name="GaussDBOperation"):
    """Starts a GaussDB (for MySQL) operation once (create, or a change of what it is) and waits for its job.

    Outputs: the job's fields as for ``GaussDBJob`` plus what the operation answered (``node_names``,
    ``backup``, ``restart_required``, ``order_id``), ``adopted`` and ``requested_at``.
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
    node_names: pulumi.Output[list[str] | None]
    backup: pulumi.Output[dict[str, Any] | None]
    restart_required: pulumi.Output[bool | None]
    order_id: pulumi.Output[str | None]
    adopted: pulumi.Output[bool | None]
    requested_at: pulumi.Output[str | None]

    def __init__(
        self,
        resource_name: str,
        args: GaussDBOperationArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        **kwargs: Any,
    ) -> None:
        props = resource_props("GaussDBOperation", GaussDBOperationArgs, args, kwargs, INPUTS, OUTPUTS)
        super().__init__(GaussDBOperationProvider(), resource_name, props, opts)


# The state contract (see provider/resources/dynamic.py): pickled by reference under provider.resource.
GaussDBOperationProvider.__module__ = "provider.resource"

# In the plugin: creates and updates that fail after an operation started leave their job id in the state.
partial_state.install()
