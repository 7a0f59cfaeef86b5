"""``gaussdb-job`` in-process over real HTTP to the emulator: every flag, duration form, hint and exit code.

``main`` takes its environment, streams, polling policy and transport, so these run in milliseconds; the console
script itself is exercised by the few subprocess smoke tests at the end (signals, pipes, ``python -m provider``).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import requests

from gaussdb_emulator.server import Emulator, EmulatorConfig
from provider import __version__
from provider.cli.main import main
from provider.core import durations
from provider.core.errors import ConfigError
from provider.wire.transport import Transport
from tests.support.cli import (
    BIN,
    FAST_POLICY,
    FIELDS,
    UNKNOWN,
    WAIT_FIELDS,
    cli,
    process_env,
    run,
)


def test_show_prints_every_field(emulator: Emulator, emu_env: dict[str, str]) -> None:
    job = emulator.create_job(name="RestartGaussDBInstance", duration=0, entities={"instance": {"endpoint": "e:1"}})
    result = cli(["show", job["id"]], emu_env)
    assert result.code == 0, result.stderr
    shown = json.loads(result.stdout)
    assert set(shown) == FIELDS and shown["status"] == "Completed"
    assert shown["entities"]["instance"]["endpoint"] == "e:1"


def test_wait_prints_the_jobs_with_the_same_keys_and_plain_progress(
    emulator: Emulator, emu_env: dict[str, str]
) -> None:
    job = emulator.create_job(name="ResizeFlavor", duration=1, progress="linear")
    result = cli(["wait", job["id"], "--progress", "plain"], emu_env)
    assert result.code == 0, result.stderr
    (final,) = result.jobs()
    assert set(final) == WAIT_FIELDS and final["status"] == "Completed" and final["error"] is None
    lines = result.stderr.splitlines()
    assert lines[0] == "waiting for 1 job, up to 1h"
    # Every progress line carries the elapsed time; one line per change, not per poll.
    progress = lines[1:]
    assert progress and all(re.match(r"^\[ *[\d.]+(m\d+)?s\] " + job["id"] + " ResizeFlavor: ", p) for p in progress)
    assert progress[-1].endswith("ResizeFlavor: Completed")
    assert len(progress) == len(set(line.split("] ", 1)[1] for line in progress))  # no repeated state


def test_plain_mode_prints_a_line_per_ten_percent_step(emulator: Emulator, emu_env: dict[str, str]) -> None:
    job = emulator.create_job(name="Steps", duration=1, progress="linear")
    result = cli(["wait", job["id"], "--progress", "plain"], emu_env)
    steps = re.findall(r"Steps: Running (\d+)%", result.stderr)
    tens = [int(step) // 10 for step in steps]
    assert tens == sorted(set(tens))  # at most one line per 10 % step, in order
    assert emulator.stats()["jobs"][job["id"]] >= len(steps)


def test_comma_separated_ids_keep_their_order(emulator: Emulator, emu_env: dict[str, str]) -> None:
    a, b, c = (emulator.create_job(name=f"J{i}", duration=0) for i in range(3))
    result = cli(["wait", f"{a['id']},{b['id']}", c["id"], f"{a['id']},"], emu_env)
    assert result.code == 0, result.stderr
    assert [j["job_id"] for j in result.jobs()] == [a["id"], b["id"], c["id"]]  # duplicates waited for once


def test_failed_job_exits_1_with_its_reason(emulator: Emulator, emu_env: dict[str, str]) -> None:
    job = emulator.create_job(name="Restart", duration=0.3, outcome="Failed", fail_reason="Instance is frozen")
    result = cli(["wait", job["id"]], emu_env)
    assert result.code == 1
    assert any("Instance is frozen" in line for line in result.errors())
    (final,) = result.jobs()
    assert set(final) == WAIT_FIELDS and final["status"] == "Failed" and "Instance is frozen" in final["error"]


@pytest.mark.parametrize(("flag", "shown"), [("0.5", "0.5 s"), ("0.4s", "0.4 s"), ("0.01m", "0.6 s")])
def test_timeout_takes_seconds_or_durations_and_exits_3(
    emulator: Emulator, emu_env: dict[str, str], flag: str, shown: str
) -> None:
    job = emulator.create_job(duration=600, progress="linear")
    result = cli(["wait", job["id"], "--timeout", flag], emu_env)
    assert result.code == 3
    (line,) = result.errors()
    assert f"timed out after {shown}" in line and "Running" in line and "%" in line
    (final,) = result.jobs()
    assert set(final) == WAIT_FIELDS and final["status"] == "Running" and final["error"] == line[len("gaussdb-job: ") :]


@pytest.mark.parametrize(("flag", "seconds"), [("90", 90), ("90s", 90), ("10m", 600), ("1h30m", 5400)])
def test_every_duration_form_reaches_the_wait(
    emulator: Emulator, emu_env: dict[str, str], flag: str, seconds: float
) -> None:
    job = emulator.create_job(duration=0)
    result = cli(["wait", job["id"], "--timeout", flag, "--progress", "plain"], emu_env)
    assert result.code == 0
    assert result.stderr.splitlines()[0] == f"waiting for 1 job, up to {durations.format(seconds)}"
    assert durations.parse(flag, "--timeout") == seconds


def test_not_found_after_the_grace_exits_4_with_a_hint_and_the_same_keys(
    emulator: Emulator, emu_env: dict[str, str]
) -> None:
    ok = emulator.create_job(duration=0)
    result = cli(["wait", ok["id"], UNKNOWN, "--not-found-grace", "0.3s", "--progress", "plain"], emu_env)
    assert result.code == 4
    assert f"{UNKNOWN}: not visible yet; retrying for up to 0.3s" in result.stderr
    finals = result.jobs()
    assert all(set(entry) == WAIT_FIELDS for entry in finals)
    assert finals[1] == dict.fromkeys(WAIT_FIELDS) | {"job_id": UNKNOWN, "error": finals[1]["error"]}
    assert "not found" in finals[1]["error"] and finals[0]["error"] is None
    (hint,) = [line for line in result.errors() if "hint:" in line]
    cfg = emulator.config
    assert cfg.project_id in hint and emulator.url in hint and "--region" in hint and "one month" in hint
    show = cli(["show", UNKNOWN], emu_env)
    assert show.code == 4 and any("one month" in line for line in show.errors()) and show.stdout == ""


def test_a_404_names_the_url_and_suggests_the_api_path(emulator: Emulator, emu_env: dict[str, str]) -> None:
    result = cli(["wait", UNKNOWN, "--api-path", "/wrong/v9"], emu_env)
    assert result.code == 6
    (hint,) = [line for line in result.errors() if "hint:" in line]
    assert f"GET {emulator.url}/wrong/v9/{emulator.config.project_id}/jobs" in hint and "--api-path /v3" in hint
    assert cli(["show", UNKNOWN, "--api-path", "/wrong/v9"], emu_env).code == 6


def test_refused_credentials_exit_5_without_the_secret(emulator: Emulator, emu_env: dict[str, str]) -> None:
    job = emulator.create_job(duration=0)
    result = cli(["wait", job["id"]], {**emu_env, "HW_SECRET_KEY": "definitely-wrong-secret"})
    assert result.code == 5 and result.errors()
    assert "definitely-wrong-secret" not in result.stderr + result.stdout


def test_a_lasting_outage_is_reported_while_it_lasts_and_exits_6(emulator: Emulator, emu_env: dict[str, str]) -> None:
    job = emulator.create_job(duration=0)
    emulator.add_fault("503", 1000, retry_after=0)
    result = cli(["wait", job["id"], "--outage-limit", "0.5s", "--progress", "plain"], emu_env)
    assert result.code == 6
    line = f"{job['id']}: failing: task-center API error: HTTP 503"
    assert line in result.stderr and "retrying for up to 0.5s" in result.stderr
    assert result.stderr.count(line) == 1  # one line for the outage, not one per poll
    assert "503" in result.errors()[-1]
    emulator.add_fault("503", 0)


def test_an_endpoint_that_does_not_answer_is_reported_at_once(emulator: Emulator, emu_env: dict[str, str]) -> None:
    job = emulator.create_job(name="Quiet", duration=0)
    emulator.add_fault("hang", 1, hang_seconds=1.0)  # the first request gets no answer for a second
    result = cli(["wait", job["id"], "--progress", "plain"], emu_env)
    assert result.code == 0
    # Said while it lasted (after 2.5 poll intervals of the policy: 5 s by default), not only at the end.
    lines = result.stderr.splitlines()
    notice = next(i for i, line in enumerate(lines) if f"{job['id']}: no answer yet after" in line)
    done = next(i for i, line in enumerate(lines) if line.endswith("Quiet: Completed"))
    assert notice < done


def test_where_flags_replace_the_environment(emulator: Emulator, emu_env: dict[str, str]) -> None:
    job = emulator.create_job(duration=0)
    credentials = {k: v for k, v in emu_env.items() if k.startswith("HW_") and k != "HW_PROJECT_ID"}
    where = ["--project-id", emulator.config.project_id, "--endpoint", emulator.url, "--region", "eu-de"]
    for api_path in ("/v3", "/mysql/v3"):
        result = cli(["show", job["id"], *where, "--api-path", api_path], credentials)
        assert result.code == 0 and json.loads(result.stdout)["job_id"] == job["id"], result.stderr
    other_project = "f" * 32  # the flag wins over the environment: another project is refused (403)
    result = cli(["show", job["id"], "--project-id", other_project], emu_env)
    assert result.code == 5 and other_project in result.errors()[-1]


def test_flags_before_the_command_count_as_after(emulator: Emulator, emu_env: dict[str, str]) -> None:
    job = emulator.create_job(duration=600)
    env = {k: v for k, v in emu_env.items() if k != "GAUSSDB_ENDPOINT"}
    result = cli(["--endpoint", emulator.url, "--timeout", "0.3s", "-q", "wait", job["id"]], env)
    assert result.code == 3 and "0.3 s" in result.errors()[0]
    # Given at both places, the one after the command wins, as with any later flag.
    result = cli(["--timeout", "1h", "wait", job["id"], "--timeout", "0.3", "--endpoint", emulator.url, "-q"], env)
    assert result.code == 3


def test_quiet_and_progress_none_print_only_errors(emulator: Emulator, emu_env: dict[str, str]) -> None:
    ok = emulator.create_job(duration=0.2, progress="linear")
    failed = emulator.create_job(duration=0, outcome="Failed", fail_reason="boom")
    for flags in (["-q"], ["--quiet"], ["--progress", "none"]):
        assert cli(["wait", ok["id"], *flags], emu_env).stderr == ""
        result = cli(["wait", ok["id"], failed["id"], *flags], emu_env)
        assert result.code == 1 and result.stderr.splitlines() == result.errors() and len(result.errors()) == 1


def test_progress_bars_forced_onto_a_stream_end_with_the_final_state(
    emulator: Emulator, emu_env: dict[str, str]
) -> None:
    ok = emulator.create_job(name="Fine", duration=0.3, progress="linear")
    failed = emulator.create_job(name="Broken", duration=0, outcome="Failed", fail_reason="Disk full")
    result = cli(["wait", ok["id"], failed["id"], "--progress", "bars"], emu_env)
    assert result.code == 1
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", result.stderr)
    fine, broken, summary, error = text.splitlines()[-4:]  # printed once, below the erased live area
    assert "Fine" in fine and "Completed" in fine and "Broken" in broken and "Disk full" in broken
    assert summary.startswith("2/2 done · 1 failed") and error.startswith("gaussdb-job: job ") and "Disk full" in error


def test_accept_scheduled_is_accepted_anywhere(emulator: Emulator, emu_env: dict[str, str]) -> None:
    done = emulator.create_job(duration=0)
    assert cli(["--accept-scheduled", "wait", done["id"]], emu_env).code == 0  # accepted before or after
    assert cli(["wait", done["id"], "--accept-scheduled"], emu_env).code == 0


def test_accept_scheduled_ends_the_wait_on_pending(emulator: Emulator, emu_env: dict[str, str]) -> None:
    job = emulator.create_job(name="Scheduled", duration=1, pending_for=600)
    result = cli(["wait", job["id"], "--accept-scheduled"], emu_env)
    assert result.code == 0 and result.jobs()[0]["status"] == "Pending"
    assert cli(["wait", job["id"], "--timeout", "0.3"], emu_env).code == 3


def test_max_rate_spaces_the_requests_of_all_jobs(emulator: Emulator, emu_env: dict[str, str]) -> None:
    jobs = [emulator.create_job(duration=0) for _ in range(5)]
    started = time.monotonic()
    # Per-job reads (batch reads would send one list call more: tests/test_batch_cli.py counts those).
    result = cli(["wait", *[j["id"] for j in jobs], "--max-rate", "10", "--list-api", "off"], emu_env)
    elapsed = time.monotonic() - started
    assert result.code == 0 and emulator.stats()["total"] == 5
    # One budget for the run: five requests at 10/s span at least 0.4 s (a lower bound, safe on a slow machine).
    assert elapsed >= 0.35


def test_service_flag_is_checked_and_passed(emulator: Emulator, emu_env: dict[str, str]) -> None:
    job = emulator.create_job(duration=0)
    assert cli(["wait", job["id"], "--service", "gaussdb-mysql"], emu_env).code == 0
    result = cli(["wait", job["id"], "--service", "rsd"], emu_env)
    assert result.code == 2 and "did you mean 'rds'?" in result.stderr


def test_one_jobs_unexpected_error_is_its_result_only(emulator: Emulator, emu_env: dict[str, str]) -> None:
    """A fake session for one job (pure logic: what the CLI does with a surprise); the other job is real HTTP."""
    ok, broken = emulator.create_job(name="Fine", duration=0.2), emulator.create_job(duration=0)

    class Exploding(requests.Session):
        def get(self, url: str | bytes, **kwargs: Any) -> requests.Response:
            if kwargs.get("params", {}).get("id") == broken["id"]:
                raise RuntimeError("surprise\x1b[2J")
            return super().get(url, **kwargs)

    @dataclass(frozen=True)
    class ExplodingTransport(Transport):
        def session(self) -> requests.Session:
            return Exploding()

    result = cli(["wait", ok["id"], broken["id"]], emu_env, transport=ExplodingTransport(retries=0))
    assert result.code == 6
    first, second = result.jobs()
    assert first["status"] == "Completed" and first["error"] is None
    assert set(second) == WAIT_FIELDS and "unexpected error: RuntimeError: surprise" in second["error"]
    # The escape sequence goes whole, parameters included: nothing of it reaches the terminal.
    assert "\x1b" not in result.stderr and "surprise" in result.stderr and "[2J" not in result.stderr


def test_control_characters_from_the_server_never_reach_the_terminal(
    emulator: Emulator, emu_env: dict[str, str]
) -> None:
    job = emulator.create_job(name="Re\x1b[31mstart", duration=0, outcome="Failed", fail_reason="a\x1b]0;owned\x07b")
    for mode in ("plain", "bars", "none"):
        result = cli(["wait", job["id"], "--progress", mode], emu_env)
        assert result.code == 1
        text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", result.stderr)  # rich's own styling, then nothing else
        # The window-title sequence is removed whole (its title too), the text around it kept.
        assert "\x1b" not in text and "\x07" not in text and "owned" not in text and "failed: ab" in text
        assert result.jobs()[0]["fail_reason"] == "a\x1b]0;owned\x07b"  # whole in the JSON


def test_long_server_texts_are_cut_in_progress_lines_and_whole_in_the_json(
    emulator: Emulator, emu_env: dict[str, str]
) -> None:
    reason = "quota exceeded " * 40
    job = emulator.create_job(name="N" * 300, duration=0, outcome="Failed", fail_reason=reason)
    result = cli(["wait", job["id"], "--progress", "plain"], emu_env)
    progress = [line for line in result.stderr.splitlines() if line.startswith("[")]
    assert progress and all(len(line) < 300 for line in progress) and any(line.endswith("…") for line in progress)
    (final,) = result.jobs()
    assert final["name"] == "N" * 300 and final["fail_reason"] == reason.strip()
    assert reason.strip() in result.errors()[-1]  # the closing error line is read in full


def test_a_cancel_from_outside_ends_every_wait_with_the_jobs_as_far_as_known(
    emulator: Emulator, emu_env: dict[str, str]
) -> None:
    jobs = [emulator.create_job(name=f"Long{i}", duration=600, progress="linear") for i in range(2)]
    cancel = threading.Event()

    class CancelOnceBothRun(io.StringIO):
        """stderr that stops the wait as Ctrl-C would, once both jobs were seen Running (no sleep, no timing)."""

        def write(self, text: str) -> int:
            written = super().write(text)
            if all(f"{j['id']} Long" in self.getvalue() for j in jobs):
                cancel.set()
            return written

    out, err = io.StringIO(), CancelOnceBothRun()
    code = main(
        ["wait", *[j["id"] for j in jobs], "--progress", "plain"],
        env=emu_env,
        stdout=out,
        stderr=err,
        policy=replace(FAST_POLICY, min_interval=30, max_interval=60),  # asleep when cancelled
        cancel=cancel,
    )
    assert code == 130
    finals = json.loads(out.getvalue())
    assert [f["status"] for f in finals] == ["Running", "Running"]
    assert all(set(f) == WAIT_FIELDS and "cancelled" in f["error"] for f in finals)
    assert "the jobs go on in the task center" in err.getvalue()
    # One list call for both jobs (batch reads: docs/batch-reads.md), then asleep until cancelled.
    assert [kind for *_, kind in emulator.stats()["log"]] == ["list"]


def test_no_configured_secret_is_shown_even_where_the_server_repeats_it(
    emulator: Emulator, emu_env: dict[str, str]
) -> None:
    env = {**emu_env, "HW_AUTH_TOKEN": UNKNOWN}  # a secret that the not-found lines and hint would repeat
    for mode in ("plain", "bars"):
        result = cli(["wait", UNKNOWN, "--not-found-grace", "0.2", "--progress", mode], env)
        assert result.code == 4
        assert UNKNOWN not in result.stdout + result.stderr and "***" in result.stderr


def test_a_closed_stdout_is_an_error_not_silence(emulator: Emulator, emu_env: dict[str, str]) -> None:
    job = emulator.create_job(duration=0)
    closed = io.StringIO()
    closed.close()
    err = io.StringIO()
    code = main(["wait", job["id"], "-q"], env=emu_env, stdout=closed, stderr=err, policy=FAST_POLICY)
    assert code == 6 and "could not write the jobs" in err.getvalue()
    err = io.StringIO()
    assert main(["show", job["id"]], env=emu_env, stdout=closed, stderr=err) == 6 and "could not" in err.getvalue()


def test_a_reader_gone_away_keeps_the_jobs_outcome(emulator: Emulator, emu_env: dict[str, str]) -> None:
    failed = emulator.create_job(duration=0, outcome="Failed", fail_reason="boom")
    read_end, write_end = os.pipe()
    os.close(read_end)  # `| head -c 1` after it had its byte: every write now fails with EPIPE
    gone = os.fdopen(write_end, "w")
    try:
        err = io.StringIO()
        assert main(["wait", failed["id"], "-q"], env=emu_env, stdout=gone, stderr=err, policy=FAST_POLICY) == 1
        assert "could not write" not in err.getvalue()
        with pytest.raises(BrokenPipeError):  # really a broken pipe, not a write that went through
            gone.write("x" * 100_000)
            gone.flush()
    finally:
        with contextlib.suppress(BrokenPipeError):
            gone.close()


def test_a_closed_stderr_changes_nothing_but_the_display(emulator: Emulator, emu_env: dict[str, str]) -> None:
    failed = emulator.create_job(duration=0, outcome="Failed", fail_reason="boom")
    closed, out = io.StringIO(), io.StringIO()
    closed.close()
    assert main(["wait", failed["id"]], env=emu_env, stdout=out, stderr=closed, policy=FAST_POLICY) == 1
    assert json.loads(out.getvalue())[0]["fail_reason"] == "boom"


def test_version_and_help(emu_env: dict[str, str]) -> None:
    result = cli(["--version"], emu_env)
    assert result.code == 0 and result.stdout == f"gaussdb-job {__version__}\n"
    for args in (["--help"], ["wait", "--help"]):
        result = cli(args, emu_env)
        assert result.code == 0 and "exit codes:" in result.stdout and "examples:" in result.stdout
        assert "130" in result.stdout and "--timeout 30m" in result.stdout


@pytest.mark.parametrize(
    ("args", "suggestion"),
    [(["wiat", UNKNOWN], "did you mean 'wait'?"), (["wait", UNKNOWN, "--timout", "5"], "did you mean '--timeout'?")],
)
def test_usage_errors_show_the_usage_line_and_a_suggestion(
    emulator: Emulator, emu_env: dict[str, str], args: list[str], suggestion: str
) -> None:
    result = cli(args, emu_env)
    assert result.code == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith("usage: gaussdb-job") and suggestion in lines[1]
    assert emulator.stats()["total"] == 0


@pytest.mark.parametrize(
    ("args", "env_change"),
    [
        (["wait"], {}),
        ([], {}),
        (["wait", "../../etc/passwd"], {}),
        (["wait", f"{UNKNOWN}&id=1"], {}),
        (["wait", ","], {}),
        (["show", " "], {}),
        (["show", f"{UNKNOWN},{UNKNOWN[::-1]}"], {}),
        (["show", UNKNOWN, "--timeout", "5"], {}),
        (["wait", UNKNOWN, "--timeout", "-1"], {}),
        (["wait", UNKNOWN, "--timeout", "0"], {}),
        (["wait", UNKNOWN, "--timeout", "1e12"], {}),
        (["wait", UNKNOWN, "--timeout", "10 minutes"], {}),
        (["wait", UNKNOWN, "--not-found-grace", "-1s"], {}),
        (["wait", UNKNOWN, "--outage-limit", "soon"], {}),
        (["wait", UNKNOWN, "--max-rate", "0"], {}),
        (["wait", UNKNOWN, "--progress", "fancy"], {}),
        (["show", UNKNOWN, "--project-id", "12/34"], {}),
        (["show", UNKNOWN, "--endpoint", "http://gaussdb.example.com"], {}),
        (["show", UNKNOWN], {"HW_SECRET_KEY": ""}),
        (["show", UNKNOWN], {"HW_PROJECT_ID": ""}),
    ],
)
def test_usage_and_configuration_errors_exit_2_and_send_nothing(
    emulator: Emulator, emu_env: dict[str, str], args: list[str], env_change: dict[str, str]
) -> None:
    result = cli(args, {**emu_env, **env_change})
    assert result.code == 2, result.stderr
    assert "Traceback" not in result.stderr and result.stderr.strip() and result.stdout == ""
    assert emulator.stats()["total"] == 0


def test_durations_parse_and_print() -> None:
    assert [durations.parse(v, "x") for v in ("90", "90s", "10m", "1h30m", "1.5h", "2d", " 5m ")] == [
        90,
        90,
        600,
        5400,
        5400,
        172800,
        300,
    ]
    assert durations.parse("0", "x", allow_zero=True) == 0
    for bad in ("", "s", "30m1h", "5m5m", "-1", "0", "8d", "nan", "inf", "1e400"):
        with pytest.raises(ConfigError):
            durations.parse(bad, "x")
    assert [durations.format(s) for s in (0, 45, 80, 3480, 3605, 5400, 90000)] == [
        "0s",
        "45s",
        "1m20s",
        "58m",
        "1h",
        "1h30m",
        "1d1h",
    ]


# -- the real console script, in a subprocess: what only a process can show


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_ends_the_wait_at_once_with_the_jobs_as_json(
    emulator: Emulator, emu_env: dict[str, str], signum: signal.Signals, code: int
) -> None:
    jobs = [emulator.create_job(name=f"Long{i}", duration=600, progress="linear") for i in range(3)]
    proc = subprocess.Popen(
        [str(BIN / "gaussdb-job"), "wait", *[j["id"] for j in jobs], "--progress", "plain"],
        env=process_env(emu_env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        seen: set[str] = set()
        while len(seen) < len(jobs):  # every wait has polled once: all of them are now asleep
            line = proc.stderr.readline()
            assert line, "gaussdb-job ended before it was signalled"
            seen.update(j["id"] for j in jobs if f"{j['id']} Long" in line and "Running" in line)
        proc.send_signal(signum)
        # The jobs run for 600 s and the timeout is an hour: ending within this safety bound is ending at once.
        stdout, stderr = proc.communicate(timeout=20)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == code, stderr
    finals = json.loads(stdout)
    assert [f["job_id"] for f in finals] == [j["id"] for j in jobs]
    assert all(set(f) == WAIT_FIELDS and f["status"] == "Running" and "cancelled" in f["error"] for f in finals)
    assert "the jobs go on in the task center" in stderr and "Traceback" not in stderr


def test_a_reader_that_stops_early_does_not_change_the_exit_code(emulator: Emulator, emu_env: dict[str, str]) -> None:
    # More JSON than a pipe holds, so the write really meets the closed pipe.
    big = {"notes": "x" * 200_000}
    job = emulator.create_job(duration=0, outcome="Failed", fail_reason="boom", entities=big)
    script = f'"{BIN / "gaussdb-job"}" wait {job["id"]} -q | head -c 1 >/dev/null; echo "rc=${{PIPESTATUS[0]}}" >&2'
    result = subprocess.run(
        ["bash", "-c", script], env=process_env(emu_env), capture_output=True, text=True, timeout=60, check=False
    )
    assert "rc=1" in result.stderr and "Traceback" not in result.stderr and "Exception ignored" not in result.stderr


def test_a_closed_stdout_is_an_error_exit(emulator: Emulator, emu_env: dict[str, str]) -> None:
    job = emulator.create_job(duration=0)
    script = f'"{BIN / "gaussdb-job"}" wait {job["id"]} -q >&-'
    result = subprocess.run(
        ["bash", "-c", script], env=process_env(emu_env), capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 6 and "could not write the jobs: stdout is closed" in result.stderr
    assert "Traceback" not in result.stderr


def test_python_dash_m_provider_works_too(emulator: Emulator, emu_env: dict[str, str]) -> None:
    job = emulator.create_job(duration=0)
    result = subprocess.run(
        [sys.executable, "-m", "provider", "show", job["id"]],
        env=process_env(emu_env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0 and json.loads(result.stdout)["job_id"] == job["id"]


def test_a_new_user_runs_the_emulator_and_waits_on_a_job(tmp_path: Path) -> None:
    """The README's first steps: `gaussdb-emulator`, a job through the control API, `gaussdb-job wait`."""
    server = subprocess.Popen(
        [sys.executable, "-m", "gaussdb_emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert server.stdout is not None
        url = ""
        for line in server.stdout:
            if line.startswith("listening on "):
                url = line.split()[-1]
                break
        assert url.startswith("http://127.0.0.1:")
        created: dict[str, Any] = requests.post(
            f"{url}/_emulator/jobs", json={"duration": 1, "name": "CreateInstance"}, timeout=5
        ).json()["job"]
        cfg = EmulatorConfig()  # the emulator's documented defaults, which it printed at start
        env = {
            "GAUSSDB_ENDPOINT": url,
            "HW_PROJECT_ID": cfg.project_id,
            "HW_ACCESS_KEY": cfg.access_key,
            "HW_SECRET_KEY": cfg.secret_key,
        }
        result = run(["wait", created["id"]], env)
        assert result.returncode == 0, result.stderr
        (final,) = json.loads(result.stdout)
        assert final["status"] == "Completed" and set(final) == WAIT_FIELDS
        assert "CreateInstance: Completed" in result.stderr  # plain lines: stderr is a pipe here
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=10) == 0


def test_the_provider_never_imports_the_display_or_rich() -> None:
    """rich is for the CLI's live board only: neither the provider nor the CLI's plain path loads it."""
    code = (
        "import sys, provider.resource\n"
        "assert 'provider.cli.display' not in sys.modules and 'rich' not in sys.modules\n"
        "import provider.cli.main\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'rich']\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
