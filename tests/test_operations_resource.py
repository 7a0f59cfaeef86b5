"""``GaussDBOperationProvider`` in-process (outside the plugin: partial state is the plugin's, tested in
test_operations_plugin) against the emulator's instances: one deadline for the whole create, an operation
accepted as an order, and the journal (no secret in it, an unwritable directory refuses the operation).

The provider reads its settings from the environment, as it does in the plugin; the journal directory is the
test's own. The create's deadline clock (``operation._now``) is stood in for: the real start and wait run, and the
clock says how long the start took."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gaussdb_emulator.server import Emulator
from provider.resources import journal, operation
from provider.resources.dynamic import GaussDBJobError
from provider.resources.operation import LAST_LOOK, GaussDBOperationProvider
from provider.resources.partial_state import ResourceInitFailed
from provider.taskcenter.operations import OperationClient
from tests.support.emulator import aksk_env, running_emulator


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with running_emulator() as emulator:
        yield emulator


@pytest.fixture
def journal_dir(tmp_path: Path) -> Path:
    return tmp_path / "journal"


@pytest.fixture
def provider(emu: Emulator, journal_dir: Path, monkeypatch: pytest.MonkeyPatch) -> GaussDBOperationProvider:
    for key, value in aksk_env(emu).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv(journal.DIR_ENV, str(journal_dir))
    return GaussDBOperationProvider()


def props(instance_id: str, operation_name: str = "restart", **extra: Any) -> dict[str, Any]:
    return {"instance_id": instance_id, "operation": operation_name, "parameters": {}, "triggers": [], **extra}


def accepted(emu: Emulator, instance_id: str) -> int:
    view = emu.instance(instance_id)
    assert view is not None
    return int(view["operations"])


class FakeNow:
    """The deadline clock; ``start_takes`` seconds pass while the (real) operation request is sent."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, start_takes: float) -> None:
        self.now = 0.0
        self.start_timeouts: list[float] = []
        self.wait_timeouts: list[float] = []
        monkeypatch.setattr(operation, "_now", lambda: self.now)
        real_start, real_wait = OperationClient.start, GaussDBOperationProvider._wait

        def start(client: OperationClient, *args: Any, **kwargs: Any) -> Any:
            self.start_timeouts.append(kwargs["timeout"])
            try:
                return real_start(client, *args, **kwargs)
            finally:
                self.now += start_takes

        def wait(provider: GaussDBOperationProvider, wait_props: Any) -> Any:
            self.wait_timeouts.append(wait_props["timeout"])
            return real_wait(provider, wait_props)

        monkeypatch.setattr(OperationClient, "start", start)
        monkeypatch.setattr(GaussDBOperationProvider, "_wait", wait)


@pytest.mark.parametrize(("start_takes", "job_wait"), [(100.0, 500.0), (700.0, LAST_LOOK)])
def test_timeout_is_one_deadline_for_starting_and_waiting(
    provider: GaussDBOperationProvider,
    emu: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    start_takes: float,
    job_wait: float,
) -> None:
    """The busy instance's wait and the job's wait share ``timeout`` (600 s): what the start used is not given
    again to the job; when it used it all, the job is still read once (LAST_LOOK)."""
    clock = FakeNow(monkeypatch, start_takes)
    db = emu.create_instance(op_duration=0)
    result = provider.create(props(db["id"], timeout=600))
    assert clock.start_timeouts == [600.0] and clock.wait_timeouts == [job_wait]
    assert result.outs is not None and result.outs["status"] == "Completed" and accepted(emu, db["id"]) == 1


def test_an_order_fails_once_keeps_its_id_and_the_next_up_sends_nothing(
    provider: GaussDBOperationProvider, emu: Emulator, journal_dir: Path
) -> None:
    db = emu.create_instance(op_duration=0, charge_mode="prePaid")
    inputs = props(db["id"], "resize-flavor", parameters={"spec_code": "gaussdb.mysql.2xlarge.x86.8"})
    with pytest.raises(ResourceInitFailed) as ordered:
        provider.create(inputs)
    state = ordered.value.properties
    order_id = state["order_id"]
    assert order_id and state["job_id"] is None and ordered.value.resource_id == f"order-{order_id}"
    message = ordered.value.message
    assert f"accepted as order {order_id}" in message and "nothing to wait for" in message
    assert "not sent again" in message and "next `pulumi up` sends nothing" in message and "\n" not in message
    assert "may have started" not in message  # not a lost answer
    # The journal keeps the order (a plugin stopped now would not send it again), and no credential.
    [record] = journal_dir.glob("*.json")
    text = record.read_text()
    assert json.loads(text)["answer"] == {"order_id": order_id}
    assert emu.config.secret_key not in text and emu.config.access_key not in text
    # The next up (Update with the partial state): completes, sends nothing.
    before = emu.stats()["total"]
    updated = provider.update(ordered.value.resource_id, state, inputs)
    assert updated.outs is not None and updated.outs["order_id"] == order_id
    assert emu.stats()["total"] == before and accepted(emu, db["id"]) == 1
    assert not list(journal_dir.glob("*.json"))


def test_the_journal_of_a_lost_answer_holds_no_secret(
    provider: GaussDBOperationProvider, emu: Emulator, journal_dir: Path
) -> None:
    emu.set_list_api("gaussdb-mysql", False)
    db = emu.create_instance(op_duration=600)
    emu.drop_after_accept()
    with pytest.raises(ResourceInitFailed) as lost:
        provider.create(props(db["id"], "rename", parameters={"name": "billing-db"}))
    assert "may have started" in lost.value.message and lost.value.properties["job_id"] is None
    [record] = journal_dir.glob("*.json")
    entry = json.loads(record.read_text())
    assert set(entry) == {"requested_at", "job_id", "answer", "written"} and entry["job_id"] is None
    text = record.read_text()
    assert emu.config.secret_key not in text and emu.config.access_key not in text and "billing-db" not in text
    assert record.stat().st_mode & 0o077 == 0  # the owner's only
    assert accepted(emu, db["id"]) == 1


def test_an_unwritable_journal_starts_nothing(
    provider: GaussDBOperationProvider, emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refused, not degraded: without the record, a run stopped mid-wait would start the operation again."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv(journal.DIR_ENV, str(blocker / "journal"))  # below a file: no directory can be made
    db = emu.create_instance(op_duration=0)
    with pytest.raises(GaussDBJobError) as refused:
        provider.create(props(db["id"]))
    message = str(refused.value)
    assert message.startswith(f"restart of instance {db['id']} not started: cannot record it before sending it (")
    assert str(blocker) in message and message.endswith(f"set {journal.DIR_ENV} to a writable directory")
    assert "\n" not in message
    assert emu.stats()["total"] == 0 and accepted(emu, db["id"]) == 0


def test_without_a_home_directory_the_journal_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: (_ for _ in ()).throw(RuntimeError("no home"))))
    with pytest.raises(OSError, match="no home directory for the journal") as missing:
        journal.directory({})
    assert journal.why(missing.value) == "no home directory for the journal: ~"
    assert journal.directory({"XDG_STATE_HOME": "/state"}) == Path("/state/gaussdb-job/operations")
