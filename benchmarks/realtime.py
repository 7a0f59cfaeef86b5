"""Real time against the emulator: what one call of the client costs, and one real wait end to end.

The virtual-time suite counts calls; this part says what a call costs on the wire (signing, HTTP, parsing) so the
call counts can be read as time and load, and checks that the waiter behaves the same with a real clock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from gaussdb_emulator.server import Emulator, EmulatorConfig
from provider.taskcenter.client import TaskCenterClient
from provider.taskcenter.compose import client_for
from provider.taskcenter.models import Job
from provider.waiting.engine import Hooks, WaitOptions
from provider.waiting.waiter import wait_for_job


@dataclass(frozen=True)
class Latency:
    label: str
    calls: int
    seconds: float
    samples: tuple[float, ...]

    @property
    def rate(self) -> float:
        return self.calls / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    def row(self) -> str:
        return (
            f"{self.label:<28} {self.calls:>6} {self.rate:>9.0f} {1000 * self.percentile(0.5):>9.2f}"
            f" {1000 * self.percentile(0.95):>9.2f} {1000 * max(self.samples):>9.2f}"
        )


@dataclass(frozen=True)
class RealWait:
    duration: float
    visible_after: float
    lag: float
    calls: int
    not_found: int


def _client(emu: Emulator) -> TaskCenterClient:
    cfg = emu.config
    return client_for(
        {"endpoint": emu.url, "project_id": cfg.project_id},
        {},
        {"HW_ACCESS_KEY": cfg.access_key, "HW_SECRET_KEY": cfg.secret_key},
    )


def _timed(call: Callable[[], object], count: int, out: list[float]) -> None:
    for _ in range(count):
        began = time.perf_counter()
        call()
        out.append(time.perf_counter() - began)


def sequential(emu: Emulator, calls: int) -> Latency:
    job_id = emu.create_job(duration=3600)["id"]
    client = _client(emu)
    try:
        _timed(lambda: client.get_job(job_id), 20, [])  # warm up: connection, first signature
        samples: list[float] = []
        began = time.perf_counter()
        _timed(lambda: client.get_job(job_id), calls, samples)
        return Latency("sequential, 1 thread", calls, time.perf_counter() - began, tuple(samples))
    finally:
        client.close()


def concurrent(emu: Emulator, threads: int, calls_each: int) -> Latency:
    """One shared client, as the CLI's ``wait`` shares one between its per-job threads."""
    job_ids = [emu.create_job(duration=3600)["id"] for _ in range(threads)]
    client = _client(emu)
    try:
        _timed(lambda: client.get_job(job_ids[0]), 20, [])
        per_thread: list[list[float]] = [[] for _ in range(threads)]
        workers = [
            threading.Thread(target=_timed, args=(lambda j=job_id: client.get_job(j), calls_each, samples))
            for job_id, samples in zip(job_ids, per_thread, strict=True)
        ]
        began = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        elapsed = time.perf_counter() - began
        samples = [s for chunk in per_thread for s in chunk]
        return Latency(f"concurrent, {threads} threads", len(samples), elapsed, tuple(samples))
    finally:
        client.close()


def real_wait(emu: Emulator, duration: float, visible_after: float = 0.0) -> RealWait:
    """One ``wait_for_job`` with the real clock and the default policy (jitter on) on a scripted job."""
    client = _client(emu)
    job_id = emu.create_job(duration=duration, visible_after=visible_after)["id"]
    created = time.monotonic()
    seen: list[Job] = []
    before = emu.stats()["jobs"].get(job_id, 0)
    try:

        class Seen(Hooks):
            def seen(self, job_id: str, job: Job) -> None:
                seen.append(job)

        wait_for_job(lambda: client.get_job(job_id), WaitOptions(timeout=duration + 120), job_id=job_id, hooks=Seen())
        done = time.monotonic()
    finally:
        client.close()
    calls = emu.stats()["jobs"].get(job_id, 0) - before
    lag = done - created - max(duration, visible_after)
    return RealWait(duration, visible_after, lag, calls, calls - len(seen))


def run(calls: int = 500, threads: int = 4) -> tuple[list[Latency], list[RealWait]]:
    with Emulator(EmulatorConfig(host="127.0.0.1", port=0)) as emu:
        latencies = [sequential(emu, calls), concurrent(emu, threads, calls // threads)]
        waits = [real_wait(emu, 0.0), real_wait(emu, 3.0), real_wait(emu, 2.0, visible_after=3.0)]
    return latencies, waits


def report(latencies: list[Latency], waits: list[RealWait]) -> str:
    lines = [
        "Real time against the emulator (loopback HTTP, AK/SK signing, pydantic parsing)",
        f"{'client.get_job':<28} {'calls':>6} {'calls/s':>9} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9}",
        *(latency.row() for latency in latencies),
        "(client and emulator share one process and its GIL: threads show contention, not the server's capacity)",
        "",
        "Real waits (default policy, real clock, jitter on)",
        f"{'job':<40} {'lag s':>7} {'calls':>6} {'404s':>5}",
    ]
    for wait in waits:
        label = f"{wait.duration:g} s job" + (
            f", unknown for its first {wait.visible_after:g} s" if wait.visible_after else ""
        )
        lines.append(f"{label:<40} {wait.lag:>7.2f} {wait.calls:>6} {wait.not_found:>5}")
    lines.append(
        "(lag: from the moment the end could be seen to wait_for_job's return; 404s: DBS.200543 answers tolerated)"
    )
    return "\n".join(lines)
