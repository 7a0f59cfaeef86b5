"""Batch reads through the real plugin (``python -u -m pulumi.dynamic``, ``harness.plugin``) against the emulator:
the creates of a stack share one reader per task center, and a refused list call is logged once. What was sent is
read from the emulator's request log, never from durations."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from gaussdb_emulator.server import Emulator
from harness.plugin import PluginProcess, serialize_provider
from provider.resources.dynamic import GaussDBJobProvider, GaussDBJobsProvider
from tests.support.emulator import running_emulator
from tests.support.plugin import JOBS_TYPE, clean_env, stack_config, urn

pytestmark = pytest.mark.timeout(90)

ROOT = Path(__file__).resolve().parent.parent
CREATES = 8
# Long enough for each job to be asked about in a few rounds (the default policy polls every 2 s at first).
DURATION = 4.0
# Eight waits polling every 2 s ask for 4 requests a second: at 2 a second the budget holds each round's leader
# back while the others join its round (at the default 1/s too; 2/s halves the eight final reads' time).
RATE = "2"


def _plugin(emu: Emulator, workdir: Path, provider: Any, **config: str) -> PluginProcess:
    env = clean_env(PYTHONPATH=str(ROOT))
    process = PluginProcess(workdir, env=env, default_provider=serialize_provider(provider)).start()
    process.configure({**stack_config(emu), **config}, secret_keys=["gaussdb:secretKey"])
    return process


@pytest.fixture
def listless() -> Iterator[Emulator]:
    with running_emulator(no_list_api=frozenset({"gaussdb-mysql"})) as emu:
        yield emu


def _fallback_lines(plugin: PluginProcess) -> list[str]:
    return [line for line in plugin.stderr_lines() if "list call is not available" in line]


def test_eight_creates_of_a_stack_share_one_reader(emulator: Emulator, tmp_path: Path) -> None:
    """Eight GaussDBJob creates at once, at 2 requests/s: their waits join one list call a round, and each job is
    read by itself only for its whole record (or in a round it had alone)."""
    jobs = [emulator.create_job(name=f"Restart{i}", duration=DURATION, progress="linear") for i in range(CREATES)]
    plugin = _plugin(emulator, tmp_path, GaussDBJobProvider(), **{"gaussdb:maxRate": RATE})
    try:

        def create(index: int) -> dict[str, Any]:
            news = {"job_id": jobs[index]["id"], "timeout": 60}
            inputs = plugin.check(urn(f"restart-{index}"), {}, news).inputs
            return plugin.create(urn(f"restart-{index}"), inputs)[1]

        with ThreadPoolExecutor(max_workers=CREATES) as pool:
            outputs = list(pool.map(create, range(CREATES)))
    finally:
        plugin.stop()
    assert [o["status"] for o in outputs] == ["Completed"] * CREATES
    assert [o["job_id"] for o in outputs] == [job["id"] for job in jobs]
    log = [(job_id, kind) for _, job_id, kind in emulator.stats()["log"]]
    kinds = Counter(kind for _, kind in log)
    reads = Counter(job_id for job_id, kind in log if kind == "job")
    # A list call is sent only for a round of two jobs or more: every one of them served creates of other
    # resources (each create waits for one job), through the one reader of the plugin process.
    assert kinds["list"] >= 2, (kinds, reads)
    # Per job, reads by itself: its whole record at the end, plus a round it had alone now and then; per-job
    # reads would have asked each job in every round of its wait (3 or more rounds for a 4 s job).
    assert set(reads) == {job["id"] for job in jobs}
    assert sum(reads.values()) <= 2 * CREATES, (kinds, reads)
    assert kinds["list"] + kinds["job"] < 3 * CREATES, (kinds, reads)
    assert _fallback_lines(plugin) == []


def test_a_refused_list_call_is_logged_once_and_every_job_still_completes(listless: Emulator, tmp_path: Path) -> None:
    plugin = _plugin(listless, tmp_path, GaussDBJobsProvider(), **{"gaussdb:maxRate": "50"})
    try:
        for name, count in (("first", 3), ("second", 2)):
            ids = [listless.create_job(duration=0.5)["id"] for _ in range(count)]
            inputs = plugin.check(urn(name, JOBS_TYPE), {}, {"job_ids": ids, "timeout": 30}).inputs
            outputs = plugin.create(urn(name, JOBS_TYPE), inputs)[1]
            assert outputs["status"] == "Completed" and [j["job_id"] for j in outputs["jobs"]] == ids
        lines = plugin.wait_for_stderr(lambda lines: any("list call is not available" in line for line in lines))
    finally:
        plugin.stop()
    (line,) = [line for line in lines if "list call is not available" in line]
    assert "HTTP 404 APIGW.0101" in line and listless.url in line and "reading jobs one by one" in line
    # The setting that forces a mode, in the stack's words.
    assert "gaussdb:listApi (or GAUSSDB_LIST_API)" in line and "--list-api" not in line
    # One refused list call for the process: the second create read its jobs one by one from the start.
    kinds = Counter(kind for *_, kind in listless.stats()["log"])
    assert kinds["list"] == 1 and kinds["job"] >= 5
