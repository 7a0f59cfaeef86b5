"""The emulator's instances and operations: the official SDK (huaweicloudsdkgaussdb, unmodified) starts every
operation of issue 18 and gets the documented answer; each job changes the instance when it completes; 409 while
another operation runs; the operation faults. Time is virtual: jobs finish when the test advances the clock."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkgaussdb.v3 import (
    ChangeGaussMySqlInstanceSpecificationRequest,
    CreateGaussMySqlBackupRequest,
    CreateGaussMySqlReadonlyNodeRequest,
    DeleteGaussMySqlReadonlyNodeRequest,
    GaussDBClient,
    ModifyPortRequest,
    MysqlChangeSpecificationRequest,
    MysqlCreateBackupRequest,
    MysqlCreateReadonlyNodeRequest,
    MysqlResizeFlavor,
    MysqlUpdateInstanceNameRequest,
    RestartGaussMySqlInstanceRequest,
    ShowGaussMySqlJobInfoRequest,
    TaurusRestartInstanceRequest,
    UpdateGaussMySqlInstanceNameRequest,
    UpdateGaussMySqlInstancePortRequest,
    UpdateInstanceConfigurationsRequest,
    UpdateInstanceConfigurationsRequestBody,
)

from gaussdb_emulator.clock import VirtualClock
from gaussdb_emulator.server import Emulator, EmulatorConfig
from tests.support.emulator import running_emulator

CFG = EmulatorConfig()
OP = 30.0  # seconds each operation of these instances takes (virtual)


@pytest.fixture
def vc() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def emu(vc: VirtualClock) -> Iterator[Emulator]:
    with running_emulator(clock=vc) as emulator:
        yield emulator


def sdk(emu: Emulator) -> Any:
    config = HttpConfig.get_default_config()
    config.timeout = (5, 5)
    config.retry_times = 0
    return (
        GaussDBClient.new_builder()
        .with_credentials(BasicCredentials(CFG.access_key, CFG.secret_key, CFG.project_id))
        .with_endpoints([emu.url])
        .with_http_config(config)
        .build()
    )


def instance(emu: Emulator, **fields: Any) -> dict[str, Any]:
    return emu.create_instance(name="orders-db", op_duration=OP, **fields)


def job_status(emu: Emulator, job_id: str) -> str:
    return str(sdk(emu).show_gauss_my_sql_job_info(ShowGaussMySqlJobInfoRequest(id=job_id)).job.status)


def test_restart_passes_through_rebooting_and_its_job_completes(emu: Emulator, vc: VirtualClock) -> None:
    db = instance(emu)
    answer = sdk(emu).restart_gauss_my_sql_instance(
        RestartGaussMySqlInstanceRequest(instance_id=db["id"], body=TaurusRestartInstanceRequest(delay=False))
    )
    assert answer.status_code == 200 and answer.job_id
    view = emu.instance(db["id"])
    assert view is not None and (view["status"], view["operations"]) == ("REBOOTING", 1)
    job = sdk(emu).show_gauss_my_sql_job_info(ShowGaussMySqlJobInfoRequest(id=answer.job_id)).job
    assert (job.name, job.status, job.instance.id) == ("RestartGaussDBInstance", "Running", db["id"])
    vc.advance(OP)
    assert job_status(emu, answer.job_id) == "Completed"
    assert emu.instance(db["id"])["status"] == "ACTIVE"  # type: ignore[index]


def test_resize_flavor_changes_the_flavor_when_its_job_completes(emu: Emulator, vc: VirtualClock) -> None:
    db = instance(emu, flavor="gaussdb.mysql.xlarge.x86.4")
    answer = sdk(emu).change_gauss_my_sql_instance_specification(
        ChangeGaussMySqlInstanceSpecificationRequest(
            instance_id=db["id"],
            body=MysqlChangeSpecificationRequest(
                resize_flavor=MysqlResizeFlavor(spec_code="gaussdb.mysql.2xlarge.x86.8")
            ),
        )
    )
    assert answer.status_code == 200 and answer.job_id and answer.order_id is None
    assert emu.instance(db["id"])["flavor"] == "gaussdb.mysql.xlarge.x86.4"  # type: ignore[index]
    vc.advance(OP)
    assert emu.instance(db["id"])["flavor"] == "gaussdb.mysql.2xlarge.x86.8"  # type: ignore[index]


def test_add_read_replicas_answers_201_with_node_names_then_adds_them(emu: Emulator, vc: VirtualClock) -> None:
    db = instance(emu, nodes=1)
    answer = sdk(emu).create_gauss_my_sql_readonly_node(
        CreateGaussMySqlReadonlyNodeRequest(
            instance_id=db["id"], body=MysqlCreateReadonlyNodeRequest(priorities=[1, 2])
        )
    )
    assert answer.status_code == 201
    assert answer.instance_id == db["id"] and len(answer.node_names) == 2 and answer.job_id
    assert len(emu.instance(db["id"])["nodes"]) == 1  # type: ignore[index]
    vc.advance(OP)
    nodes = emu.instance(db["id"])["nodes"]  # type: ignore[index]
    assert [n["name"] for n in nodes[1:]] == answer.node_names
    assert [n["type"] for n in nodes] == ["master", "slave", "slave"]


def test_delete_a_read_replica_removes_it_and_the_master_cannot_go(emu: Emulator, vc: VirtualClock) -> None:
    db = instance(emu, nodes=2)
    master, replica = db["nodes"]
    with pytest.raises(ClientRequestException) as refused:
        sdk(emu).delete_gauss_my_sql_readonly_node(
            DeleteGaussMySqlReadonlyNodeRequest(instance_id=db["id"], node_id=master["id"])
        )
    assert (refused.value.status_code, refused.value.error_code) == (400, "DBS.200086")
    answer = sdk(emu).delete_gauss_my_sql_readonly_node(
        DeleteGaussMySqlReadonlyNodeRequest(instance_id=db["id"], node_id=replica["id"])
    )
    assert answer.status_code == 200 and answer.job_id
    vc.advance(OP)
    assert [n["id"] for n in emu.instance(db["id"])["nodes"]] == [master["id"]]  # type: ignore[index]


def test_rename_and_change_port_apply_on_completion(emu: Emulator, vc: VirtualClock) -> None:
    db = instance(emu)
    renamed = sdk(emu).update_gauss_my_sql_instance_name(
        UpdateGaussMySqlInstanceNameRequest(
            instance_id=db["id"], body=MysqlUpdateInstanceNameRequest(name="billing-db")
        )
    )
    assert renamed.status_code == 200 and renamed.job_id
    vc.advance(OP)
    moved = sdk(emu).update_gauss_my_sql_instance_port(
        UpdateGaussMySqlInstancePortRequest(instance_id=db["id"], body=ModifyPortRequest(port=8836))
    )
    assert moved.status_code == 200 and moved.job_id
    vc.advance(OP)
    view = emu.instance(db["id"])
    assert view is not None and (view["name"], view["port"], view["operations"]) == ("billing-db", 8836, 2)


def test_modify_parameters_answers_restart_required(emu: Emulator, vc: VirtualClock) -> None:
    db = instance(emu)
    dynamic = sdk(emu).update_instance_configurations(
        UpdateInstanceConfigurationsRequest(
            instance_id=db["id"],
            body=UpdateInstanceConfigurationsRequestBody(parameter_values={"max_connections": "500"}),
        )
    )
    assert dynamic.status_code == 200 and dynamic.job_id and dynamic.restart_required is False
    vc.advance(OP)
    static = sdk(emu).update_instance_configurations(
        UpdateInstanceConfigurationsRequest(
            instance_id=db["id"],
            body=UpdateInstanceConfigurationsRequestBody(parameter_values={"innodb_buffer_pool_size": "1073741824"}),
        )
    )
    assert static.restart_required is True
    vc.advance(OP)
    assert emu.instance(db["id"])["parameters"] == {  # type: ignore[index]
        "max_connections": "500",
        "innodb_buffer_pool_size": "1073741824",
    }


def test_backup_answers_201_with_the_backup_building(emu: Emulator, vc: VirtualClock) -> None:
    db = instance(emu)
    answer = sdk(emu).create_gauss_my_sql_backup(
        CreateGaussMySqlBackupRequest(
            body=MysqlCreateBackupRequest(instance_id=db["id"], name="backup-1", description="before upgrade")
        )
    )
    assert answer.status_code == 201 and answer.job_id
    backup = answer.backup
    assert (backup.name, backup.status, backup.type, backup.instance_id) == ("backup-1", "BUILDING", "manual", db["id"])
    assert backup.id and backup.begin_time and backup.description == "before upgrade"
    vc.advance(OP)
    assert emu.instance(db["id"])["backups"][0]["status"] == "COMPLETED"  # type: ignore[index]


def test_another_operation_meanwhile_is_409_and_not_counted(emu: Emulator, vc: VirtualClock) -> None:
    db = instance(emu)
    client = sdk(emu)
    client.restart_gauss_my_sql_instance(
        RestartGaussMySqlInstanceRequest(instance_id=db["id"], body=TaurusRestartInstanceRequest(delay=False))
    )
    with pytest.raises(ClientRequestException) as refused:
        client.update_gauss_my_sql_instance_port(
            UpdateGaussMySqlInstancePortRequest(instance_id=db["id"], body=ModifyPortRequest(port=8836))
        )
    assert (refused.value.status_code, refused.value.error_code) == (409, "DBS.200019")
    assert emu.instance(db["id"])["operations"] == 1  # type: ignore[index]
    vc.advance(OP)
    client.update_gauss_my_sql_instance_port(
        UpdateGaussMySqlInstancePortRequest(instance_id=db["id"], body=ModifyPortRequest(port=8836))
    )
    kinds = [(kind, bool(job)) for _t, job, kind in emu.stats()["log"]]
    assert kinds == [("operation", True), ("operation", False), ("operation", True)]


def test_a_backup_in_progress_is_409_dbs_201205(emu: Emulator) -> None:
    db = instance(emu)
    sdk(emu).create_gauss_my_sql_backup(CreateGaussMySqlBackupRequest(body=MysqlCreateBackupRequest(db["id"], "b-01")))
    with pytest.raises(ClientRequestException) as refused:
        sdk(emu).restart_gauss_my_sql_instance(
            RestartGaussMySqlInstanceRequest(instance_id=db["id"], body=TaurusRestartInstanceRequest(delay=False))
        )
    assert (refused.value.status_code, refused.value.error_code) == (409, "DBS.201205")


@pytest.mark.parametrize(
    ("method", "suffix", "body", "code"),
    [
        ("PUT", "port", {"port": 5342}, "DBS.200001"),
        ("PUT", "port", {"port": 80}, "DBS.200001"),
        ("PUT", "name", {"name": "1bad"}, "DBS.200001"),
        ("POST", "nodes/enlarge", {"priorities": [0]}, "DBS.200001"),
        ("POST", "action", {"resize_flavor": {}}, "DBS.200001"),
        ("PUT", "configurations", {"parameter_values": {"a": 1}}, "DBS.212017"),
        ("POST", "restart", {"delay": "no"}, "DBS.200001"),
    ],
)
def test_bad_requests_are_400_and_start_nothing(
    emu: Emulator, method: str, suffix: str, body: dict[str, Any], code: str
) -> None:
    db = instance(emu)
    token = emu.issue_token()
    response = requests.request(
        method,
        f"{emu.url}/v3/{CFG.project_id}/instances/{db['id']}/{suffix}",
        json=body,
        headers={"X-Auth-Token": token},
        timeout=5,
    )
    assert (response.status_code, response.json()["error_code"]) == (400, code)
    assert emu.instance(db["id"])["operations"] == 0  # type: ignore[index]


def test_unknown_instance_is_404_and_unsigned_is_401(emu: Emulator) -> None:
    url = f"{emu.url}/v3/{CFG.project_id}/instances/nope/restart"
    assert requests.post(url, json={}, timeout=5).status_code == 401
    response = requests.post(url, json={}, headers={"X-Auth-Token": emu.issue_token()}, timeout=5)
    assert (response.status_code, response.json()["error_code"]) == (404, "DBS.200002")


def test_fail_next_operation_fails_its_job_and_leaves_the_instance(emu: Emulator, vc: VirtualClock) -> None:
    db = instance(emu)
    response = requests.post(
        f"{emu.url}/_emulator/faults", json={"kind": "fail-next-operation", "fail_reason": "disk full"}, timeout=5
    )
    assert response.status_code == 200
    answer = sdk(emu).update_gauss_my_sql_instance_port(
        UpdateGaussMySqlInstancePortRequest(instance_id=db["id"], body=ModifyPortRequest(port=8836))
    )
    vc.advance(OP)
    job = sdk(emu).show_gauss_my_sql_job_info(ShowGaussMySqlJobInfoRequest(id=answer.job_id)).job
    assert (job.status, job.fail_reason) == ("Failed", "disk full")
    assert emu.instance(db["id"])["port"] == 3306  # type: ignore[index]


def test_drop_after_accept_starts_the_operation_but_resets_the_connection(emu: Emulator) -> None:
    db = instance(emu)
    assert requests.post(f"{emu.url}/_emulator/faults", json={"kind": "drop-after-accept"}, timeout=5).ok
    with pytest.raises(requests.ConnectionError):
        requests.post(
            f"{emu.url}/v3/{CFG.project_id}/instances/{db['id']}/restart",
            json={"delay": False},
            headers={"X-Auth-Token": emu.issue_token()},
            timeout=5,
        )
    view = emu.instance(db["id"])
    assert view is not None and (view["operations"], view["status"]) == (1, "REBOOTING")
    assert emu.job(view["job_id"]) is not None


def test_control_api_creates_and_shows_instances(emu: Emulator) -> None:
    created = requests.post(
        f"{emu.url}/_emulator/instances",
        json={"name": "orders-db", "flavor": "f1", "nodes": 3, "port": 3307, "op_duration": 1},
        timeout=5,
    )
    assert created.status_code == 201
    instance_id = created.json()["instance"]["id"]
    shown = requests.get(f"{emu.url}/_emulator/instances/{instance_id}", timeout=5).json()["instance"]
    assert {k: shown[k] for k in ("id", "name", "status", "flavor", "port", "operations")} == {
        "id": instance_id,
        "name": "orders-db",
        "status": "ACTIVE",
        "flavor": "f1",
        "port": 3307,
        "operations": 0,
    }
    assert [n["type"] for n in shown["nodes"]] == ["master", "slave", "slave"]
    assert requests.get(f"{emu.url}/_emulator/instances/nope", timeout=5).status_code == 404
    bad = requests.post(f"{emu.url}/_emulator/instances", json={"nodes": 0}, timeout=5)
    assert bad.status_code == 400


def test_an_instance_takes_a_billing_mode(emu: Emulator) -> None:
    """``charge_mode`` (Huawei Cloud's values) at creation; anything else is refused; the view shows it."""
    url = f"{emu.url}/_emulator/instances"
    refused = requests.post(url, json={"charge_mode": "yearly"}, timeout=5)
    assert refused.status_code == 400 and "charge_mode must be one of postPaid, prePaid" in refused.text
    made = requests.post(url, json={"charge_mode": "prePaid"}, timeout=5).json()["instance"]
    assert made["charge_mode"] == "prePaid" and instance(emu)["charge_mode"] == "postPaid"
