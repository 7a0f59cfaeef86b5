"""The state contract, pinned: what every deployed stack's state holds must keep working.

A stack's state holds, for each resource, its type token and ``__provider``: the provider object pickled by
``pulumi.dynamic`` (dill, base64) by module path and class name. Refresh and destroy unpickle it in the plugin
process, so ``provider.resource.GaussDBJobProvider`` / ``GaussDBJobsProvider`` and the tokens must never change
(ARCHITECTURE.md, "The state contract"). tests/data/state_contract_0.2.0.json holds the blobs provider 0.2.0 wrote,
before the layout change; they are never regenerated.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dill
import pytest
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs, Mocks

from gaussdb_emulator.server import Emulator
from harness.plugin import PluginProcess
from harness.program import run_program
from provider.resource import GaussDBJobProvider, GaussDBJobsProvider
from tests.support.plugin import JOB_TYPE, JOBS_TYPE, clean_env, stack_config, urn

pytestmark = pytest.mark.timeout(60)

CONTRACT: dict[str, Any] = json.loads(
    (Path(__file__).parent / "data" / "state_contract_0.2.0.json").read_text(encoding="utf-8")
)
BLOBS: dict[str, str] = CONTRACT["provider_blobs"]
TOKENS: dict[str, str] = CONTRACT["type_tokens"]
# GaussDBOperation came with 0.3.0: its blob and token are pinned from the release that introduced them.
CONTRACT_0_3_0: dict[str, Any] = json.loads(
    (Path(__file__).parent / "data" / "state_contract_0.3.0.json").read_text(encoding="utf-8")
)
CLASSES = {"GaussDBJobProvider": GaussDBJobProvider, "GaussDBJobsProvider": GaussDBJobsProvider}

PROGRAM = """
from provider import GaussDBJob, GaussDBJobs

GaussDBJob("one", job_id="a9767ede-fe0f-4888-9003-e843a4c90514", timeout=60)
GaussDBJobs("many", job_ids=["a9767ede-fe0f-4888-9003-e843a4c90514"], timeout=60)
"""

OPERATION_PROGRAM = """
from provider import GaussDBOperation

GaussDBOperation("op", instance_id="8b9009bad1c040a691aa26fab397bca1in07", operation="restart")
"""


# -- the bytes and the tokens -----------------------------------------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize("name", ["GaussDBJobProvider", "GaussDBJobsProvider"])
def test_pulumis_serializer_gives_todays_provider_the_0_2_0_bytes(name: str) -> None:
    # The very function pulumi.dynamic.Resource calls (dill with sorted dicts), on a provider made today.
    provider = CLASSES[name]()
    assert serialize_provider(provider) == BLOBS[name]


@pytest.mark.unit
@pytest.mark.parametrize("name", ["GaussDBJobProvider", "GaussDBJobsProvider"])
def test_a_0_2_0_blob_unpickles_to_todays_class_at_the_frozen_path(name: str) -> None:
    provider = dill.loads(base64.b64decode(BLOBS[name]))
    assert type(provider).__name__ == name
    assert type(provider).__module__ == "provider.resource"
    assert (
        type(provider) is {"GaussDBJobProvider": GaussDBJobProvider, "GaussDBJobsProvider": GaussDBJobsProvider}[name]
    )


class _Recording(Mocks):
    def __init__(self) -> None:
        self.registered: dict[str, tuple[str, dict[str, Any]]] = {}

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.registered[args.name] = (args.typ, dict(args.inputs))
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


@pytest.mark.unit
def test_a_program_registers_the_pinned_type_tokens_and_provider_bytes(tmp_path: Path) -> None:
    # Observed as the engine would receive them (Pulumi's official mocks), not computed here.
    program = tmp_path / "__main__.py"
    program.write_text(PROGRAM, encoding="utf-8")
    mocks = _Recording()
    run_program(mocks, {}, program=program)
    one_type, one_inputs = mocks.registered["one"]
    many_type, many_inputs = mocks.registered["many"]
    assert (one_type, many_type) == (TOKENS["GaussDBJob"], TOKENS["GaussDBJobs"])
    assert (one_type, many_type) == (
        "pulumi-python:dynamic/gaussdb:GaussDBJob",
        "pulumi-python:dynamic/gaussdb:GaussDBJobs",
    )
    assert (JOB_TYPE, JOBS_TYPE) == (one_type, many_type)  # what the other plugin tests build their URNs from
    assert one_inputs["__provider"] == BLOBS["GaussDBJobProvider"]
    assert many_inputs["__provider"] == BLOBS["GaussDBJobsProvider"]


@pytest.mark.unit
def test_gaussdb_operation_keeps_the_token_and_bytes_it_was_released_with(tmp_path: Path) -> None:
    program = tmp_path / "__main__.py"
    program.write_text(OPERATION_PROGRAM, encoding="utf-8")
    mocks = _Recording()
    run_program(mocks, {}, program=program)
    op_type, op_inputs = mocks.registered["op"]
    assert op_type == CONTRACT_0_3_0["type_tokens"]["GaussDBOperation"]
    assert op_type == "pulumi-python:dynamic/gaussdb:GaussDBOperation"
    assert op_inputs["__provider"] == CONTRACT_0_3_0["provider_blobs"]["GaussDBOperationProvider"]
    assert type(dill.loads(base64.b64decode(op_inputs["__provider"]))).__module__ == "provider.resource"


# -- refresh and destroy of a 0.2.0 stack, through the real plugin process ----------------------------------------


@pytest.fixture(scope="module")
def plugin(emu: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PluginProcess]:
    """The plugin as the engine starts it for a refresh: no default provider; every call carries the old blob."""
    with PluginProcess(tmp_path_factory.mktemp("plugin-cwd"), env=clean_env(GAUSSDB_MAX_RATE="50")) as process:
        process.configure(stack_config(emu), secret_keys=["gaussdb:secretKey"])
        yield process


def test_a_0_2_0_job_is_read_and_deleted_by_the_plugin(plugin: PluginProcess, emu: Emulator) -> None:
    job = emu.create_job(name="RestartGaussDBInstance", duration=0)
    before = emu.stats()["jobs"].get(job["id"], 0)
    # The outputs a 0.2.0 stack holds for a job last seen Running, with its provider blob.
    state = {"job_id": job["id"], "timeout": 60, "status": "Running", "__provider": BLOBS["GaussDBJobProvider"]}
    read = plugin.read(urn("restart-db", TOKENS["GaussDBJob"]), job["id"], state)
    assert read.id == job["id"] and read.outputs["status"] == "Completed"
    assert emu.stats()["jobs"][job["id"]] == before + 1  # read from the task center, once
    plugin.delete(
        urn("restart-db", TOKENS["GaussDBJob"]), job["id"], read.outputs | {"__provider": state["__provider"]}
    )
    assert emu.stats()["jobs"][job["id"]] == before + 1  # forgetting a job sends nothing


def test_a_0_2_0_job_set_is_read_and_deleted_by_the_plugin(plugin: PluginProcess, emu: Emulator) -> None:
    ids = [emu.create_job(duration=0)["id"], emu.create_job(duration=0, outcome="Failed", fail_reason="no disk")["id"]]
    state = {"job_ids": ids, "jobs": [], "timeout": 60, "__provider": BLOBS["GaussDBJobsProvider"]}
    address = urn("replicas", TOKENS["GaussDBJobs"])
    read = plugin.read(address, "replicas-id", state)
    assert [j["job_id"] for j in read.outputs["jobs"]] == ids
    assert [j["status"] for j in read.outputs["jobs"]] == ["Completed", "Failed"]
    assert read.outputs["failed"] == {ids[1]: "no disk"}
    plugin.delete(
        urn("replicas", TOKENS["GaussDBJobs"]), "replicas-id", read.outputs | {"__provider": state["__provider"]}
    )
    assert all(emu.stats()["jobs"][job_id] == 1 for job_id in ids)
