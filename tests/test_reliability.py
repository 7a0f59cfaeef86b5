"""Faults ridden out end to end, an IAM token expiring mid-wait, and load on one emulator."""

from __future__ import annotations

import io
import json
import os
import resource
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

from gaussdb_emulator.server import Emulator
from provider.cli.main import main
from provider.config.settings import Settings
from provider.taskcenter.client import TaskCenterClient
from provider.waiting.waiter import Policy, WaitOptions, wait_for_job
from provider.wire.auth import AkSkAuth, PasswordAuth
from provider.wire.transport import Transport
from tests.support.cli import BIN
from tests.support.emulator import running_emulator


def _fault(emu: Emulator, kind: str, count: int, **extra: float) -> None:
    response = requests.post(f"{emu.url}/_emulator/faults", json={"kind": kind, "count": count, **extra}, timeout=5)
    assert response.ok, response.text


# The CLI in-process (the same code as the console script) on a fast schedule: the faults are what is tested, not
# the production intervals, which the waiter's own tests pin in virtual time.
FAST = Policy(min_interval=0.05, max_interval=0.2, error_backoff=1.5)
FAST_TRANSPORT = Transport(backoff_factor=0.01)


def cli(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main([*args, "--progress", "plain"], env=env, stdout=out, stderr=err, policy=FAST, transport=FAST_TRANSPORT)
    return code, out.getvalue(), err.getvalue()


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("gaussdb-job:") and "hint:" not in line]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


@pytest.mark.parametrize("kind", ["500", "503", "429", "reset", "garbage", "html"])
def test_a_burst_of_each_fault_is_ridden_out(emulator: Emulator, emu_env: dict[str, str], kind: str) -> None:
    job = emulator.create_job(duration=0.6, progress="linear")
    # Four in a row outlast the transport's three retries, so the waiter sees an error too; a garbage body is
    # not retried by the transport, so two already reach the waiter twice.
    count = {"garbage": 2}.get(kind, 4)
    _fault(emulator, kind, count, retry_after=0)
    code, out, err = cli(["wait", job["id"], "--timeout", "60"], emu_env)
    assert code == 0, err
    assert json.loads(out)[0]["status"] == "Completed"
    assert emulator.stats()["jobs"][job["id"]] >= count + 1  # the faults were met, and survived
    assert "failing" in err  # the plain progress said requests were failing while they were


def test_a_hung_request_in_a_wait_is_cut_off_and_retried(emulator: Emulator, emu_env: dict[str, str]) -> None:
    """In process with a short read timeout (the CLI's is 15 s): the hung attempt is abandoned, the retry answers."""
    job = emulator.create_job(duration=0.5, progress="linear")
    _fault(emulator, "hang", 1, hang_seconds=60)
    settings = Settings(
        project_id=emulator.config.project_id, region=None, endpoint=emulator.url, api_path="/v3", auth_url=None
    )
    auth = AkSkAuth(emulator.config.access_key, emulator.config.secret_key)
    client = TaskCenterClient(settings, auth, transport=Transport(read_timeout=0.5, backoff_factor=0.01))
    final = wait_for_job(lambda: client.get_job(job["id"]), WaitOptions(timeout=30, policy=Policy(min_interval=0.2)))
    assert final.status == "Completed"
    assert emulator.stats()["jobs"][job["id"]] >= 2  # the hung request, then the ones that answered


def test_a_burst_of_faults_still_reports_a_failed_job(emulator: Emulator, emu_env: dict[str, str]) -> None:
    job = emulator.create_job(duration=1, outcome="Failed", fail_reason="Flavor not available")
    _fault(emulator, "503", 3, retry_after=0)
    code, _, err = cli(["wait", job["id"]], emu_env)
    assert code == 1 and "Flavor not available" in one_error_line(err)


def test_a_lasting_outage_ends_at_the_deadline_when_it_comes_first(emulator: Emulator, emu_env: dict[str, str]) -> None:
    job = emulator.create_job(duration=0)
    _fault(emulator, "reset", 10_000)
    code, _, err = cli(["wait", job["id"], "--timeout", "1"], emu_env)
    assert code == 3
    assert "connection dropped" in one_error_line(err)


def test_an_iam_token_expiring_mid_wait_is_renewed() -> None:
    with running_emulator(token_ttl=0.6) as emu:
        cfg = emu.config
        job = emu.create_job(duration=1.5, progress="linear")
        settings = Settings(
            project_id=cfg.project_id, region=None, endpoint=emu.url, api_path="/v3", auth_url=f"{emu.url}/v3"
        )
        auth = PasswordAuth(f"{emu.url}/v3", cfg.user, cfg.password, cfg.domain, cfg.project_id)
        client = TaskCenterClient(settings, auth)
        tokens: set[str] = set()

        def fetch():
            result = client.get_job(job["id"])
            tokens.add(auth.token())
            return result

        final = wait_for_job(fetch, WaitOptions(timeout=60, policy=Policy(min_interval=0.2, max_interval=0.4)))
        assert final.status == "Completed"
        assert len(tokens) >= 2  # the first token expired during the wait and a new one was used


def test_load_200_jobs_plus_concurrent_waiters(tmp_path: Path) -> None:
    with running_emulator() as emu:
        cfg = emu.config
        env = {
            "GAUSSDB_ENDPOINT": emu.url,
            "HW_PROJECT_ID": cfg.project_id,
            "HW_ACCESS_KEY": cfg.access_key,
            "HW_SECRET_KEY": cfg.secret_key,
            # A load on the emulator, not the gateway: the request budget's default (1/s) would stretch it out.
            "GAUSSDB_MAX_RATE": "100",
        }
        big = [emu.create_job(duration=4, progress="linear")["id"] for _ in range(200)]
        small = [[emu.create_job(duration=3, progress="steps")["id"] for _ in range(20)] for _ in range(3)]
        started = time.monotonic()
        procs = [
            subprocess.Popen(
                [str(BIN / "gaussdb-job"), "wait", *ids, "--timeout", "120"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            for ids in [big, *small]
        ]
        outputs = [proc.communicate(timeout=150)[0] for proc in procs]
        elapsed = time.monotonic() - started
        assert [proc.returncode for proc in procs] == [0, 0, 0, 0]
        finals = [job for output in outputs for job in json.loads(output)]
        assert len(finals) == 260 and all(job["status"] == "Completed" for job in finals)
        stats = emu.stats()
        # The emulator is still up and answering after the load.
        assert requests.get(f"{emu.url}/_emulator/stats", timeout=5).ok
        per_job = stats["total"] / 260
        print(
            f"\nload: 260 jobs (one wait of 200 + 3 waits of 20) in {elapsed:.1f} s, {stats['total']} requests, "
            f"{per_job:.1f} requests per job, {stats['total'] / elapsed:.0f} requests/s on average"
        )
        assert per_job < 10


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads CPU time from /proc")
def test_the_emulator_out_of_descriptors_backs_off_and_recovers() -> None:
    """With its descriptors used up, accept() fails with EMFILE while the listening socket stays readable: the
    emulator must wait, not spin, and serve again once connections close."""

    def few_descriptors() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (48, 48))

    proc = subprocess.Popen(
        [str(BIN / "gaussdb-emulator"), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        preexec_fn=few_descriptors,
    )
    hogs: list[socket.socket] = []
    try:
        assert proc.stdout is not None
        line = ""
        while "listening on" not in line:
            line = proc.stdout.readline()
            assert line, "the emulator exited before listening"
        url = line.split("listening on", 1)[1].strip()
        host, port = url.removeprefix("http://").rsplit(":", 1)
        hogs = [socket.create_connection((host, int(port)), timeout=5) for _ in range(80)]  # more than 48
        # Every descriptor taken: one request gets an answer only after connections are freed.
        before = _cpu_seconds(proc.pid)
        time.sleep(1.0)  # a window to measure CPU in, not synchronisation
        spent = _cpu_seconds(proc.pid) - before
        assert spent < 0.5, f"the emulator burnt {spent:.2f} s of CPU in 1 s while out of descriptors"
        for hog in hogs:
            hog.close()
        hogs = []
        assert requests.get(f"{url}/_emulator/stats", timeout=10).ok  # serving again
    finally:
        for hog in hogs:
            hog.close()
        proc.terminate()
        proc.wait(timeout=10)
