"""GaussDB (for MySQL) / TaurusDB instances and the operations that change them, each answered with a job.

Paths, request checks, answer shapes and status codes are those of the API reference (gathered in the project's
``reference/OPERATIONS.md``; error codes from the OTC error appendix). An accepted operation creates a task-center
job bound to the instance (``JobStore``) and changes the instance when that job completes. As with jobs, nothing
ticks in the background: an instance is settled (finished operations applied) whenever it is looked at.

While an operation runs, another is refused with 409 ``DBS.200019`` (a backup in progress: ``DBS.201205``), as the
cloud does. Job names are those of Huawei Cloud's ListImmediateJobs page (its ``job_name`` values) and, for a
restart, OTC's task example (``RestartGaussDBInstance``); a backup's and a parameter change's are the emulator's
choice (no page lists them: unverified).

A yearly/monthly instance (``"charge_mode": "prePaid"`` at creation; Huawei Cloud's billing-mode value) answers a
resize or an enlarge with an ``order_id`` and no job (OPERATIONS.md), as the cloud does: the emulator applies the
change at once (the order paid), with no job to read.
"""

from __future__ import annotations

import copy
import math
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gaussdb_emulator.jobs import TIME_FORMAT, Job, JobError, JobStore

DEFAULT_FLAVOR = "gaussdb.mysql.xlarge.x86.4"
DEFAULT_PORT = 3306
DEFAULT_OP_DURATION = 5.0
MAX_NODES = 16  # one master and up to 15 read replicas (TaurusDB product limits; unverified)
# The port range and reserved ports of PUT .../port (OPERATIONS.md, "change port").
RESERVED_PORTS = frozenset({5342, 5343, 5344, 5345, 12017, 20000, 20201, 20202, 33062})
# Parameters whose change takes effect only after a restart (the emulator's choice: a static MySQL parameter or two).
STATIC_PARAMETERS = frozenset({"innodb_buffer_pool_size", "lower_case_table_names", "innodb_log_file_size"})
# Instance names: 4-64 characters, a letter first, then letters, digits, hyphens, underscores (API reference).
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{3,63}$")

# Codes and messages from the OTC error appendix.
PARAMETER_ERROR = "DBS.200001"
INSTANCE_NOT_FOUND = ("DBS.200002", "The DB instance does not exist.")
IN_PROGRESS = ("DBS.200019", "Another operation is being performed on the DB instance or the DB instance is faulty.")
BACKUP_IN_PROGRESS = ("DBS.201205", "Backup is in progress, please wait.")
NOT_ALLOWED = ("DBS.200086", "This operation is not allowed by the DB instance status.")

_CONTROL_FIELDS = frozenset(
    {"id", "name", "flavor", "nodes", "port", "project_id", "op_duration", "parameters", "charge_mode"}
)
# Billing modes (Huawei Cloud's charge_mode values): pay-per-use, and yearly/monthly.
CHARGE_MODES = ("postPaid", "prePaid")
# Operations a yearly/monthly instance answers with an order instead of a job (OPERATIONS.md).
ORDERED = frozenset({"resize-flavor", "add-read-replicas"})

OPERATION_PATH = re.compile(
    r"^/v3/(?P<project>[^/]+)/(?:instances/(?P<instance>[^/]+)/(?P<rest>restart|action|nodes/enlarge|nodes/[^/]+|name"
    r"|port|configurations)|(?P<backup>backups/create))$"
)


class OperationRefused(Exception):
    """An operation request the API refuses: the HTTP status and the error body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status = status
        self.body = {"error_code": code, "error_msg": message}
        super().__init__(message)


def _bad(message: str) -> OperationRefused:
    return OperationRefused(400, PARAMETER_ERROR, f"Parameter error: {message}")


@dataclass
class Node:
    id: str
    name: str
    type: str  # "master" | "slave"
    priority: int = 1

    def view(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "type": self.type, "priority": self.priority}


@dataclass
class _Running:
    job: Job
    status: str  # what the instance reports while the job runs (REBOOTING, ...)
    apply: Callable[[Instance], None]
    backup: bool = False


@dataclass
class Instance:
    id: str
    name: str
    project_id: str
    flavor: str
    port: int
    nodes: list[Node]
    parameters: dict[str, str]
    op_duration: float
    backups: list[dict[str, Any]] = field(default_factory=list)
    operations: int = 0
    running: _Running | None = None
    node_serial: int = 0
    charge_mode: str = "postPaid"


@dataclass(frozen=True)
class Accepted:
    """An operation the API accepted: the status and body of its answer and the job it started (None: an order)."""

    status: int
    body: dict[str, Any]
    job_id: str | None


def _number(payload: Mapping[str, object], key: str, default: float) -> float:
    value = payload.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise JobError(f"{key} must be a finite number >= 0")
    return float(value)


class InstanceStore:
    """Thread-safe registry of instances; operations go through ``operate``."""

    def __init__(
        self,
        jobs: JobStore,
        default_project_id: str,
        clock: Callable[[], float],
        wall_clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._jobs = jobs
        self._wall_clock = wall_clock or (lambda: datetime.now(UTC))
        self._default_project_id = default_project_id
        self._clock = clock
        self._lock = threading.Lock()
        self._instances: dict[str, Instance] = {}
        # Scripted: the next accepted operation's job fails with this reason; its answer is dropped.
        self._fail_next: str | None = None
        self._drop_next = False

    # -- control ------------------------------------------------------------------------------------------

    def create(self, payload: Mapping[str, object]) -> dict[str, Any]:
        """Validate ``POST /_emulator/instances`` and add the instance; its view. Raises JobError."""
        unknown = sorted(set(payload) - _CONTROL_FIELDS)
        if unknown:
            raise JobError(f"unknown field(s): {', '.join(unknown)}")
        name = payload.get("name", "emulator-gaussdb")
        flavor = payload.get("flavor", DEFAULT_FLAVOR)
        project = payload.get("project_id", self._default_project_id)
        instance_id = payload.get("id", uuid.uuid4().hex + "in07")
        for key, value in (("name", name), ("flavor", flavor), ("project_id", project), ("id", instance_id)):
            if not isinstance(value, str) or not value.strip():
                raise JobError(f"{key} must be a non-empty string")
        port = payload.get("port", DEFAULT_PORT)
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise JobError("port must be an integer 1-65535")
        count = payload.get("nodes", 2)
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_NODES:
            raise JobError(f"nodes must be an integer 1-{MAX_NODES} (the master and its read replicas)")
        parameters = payload.get("parameters", {})
        if not isinstance(parameters, dict) or not all(isinstance(v, str) for v in parameters.values()):
            raise JobError("parameters must be an object of strings")
        charge_mode = payload.get("charge_mode", CHARGE_MODES[0])
        if charge_mode not in CHARGE_MODES:
            raise JobError(f"charge_mode must be one of {', '.join(CHARGE_MODES)}")
        assert isinstance(name, str) and isinstance(flavor, str) and isinstance(project, str)
        assert isinstance(instance_id, str) and isinstance(charge_mode, str)
        instance = Instance(
            id=instance_id,
            name=name,
            project_id=project,
            flavor=flavor,
            port=port,
            nodes=[],
            parameters=dict(parameters),
            op_duration=_number(payload, "op_duration", DEFAULT_OP_DURATION),
            charge_mode=charge_mode,
        )
        for index in range(count):
            self._add_node(instance, "master" if index == 0 else "slave")
        with self._lock:
            if instance.id in self._instances:
                raise JobError(f"instance {instance.id} already exists")
            self._instances[instance.id] = instance
            return self._view(instance)

    def view(self, instance_id: str) -> dict[str, Any] | None:
        with self._lock:
            instance = self._instances.get(instance_id)
            return None if instance is None else self._view(instance)

    def fail_next(self, reason: str) -> None:
        with self._lock:
            self._fail_next = reason

    def drop_next(self) -> None:
        with self._lock:
            self._drop_next = True

    def take_drop(self) -> bool:
        """Whether the answer of the operation just accepted is to be dropped (once)."""
        with self._lock:
            drop, self._drop_next = self._drop_next, False
            return drop

    def clear(self) -> None:
        with self._lock:
            self._instances.clear()
            self._fail_next = None
            self._drop_next = False

    # -- operations ---------------------------------------------------------------------------------------

    def operate(self, method: str, path: str, body: object, project_id: str) -> Accepted:
        """Check and start the operation at ``path`` (``OPERATION_PATH``); raises ``OperationRefused``."""
        match = OPERATION_PATH.match(path)
        assert match is not None
        if match["backup"]:
            expect, kind = "POST", "backup"
            if not isinstance(body, dict):
                raise _bad("the body must be a JSON object")
            instance_id = body.get("instance_id")
            if not isinstance(instance_id, str) or not instance_id:
                raise _bad("instance_id is required")
        else:
            instance_id, rest = match["instance"], match["rest"]
            kinds = {
                "restart": ("POST", "restart"),
                "action": ("POST", "resize-flavor"),
                "nodes/enlarge": ("POST", "add-read-replicas"),
                "name": ("PUT", "rename"),
                "port": ("PUT", "change-port"),
                "configurations": ("PUT", "modify-parameters"),
            }
            expect, kind = kinds.get(rest, ("DELETE", "delete-read-replica"))
        if method != expect:
            raise OperationRefused(405, "APIGW.0101", f"Method {method} is not allowed here.")
        with self._lock:
            instance = self._instances.get(instance_id)
            if instance is None or instance.project_id != project_id:
                raise OperationRefused(404, *INSTANCE_NOT_FOUND)
            self._settle(instance)
            if instance.running is not None:
                code = BACKUP_IN_PROGRESS if instance.running.backup else IN_PROGRESS
                raise OperationRefused(409, *code)
            plan = self._plan(kind, instance, body, match["rest"] or "")
            if instance.charge_mode == "prePaid" and kind in ORDERED:
                return self._order(instance, plan)
            return self._start(instance, plan)

    def _plan(self, kind: str, instance: Instance, body: object, rest: str) -> _Plan:
        if kind == "delete-read-replica":
            node_id = rest.split("/", 1)[1]
            node = next((n for n in instance.nodes if n.id == node_id), None)
            if node is None:
                raise OperationRefused(404, "DBS.200008", "The node does not exist.")
            if node.type == "master":
                raise OperationRefused(400, *NOT_ALLOWED)
            return _Plan(
                "DeleteGaussDBforMySQLNode", "MODIFYING", lambda i: i.nodes.remove(node) if node in i.nodes else None
            )
        if not isinstance(body, dict):
            raise _bad("the body must be a JSON object")
        if kind == "restart":
            delay = body.get("delay", False)
            if not isinstance(delay, bool):
                raise _bad("delay must be true or false")
            return _Plan("RestartGaussDBInstance", "REBOOTING", lambda i: None, scheduled=delay)
        if kind == "resize-flavor":
            resize = body.get("resize_flavor")
            spec = resize.get("spec_code") if isinstance(resize, dict) else None
            if not isinstance(spec, str) or not spec.strip():
                raise _bad("resize_flavor.spec_code is required")
            if spec == instance.flavor:
                raise _bad("the new flavor is the current one")
            return _Plan("ResizeGaussDBforMySQLFlavor", "MODIFYING INSTANCE TYPE", lambda i: setattr(i, "flavor", spec))
        if kind == "add-read-replicas":
            return self._enlarge(instance, body)
        if kind == "rename":
            name = body.get("name")
            if not isinstance(name, str) or not NAME.match(name):
                raise _bad("name must be 4-64 characters: a letter, then letters, digits, '-' or '_'")
            return _Plan("RenameGaussDBforMySQLInstance", "MODIFYING", lambda i: setattr(i, "name", name))
        if kind == "change-port":
            port = body.get("port")
            if isinstance(port, bool) or not isinstance(port, int) or not 1024 <= port <= 65535:
                raise _bad("port must be an integer 1024-65535")
            if port in RESERVED_PORTS:
                raise _bad(f"port {port} is reserved")
            return _Plan("ModifyGaussDBforMySQLPort", "MODIFYING DATABASE PORT", lambda i: setattr(i, "port", port))
        if kind == "modify-parameters":
            values = body.get("parameter_values")
            if not isinstance(values, dict) or not values:
                raise _bad("parameter_values must be a non-empty object")
            if not all(isinstance(k, str) and isinstance(v, str) for k, v in values.items()):
                raise OperationRefused(400, "DBS.212017", "Invalid parameter.")
            changes = dict(values)
            restart = any(key in STATIC_PARAMETERS for key in changes)
            return _Plan(
                "ModifyConfiguration",
                "MODIFYING",
                lambda i: i.parameters.update(changes),
                answer={"restart_required": restart},
            )
        return self._backup(instance, body)

    def _enlarge(self, instance: Instance, body: dict[str, Any]) -> _Plan:
        priorities = body.get("priorities")
        if (
            not isinstance(priorities, list)
            or not priorities
            or not all(isinstance(p, int) and not isinstance(p, bool) and 1 <= p <= 16 for p in priorities)
        ):
            raise _bad("priorities must be a non-empty list of integers 1-16, one per read replica")
        if len(instance.nodes) + len(priorities) > MAX_NODES:
            raise _bad(f"at most {MAX_NODES - 1} read replicas")
        new = [self._new_node(instance, priority) for priority in priorities]

        def apply(target: Instance) -> None:
            target.nodes.extend(new)

        return _Plan(
            "AddGaussDBforMySQLNodes",
            "MODIFYING",
            apply,
            answer={"instance_id": instance.id, "node_names": [n.name for n in new]},
            first=True,
            status=201,
        )

    def _backup(self, instance: Instance, body: dict[str, Any]) -> _Plan:
        name = body.get("name")
        description = body.get("description", "")
        if not isinstance(name, str) or not 4 <= len(name) <= 64:
            raise _bad("name must be 4-64 characters")
        if not isinstance(description, str):
            raise _bad("description must be a string")
        backup = {
            "id": uuid.uuid4().hex + "br07",
            "name": name,
            "description": description,
            "begin_time": self._wall_clock().strftime(TIME_FORMAT),
            "status": "BUILDING",
            "type": "manual",
            "instance_id": instance.id,
        }
        instance.backups.append(backup)
        return _Plan(
            "CreateManualSnapshot",
            "BACKING UP",
            lambda i: backup.update(status="COMPLETED"),
            answer={"backup": dict(backup)},
            status=201,
            backup=backup,
        )

    def _start(self, instance: Instance, plan: _Plan) -> Accepted:
        reason, self._fail_next = self._fail_next, None
        job_fields: dict[str, Any] = {
            "name": plan.job_name,
            "duration": instance.op_duration,
            "instance": {"id": instance.id, "name": instance.name},
            "project_id": instance.project_id,
            # Scheduled for the maintenance window: Pending for as long as it then runs (the emulator's choice).
            "pending_for": instance.op_duration if plan.scheduled else 0.0,
        }
        if reason is not None:
            job_fields.update(outcome="Failed", fail_reason=reason)
        job = self._jobs.create(job_fields)
        instance.operations += 1
        instance.running = _Running(job, plan.instance_status, plan.apply, backup=plan.backup is not None)
        body = {**plan.answer, "job_id": job.id} if plan.first else {"job_id": job.id, **plan.answer}
        return Accepted(plan.status, copy.deepcopy(body), job.id)

    @staticmethod
    def _order(instance: Instance, plan: _Plan) -> Accepted:
        """A yearly/monthly instance's answer: an order id and no job; the change applies at once."""
        order_id = uuid.uuid4().hex[:24]
        plan.apply(instance)
        instance.operations += 1
        return Accepted(plan.status, {**plan.answer, "order_id": order_id}, None)

    # -- time ---------------------------------------------------------------------------------------------

    def _settle(self, instance: Instance) -> None:
        """Apply the running operation if its job has finished (Completed changes the instance, Failed not)."""
        running = instance.running
        if running is None:
            return
        job = running.job
        if self._clock() - job.started < job.pending_for + job.duration:
            return
        instance.running = None
        if job.outcome == "Completed":
            running.apply(instance)
        else:
            for backup in instance.backups:
                if backup["status"] == "BUILDING":
                    backup["status"] = "FAILED"

    def _view(self, instance: Instance) -> dict[str, Any]:
        self._settle(instance)
        running = instance.running
        status = "ACTIVE"
        if running is not None and self._clock() - running.job.started >= running.job.pending_for:
            status = running.status
        return {
            "id": instance.id,
            "name": instance.name,
            "status": status,
            "flavor": instance.flavor,
            "port": instance.port,
            "nodes": [node.view() for node in instance.nodes],
            "parameters": dict(instance.parameters),
            "backups": copy.deepcopy(instance.backups),
            "project_id": instance.project_id,
            "operations": instance.operations,
            "job_id": running.job.id if running is not None else None,
            "charge_mode": instance.charge_mode,
        }

    @staticmethod
    def _new_node(instance: Instance, priority: int) -> Node:
        instance.node_serial += 1
        return Node(
            id=uuid.uuid4().hex + "no07",
            name=f"{instance.name}_node{instance.node_serial:02d}",
            type="slave",
            priority=priority,
        )

    def _add_node(self, instance: Instance, kind: str) -> None:
        node = self._new_node(instance, 1)
        node.type = kind
        instance.nodes.append(node)


@dataclass
class _Plan:
    job_name: str
    instance_status: str
    apply: Callable[[Instance], None]
    answer: dict[str, Any] = field(default_factory=dict)
    # The answer lists its fields before job_id (enlarge: instance_id, node_names, job_id).
    first: bool = False
    status: int = 200
    scheduled: bool = False
    backup: dict[str, Any] | None = None


CONTROL_INSTANCE = re.compile(r"^/_emulator/instances/(?P<id>[^/]+)$")


def control(store: InstanceStore, method: str, path: str, payload: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
    """The control API's instance routes (and the operation faults, method ``FAULT``): (status, body)."""
    if method == "FAULT":
        if payload.get("kind") == "drop-after-accept":
            store.drop_next()
        else:
            reason = payload.get("fail_reason", "The operation failed (scripted by the emulator).")
            if not isinstance(reason, str):
                return 400, {"error_code": "EMU.0400", "error_msg": "fail_reason must be a string"}
            store.fail_next(reason)
        return 200, {"pending": 1}
    if path == "/_emulator/instances":
        if method != "POST":
            return 405, {"error_code": "APIGW.0101", "error_msg": f"Method {method} is not allowed here."}
        try:
            return 201, {"instance": store.create(payload)}
        except JobError as error:
            return 400, {"error_code": "EMU.0400", "error_msg": str(error)}
    match = CONTROL_INSTANCE.match(path)
    if match is None:
        return 404, {"error_code": "EMU.0404", "error_msg": "No such control route."}
    if method != "GET":
        return 405, {"error_code": "APIGW.0101", "error_msg": f"Method {method} is not allowed here."}
    view = store.view(match["id"])
    if view is None:
        return 404, {"error_code": "EMU.0404", "error_msg": "No such instance."}
    return 200, {"instance": view}
