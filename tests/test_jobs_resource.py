"""``GaussDBJobs`` through the real plugin (``python -u -m pulumi.dynamic``) against the emulator: a list and a
comma-separated string, one Failed job among several, a changed list replaces; and ``GaussDBJob`` pointing a
comma-separated id to it. Side by side is proven from the emulator's request log, not from durations."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gaussdb_emulator.server import Emulator
from harness.plugin import PluginError, PluginProcess, serialize_provider
from provider.resources.dynamic import OUTPUTS, GaussDBJobProvider, GaussDBJobsProvider, split_job_ids

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).resolve().parent.parent
MANY = "pulumi-python:dynamic/gaussdb:GaussDBJobs"
ONE = "pulumi-python:dynamic/gaussdb:GaussDBJob"


def urn(name: str, type_: str = MANY) -> str:
    return f"urn:pulumi:dev::gaussdb-job-demo::{type_}::{name}"


@pytest.fixture(scope="module")
def plugin(emu: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PluginProcess]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HW_", "OS_", "GAUSSDB_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    cfg = emu.config
    config = {
        "gaussdb:endpoint": emu.url,
        "gaussdb:projectId": cfg.project_id,
        "gaussdb:accessKey": cfg.access_key,
        "gaussdb:secretKey": cfg.secret_key,
        # Fast tests: the shared budget has its own tests; here it must not space the polls of a few jobs.
        "gaussdb:maxRate": "50",
    }
    provider = serialize_provider(GaussDBJobsProvider())
    with PluginProcess(tmp_path_factory.mktemp("plugin-cwd"), env=env, default_provider=provider) as process:
        process.configure(config, secret_keys=["gaussdb:secretKey"])
        yield process


def check(plugin: PluginProcess, news: dict[str, Any], name: str = "replicas") -> tuple[dict[str, Any], list[Any]]:
    result = plugin.check(urn(name), {}, news)
    return result.inputs, result.failures


def test_waits_for_every_job_side_by_side(plugin: PluginProcess, emu: Emulator) -> None:
    durations = [3.5, 3.0, 3.5, 3.2]  # still running at their first read, even on a loaded machine
    jobs = [emu.create_job(name=f"AddReadReplica{i}", duration=d) for i, d in enumerate(durations)]
    ids = [job["id"] for job in jobs]
    inputs, failures = check(plugin, {"job_ids": ids, "timeout": 30})
    assert failures == []
    assert inputs["job_ids"] == ids
    id_, outputs = plugin.create(urn("replicas"), inputs)

    assert id_.startswith("jobs-")
    assert outputs["job_ids"] == ids  # input order
    assert outputs["status"] == "Completed"
    assert [job["job_id"] for job in outputs["jobs"]] == ids
    for job in outputs["jobs"]:
        assert set(OUTPUTS) - {"fail_reason"} <= set(job)
        assert job["status"] == "Completed" and job["name"].startswith("AddReadReplica")
    assert outputs.get("failed") in ({}, None)
    # Side by side, proven by order in the emulator's log, not by the clock: every job is asked about once before
    # any is asked about again (waited one after another, the first job would be read again, to its end, before the
    # second is read at all). A list call asks about every job of its round at once (batch reads).
    asked: list[str] = []
    for _, job_id, kind in emu.stats()["log"]:
        asked += ids if kind == "list" else [job_id] if job_id in ids else []
    first_round = asked[: asked.index(asked[0], 1)] if asked.count(asked[0]) > 1 else asked
    assert set(first_round) == set(ids)


def test_a_comma_separated_string_as_read_replica_calls_answer(plugin: PluginProcess, emu: Emulator) -> None:
    jobs = [emu.create_job(name=f"AddReadReplica{i}", duration=0) for i in range(3)]
    ids = [job["id"] for job in jobs]
    inputs, failures = check(plugin, {"job_ids": f"{ids[0]}, {ids[1].upper()},{ids[2]}", "timeout": 30})
    assert failures == []
    assert inputs["job_ids"] == ids  # split, trimmed, normalised, in order
    _, outputs = plugin.create(urn("replicas"), inputs)
    assert outputs["job_ids"] == ids and [job["job_id"] for job in outputs["jobs"]] == ids
    assert outputs["status"] == "Completed"


def test_failed_jobs_fail_the_create_naming_each(plugin: PluginProcess, emu: Emulator) -> None:
    ok = emu.create_job(name="Ok", duration=0)
    bad = emu.create_job(name="ResizeA", duration=0, outcome="Failed", fail_reason="Disk quota exceeded")
    worse = emu.create_job(name="ResizeB", duration=0, outcome="Failed", fail_reason="Flavor sold out")
    ids = [ok["id"], bad["id"], worse["id"]]
    inputs, _ = check(plugin, {"job_ids": ids, "timeout": 30})
    with pytest.raises(PluginError) as caught:
        plugin.create(urn("replicas"), inputs)
    line = caught.value.last_line
    assert line.startswith("provider.resource.GaussDBJobError: 2 of 3 jobs did not complete")
    assert bad["id"] in line and "ResizeA" in line and "Disk quota exceeded" in line
    assert worse["id"] in line and "ResizeB" in line and "Flavor sold out" in line
    assert ok["id"] not in line

    inputs, _ = check(plugin, {"job_ids": ids, "timeout": 30, "fail_on_error": False})
    _, outputs = plugin.create(urn("replicas"), inputs)
    assert outputs["status"] == "Failed"
    assert outputs["failed"] == {bad["id"]: "Disk quota exceeded", worse["id"]: "Flavor sold out"}
    assert [job["status"] for job in outputs["jobs"]] == ["Completed", "Failed", "Failed"]


def test_a_changed_list_replaces_and_a_new_order_does_not(plugin: PluginProcess, emu: Emulator) -> None:
    jobs = [emu.create_job(duration=0) for _ in range(3)]
    ids = [job["id"] for job in jobs]
    inputs, _ = check(plugin, {"job_ids": ids[:2], "timeout": 30})
    id_, outputs = plugin.create(urn("replicas"), inputs)

    grown, _ = check(plugin, {"job_ids": ids, "timeout": 30})
    diff = plugin.diff(urn("replicas"), id_, outputs, grown)
    assert diff.changes == "DIFF_SOME" and diff.replaces == ["job_ids"]

    swapped, _ = check(plugin, {"job_ids": f"{ids[1]},{ids[0]}", "timeout": 30})
    diff = plugin.diff(urn("replicas"), id_, outputs, swapped)
    assert diff.changes == "DIFF_SOME" and diff.replaces == []
    updated = plugin.update(urn("replicas"), id_, outputs, swapped)
    assert updated["job_ids"] == [ids[1], ids[0]]
    assert [job["job_id"] for job in updated["jobs"]] == [ids[1], ids[0]]

    same, _ = check(plugin, {"job_ids": ids[:2], "timeout": 30})
    assert plugin.diff(urn("replicas"), id_, outputs, same).changes == "DIFF_NONE"

    # Refresh re-reads every job; one the task center forgot keeps its last outputs.
    emu.delete_job(ids[0])
    read = plugin.read(urn("replicas"), id_, outputs)
    assert read.id == id_ and [job["job_id"] for job in read.outputs["jobs"]] == ids[:2]
    assert read.outputs["jobs"][0] == outputs["jobs"][0]
    assert read.outputs["status"] == "Completed"


@pytest.mark.parametrize(
    ("job_ids", "message"),
    [
        ([], "job_ids is empty"),
        ("", "job_ids is empty"),
        (["not-a-job"], "job_ids[0]: invalid job id"),
        (["a9767ede-fe0f-4888-9003-e843a4c90514"] * 2, "listed twice"),
        (None, "job_ids is required"),
    ],
)
def test_bad_job_ids_fail_the_check(plugin: PluginProcess, job_ids: Any, message: str) -> None:
    news = {} if job_ids is None else {"job_ids": job_ids}
    _, failures = check(plugin, news)
    assert any(prop == "job_ids" and message in reason for prop, reason in failures), failures


def test_a_comma_separated_job_id_on_gaussdbjob_points_to_gaussdbjobs(plugin: PluginProcess) -> None:
    ids = "a9767ede-fe0f-4888-9003-e843a4c90514,b9767ede-fe0f-4888-9003-e843a4c90514"
    one = serialize_provider(GaussDBJobProvider())
    result = plugin.check(urn("replica", ONE), {}, {"job_id": ids, "__provider": one})
    assert len(result.failures) == 1
    prop, reason = result.failures[0]
    assert prop == "job_id" and "GaussDBJobs" in reason and "2 job ids" in reason


def test_split_job_ids() -> None:
    assert split_job_ids(" a , b,,c ") == ["a", "b", "c"]
    assert split_job_ids(["a", "b"]) == ["a", "b"]
    with pytest.raises(Exception, match="list of job ids"):
        split_job_ids(3)


def test_the_program_sends_job_ids_and_a_provider_the_plugin_can_load(
    plugin: PluginProcess, emu: Emulator, tmp_path: Path
) -> None:
    """Under Pulumi's mocks, GaussDBJobs sends what the engine would get; that ``__provider`` works in the plugin."""
    from pulumi.runtime.mocks import Mocks

    from harness.program import run_program

    job = emu.create_job(duration=0)
    seen: dict[str, Any] = {}

    class Recorder(Mocks):
        def new_resource(self, args: Any) -> tuple[str, dict[str, Any]]:
            seen.update(args.inputs)
            return "id", dict(args.inputs)

        def call(self, args: Any) -> tuple[dict[str, Any], None]:
            return {}, None

    program = tmp_path / "__main__.py"
    program.write_text(f"from provider import GaussDBJobs\nGaussDBJobs('r', job_ids='{job['id']}', timeout=60)\n")
    run_program(Recorder(), {}, program=program)
    assert seen["job_ids"] == job["id"] and isinstance(seen["__provider"], str)
    inputs, failures = check(plugin, {"job_ids": seen["job_ids"], "__provider": seen["__provider"]})
    assert failures == []
    _, outputs = plugin.create(urn("r"), inputs)
    assert outputs["job_ids"] == [job["id"]] and outputs["status"] == "Completed"


def test_unknown_job_ids_pass_the_check_at_preview(plugin: PluginProcess) -> None:
    from pulumi.runtime.rpc import UNKNOWN

    for job_ids in (UNKNOWN, ["a9767ede-fe0f-4888-9003-e843a4c90514", UNKNOWN]):
        _, failures = check(plugin, {"job_ids": job_ids})
        assert failures == []
