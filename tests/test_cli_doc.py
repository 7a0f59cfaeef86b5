"""docs/cli.md against the CLI itself: the flags of `gaussdb-job --help` (and of each command's help), the
commands, and the exit codes (provider.cli.exit_codes.ExitCode)."""

from __future__ import annotations

import io
import re
from pathlib import Path

from provider.cli.exit_codes import ExitCode
from provider.cli.main import build_parser, main

PAGE = (Path(__file__).resolve().parent.parent / "docs" / "cli.md").read_text()
# Flags CONTRACT.md names whose code has not landed yet: documented ahead of the code.
AHEAD_OF_CODE: set[str] = set()


def _help(*argv: str) -> str:
    out = io.StringIO()
    assert main([*argv, "--help"], env={}, stdout=out, stderr=io.StringIO()) == 0
    return out.getvalue()


def _section(title: str) -> str:
    return PAGE.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_every_flag_of_the_help_is_in_the_flag_table_and_back() -> None:
    in_help = {
        flag
        for text in (_help(), _help("show"), _help("wait"))
        for flag in re.findall(r"(?<![\w-])(--[a-z-]+|-[a-z])\b", text)
    }
    documented = set(re.findall(r"(?<![\w-])(--[a-z-]+|-[a-z])\b", _section("Flags")))
    assert in_help - documented == set()
    assert documented - in_help - AHEAD_OF_CODE == set()


def test_the_commands_are_the_parsers() -> None:
    documented = set(re.findall(r"^gaussdb-job (\w+)", _section("Commands"), re.M))
    assert set(build_parser().commands) <= documented
    assert documented - set(build_parser().commands) <= {"run"}  # operations: from another branch until merged


def test_the_exit_code_table_is_the_clis() -> None:
    table = PAGE.split("<!-- exit-codes-start -->", 1)[1].split("<!-- exit-codes-end -->", 1)[0]
    documented = {int(code) for code in re.findall(r"^\| (\d+) \|", table, re.M)}
    assert documented == {int(code) for code in ExitCode}
    listed = _help().split("exit codes:", 1)[1].split("\n\n", 1)[0]
    for code in ExitCode:  # and the help lists the same codes
        assert re.search(rf"\b{int(code)}\b", listed), code
