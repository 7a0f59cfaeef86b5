"""docs/settings.md holds every setting in one table, checked against the code in both directions.

The code's side: the resources' arguments (WaitSettings and the job id fields), the ``gaussdb:`` keys
(provider.config.credentials.CONFIG_KEYS), every environment variable named in provider/ (string literals
``HW_*``, ``OS_*``, ``GAUSSDB_*``) and every flag of ``gaussdb-job``.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

from provider.cli.main import build_parser
from provider.config.credentials import CONFIG_KEYS
from provider.resources.dynamic import GaussDBJobArgs, GaussDBJobsArgs

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "settings.md"
ENV_NAME = re.compile(r"^(HW|OS|GAUSSDB)_[A-Z0-9_]+$")
# Settings CONTRACT.md names whose code lands from other branches (batch reads): documented ahead of the merge.
# Once the code has them, this set changes nothing (the checks below only subtract it from "unknown to the code").
AHEAD_OF_CODE = {"gaussdb:listApi", "GAUSSDB_LIST_API", "--list-api"}
# Read by the libraries, not named in our code.
FROM_LIBRARIES = {"REQUESTS_CA_BUNDLE"}


def _table() -> list[dict[str, str]]:
    text = PAGE.read_text()
    body = text.split("<!-- settings-table-start -->", 1)[1].split("<!-- settings-table-end -->", 1)[0]
    rows = [line for line in body.strip().splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in rows[0].strip("|").split("|")]
    table = []
    for row in rows[2:]:
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", row.strip().strip("|"))]
        assert len(cells) == len(header), row
        table.append(dict(zip(header, cells, strict=True)))
    return table


def _names(table: list[dict[str, str]], column: str) -> set[str]:
    return {name for row in table for name in re.findall(r"`([^`]+)`", row[column])}


def _flags(cell: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", cell))


def _env_names_in_code() -> set[str]:
    names = set()
    for path in (ROOT / "provider").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and ENV_NAME.match(node.value):
                names.add(node.value)
    return names


def _cli_flags() -> set[str]:
    parser = build_parser()
    flags: set[str] = set()
    # The settings: the flags every command shares, and wait's. (An operation's own flags are not settings.)
    for command in (parser, parser.commands["show"], parser.commands["wait"]):
        for action in command._actions:
            flags.update(option for option in action.option_strings if option not in ("-h", "--help", "--version"))
    return flags


def test_every_resource_argument_is_in_the_table() -> None:
    documented = {name for name in _names(_table(), "resource argument") if name.islower()}  # not class names
    arguments = {f.name for f in dataclasses.fields(GaussDBJobArgs)} | {
        f.name for f in dataclasses.fields(GaussDBJobsArgs)
    }
    assert arguments - documented == set()
    assert documented - arguments == set()


def test_every_stack_config_key_is_in_the_table() -> None:
    documented = _names(_table(), "stack config")
    keys = {f"gaussdb:{key}" for key in CONFIG_KEYS}
    assert keys - documented == set()
    assert documented - keys - AHEAD_OF_CODE == set()


def test_every_environment_variable_is_in_the_table() -> None:
    documented = _names(_table(), "environment")
    in_code = _env_names_in_code()
    assert in_code - documented == set()
    assert documented - in_code - AHEAD_OF_CODE - FROM_LIBRARIES == set()


def test_every_cli_flag_is_in_the_table() -> None:
    documented = {flag for row in _table() for flag in _flags(row["CLI flag"])}
    flags = _cli_flags()
    assert flags - documented == set()
    assert documented - flags - AHEAD_OF_CODE == set()
