"""The live display in a real terminal: tmux panes of 80 and 160 columns, and more jobs than rows.

Each run is the real console script in a tmux pane, under ``script`` (util-linux) so that the raw bytes written to
the terminal are kept too: the final screen (``capture-pane``) must hold every failure reason and not-found line,
once; the raw output must never hold a line wider than the terminal; and the cursor must be shown again.
The three terminals run side by side to keep the suite fast.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import BIN, UNKNOWN, WAIT_FIELDS, process_env
from tests.support.emulator import aksk_env, running_emulator

TMUX, SCRIPT = shutil.which("tmux"), shutil.which("script")
pytestmark = pytest.mark.skipif(TMUX is None or SCRIPT is None, reason="needs tmux and script (util-linux)")
LONG_REASON = (
    "Disk full on the primary node: the binlog volume reached 100 % while the resize copied data, so the task was "
    "rolled back; free space or add storage, then retry"
)
ESCAPES = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][A-Z0-9]|\x1b[=>78]")


@dataclass
class Screen:
    width: int
    height: int
    jobs: list[dict[str, Any]]
    failed: list[dict[str, Any]]
    rc: int
    screen: list[str]  # the final screen, wrapped lines joined
    raw: str  # every byte written to the terminal
    scrolled: int  # lines that went off the top of the screen
    stdout: list[dict[str, Any]]


class Terminal:
    """One tmux server of our own (its own socket), one pane per run."""

    def __init__(self, tmp: Path) -> None:
        self.socket = f"gaussdb-job-test-{uuid.uuid4().hex[:8]}"
        self.tmp = tmp

    def tmux(self, *args: str) -> str:
        assert TMUX is not None
        return subprocess.run(
            [TMUX, "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout

    def start(self, name: str, width: int, height: int, args: list[str], env: dict[str, str]) -> Path:
        work = self.tmp / name
        work.mkdir()
        exports = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items() if re.match(r"^\w+$", k))
        command = shlex.join([str(BIN / "gaussdb-job"), *args]) + f" > {shlex.quote(str(work / 'out.json'))}"
        # script gives the CLI a pseudo-terminal of the pane's size and logs every byte written to it.
        (work / "run.sh").write_text(
            f"{exports}export TERM=xterm-256color\ncd {shlex.quote(str(work))}\n"
            f"script -q -e -c {shlex.quote(command)} raw.log\n"
            "echo $? > rc\n"
            f"tmux -L {self.socket} wait-for -S {name}\n"
            "exec cat\n"  # keeps the pane (and its screen) until the server is killed
        )
        self.tmux("new-session", "-d", "-s", name, "-x", str(width), "-y", str(height), f"bash {work / 'run.sh'}")
        return work

    def finish(self, name: str, work: Path) -> tuple[int, list[str], str, int]:
        self.tmux("wait-for", name)
        # script relays the CLI's pseudo-terminal to the pane: the pane shows what a user would see.
        screen = self.tmux("capture-pane", "-p", "-J", "-t", name).splitlines()
        scrolled = int(self.tmux("display-message", "-p", "-t", name, "#{history_size}").strip())
        raw = (work / "raw.log").read_text(errors="replace")
        return int((work / "rc").read_text()), screen, raw, scrolled

    def close(self) -> None:
        subprocess.run([str(TMUX), "-L", self.socket, "kill-server"], capture_output=True, timeout=30, check=False)


@pytest.fixture(scope="module")
def screens(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Screen]]:
    with running_emulator() as emu:
        env = process_env(aksk_env(emu))
        terminal = Terminal(tmp_path_factory.mktemp("terminal"))
        plans = {"w80": (80, 24, 4, 1), "w160": (160, 24, 4, 1), "many": (80, 18, 24, 2)}
        started: dict[str, tuple[Path, list[dict[str, Any]], list[dict[str, Any]]]] = {}
        try:
            for name, (width, height, ok_count, failed_count) in plans.items():
                jobs = [
                    emu.create_job(name=f"RestartGaussDBInstance{i:02d}", duration=1 + i % 3 * 0.3, progress="linear")
                    for i in range(ok_count)
                ]
                failed = [
                    emu.create_job(name=f"Resize{i}", duration=0.5, outcome="Failed", fail_reason=f"{i}: {LONG_REASON}")
                    | {"reason": f"{i}: {LONG_REASON}"}
                    for i in range(failed_count)
                ]
                ids = [j["id"] for j in jobs + failed] + [UNKNOWN]
                args = ["wait", *ids, "--not-found-grace", "1", "--max-rate", "100"]
                started[name] = (terminal.start(name, width, height, args, env), jobs, failed)
            results = {}
            for name, (work, jobs, failed) in started.items():
                rc, screen, raw, scrolled = terminal.finish(name, work)
                width, height = plans[name][:2]
                stdout = json.loads((work / "out.json").read_text())
                results[name] = Screen(width, height, jobs, failed, rc, screen, raw, scrolled, stdout)
            for name, result in results.items():  # for a human reading a failure
                (terminal.tmp / f"{name}.screen.txt").write_text("\n".join(result.screen))
            yield results
        finally:
            terminal.close()


def raw_lines(raw: str) -> list[str]:
    """What each write put on one terminal line: escapes removed, split at newlines and carriage returns; without
    the header and footer lines ``script`` adds to its log."""
    lines = [piece for line in ESCAPES.sub("\n", raw).split("\n") for piece in line.split("\r")]
    return [line for line in lines if not line.startswith(("Script started on ", "Script done on "))]


@pytest.mark.parametrize("name", ["w80", "w160", "many"])
def test_the_final_screen_holds_every_failure_and_not_found_line(screens: dict[str, Screen], name: str) -> None:
    s = screens[name]
    assert s.rc == 4, s.screen
    text = " ".join(" ".join(s.screen).split())  # messages are wrapped at word boundaries to fit
    for job in s.failed:
        assert f"job {job['id']} (Resize" in text and job["reason"] in text  # the whole reason, once wrapped
    assert f"gaussdb-job: job {UNKNOWN} not found in the task center" in text
    assert "hint: not found means" in text
    assert re.search(r"\d+/\d+ done · \d+ failed · 1 not found · [\d.]+s", text)  # not found is not "failed"
    assert [f["job_id"] for f in s.stdout] == [j["id"] for j in s.jobs + s.failed] + [UNKNOWN]
    assert all(set(f) == WAIT_FIELDS for f in s.stdout)


@pytest.mark.parametrize("name", ["w80", "w160", "many"])
def test_no_duplicated_rows_and_nothing_wider_than_the_terminal(screens: dict[str, Screen], name: str) -> None:
    s = screens[name]
    for job in s.jobs + s.failed:
        rows = [line for line in s.screen if line.startswith(job["id"][:8] + " ")]
        assert len(rows) <= 1, rows
    widest = max(raw_lines(s.raw), key=len)
    assert len(widest) <= s.width, widest
    # The terminal is left clean: the cursor the live display hid is shown again.
    assert s.raw.rfind("\x1b[?25h") > s.raw.rfind("\x1b[?25l") >= 0


def test_few_jobs_end_with_every_row_once(screens: dict[str, Screen]) -> None:
    for name in ("w80", "w160"):
        s = screens[name]
        for job in s.jobs:
            (row,) = [line for line in s.screen if line.startswith(job["id"][:8] + " ")]
            assert "Completed" in row and "100%" in row
        (missing,) = [line for line in s.screen if line.startswith(UNKNOWN[:8] + " ")]
        assert "NotFound" in missing
        assert len(s.screen[0]) <= s.width


def test_more_jobs_than_rows_collapse_instead_of_scrolling(screens: dict[str, Screen]) -> None:
    s = screens["many"]
    # Only the final errors and hints (a few wrapped lines) may push the screen up; a display that drew every row
    # on every redraw would have scrolled hundreds of lines.
    assert s.scrolled < s.height, s.scrolled
    assert re.search(r"\.\.\. \d+ more not shown", ESCAPES.sub("", s.raw))
    completed_rows = [line for line in s.screen if "Completed" in line]
    assert completed_rows == []  # the final screen keeps the rows that need reading
