"""Every shell block of README.md and docs/*.md runs as written, in a fresh bash at the root of the checkout.

A block claims to run when its fence says ``bash``, ``sh`` or ``shell`` and no ``<!-- doc-test: skip (why) -->``
line stands right above it; every other block says what it is (``console``, ``text``, ``python``, ``hcl``...),
so no fence is left ambiguous. Blocks start their own emulator as a reader would
(``eval "$(gaussdb-emulator --port 0 --background)"``) and stop it as documented; whatever a block leaves running
is killed with its process group.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUNNABLE = {"bash", "sh", "shell"}
SKIP = re.compile(r"^<!-- doc-test: skip \(.+\) -->$")
FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>[\w-]*)\s*$")
BLOCK_LIMIT = 60


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    lang: str
    skipped: bool
    code: str

    @property
    def name(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    found = []
    lines = page.read_text().splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent = opening["indent"]
        body = []
        end = index + 1
        while end < len(lines) and lines[end].strip() != "```":
            body.append(lines[end].removeprefix(indent))
            end += 1
        previous = next((lines[i].strip() for i in range(index - 1, -1, -1) if lines[i].strip()), "")
        found.append(Block(page, index + 1, opening["lang"], bool(SKIP.match(previous)), "\n".join(body) + "\n"))
        index = end + 1
    return found


ALL = [block for page in PAGES for block in blocks(page)]
TO_RUN = [block for block in ALL if block.lang in RUNNABLE and not block.skipped]


def test_every_block_says_what_it_is() -> None:
    unlabelled = [block.name for block in ALL if not block.lang]
    assert unlabelled == [], "label each fence: bash (runs), console/text (shown), python, hcl..."
    assert len(TO_RUN) >= 3  # the README's quickstart, the CLI page, the emulator page at least


def _fresh_env() -> dict[str, str]:
    """A reader's shell: none of this test run's settings, credentials or emulator."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("HW_", "OS_", "GAUSSDB_", "PYTEST"))}


@pytest.mark.parametrize("block", TO_RUN, ids=[block.name for block in TO_RUN])
def test_the_block_runs_as_written(block: Block) -> None:
    if "make install" in block.code:
        # `make install` is a no-op on an installed checkout; a stale one would reinstall the venv under the tests.
        stale = subprocess.run(["make", "-q", "install"], cwd=ROOT, capture_output=True, check=False).returncode
        assert stale == 0, ".venv is older than pyproject.toml/constraints.txt: run `make install` first"
    process = subprocess.Popen(
        ["bash", "-e", "-o", "pipefail", "-c", block.code],
        cwd=ROOT,
        env=_fresh_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=BLOCK_LIMIT)
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)  # anything the block left running (an emulator it did not stop)
        except ProcessLookupError:
            pass
    assert process.returncode == 0, f"{block.name} exited {process.returncode}\n{stdout}\n{stderr}"
    assert "Traceback" not in stderr
    if block.page.name == "README.md" and "gaussdb-job wait" in block.code:
        # The quickstart's promise: the final job as a JSON list on stdout, Completed.
        result = stdout[stdout.index("[\n") :]  # after make's own line
        (job,) = json.loads(result)
        assert job["status"] == "Completed" and job["error"] is None


# Pages other branches add at the same time (the README and the index link them before the merge).
FROM_OTHER_BRANCHES = {"docs/engine.md", "docs/security.md", "docs/operations.md", "docs/batch-reads.md"}


def test_every_relative_link_leads_to_a_file() -> None:
    broken = []
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" in target:
                continue
            resolved = (page.parent / target).resolve()
            if not resolved.exists() and str(resolved.relative_to(ROOT)) not in FROM_OTHER_BRANCHES:
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
    assert broken == []
