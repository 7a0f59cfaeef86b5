"""Starting operations exactly once (provider.taskcenter.operations) over real HTTP to the emulator: sent once,
a busy instance waited out (virtual time shared with the emulator), a lost answer never repeated but adopted or
reported with how to adopt its job; the job of a lost answer found through the task center's list call
(``provider.taskcenter.lists``, the emulator's ``immediate-jobs``), paced and paged."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gaussdb_emulator.clock import VirtualClock
from gaussdb_emulator.server import Emulator, EmulatorConfig
from provider.core.errors import ApiError, ConfigError
from provider.taskcenter.models import Job, JobInstance
from provider.taskcenter.operations import (
    OPERATIONS,
    OperationBusy,
    OperationClient,
    OperationOrdered,
    OperationUncertain,
    check_parameters,
    find_started_job,
    operation_client_for,
)
from provider.wire.transport import Transport
from tests.support.emulator import aksk_env, running_emulator

OP = 30.0
FAST = Transport(connect_timeout=2, read_timeout=5, retries=0, backoff_factor=0)


@pytest.fixture
def vc() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def emu(vc: VirtualClock) -> Iterator[Emulator]:
    with running_emulator(clock=vc) as emulator:
        yield emulator


class RecordingPacer:
    def __init__(self) -> None:
        self.acquired = 0
        self.throttled: list[bool] = []

    def acquire(
        self, *, priority: float = 0.0, deadline: float | None = None, cancel: threading.Event | None = None
    ) -> bool:
        self.acquired += 1
        return True

    def feedback(self, *, throttled: bool) -> None:
        self.throttled.append(throttled)


def client(emu: Emulator, vc: VirtualClock, **kwargs: Any) -> OperationClient:
    made = operation_client_for({}, {}, aksk_env(emu), transport=FAST, delay=kwargs.pop("delay", lambda _e: 10.0))
    # Virtual time for the busy waits, shared with the emulator's jobs and instances.
    return OperationClient(
        made.settings,
        made._auth,
        tasks=made._tasks,
        transport=FAST,
        clock=vc.monotonic,
        sleep=vc.sleep,
        wall_clock=vc.wall,
        delay=lambda _e: 10.0,
        **kwargs,
    )


def operations(emu: Emulator) -> list[tuple[str, str]]:
    return [(job, kind) for _t, job, kind in emu.stats()["log"] if kind == "operation"]


def test_restart_is_sent_once_and_answers_its_job(emu: Emulator, vc: VirtualClock) -> None:
    db = emu.create_instance(op_duration=OP)
    pacer = RecordingPacer()
    started = client(emu, vc, pacer=pacer).start("restart", db["id"], timeout=60)
    assert emu.job(started.job_id) is not None
    assert (started.operation, started.instance_id, started.adopted) == ("restart", db["id"], False)
    assert operations(emu) == [(started.job_id, "operation")]
    assert (pacer.acquired, pacer.throttled) == (1, [False])


def test_answer_fields_are_kept(emu: Emulator, vc: VirtualClock) -> None:
    db = emu.create_instance(op_duration=OP, nodes=1)
    started = client(emu, vc).start("add-read-replicas", db["id"], {"priorities": [1, 1]}, timeout=60)
    assert started.answer["instance_id"] == db["id"] and len(started.answer["node_names"]) == 2
    vc.advance(OP)
    backup = client(emu, vc).start("backup", db["id"], {"name": "nightly-1"}, timeout=60)
    assert backup.answer["backup"]["name"] == "nightly-1" and backup.answer["backup"]["status"] == "BUILDING"
    vc.advance(OP)
    params = client(emu, vc).start(
        "modify-parameters", db["id"], {"parameter_values": {"max_connections": 500}}, timeout=60
    )
    assert params.answer == {"restart_required": False}
    assert emu.instance(db["id"])["operations"] == 3  # type: ignore[index]


def test_a_busy_instance_is_waited_out_then_sent_again(emu: Emulator, vc: VirtualClock) -> None:
    db = emu.create_instance(op_duration=OP)
    first = client(emu, vc).start("change-port", db["id"], {"port": 8836}, timeout=60)
    second = client(emu, vc).start("restart", db["id"], timeout=600)
    assert second.job_id != first.job_id
    # Refused while busy (not accepted, no job), then accepted once the port change was done.
    log = operations(emu)
    assert log[0] == (first.job_id, "operation") and log[-1] == (second.job_id, "operation")
    assert all(job is None for job, _kind in log[1:-1]) and len(log) >= 3
    assert vc.sleeps and all(s == 10.0 for s in vc.sleeps)
    assert emu.instance(db["id"])["operations"] == 2  # type: ignore[index]


def test_busy_until_the_timeout_starts_nothing(emu: Emulator, vc: VirtualClock) -> None:
    db = emu.create_instance(op_duration=3600)
    client(emu, vc).start("restart", db["id"], timeout=60)
    with pytest.raises(OperationBusy, match=r"not started within 25 s: instance busy .*DBS.200019.*nothing"):
        client(emu, vc).start("rename", db["id"], {"name": "billing-db"}, timeout=25)
    assert emu.instance(db["id"])["operations"] == 1  # type: ignore[index]


def lists_sent(emu: Emulator) -> int:
    return sum(1 for _t, _job, kind in emu.stats()["log"] if kind == "list")


def test_a_lost_answer_is_not_sent_again_and_says_how_to_adopt(emu: Emulator, vc: VirtualClock) -> None:
    """Where the task center has no list call (OTC: the call answers 404), the error is the way to adopt."""
    emu.set_list_api("gaussdb-mysql", False)
    db = emu.create_instance(op_duration=OP)
    emu.drop_after_accept()
    pacer = RecordingPacer()
    with pytest.raises(OperationUncertain) as lost:
        client(emu, vc, pacer=pacer).start("restart", db["id"], timeout=60)
    message = str(lost.value)
    assert "may have started" in message and "no list call" in message
    assert "GaussDBOperation(..., adopt_job_id=JOB_ID)" in message and "gaussdb-job wait JOB_ID" in message
    assert "RebootGaussDBforMySQLInstance or RestartGaussDBInstance" in message and db["id"] in message
    assert emu.instance(db["id"])["operations"] == 1  # type: ignore[index]
    assert len(operations(emu)) == 1
    # The list call was asked (and refused) through the pacer, as every request is.
    assert lists_sent(emu) == 1 and pacer.acquired == 2


def test_a_lost_answer_is_adopted_through_the_list_call(emu: Emulator, vc: VirtualClock) -> None:
    """The list holds an older restart of the same instance and a restart of another instance: only the one the
    lost request started is adopted; the list call goes through the pacer."""
    db, other = emu.create_instance(op_duration=OP), emu.create_instance(op_duration=OP)
    earlier = client(emu, vc).start("restart", db["id"], timeout=60)
    vc.advance(5 * 60)  # the earlier restart is long done (and created well before the slack)
    client(emu, vc).start("restart", other["id"], timeout=60)
    pacer = RecordingPacer()
    emu.drop_after_accept()
    started = client(emu, vc, pacer=pacer).start("restart", db["id"], timeout=60)
    mine = emu.instance(db["id"])["job_id"]  # type: ignore[index]
    assert started.adopted and started.job_id == mine and started.job_id != earlier.job_id
    assert len(operations(emu)) == 3 and emu.instance(db["id"])["operations"] == 2  # type: ignore[index]
    # The lost request had no answer to report on; the list page did.
    assert lists_sent(emu) == 1 and pacer.acquired == 2 and pacer.throttled == [False]


def test_the_adoption_reads_every_page_of_a_busy_window(emu: Emulator, vc: VirtualClock) -> None:
    """More jobs in the window than one page holds (50): the list is paged, as the batch reads page it."""
    db = emu.create_instance(op_duration=OP)
    for index in range(60):
        emu.create_job(name="RebootGaussDBforMySQLInstance", instance={"id": f"other{index:02d}", "name": "x"})
    emu.drop_after_accept()
    started = client(emu, vc).start("restart", db["id"], timeout=60)
    assert started.adopted and started.job_id == emu.instance(db["id"])["job_id"]  # type: ignore[index]
    assert lists_sent(emu) == 2 and len(operations(emu)) == 1


def test_an_unreadable_list_says_the_operation_may_have_started(emu: Emulator, vc: VirtualClock) -> None:
    db = emu.create_instance(op_duration=OP)
    emu.drop_after_accept()

    def failing(_since: datetime) -> list[Job]:
        raise ApiError("task-center list call failed: HTTP 500")

    with pytest.raises(OperationUncertain, match=r"looking for its job failed .*HTTP 500.*adopt_job_id=JOB_ID"):
        client(emu, vc, lister=failing).start("restart", db["id"], timeout=60)
    assert len(operations(emu)) == 1


def job(job_id: str, name: str, instance: str, created: datetime) -> Job:
    return Job(id=job_id, name=name, status="Running", created=created, instance=JobInstance(id=instance))


def test_find_started_job_matches_instance_name_and_time() -> None:
    sent = datetime(2026, 1, 1, 12, tzinfo=UTC)
    mine = job("j1", "RebootGaussDBforMySQLInstance", "db1", sent + timedelta(seconds=2))
    jobs = [
        job("j0", "RebootGaussDBforMySQLInstance", "db1", sent - timedelta(hours=1)),  # an earlier restart
        job("j2", "ModifyGaussDBforMySQLPort", "db1", sent + timedelta(seconds=3)),
        job("j3", "RebootGaussDBforMySQLInstance", "db2", sent + timedelta(seconds=1)),
        mine,
    ]
    names = ["RebootGaussDBforMySQLInstance", "RestartGaussDBInstance"]
    assert find_started_job(jobs, instance_id="db1", names=names, sent_at=sent) == mine
    assert find_started_job(jobs[:3], instance_id="db1", names=names, sent_at=sent) is None
    with pytest.raises(OperationUncertain, match="2 jobs could be"):
        find_started_job(
            [*jobs, job("j4", "RestartGaussDBInstance", "db1", sent)], instance_id="db1", names=names, sent_at=sent
        )


@pytest.mark.parametrize(
    ("operation", "parameters", "message"),
    [
        ("change-port", {"port": 5342}, "port 5342 is reserved"),
        ("change-port", {"port": 80}, "port: Input should be greater than or equal to 1024"),
        ("resize-flavor", {}, "spec_code: Field required"),
        ("restart", {"delay": False, "force": True}, "force: Extra inputs are not permitted"),
        ("add-read-replicas", {"priorities": [0]}, "priorities.0"),
        ("rename", {"name": "1x"}, "name: String should match pattern"),
        ("upgrade", {}, "unknown operation 'upgrade'"),
    ],
)
def test_bad_parameters_are_refused_before_anything_is_sent(
    emu: Emulator, vc: VirtualClock, operation: str, parameters: dict[str, Any], message: str
) -> None:
    db = emu.create_instance()
    with pytest.raises(ConfigError, match=message):
        client(emu, vc).start(operation, db["id"], parameters, timeout=60)
    assert emu.stats()["total"] == 0


def test_modify_parameters_writes_every_value_as_text() -> None:
    params = check_parameters("modify-parameters", {"parameter_values": {"a": 500, "b": True, "c": "x"}})
    assert params.model_dump() == {"parameter_values": {"a": "500", "b": "true", "c": "x"}}


def test_a_refused_operation_is_an_error_and_not_retried(emu: Emulator, vc: VirtualClock) -> None:
    db = emu.create_instance(nodes=2)
    master = db["nodes"][0]["id"]
    with pytest.raises(
        ApiError, match=r"delete-read-replica of instance .* refused, nothing started: HTTP 400 DBS.200086"
    ):
        client(emu, vc).start("delete-read-replica", db["id"], {"node_id": master}, timeout=60)
    with pytest.raises(ApiError, match=r"HTTP 404 DBS\.200002"):
        client(emu, vc).start("restart", "nope", timeout=60)
    assert len(operations(emu)) == 2 and vc.sleeps == []


def test_nothing_listening_means_nothing_was_sent(vc: VirtualClock) -> None:
    with Emulator(EmulatorConfig(port=0)) as emu:
        env = aksk_env(emu)
    made = operation_client_for({}, {}, env, transport=FAST)
    with pytest.raises(ApiError, match="nothing was sent"):
        made.start("restart", "db1", timeout=5)


def test_operations_go_under_v3_even_with_the_older_task_center_path(emu: Emulator) -> None:
    made = operation_client_for({"api_path": "/mysql/v3"}, {}, aksk_env(emu))
    assert made.base_url() == f"{emu.url}/v3/{emu.config.project_id}"


def test_other_services_have_no_operations(emu: Emulator) -> None:
    with pytest.raises(ConfigError, match="operations are GaussDB"):
        operation_client_for({"service": "rds"}, {}, aksk_env(emu))


def test_a_yearly_monthly_instance_answers_an_order_which_is_not_sent_again(emu: Emulator, vc: VirtualClock) -> None:
    db = emu.create_instance(op_duration=OP, charge_mode="prePaid")
    with pytest.raises(OperationOrdered) as ordered:
        client(emu, vc).start("resize-flavor", db["id"], {"spec_code": "gaussdb.mysql.2xlarge.x86.8"}, timeout=60)
    order_id = ordered.value.order_id
    message = str(ordered.value)
    assert order_id and f"accepted as order {order_id}" in message and "yearly/monthly" in message
    assert "nothing to wait for" in message and "not sent again" in message and "Billing Center" in message
    assert "find" not in message and "adopt" not in message  # not a lost answer: no job to look for
    assert ordered.value.answer == {"order_id": order_id}
    assert len(operations(emu)) == 1 and emu.instance(db["id"])["operations"] == 1  # type: ignore[index]
    with pytest.raises(OperationOrdered) as enlarged:
        client(emu, vc).start("add-read-replicas", db["id"], {"priorities": [1]}, timeout=60)
    assert set(enlarged.value.answer) == {"instance_id", "node_names", "order_id"}


def test_what_an_operation_answers_is_scrubbed_of_credentials(emu: Emulator) -> None:
    """An echoing gateway's answer never carries a credential into outputs, the journal or the CLI's JSON."""
    made = operation_client_for({}, {}, aksk_env(emu), transport=FAST)
    secret = emu.config.secret_key
    started = made._started(
        OPERATIONS["backup"], "db1", {"job_id": "j1", "backup": {"name": "nightly", "description": f"key {secret}"}}
    )
    assert secret not in repr(started.answer) and started.answer["backup"]["name"] == "nightly"
    with pytest.raises(OperationOrdered) as ordered:
        made._started(OPERATIONS["resize-flavor"], "db1", {"order_id": f"o-{secret}"})
    assert secret not in str(ordered.value) and secret not in ordered.value.order_id
