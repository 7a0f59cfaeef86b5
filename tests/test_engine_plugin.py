"""The plugin's Cancel RPC (a no-op in the Pulumi SDK) ends every wait of the real plugin process at once: the
waits asleep between polls and the ones asleep in the request budget alike. Order only: the creates return
after the Cancel, well before their jobs (10 minutes) or their timeouts could end them."""

from __future__ import annotations

import importlib
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from gaussdb_emulator.server import Emulator, EmulatorConfig
from harness.plugin import PluginError, PluginProcess, serialize_provider
from provider.resources.dynamic import GaussDBJobProvider

ROOT = Path(__file__).resolve().parent.parent
JOB_TYPE = "pulumi-python:dynamic:Resource"


def urn(name: str) -> str:
    return f"urn:pulumi:dev::gaussdb-job-demo::{JOB_TYPE}::{name}"


def test_the_cancel_rpc_ends_every_wait_at_once(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HW_", "OS_", "GAUSSDB_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    # 0.2 requests/s: the first poll of the first job goes at once, the others wait for the budget (5 s apart).
    env["GAUSSDB_MAX_RATE"] = "0.2"
    with Emulator(EmulatorConfig(host="127.0.0.1", port=0)) as emu:
        cfg = emu.config
        process = PluginProcess(tmp_path, env=env, default_provider=serialize_provider(GaussDBJobProvider()))
        with process as plugin:
            plugin.configure(
                {
                    "gaussdb:endpoint": emu.url,
                    "gaussdb:projectId": cfg.project_id,
                    "gaussdb:accessKey": cfg.access_key,
                    "gaussdb:secretKey": cfg.secret_key,
                },
                secret_keys=["gaussdb:secretKey"],
            )
            ids = [emu.create_job(duration=600)["id"] for _ in range(3)]
            inputs = {job_id: plugin.check(urn(job_id), {}, {"job_id": job_id}).inputs for job_id in ids}

            def create(job_id: str) -> str:
                try:
                    plugin.create(urn(job_id), inputs[job_id], timeout=60)
                except PluginError as exc:
                    return exc.details
                return "created"

            with ThreadPoolExecutor(3) as pool:
                creates = [pool.submit(create, job_id) for job_id in ids]
                bound = time.monotonic() + 20  # a safety bound for a broken run, not a timing assert
                while not emu.stats()["log"]:
                    assert time.monotonic() < bound, "no create reached the emulator"
                    time.sleep(0.02)
                plugin._call("Cancel", importlib.import_module("google.protobuf.empty_pb2").Empty(), timeout=10)
                outcomes = [future.result(timeout=30) for future in creates]
            assert all("cancelled" in outcome for outcome in outcomes), outcomes
            # Every create ended before a second poll of any job: nothing was read after the Cancel but what
            # was already under way.
            assert len(emu.stats()["log"]) <= len(ids)


pytestmark = pytest.mark.timeout(90)
