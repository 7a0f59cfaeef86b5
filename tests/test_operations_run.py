"""``gaussdb-job run`` in-process against the emulator: one request budget for the operation and its wait, one
deadline (``--timeout``) for both, and an operation accepted as an order (a yearly/monthly instance)."""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest

from gaussdb_emulator.server import Emulator
from provider.cli import run as run_module
from provider.taskcenter import operations
from provider.waiting.budget import RequestBudget
from tests.support.cli import cli

# The module (``provider.cli`` exports its function ``main`` under the same name).
main_module = importlib.import_module("provider.cli.main")


def operation_log(emu: Emulator) -> list[str | None]:
    return [job for _t, job, kind in emu.stats()["log"] if kind == "operation"]


def test_the_operation_and_its_wait_share_one_request_budget(
    emulator: Emulator, emu_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[RequestBudget] = []

    class Counted(RequestBudget):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(run_module, "RequestBudget", Counted)
    monkeypatch.setattr(main_module, "RequestBudget", Counted)
    db = emulator.create_instance(op_duration=0)
    result = cli(["run", "restart", db["id"], "--max-rate", "40"], emu_env)
    assert result.code == 0, result.stderr
    assert len(made) == 1 and made[0].cap == 40
    assert [entry["status"] for entry in json.loads(result.stdout)] == ["Completed"]


@pytest.mark.parametrize(("start_takes", "job_wait"), [(100.0, 500.0), (700.0, run_module.LAST_LOOK)])
def test_timeout_is_one_deadline_for_starting_and_waiting(
    emulator: Emulator, emu_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, start_takes: float, job_wait: float
) -> None:
    """The clock of the run's deadline stands in for the time the (real) start took; the wait gets the rest."""
    clock = {"now": 0.0}
    monkeypatch.setattr(run_module, "_now", lambda: clock["now"])
    waited: list[float] = []
    real_wait, real_for = main_module._wait, operations.operation_client_for

    def wait(run: Any, args: Any, *rest: Any) -> int:
        waited.append(args.timeout)
        return int(real_wait(run, args, *rest))

    def client_for(*args: Any, **kwargs: Any) -> Any:
        client = real_for(*args, **kwargs)
        real_start = client.start

        def start(*a: Any, **k: Any) -> Any:
            try:
                return real_start(*a, **k)
            finally:
                clock["now"] += start_takes

        client.start = start  # type: ignore[method-assign]
        return client

    monkeypatch.setattr(main_module, "_wait", wait)
    monkeypatch.setattr(run_module, "operation_client_for", client_for)
    db = emulator.create_instance(op_duration=0)
    result = cli(["run", "restart", db["id"], "--timeout", "600"], emu_env)
    assert result.code == 0, result.stderr
    assert waited == [job_wait]


def test_an_order_exits_6_names_it_and_is_not_sent_again(emulator: Emulator, emu_env: dict[str, str]) -> None:
    db = emulator.create_instance(op_duration=0, charge_mode="prePaid")
    result = cli(["run", "add-read-replicas", db["id"], "--set", "priorities=[1]"], emu_env)
    assert result.code == 6
    [entry] = json.loads(result.stdout)
    order_id = entry["operation"]["order_id"]
    assert order_id and entry["job_id"] is None and len(entry["operation"]["node_names"]) == 1
    assert f"accepted as order {order_id}" in entry["error"] and "Billing Center" in entry["error"]
    assert f"accepted as order {order_id}" in result.stderr and "may have started" not in result.stderr
    assert operation_log(emulator) == [None] and emulator.instance(db["id"])["operations"] == 1  # type: ignore[index]
    assert len(emulator.instance(db["id"])["nodes"]) == 3  # type: ignore[index]
