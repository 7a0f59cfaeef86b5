"""Waits side by side in the real plugin (``python -u -m pulumi.dynamic``), proven from the emulator's request log.

The emulator runs in this process, so its log and the moments this test sees calls return are on one clock
(``time.monotonic``): every assertion is about order, none about durations. Jobs are long (10 minutes) so the
order cannot depend on how loaded the machine is; once the order is settled the test ends them (each job is
replaced by a finished one under the same id) and the creates return at their next poll.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from gaussdb_emulator.server import Emulator
from harness.plugin import PluginProcess, serialize_provider
from provider.resources import plugin_pool
from provider.resources.dynamic import GaussDBJobProvider
from tests.support.plugin import urn

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).resolve().parent.parent
LIFT_LINE = "lift did not apply"
# Simulates a grpc whose server no longer consults ``experimental_thread_pool``: what the lift relies on is gone.
CHANGED_GRPC = """
from grpc import _server

def _select_thread_pool_for_behavior(behavior, default_thread_pool):
    return default_thread_pool

_server._select_thread_pool_for_behavior = _select_thread_pool_for_behavior
"""


def plugin_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HW_", "OS_", "GAUSSDB_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    # Eight first polls at once: the request budget (tests/test_budget.py) must not space them 1.75 s apart.
    env["GAUSSDB_MAX_RATE"] = "50"
    # Each wait's own per-job reads show in the log which waits are in the plugin (a list call would serve them all
    # with one request; batch reads through the plugin are tests/test_batch_plugin.py's).
    env["GAUSSDB_LIST_API"] = "off"
    env.update(extra)
    return env


def start_plugin(emu: Emulator, cwd: Path, env: dict[str, str]) -> PluginProcess:
    process = PluginProcess(cwd, env=env, default_provider=serialize_provider(GaussDBJobProvider())).start()
    cfg = emu.config
    process.configure(
        {
            "gaussdb:endpoint": emu.url,
            "gaussdb:projectId": cfg.project_id,
            "gaussdb:accessKey": cfg.access_key,
            "gaussdb:secretKey": cfg.secret_key,
        },
        secret_keys=["gaussdb:secretKey"],
    )
    return process


def wait_until(condition: Callable[[], bool], bound: float = 20.0) -> None:
    """Poll a condition the test cannot be told about (the emulator's log); the bound only stops a broken run."""
    deadline = time.monotonic() + bound
    while not condition():
        assert time.monotonic() < deadline, "condition not reached within the safety bound"
        time.sleep(0.02)


def first_polls(emu: Emulator, ids: list[str]) -> dict[str, float]:
    first: dict[str, float] = {}
    for t, job_id, *_ in emu.stats()["log"]:
        if job_id in ids:
            first.setdefault(job_id, t)
    return first


def finish(emu: Emulator, job_id: str) -> None:
    """End a long job now: the same id, finished (a poll in between sees "not found", which a wait tolerates)."""
    emu.delete_job(job_id)
    emu.create_job(id=job_id, duration=0)


def eight_creates_and_a_check(
    emu: Emulator, plugin: PluginProcess, *, lifted: bool
) -> tuple[dict[str, float], list[float], float]:
    """Eight creates of long jobs at once, then a Check; returns each job's first poll, the moments the creates
    returned and the moment the Check returned (all on the emulator's clock).

    The jobs are ended once the order is settled: when all eight are being polled and the Check has answered
    (``lifted``: what the lift must achieve), or else as soon as four are being polled (the stock plugin: the
    other four and the Check are queued; ending the jobs lets the rounds go by).
    """
    # The engine checks a resource before it creates it: the first Check loads the provider (and the lift).
    plugin.check(urn("warm-up"), {}, {"job_id": "a9767ede-fe0f-4888-9003-e843a4c90514"})
    jobs = [emu.create_job(name=f"Resize{i}", duration=600) for i in range(8)]
    ids = [job["id"] for job in jobs]
    returned: list[float] = []
    lock = threading.Lock()

    checked_inputs = {
        job_id: plugin.check(urn(job_id), {}, {"job_id": job_id, "timeout": 120}).inputs for job_id in ids
    }

    def create(job_id: str) -> None:
        plugin.create(urn(job_id), checked_inputs[job_id], timeout=60)
        with lock:
            returned.append(time.monotonic())

    with ThreadPoolExecutor(max_workers=9) as pool:
        creates: list[Future[None]] = [pool.submit(create, job_id) for job_id in ids]
        wait_until(lambda: len(first_polls(emu, ids)) >= 4)  # the creates are in the plugin
        check: Future[float] = pool.submit(
            lambda: (plugin.check(urn("next"), {}, {"job_id": ids[0]}), time.monotonic())[1]
        )
        if lifted:
            wait_until(lambda: len(first_polls(emu, ids)) == 8 and check.done())
        for job_id in ids:
            finish(emu, job_id)
        for future in creates:
            future.result()
        checked = check.result()
    return first_polls(emu, ids), returned, checked


@pytest.mark.parametrize("lifted", [True, False], ids=["lifted", "stock"])
def test_eight_creates_are_polled_side_by_side_and_a_check_answers_first(
    emu: Emulator, tmp_path: Path, lifted: bool
) -> None:
    env = plugin_env() if lifted else plugin_env(**{plugin_pool.WORKERS_ENV: "0"})
    plugin = start_plugin(emu, tmp_path, env)
    try:
        first, returned, checked = eight_creates_and_a_check(emu, plugin, lifted=lifted)
    finally:
        plugin.stop()
    first_return = min(returned)
    assert len(first) == 8
    if lifted:
        # All eight were being polled before any create returned, and the Check did not queue behind them.
        assert max(first.values()) < first_return
        assert checked < first_return
        assert LIFT_LINE not in plugin.stderr_text()
    else:
        # The SDK's four workers: four jobs were first polled only once a create had returned, and the Check
        # waited for a create too.
        assert sorted(first.values())[3] < first_return < sorted(first.values())[4]
        assert checked > first_return


def test_without_the_mechanism_creates_still_complete_four_at_a_time(emu: Emulator, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(CHANGED_GRPC)
    env = plugin_env()
    env["PYTHONPATH"] = os.pathsep.join([str(site), env["PYTHONPATH"]])
    plugin = start_plugin(emu, tmp_path, env)
    try:
        first, returned, checked = eight_creates_and_a_check(emu, plugin, lifted=False)
    finally:
        plugin.stop()
    assert len(returned) == 8  # every create completed
    ordered = sorted(first.values())
    assert ordered[3] < min(returned) < ordered[4]  # four at a time
    assert checked > min(returned)  # and a Check queues behind them, as in the stock plugin
    said = [line for line in plugin.stderr_lines() if LIFT_LINE in line]
    assert len(said) == 1, plugin.stderr_text()
    assert "experimental_thread_pool" in said[0]
    assert "Traceback" not in plugin.stderr_text()


@pytest.mark.parametrize("workers", ["64", "0"], ids=["lifted", "stock"])
def test_ctrl_c_ends_the_waits_in_flight_and_the_plugin_exits(emu: Emulator, tmp_path: Path, workers: str) -> None:
    plugin = start_plugin(emu, tmp_path, plugin_env(**{plugin_pool.WORKERS_ENV: workers}))
    job = emu.create_job(duration=600)
    inputs = plugin.check(urn("long"), {}, {"job_id": job["id"], "timeout": 900}).inputs
    errors: list[BaseException] = []

    def create() -> None:
        try:
            plugin.create(urn("long"), inputs)
        except Exception as exc:  # noqa: BLE001 - the call dies with the server; what matters is the exit
            errors.append(exc)

    thread = threading.Thread(target=create, daemon=True)
    thread.start()
    wait_until(lambda: emu.stats()["jobs"].get(job["id"], 0) >= 1)
    # SIGINT as the engine sends it; stop() kills the plugin (exit -9) if it is still alive 5 s later.
    assert plugin.stop(timeout=5.0) == 0
    thread.join(5)
    assert (emu.job(job["id"]) or {})["status"] == "Running"  # the wait ended, not the job


def test_install_is_a_no_op_outside_the_plugin(capsys: pytest.CaptureFixture[str]) -> None:
    assert not plugin_pool.in_plugin()
    assert plugin_pool.install() is False
    assert plugin_pool.pool() is None and plugin_pool.shutdown_event() is None
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", plugin_pool.DEFAULT_WORKERS), ("8", 8), ("0", 0), ("x", None), ("-1", None), ("100000", None)],
)
def test_workers_setting(value: str, expected: int | None) -> None:
    env: dict[str, Any] = {plugin_pool.WORKERS_ENV: value}
    if expected is None:
        with pytest.raises(plugin_pool.LiftError, match=plugin_pool.WORKERS_ENV):
            plugin_pool.workers(env)
    else:
        assert plugin_pool.workers(env) == expected
