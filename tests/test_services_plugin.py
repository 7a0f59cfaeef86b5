"""Every service through the real dynamic-provider plugin (harness/plugin.py ``PluginProcess``), as ``pulumi up`` runs
it: ``service`` and ``accept_scheduled`` inputs checked, each service's job waited to Completed, its failure
reported with the reason, an RDS job the task center does not know reported as not found (its 404 RDS.5041).

The waits run side by side on the plugin's four workers, so the whole file costs about two of its 2 s polls.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from gaussdb_emulator.server import Emulator
from harness.plugin import PluginError, PluginProcess
from tests.support.plugin import clean_env, stack_config, urn

pytestmark = pytest.mark.timeout(60)

SERVICES = ["gaussdb-mysql", "gaussdb", "gaussdb-nosql", "rds", "dds"]


# Unknown ids are answered as RDS does (404 RDS.5041), the one unknown-job answer that is not a 400.
EMULATOR_CONFIG = {"service": "rds"}  # for the shared `emu` fixture (tests/conftest.py)


@pytest.fixture(scope="module")
def plugin(emu: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PluginProcess]:
    from harness.plugin import serialize_provider
    from provider.resources.dynamic import GaussDBJobProvider

    workdir = tmp_path_factory.mktemp("plugin-cwd")
    provider = serialize_provider(GaussDBJobProvider())
    # Per-job reads: the emulator plays one service per port, and GeminiDB's list shares its path with every
    # service's per-job read (tests/test_batch.py reads each service's list; tests/test_batch_plugin.py the plugin's).
    env = clean_env(GAUSSDB_MAX_RATE="50", GAUSSDB_LIST_API="off")
    with PluginProcess(workdir, env=env, default_provider=provider) as process:
        process.configure(stack_config(emu), secret_keys=["gaussdb:secretKey"])
        yield process


def checked(plugin: PluginProcess, news: dict[str, Any]) -> dict[str, Any]:
    result = plugin.check(urn(), {}, news)
    assert result.failures == []
    return result.inputs


def test_check_refuses_an_unknown_service_and_a_non_boolean_accept_scheduled(plugin: PluginProcess) -> None:
    job_id = "a9767ede-fe0f-4888-9003-e843a4c90514"
    failures = plugin.check(urn(), {}, {"job_id": job_id, "service": "redis"}).failures
    assert [p for p, _ in failures] == ["service"]
    assert "expected one of gaussdb-mysql, gaussdb, gaussdb-nosql, rds, dds" in failures[0][1]
    failures = plugin.check(urn(), {}, {"job_id": job_id, "accept_scheduled": "yes"}).failures
    assert [p for p, _ in failures] == ["accept_scheduled"]
    assert checked(plugin, {"job_id": job_id, "service": "TaurusDB"})["service"] == "gaussdb-mysql"


def test_every_service_through_the_plugin(plugin: PluginProcess, emu: Emulator) -> None:
    unknown = "00000000-0000-4000-8000-000000000000"
    made: dict[str, dict[str, Any]] = {}

    def job(key: str, service: str, **fields: Any) -> dict[str, Any]:
        # Created when its create call starts (not when queued behind the plugin's four workers), so a 1 s job is
        # still running at the first poll.
        made[key] = emu.create_job(service=service, **fields)
        return {"job_id": made[key]["id"], "service": service}

    calls: dict[str, Any] = {
        **{f"failed-{s}": (s, {"duration": 0, "outcome": "Failed", "fail_reason": f"{s} broke"}) for s in SERVICES},
        "pending-dds": ("dds", {"pending_for": 3600, "duration": 10}),
        **{s: (s, {"duration": 1.0, "instance": {"id": f"in-{s}", "name": s}}) for s in SERVICES},
        "unknown-rds": ("rds", None),
        # Never visible while the wait lasts: answered in each service's own "no such job" shape (GeminiDB: an
        # empty list; RDS: 404 RDS.5041; the others: 400 with their code).
        **{f"invisible-{s}": (s, {"visible_after": 3600, "duration": 10}) for s in SERVICES},
    }

    def create(key: str) -> tuple[str, dict[str, Any]] | PluginError:
        service, fields = calls[key]
        news = (
            {"job_id": unknown, "service": service, "not_found_grace": 0.5}
            if fields is None
            else job(key, service, **fields)
        )
        if key.startswith("pending"):
            news["accept_scheduled"] = True
        if key.startswith("invisible"):
            news["not_found_grace"] = 0.5
        try:
            return plugin.create(urn(), checked(plugin, {"timeout": 30, **news}))
        except PluginError as exc:
            return exc

    # All at once: the plugin's creates run on a pool of their own (provider.plugin_pool), so none queues.
    keys = list(calls)
    with ThreadPoolExecutor(max_workers=len(keys)) as pool:
        results: dict[str, Any] = dict(zip(keys, pool.map(create, keys), strict=True))

    for service in SERVICES:
        result = results[service]
        assert not isinstance(result, PluginError), result
        id_, outputs = result
        assert id_ == made[service]["id"]
        assert (outputs["status"], outputs["process"], outputs["service"]) == ("Completed", "", service)
        assert outputs["instance"] == {"id": f"in-{service}", "name": service}
        assert outputs["created"] and outputs["ended"]
        assert emu.stats()["jobs"][id_] >= 2  # it waited while the job ran
        error = results[f"failed-{service}"]
        assert isinstance(error, PluginError)
        assert made[f"failed-{service}"]["id"] in error.last_line and f"{service} broke" in error.last_line
        invisible = results[f"invisible-{service}"]
        assert isinstance(invisible, PluginError)
        assert f"job {made[f'invisible-{service}']['id']} not found" in invisible.last_line
    not_found = results["unknown-rds"]
    assert isinstance(not_found, PluginError) and f"job {unknown} not found" in not_found.last_line
    scheduled = results["pending-dds"]
    assert not isinstance(scheduled, PluginError), scheduled
    assert scheduled[1]["status"] == "Pending" and scheduled[1]["accept_scheduled"] is True
    assert emu.stats()["jobs"][made["pending-dds"]["id"]] == 1
    pending_id = made["pending-dds"]["id"]
    lines = plugin.wait_for_stderr(lambda lines: any(pending_id in s and "Pending (scheduled" in s for s in lines))
    assert any(pending_id in line and "Pending (scheduled" in line for line in lines)


def test_a_change_of_service_replaces(plugin: PluginProcess) -> None:
    job_id = "a9767ede-fe0f-4888-9003-e843a4c90514"
    olds = {"job_id": job_id, "service": "rds", "timeout": 30}
    diff = plugin.diff(urn(), job_id, olds, {**olds, "service": "dds"})
    assert diff.replaces == ["service"]
    assert plugin.diff(urn(), job_id, olds, {**olds, "accept_scheduled": True}).replaces == []
