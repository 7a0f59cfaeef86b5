"""The wait engine: many jobs in one loop, in virtual time (one VirtualClock, the real RequestBudget and
PerJobReader, scripted jobs), plus a real-clock cancel and a 200-job CLI wait against the emulator."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from gaussdb_emulator.server import Emulator
from provider.cli import display as display_module
from provider.core.errors import ApiError, GaussDBError, WaitCancelled
from provider.taskcenter.models import Job
from provider.taskcenter.perjob import PerJobReader
from provider.waiting.budget import RequestBudget
from provider.waiting.clock import SYSTEM_CLOCK, Cancel, VirtualClock
from provider.waiting.engine import Hooks, WaitOptions, wait_all
from provider.waiting.policy import DEFAULT_POLICY
from provider.waiting.tracker import Verdict
from tests.support.cli import cli

pytestmark = pytest.mark.timeout(60)


def job(job_id: str, status: str = "Running", process: str = "") -> Job:
    return Job.model_validate({"id": job_id, "status": status, "process": process})


class Scripted:
    """``get`` for PerJobReader: each job's answer at the clock's time, and the order of every read."""

    def __init__(self, clock: VirtualClock, scripts: dict[str, Callable[[float], Job]]) -> None:
        self.clock = clock
        self.scripts = scripts
        self.reads: list[tuple[float, str]] = []

    def __call__(self, job_id: str) -> Job:
        now = self.clock.now()
        self.reads.append((now, job_id))
        return self.scripts[job_id](now)

    def order(self) -> list[str]:
        return [job_id for _, job_id in self.reads]


def test_many_jobs_one_loop_every_job_done_without_a_thread() -> None:
    clock = VirtualClock()
    scripts = {
        f"j{i}": (lambda end: lambda at: job("x", "Completed") if at >= end else job("x"))(5.0 * i) for i in range(20)
    }
    get = Scripted(clock, scripts)
    threads = threading.active_count()
    seen: list[int] = []

    class Count(Hooks):
        def seen(self, job_id: str, found: Job) -> None:
            seen.append(threading.active_count())

    results = wait_all(PerJobReader(get), list(scripts), WaitOptions(timeout=600), clock=clock, hooks=Count())
    assert [r.verdict for r in results.values()] == [Verdict.DONE] * 20
    assert max(seen) == threads  # no thread was started for the wait
    # Side by side: every job was read once before any was read twice.
    assert sorted(get.order()[:20]) == sorted(scripts)


def test_a_budget_slower_than_a_round_still_reads_every_job_in_turn() -> None:
    """Kills "the waiter always sends priority 0": at 0.4 requests/s one request fits in a round (2 s), so the
    jobs left over from a round must go first in the next one, by the time they waited (earliest deadline first,
    through Due.priority, PerJobReader and the budget). With priority 0 the first job would be read every round."""
    clock = VirtualClock()
    get = Scripted(clock, {name: lambda at: job("x") for name in ("a", "b", "c")})
    budget = RequestBudget(0.4, clock=clock)
    wait_all(PerJobReader(get, budget), ["a", "b", "c"], WaitOptions(timeout=20), clock=clock)
    order = get.order()
    assert len(order) >= 6
    assert sorted(order[:3]) == ["a", "b", "c"] and sorted(order[3:6]) == ["a", "b", "c"]


def test_a_job_predicted_to_be_ending_is_read_first_in_its_round() -> None:
    """Kills "no head start for jobs predicted to be ending": two jobs due together at the same age, "slow" listed
    first; once "ending" shows 95 %, its reads go ahead of "slow"'s in every round they share."""
    clock = VirtualClock()

    def ending(at: float) -> Job:
        return job("x", "Running", "95%" if at > 0 else "10%")

    get = Scripted(clock, {"slow": lambda at: job("x", "Running", "10%"), "ending": ending})
    budget = RequestBudget(100.0, clock=clock)
    wait_all(PerJobReader(get, budget), ["slow", "ending"], WaitOptions(timeout=10), clock=clock)
    rounds: dict[float, list[str]] = {}
    for at, name in get.reads:
        rounds.setdefault(round(at), []).append(name)
    shared = [names for at, names in rounds.items() if at > 0 and len(names) == 2]
    assert shared, rounds
    assert all(names == ["ending", "slow"] for names in shared), rounds


def test_retry_after_sets_the_next_read_bounded_by_the_policy() -> None:
    clock = VirtualClock()
    reads: list[float] = []

    def throttled(retry_after: float) -> Callable[[str], Job]:
        def get(job_id: str) -> Job:
            reads.append(clock.now())
            if len(reads) == 1:
                error = ApiError("throttled", status=429, transient=True)
                error.retry_after = retry_after
                raise error
            return job(job_id, "Completed")

        return get

    wait_all(PerJobReader(throttled(7.0)), ["j"], WaitOptions(timeout=600), clock=clock)
    assert reads == [0.0, 7.0]  # the server's 7 s, not the policy's backoff (4 s)
    reads.clear()
    clock = VirtualClock()
    wait_all(PerJobReader(throttled(1e9)), ["j"], WaitOptions(timeout=600), clock=clock)
    assert reads == [0.0, DEFAULT_POLICY.max_interval]  # a day's Retry-After is not obeyed


def test_one_throttled_job_does_not_starve_the_others() -> None:
    """One job answers 429 to every read: the others are read as often as without it (its retries back off and
    go through the budget like any read)."""

    def run(with_throttled: bool) -> dict[str, int]:
        clock = VirtualClock()
        counts: dict[str, int] = {}

        def get(job_id: str) -> Job:
            counts[job_id] = counts.get(job_id, 0) + 1
            if job_id == "noisy":
                raise ApiError("throttled", status=429, error_code="APIGW.0308", transient=True)
            return job(job_id)

        ids = ["a", "b", "c"] + (["noisy"] if with_throttled else [])
        budget = RequestBudget(2.0, clock=clock)
        wait_all(PerJobReader(get, budget), ids, WaitOptions(timeout=100), clock=clock)
        return counts

    calm, noisy = run(False), run(True)
    # The noisy job takes less than a fair share (its retries back off), and each 429 lowers the shared rate a
    # little (the gateway counts the account's requests): the others keep most of their reads (issue 20 measured
    # 18 -> 11 before every retry went through the budget).
    assert noisy["noisy"] < min(noisy[name] for name in ("a", "b", "c"))
    for name in ("a", "b", "c"):
        assert noisy[name] >= 0.8 * calm[name], (calm, noisy)


def test_cancel_ends_every_wait_at_once_sleeps_in_the_budget_included() -> None:
    """Real clock: one job asleep for its next poll, one asleep in the budget (its slot is 100 s away); a cancel
    from another thread ends both waits (the test's timeout is the only bound: no timing assert)."""
    cancel = Cancel()
    first_read = threading.Event()

    def get(job_id: str) -> Job:
        first_read.set()
        return job(job_id)

    def stop_after_the_first_read() -> None:
        first_read.wait(30)
        cancel.set()

    threading.Thread(target=stop_after_the_first_read, daemon=True).start()
    budget = RequestBudget(0.05)
    results = wait_all(
        PerJobReader(get, budget), ["a", "b"], WaitOptions(timeout=3600, cancel=cancel), clock=SYSTEM_CLOCK
    )
    assert {r.verdict for r in results.values()} == {Verdict.CANCELLED}
    assert all(isinstance(r.error, WaitCancelled) for r in results.values())


def test_a_cli_wait_on_200_jobs_runs_on_a_bounded_number_of_threads(
    emulator: Emulator, emu_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The thread count is sampled from the board's hook at every answer; the emulator's own request threads are
    left out (it runs in this process)."""
    jobs = [emulator.create_job(duration=0.5) for _ in range(200)]
    ids = [j["id"] for j in jobs]
    peak: list[int] = []
    names: set[str] = set()
    poll = display_module.Display.poll

    def counting(self: display_module.Display, job_id: str, found: Job) -> None:
        ours = [t.name for t in threading.enumerate() if "process_request" not in t.name]
        names.update(ours)
        peak.append(len(ours))
        poll(self, job_id, found)

    monkeypatch.setattr(display_module.Display, "poll", counting)
    before = len([t for t in threading.enumerate() if "process_request" not in t.name])
    result = cli(["wait", *ids, "--max-rate", "1000", "--progress", "none"], emu_env)
    assert result.code == 0, result.stderr
    assert len(peak) >= 200
    print(f"\n200-job CLI wait: {before} threads before, at most {max(peak)} during the wait: {sorted(names)}")
    assert max(peak) - before <= 2  # the engine's thread; nothing per job


def test_an_unexpected_exception_is_that_jobs_error_only() -> None:
    clock = VirtualClock()

    def get(job_id: str) -> Job:
        if job_id == "bad":
            raise ValueError("surprise")
        return job(job_id, "Completed")

    results = wait_all(PerJobReader(get), ["ok", "bad"], WaitOptions(timeout=60), clock=clock)
    assert results["ok"].verdict is Verdict.DONE
    assert results["bad"].verdict is Verdict.ERROR
    assert isinstance(results["bad"].error, GaussDBError) and "unexpected error: ValueError" in str(
        results["bad"].error
    )


def test_a_refresh_keeps_one_jobs_last_outputs_when_its_reads_keep_failing(
    emulator: Emulator, emu_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """GaussDBJobs read (refresh): the jobs are read side by side (one request each in the emulator's log) and
    one job whose reads fail transiently until the refresh's deadline keeps its last outputs; the refresh
    succeeds for the others."""
    from provider.resources import dynamic
    from provider.taskcenter.client import TaskCenterClient

    for name, value in emu_env.items():
        monkeypatch.setenv(name, value)
    jobs = [emulator.create_job(duration=0) for _ in range(3)]
    ids = [j["id"] for j in jobs]
    flaky = ids[1]
    get_job = TaskCenterClient.get_job

    def failing_for_one(self: TaskCenterClient, job_id: str, **kwargs: object) -> Job:
        if job_id == flaky:
            raise ApiError("bad gateway", status=502, transient=True)
        return get_job(self, job_id, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(TaskCenterClient, "get_job", failing_for_one)
    monkeypatch.setattr(dynamic, "REFRESH_TIMEOUT", 0.5)  # the flaky job's reads end at this deadline
    old = [{"job_id": job_id, "status": "Running", "name": "before"} for job_id in ids]
    props = {"job_ids": ids, "jobs": old, "status": "Running", "failed": {}}
    result = dynamic.GaussDBJobsProvider().read("jobs-x", props)
    assert result.outs is not None
    outs = {job["job_id"]: job for job in result.outs["jobs"]}
    assert outs[flaky] == old[1]  # kept as it was
    assert all(outs[job_id]["status"] == "Completed" for job_id in ids if job_id != flaky)
    assert emulator.stats()["jobs"] == {ids[0]: 1, ids[2]: 1}


def test_jobs_held_back_by_the_budget_show_as_queued_with_one_hint(emulator: Emulator, emu_env: dict[str, str]) -> None:
    """Six finished jobs at 2 requests/s (0.525 s apart) with the tests' policy (a round is one min_interval,
    0.05 s): the first job is read at once, the five others wait for their turn. Each is shown as queued once
    (not "no answer yet"), and one hint names --max-rate."""
    ids = [emulator.create_job(duration=0)["id"] for _ in range(6)]
    # Per-job reads (with batch reads the list call takes the first turn: tests/test_batch_cli.py).
    result = cli(["wait", *ids, "--max-rate", "2", "--progress", "plain", "--list-api", "off"], emu_env)
    assert result.code == 0, result.stderr
    queued = [line for line in result.stderr.splitlines() if "queued (2/s budget)" in line]
    assert sorted(line.split("] ")[1].split(":")[0] for line in queued) == sorted(ids[1:])
    assert "no answer yet" not in result.stderr
    hints = [line for line in result.stderr.splitlines() if "--max-rate" in line]
    assert len(hints) == 1 and "request budget" in hints[0]
    assert sorted(emulator.stats()["jobs"].values()) == [1] * 6  # each read once, the queued ones included


def test_a_job_whose_turn_never_comes_is_queued_then_timed_out() -> None:
    """A reader that never gets a slot (a pacer that always says no) leaves every job out: each is queued, round
    after round, and times out at the deadline carrying what it knew (never read)."""
    clock = VirtualClock()

    class Refusing:
        def acquire(
            self, *, priority: float = 0.0, deadline: float | None = None, cancel: threading.Event | None = None
        ) -> bool:
            return False

        def feedback(self, *, throttled: bool) -> None:
            raise AssertionError("nothing was sent")

    queued: list[str] = []

    class Queued(Hooks):
        def queued(self, job_id: str) -> None:
            queued.append(job_id)

    reader = PerJobReader(lambda job_id: job(job_id), Refusing())
    results = wait_all(reader, ["a", "b"], WaitOptions(timeout=10), clock=clock, hooks=Queued())
    assert {r.verdict for r in results.values()} == {Verdict.TIMED_OUT}
    assert "never read" in str(results["a"].error)
    assert queued.count("a") >= 2 and queued.count("b") >= 2
    assert clock.now() == pytest.approx(10.0)


def most_in_window(times: list[float], window: float) -> int:
    ts = sorted(times)
    return max((sum(1 for u in ts[i:] if u < t + window) for i, t in enumerate(ts)), default=0)


def test_retries_go_through_the_budget(emulator: Emulator, emu_env: dict[str, str]) -> None:
    """Eight finished jobs, the first eight answers 500s, --max-rate 6: the retries are reads like the others, so
    the emulator's log (failed requests included) holds at most 12 requests in any 2 s, and every job completes."""
    ids = [emulator.create_job(duration=0)["id"] for _ in range(8)]
    start = len(emulator.stats()["log"])
    emulator.add_fault("500", count=8)
    # Per-job reads (batch reads: tests/test_batch_cli.py).
    result = cli(["wait", *ids, "--max-rate", "6", "--progress", "none", "--list-api", "off"], emu_env)
    assert result.code == 0, result.stderr
    times = [t for t, _, _ in emulator.stats()["log"][start:]]
    assert len(times) == 16  # 8 failed reads retried, 8 answered
    assert most_in_window(times, 2.0) <= 12


def test_a_refresh_reads_every_job_side_by_side_within_the_cap(
    emulator: Emulator, emu_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """GaussDBJobs read of 20 jobs with gaussdb:maxRate 10: one list call (batch reads), then one request per job
    (the list shows them ended: each is read for its whole record), at most 10 in any second."""
    from provider.resources import dynamic

    for name, value in emu_env.items():
        monkeypatch.setenv(name, value)
    ids = [emulator.create_job(duration=0)["id"] for _ in range(20)]
    provider = dynamic.GaussDBJobsProvider()
    provider._config = {"gaussdb:maxRate": "10"}
    start = len(emulator.stats()["log"])
    result = provider.read("jobs-x", {"job_ids": ids, "jobs": [], "status": "Running", "failed": {}})
    assert result.outs is not None and result.outs["status"] == "Completed"
    times = [t for t, _, _ in emulator.stats()["log"][start:]]
    assert len(times) == 21 and most_in_window(times, 1.0) <= 10
    assert [kind for *_, kind in emulator.stats()["log"][start:]] == ["list"] + ["job"] * 20
