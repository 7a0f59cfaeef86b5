"""``gaussdb-job run``: an operation started once and waited for as ``wait`` does, in-process over real HTTP to
the emulator (operations of a fraction of a second: the waits poll at the test policy's fast pace)."""

from __future__ import annotations

import json

from gaussdb_emulator.server import Emulator
from provider.taskcenter.operations import operation_client_for
from tests.support import cli as support
from tests.support.cli import WAIT_FIELDS as WAIT_KEYS
from tests.support.cli import Result


def cli(args: list[str], env: dict[str, str]) -> Result:
    """``gaussdb-job ARGS`` as every CLI test runs it (tests.support.cli), and never a traceback."""
    result = support.cli(args, env)
    assert "Traceback" not in result.stderr
    return result


def operation_log(emu: Emulator) -> list[str]:
    return [job for _t, job, kind in emu.stats()["log"] if kind == "operation"]


def test_run_restart_waits_for_its_job_and_prints_it_as_wait_does(emulator: Emulator, emu_env: dict[str, str]) -> None:
    db = emulator.create_instance(op_duration=0.3)
    result = cli(["run", "restart", db["id"], "--progress", "plain"], emu_env)
    assert result.code == 0, result.stderr
    [entry] = result.jobs()
    assert set(entry) == WAIT_KEYS | {"operation"}
    assert (entry["status"], entry["name"], entry["error"]) == ("Completed", "RestartGaussDBInstance", None)
    assert entry["operation"]["name"] == "restart" and entry["operation"]["instance_id"] == db["id"]
    assert f"restart of instance {db['id']} started: job {entry['job_id']}" in result.stderr
    assert operation_log(emulator) == [entry["job_id"]]
    assert emulator.instance(db["id"])["status"] == "ACTIVE"  # type: ignore[index]


def test_run_restart_during_another_operation_waits_out_the_409(emulator: Emulator, emu_env: dict[str, str]) -> None:
    db = emulator.create_instance(op_duration=0.3)
    other = operation_client_for({}, {}, emu_env).start("change-port", db["id"], {"port": 8836}, timeout=10)
    result = cli(["run", "restart", db["id"], "-q"], emu_env)
    assert result.code == 0, result.stderr
    [entry] = result.jobs()
    assert entry["status"] == "Completed"
    log = operation_log(emulator)
    # The port change, at least one refusal (409: no job), then the restart, accepted once.
    assert log[0] == other.job_id and log[-1] == entry["job_id"]
    assert len(log) >= 3 and set(log[1:-1]) == {None}  # refused: no job (null in the log)
    view = emulator.instance(db["id"])
    assert view is not None and (view["operations"], view["port"]) == (2, 8836)


def test_no_wait_prints_the_job_id_at_once(emulator: Emulator, emu_env: dict[str, str]) -> None:
    db = emulator.create_instance(op_duration=600, nodes=1)
    result = cli(["run", "add-read-replicas", db["id"], "--set", "priorities=[1,2]", "--no-wait"], emu_env)
    assert result.code == 0, result.stderr
    printed = json.loads(result.stdout)
    assert emulator.job(printed["job_id"])["status"] == "Running"  # type: ignore[index]
    assert len(printed["operation"]["node_names"]) == 2


def test_modify_parameters_takes_database_parameters_as_set_pairs(emulator: Emulator, emu_env: dict[str, str]) -> None:
    db = emulator.create_instance(op_duration=0.1)
    result = cli(["run", "modify-parameters", db["id"], "--set", "max_connections=500", "-q"], emu_env)
    assert result.code == 0, result.stderr
    assert result.jobs()[0]["operation"]["restart_required"] is False
    assert emulator.instance(db["id"])["parameters"] == {"max_connections": "500"}  # type: ignore[index]


def test_a_failed_job_exits_1_with_its_reason(emulator: Emulator, emu_env: dict[str, str]) -> None:
    db = emulator.create_instance(op_duration=0.1)
    emulator.fail_next_operation("flavor sold out")
    result = cli(["run", "resize-flavor", db["id"], "--set", "spec_code=gaussdb.mysql.2xlarge.x86.8", "-q"], emu_env)
    assert result.code == 1
    assert result.jobs()[0]["fail_reason"] == "flavor sold out"
    assert "flavor sold out" in result.stderr


def test_bad_parameters_exit_2_and_send_nothing(emulator: Emulator, emu_env: dict[str, str]) -> None:
    db = emulator.create_instance()
    result = cli(["run", "change-port", db["id"], "--set", "port=5342"], emu_env)
    assert result.code == 2
    assert "port 5342 is reserved" in result.stderr
    assert emulator.stats()["total"] == 0
    assert cli(["run", "reboot", db["id"]], emu_env).code == 2


def test_a_lost_answer_is_adopted_from_the_task_centers_list(emulator: Emulator, emu_env: dict[str, str]) -> None:
    """Huawei Cloud lists its jobs (immediate-jobs): the job the lost request started is found, never re-sent."""
    db = emulator.create_instance(op_duration=600)
    emulator.drop_after_accept()
    adopted = cli(["run", "restart", db["id"], "--no-wait"], emu_env)
    assert adopted.code == 0 and json.loads(adopted.stdout)["operation"]["adopted"] is True
    assert json.loads(adopted.stdout)["job_id"] == emulator.instance(db["id"])["job_id"]  # type: ignore[index]
    assert len(operation_log(emulator)) == 1


def test_a_lost_answer_exits_6_and_says_how_to_adopt_its_job(emulator: Emulator, emu_env: dict[str, str]) -> None:
    """Where the task center has no list call (OTC), the error says how to adopt the job."""
    emulator.set_list_api("gaussdb-mysql", False)
    db = emulator.create_instance(op_duration=600)
    emulator.drop_after_accept()
    result = cli(["run", "restart", db["id"]], emu_env)
    assert result.code == 6
    assert "may have started" in result.stderr and "gaussdb-job wait JOB_ID" in result.stderr
    [entry] = result.jobs()
    assert entry["job_id"] is None and "may have started" in entry["error"]
    assert len(operation_log(emulator)) == 1
    assert emulator.instance(db["id"])["operations"] == 1  # type: ignore[index]
