"""``GaussDBOperation`` through the real dynamic-provider plugin (``python -u -m pulumi.dynamic``), driven over
gRPC as the engine drives it, against the emulator's instances. Exactly once is counted by the emulator: the
instance's ``operations`` (requests it accepted) and the stats log's "operation" entries.

A failed Create must leave the job id in the state: the plugin answers with a ``pulumirpc.ErrorResourceInitFailed``
in the gRPC status details (what the engine records as partial state); the test reads it from the trailing
metadata and plays the engine's next ``up`` (Check, Diff, Update with those properties)."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.rpc import status_pb2  # type: ignore[import-untyped]
from pulumi.runtime import proto, rpc
from pulumi.runtime.proto import provider_pb2_grpc

from gaussdb_emulator.server import Emulator, EmulatorConfig
from harness.plugin import PluginError, PluginProcess
from harness.program import run_program
from provider.resources.operation import OUTPUTS

pytestmark = pytest.mark.timeout(60)

URN = "urn:pulumi:dev::gaussdb-job-demo::pulumi-python:dynamic/gaussdb:GaussDBOperation::op"


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(host="127.0.0.1", port=0)) as emulator:
        yield emulator


PROGRAM = """
import pulumi
from provider import GaussDBOperation

restart = GaussDBOperation("restart-db", instance_id="0b0a9e3f2c5d4b1e8f7a6c5d4e3f2a1bin07", operation="restart",
                           triggers=["release-42"], timeout=600)
pulumi.export("job_id", restart.job_id)
"""


@pytest.fixture(scope="module")
def program_provider(tmp_path_factory: pytest.TempPathFactory) -> str:
    """``__provider`` exactly as a program produces it under Pulumi's mocks: a reference to the frozen path."""
    import base64

    from pulumi.runtime.mocks import Mocks

    class RecordingMocks(Mocks):
        inputs: dict[str, dict[str, Any]] = {}

        def new_resource(self, args: Any) -> tuple[str, dict[str, Any]]:
            self.inputs[args.name] = dict(args.inputs)
            return f"{args.name}-id", dict(args.inputs)

        def call(self, args: Any) -> tuple[dict[str, Any], None]:
            return {}, None

    program = tmp_path_factory.mktemp("program") / "__main__.py"
    program.write_text(PROGRAM)
    mocks = RecordingMocks()
    run_program(mocks, {}, program=program)
    inputs = mocks.inputs["restart-db"]
    assert (inputs["operation"], inputs["triggers"], inputs["timeout"]) == ("restart", ["release-42"], 600)
    provider = inputs["__provider"]
    assert isinstance(provider, str)
    pickled = base64.b64decode(provider)
    assert b"provider.resource" in pickled and b"GaussDBOperationProvider" in pickled and len(pickled) < 200
    return str(provider)


@pytest.fixture(scope="module")
def plugin(emu: Emulator, program_provider: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PluginProcess]:

    env = plugin_env(tmp_path_factory.mktemp("journal"))
    with PluginProcess(tmp_path_factory.mktemp("plugin-cwd"), env=env, default_provider=program_provider) as process:
        configure(process, emu)
        yield process


def plugin_env(journal: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HW_", "OS_", "GAUSSDB_"))}
    return {**env, "GAUSSDB_MAX_RATE": "50", "GAUSSDB_JOURNAL_DIR": str(journal)}


def configure(process: PluginProcess, emu: Emulator) -> None:
    cfg = emu.config
    config = {
        "gaussdb:endpoint": emu.url,
        "gaussdb:projectId": cfg.project_id,
        "gaussdb:accessKey": cfg.access_key,
        "gaussdb:secretKey": cfg.secret_key,
    }
    process.configure(config, secret_keys=["gaussdb:secretKey"])


def _serialize(props: dict[str, Any]) -> Any:
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(rpc.serialize_properties(props, {}))
    finally:
        loop.close()


class InitFailed(Exception):
    """The plugin's answer: the call failed but the resource exists (partial state for the engine)."""

    def __init__(self, message: str, detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.id = detail.id
        self.properties = dict(rpc.deserialize_properties(detail.properties))
        self.reasons = list(detail.reasons)


def call(plugin: PluginProcess, method: str, request: Any) -> Any:
    """A Create/Update sent as the engine sends it; ``InitFailed`` when its error carries partial state."""
    with grpc.insecure_channel(f"127.0.0.1:{plugin.port}") as channel:
        stub = provider_pb2_grpc.ResourceProviderStub(channel)
        try:
            return getattr(stub, method)(request, timeout=30)
        except grpc.RpcError as exc:
            trailing = dict(exc.trailing_metadata() or ())
            raw = trailing.get("grpc-status-details-bin")
            if raw is None:
                raise PluginError(method, exc.code(), exc.details() or "") from None
            status = status_pb2.Status.FromString(raw)
            assert status.code == grpc.StatusCode.UNKNOWN.value[0]
            detail = proto.ErrorResourceInitFailed()
            assert status.details[0].Unpack(detail)
            raise InitFailed(exc.details(), detail) from None


def checked(plugin: PluginProcess, news: dict[str, Any]) -> dict[str, Any]:
    result = plugin.check(URN, {}, news)
    assert result.failures == []
    return result.inputs


def create(plugin: PluginProcess, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    response = call(plugin, "Create", proto.CreateRequest(urn=URN, properties=_serialize(inputs)))
    return response.id, dict(rpc.deserialize_properties(response.properties))


def update(plugin: PluginProcess, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
    request = proto.UpdateRequest(id=id_, urn=URN, olds=_serialize(olds), news=_serialize(news))
    return dict(rpc.deserialize_properties(call(plugin, "Update", request).properties))


def accepted(emu: Emulator, instance_id: str) -> int:
    view = emu.instance(instance_id)
    assert view is not None
    return int(view["operations"])


def test_create_starts_the_operation_waits_and_returns_the_jobs_fields(plugin: PluginProcess, emu: Emulator) -> None:
    db = emu.create_instance(op_duration=0, nodes=1)
    inputs = checked(
        plugin, {"instance_id": db["id"], "operation": "add-read-replicas", "parameters": {"priorities": [1]}}
    )
    id_, outputs = create(plugin, inputs)
    assert id_ == outputs["job_id"] and emu.job(id_) is not None
    assert (outputs["status"], outputs["name"]) == ("Completed", "AddGaussDBforMySQLNodes")
    assert outputs["instance"]["id"] == db["id"]
    assert len(outputs["node_names"]) == 1 and outputs["adopted"] is False and outputs["requested_at"]
    assert set(OUTPUTS) - {"fail_reason", "order_id", "restart_required", "backup"} <= set(outputs)
    assert accepted(emu, db["id"]) == 1 and len(emu.instance(db["id"])["nodes"]) == 2  # type: ignore[index]
    # Nothing changed: the next up sees no diff and starts nothing.
    assert plugin.diff(URN, id_, outputs, inputs).changes == "DIFF_NONE"


def test_check_refuses_bad_parameters_at_preview(plugin: PluginProcess, emu: Emulator) -> None:
    result = plugin.check(URN, {}, {"instance_id": "db1", "operation": "change-port", "parameters": {"port": 5342}})
    assert [property for property, _reason in result.failures] == ["parameters"]
    assert "reserved" in result.failures[0][1]
    missing = plugin.check(URN, {}, {"operation": "reboot"})
    assert {property for property, _reason in missing.failures} == {"instance_id", "operation"}


def test_a_failed_job_keeps_its_id_in_state_and_the_next_up_starts_nothing(
    plugin: PluginProcess, emu: Emulator
) -> None:
    db = emu.create_instance(op_duration=0)
    emu.fail_next_operation("the flavor is sold out")
    inputs = checked(
        plugin, {"instance_id": db["id"], "operation": "resize-flavor", "parameters": {"spec_code": "big.8"}}
    )
    with pytest.raises(InitFailed) as first:
        create(plugin, inputs)
    job_id = first.value.properties["job_id"]
    assert first.value.id == job_id and first.value.properties["status"] == "Failed"
    assert "the flavor is sold out" in first.value.message and "change triggers" in first.value.message
    # The engine's next up: the resource is in the state with those properties; Update, not Create.
    with pytest.raises(InitFailed) as again:
        update(plugin, first.value.id, first.value.properties, inputs)
    assert again.value.properties["job_id"] == job_id
    assert accepted(emu, db["id"]) == 1
    # A new trigger is a new request to run it: started again, once.
    news = checked(plugin, {**{k: v for k, v in inputs.items() if k != "__provider"}, "triggers": ["retry-1"]})
    assert plugin.diff(URN, first.value.id, again.value.properties, news).changes == "DIFF_SOME"
    outputs = update(plugin, first.value.id, again.value.properties, news)
    assert outputs["status"] == "Completed" and outputs["job_id"] != job_id
    assert accepted(emu, db["id"]) == 2
    assert emu.instance(db["id"])["flavor"] == "big.8"  # type: ignore[index]


def test_a_timed_out_wait_resumes_on_the_next_up_for_the_same_job(plugin: PluginProcess, emu: Emulator) -> None:
    db = emu.create_instance(op_duration=1.1)
    inputs = checked(plugin, {"instance_id": db["id"], "operation": "restart", "timeout": 1})
    with pytest.raises(InitFailed) as timed_out:
        create(plugin, inputs)
    assert "timed out" in timed_out.value.message and "waits for the same job" in timed_out.value.message
    job_id = timed_out.value.properties["job_id"]
    news = checked(plugin, {"instance_id": db["id"], "operation": "restart", "timeout": 30})
    outputs = update(plugin, timed_out.value.id, timed_out.value.properties, news)
    assert (outputs["job_id"], outputs["status"]) == (job_id, "Completed")
    assert accepted(emu, db["id"]) == 1
    assert [job for _t, job, kind in emu.stats()["log"] if kind == "operation" and job == job_id] == [job_id]


def test_a_lost_answer_is_found_in_the_task_centers_list(plugin: PluginProcess, emu: Emulator) -> None:
    """The task center lists its jobs (Huawei Cloud): the job the lost request started is found and waited for."""
    db = emu.create_instance(op_duration=0)
    emu.drop_after_accept()
    inputs = checked(plugin, {"instance_id": db["id"], "operation": "backup", "parameters": {"name": "pre-upgrade"}})
    _, found = create(plugin, inputs)
    assert found["adopted"] is True and found["status"] == "Completed" and accepted(emu, db["id"]) == 1


def test_a_lost_answer_is_never_sent_again_and_its_job_can_be_adopted(plugin: PluginProcess, emu: Emulator) -> None:
    """No list call (OTC): the state keeps the time; the next up refuses to send again; the user adopts the job."""
    emu.set_list_api("gaussdb-mysql", False)
    try:
        lost_answer_without_a_list(plugin, emu)
    finally:
        emu.set_list_api("gaussdb-mysql", True)


def lost_answer_without_a_list(plugin: PluginProcess, emu: Emulator) -> None:
    db = emu.create_instance(op_duration=0)
    emu.drop_after_accept()
    seen = len(emu.stats()["log"])
    inputs = checked(plugin, {"instance_id": db["id"], "operation": "backup", "parameters": {"name": "pre-upgrade"}})
    with pytest.raises(InitFailed) as lost:
        create(plugin, inputs)
    assert "may have started" in lost.value.message and "never sends the operation again" in lost.value.message
    assert lost.value.properties.get("job_id") is None and lost.value.properties["requested_at"]
    # The next up: Update with the partial state looks for the job (no list call here) and refuses to send the
    # operation again.
    with pytest.raises(InitFailed) as still:
        update(plugin, lost.value.id, lost.value.properties, inputs)
    assert "adopt_job_id" in still.value.message
    assert accepted(emu, db["id"]) == 1
    # The user adopts the job the lost request started.
    started = emu.instance(db["id"])["backups"][0]  # type: ignore[index]
    [job_id] = [job for _t, job, kind in emu.stats()["log"][seen:] if kind == "operation"]
    assert job_id and emu.job(job_id)["name"] == "CreateManualSnapshot"  # type: ignore[index]
    news = checked(plugin, {**{k: v for k, v in inputs.items() if k != "__provider"}, "adopt_job_id": job_id})
    outputs = update(plugin, lost.value.id, still.value.properties, news)
    assert (outputs["job_id"], outputs["status"], outputs["adopted"]) == (job_id, "Completed", True)
    assert started["name"] == "pre-upgrade" and accepted(emu, db["id"]) == 1


def test_delete_touches_nothing(plugin: PluginProcess, emu: Emulator) -> None:
    db = emu.create_instance(op_duration=0)
    id_, outputs = create(plugin, checked(plugin, {"instance_id": db["id"], "operation": "restart"}))
    before = emu.stats()["total"]
    plugin.delete(URN, id_, outputs)
    assert emu.stats()["total"] == before and accepted(emu, db["id"]) == 1


def test_a_plugin_stopped_mid_wait_resumes_the_same_job_on_the_next_up(
    emu: Emulator, program_provider: str, tmp_path: Path
) -> None:
    """Ctrl-C reaches the plugin too and stops it at once: the engine hears nothing and calls Create again next
    time. The journal makes that Create wait for the job the first one started."""
    db = emu.create_instance(op_duration=2.0)
    env, project = plugin_env(tmp_path / "journal"), tmp_path / "project"
    project.mkdir()
    news = {"instance_id": db["id"], "operation": "change-port", "parameters": {"port": 8836}}
    outcome: list[BaseException] = []
    with PluginProcess(project, env=env, default_provider=program_provider) as first:
        configure(first, emu)
        inputs = checked(first, news)

        def run() -> None:
            try:
                create(first, inputs)
            except BaseException as exc:  # noqa: BLE001 - what the engine would see
                outcome.append(exc)

        creating = threading.Thread(target=run)
        creating.start()
        first.wait_for_stderr(lambda lines: any("Running" in line for line in lines))
    creating.join(30)
    # The create ended with an error. Whether the plugin still sent partial state before it stopped is a race
    # (under load it sometimes does); an engine that got none calls Create again, which is the case tried here.
    assert outcome
    job_id = emu.instance(db["id"])["job_id"]  # type: ignore[index]
    assert job_id and accepted(emu, db["id"]) == 1
    with PluginProcess(project, env=env, default_provider=program_provider) as second:
        configure(second, emu)
        id_, outputs = create(second, checked(second, news))
        lines = second.wait_for_stderr(lambda lines: any("earlier run" in line for line in lines))
    assert (id_, outputs["job_id"], outputs["status"]) == (job_id, job_id, "Completed")
    assert accepted(emu, db["id"]) == 1 and emu.instance(db["id"])["port"] == 8836  # type: ignore[index]
    assert any(job_id in line for line in lines if "earlier run" in line)
    assert not list((tmp_path / "journal").glob("*.json"))  # completed: the record is gone


def test_partial_state_leaves_a_plugin_of_another_shape_alone(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Where the plugin's Create is not the wrapper it expects, nothing is patched and installed() stays False
    (GaussDBOperation then starts nothing)."""
    import types

    from provider.resources import partial_state

    class DynamicResourceProviderServicer:
        def Create(self, request: Any, context: Any) -> Any:
            return None

        def Update(self, request: Any, context: Any) -> Any:
            return None

    fake = types.ModuleType("__main__")
    fake.__spec__ = types.SimpleNamespace(name=partial_state.PLUGIN_MODULE)  # type: ignore[assignment]
    fake.DynamicResourceProviderServicer = DynamicResourceProviderServicer  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "__main__", fake)
    monkeypatch.setattr(partial_state, "_installed", None)
    assert partial_state.install() is False and not partial_state.installed()
    assert "partial state unavailable" in capsys.readouterr().err
    assert DynamicResourceProviderServicer.__dict__["Create"].__name__ == "Create"
