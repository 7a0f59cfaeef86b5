"""Every long call of the plugin (Create, Read, Update, Delete) runs on its own pool, not on the SDK's four workers
(``provider.resources.plugin_pool``; issue 20's surviving mutant: only Create lifted).

Two proofs through the real plugin process: where each call runs (a provider that answers with its thread's name),
and what that buys (four refreshes hung on a task center that never answers do not stop a Check from answering).
Order only: the hung server counts the connections the client closed, so "the Check answered while all four reads
were still in flight" is a count, not a duration.
"""

from __future__ import annotations

import importlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from harness.plugin import PluginError, PluginProcess, serialize_provider
from provider.resources import plugin_pool
from provider.resources.dynamic import GaussDBJobProvider
from tests.support.hung import HungServer
from tests.support.placement import ThreadReportingProvider
from tests.support.plugin import clean_env, urn

pytestmark = pytest.mark.timeout(90)

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "0" * 32
LIFTED_PREFIX = "gaussdb-wait"
READS = 4  # the SDK's workers: ``grpc.server(futures.ThreadPoolExecutor(max_workers=4))`` in pulumi.dynamic
JOB_IDS = [f"{i:08x}-fe0f-4888-9003-e843a4c90514" for i in range(READS)]


def plugin_env(**extra: str) -> dict[str, str]:
    env = clean_env(PYTHONPATH=os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    env["GAUSSDB_MAX_RATE"] = "50"  # four first polls at once
    env.update(extra)
    return env


@pytest.mark.parametrize("workers", ["64", "0"], ids=["lifted", "stock"])
def test_create_read_update_and_delete_run_on_the_lifted_pool_and_check_does_not(tmp_path: Path, workers: str) -> None:
    provider = serialize_provider(ThreadReportingProvider())
    env = plugin_env(**{plugin_pool.WORKERS_ENV: workers})
    with PluginProcess(tmp_path, env=env, default_provider=provider) as plugin:
        plugin.configure({"gaussdb:projectId": PROJECT})
        threads = {"Check": str(plugin.check(urn("placed"), {}, {"job_id": "x"}).inputs["thread"])}
        threads["Create"] = str(plugin.create(urn("placed"), {"job_id": "x"})[1]["thread"])
        threads["Read"] = str(plugin.read(urn("placed"), "placed", {"job_id": "x"}).outputs["thread"])
        threads["Update"] = str(plugin.update(urn("placed"), "placed", {"job_id": "x"}, {"job_id": "y"})["thread"])
        with pytest.raises(PluginError) as deleted:
            plugin.delete(urn("placed"), "placed", {"job_id": "x"})
        threads["Delete"] = deleted.value.last_line.rpartition("thread=")[2]
    long_calls = {method: threads[method] for method in ("Create", "Read", "Update", "Delete")}
    assert not threads["Check"].startswith(LIFTED_PREFIX), threads
    if workers == "0":
        assert not any(name.startswith(LIFTED_PREFIX) for name in threads.values()), threads
    else:
        assert all(name.startswith(LIFTED_PREFIX) for name in long_calls.values()), threads


def test_four_hung_refreshes_do_not_hold_back_a_check(tmp_path: Path) -> None:
    server = HungServer()
    env = plugin_env()
    provider = serialize_provider(GaussDBJobProvider())
    with server.running(), ThreadPoolExecutor(READS) as pool:
        plugin = PluginProcess(tmp_path, env=env, default_provider=provider).start()
        try:
            plugin.configure(
                {
                    "gaussdb:endpoint": server.url,
                    "gaussdb:projectId": PROJECT,
                    "gaussdb:accessKey": "lift-test-ak",
                    "gaussdb:secretKey": "lift-test-sk",
                },
                secret_keys=["gaussdb:secretKey"],
            )
            plugin.check(urn("warm-up"), {}, {"job_id": JOB_IDS[0]})  # loads the provider, and the lift

            def refresh(job_id: str) -> str:
                try:
                    plugin.read(urn(job_id), job_id, {"job_id": job_id, "timeout": 900}, timeout=60)
                except PluginError as exc:
                    return exc.details
                return "read"

            reads = [pool.submit(refresh, job_id) for job_id in JOB_IDS]
            server.wait_for(lambda s: s.requests >= READS)  # four Reads, each blocked on the hung server
            # The gRPC deadline only stops a broken run (the Check queued behind refreshes that never end).
            checked = plugin.check(urn("next"), {}, {"job_id": JOB_IDS[0]}, timeout=30)
            closed_when_checked = server.closed_by_client
            # Cancel (issue 20) cuts the hung reads, so the test need not wait for their deadlines.
            plugin._call("Cancel", importlib.import_module("google.protobuf.empty_pb2").Empty(), timeout=10)
            outcomes = [future.result(timeout=30) for future in reads]
        finally:
            plugin.stop()
    assert checked.failures == []
    # The Check answered while all four reads were still in flight: none had ended (on the SDK's four workers, it
    # would have queued until one of them was cut at its deadline).
    assert closed_when_checked == 0
    assert all("cancelled" in outcome for outcome in outcomes), outcomes
