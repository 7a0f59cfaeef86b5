"""Validation closes the holes a hostile-input run found: every bad input is a ConfigError naming the problem,
nothing is sent, and no message echoes a credential."""

from __future__ import annotations

import os
import subprocess

import pytest

from gaussdb_emulator.server import Emulator
from provider.core import validate
from provider.core.errors import ConfigError
from provider.core.sanitize import clean
from tests.support.cli import BIN
from tests.support.emulator import aksk_env

GOOD_ID = "a9767ede-fe0f-4888-9003-e843a4c90514"


@pytest.mark.parametrize(
    "value", [GOOD_ID + "\n", GOOD_ID + "\r\n", "\n" + GOOD_ID, GOOD_ID + " x", GOOD_ID + "\x00", "٣" * 36]
)
def test_job_ids_must_match_whole(value: str) -> None:
    with pytest.raises(ConfigError, match="invalid job id"):
        validate.job_id(value)


def test_project_ids_must_match_whole() -> None:
    with pytest.raises(ConfigError):
        validate.project_id("a" * 32 + "\n")


@pytest.mark.parametrize(
    "value",
    [
        "https://ho\tst",
        "https://host\nx",
        "https://host/\x1b[2J",
        "https://ho st",
        "https://host\\evil",
        "https://host\x7f",
        "https://ho\x85st",
    ],
)
def test_endpoints_with_whitespace_or_control_characters_are_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="invalid endpoint"):
        validate.endpoint(value)


@pytest.mark.parametrize(
    "value", ["https://admin:hunter2-secret@host", "https://hunter2-secret@host", "https://a:hunter2-secret@host:9x"]
)
def test_credentials_in_an_endpoint_are_refused_without_being_echoed(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        validate.endpoint(value)
    assert "hunter2" not in str(caught.value) and "admin" not in str(caught.value)


@pytest.mark.parametrize("value", ["/v3/..", "/../v3", "/v3/./x", "/v3//x", "//v3", "/v3/%2e%2e", "/v3?x", "v3", ""])
def test_api_paths_with_dot_or_empty_segments_are_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="invalid API path"):
        validate.api_path(value)


def test_good_api_paths_are_kept_as_configured() -> None:
    assert validate.api_path("/mysql/v3/") == "/mysql/v3"
    assert validate.api_path("/v3") == "/v3"


BAD_NUMBERS = [10**400, -(10**400), 10**5000, "1" * 5000, "1e400", "-1e400", "nan", "inf", 0, -1, 604801, "0x10", True]


@pytest.mark.parametrize("index", range(len(BAD_NUMBERS)))
def test_numbers_are_bounded_before_conversion(index: int) -> None:
    with pytest.raises(ConfigError, match="invalid timeout"):
        validate.timeout(BAD_NUMBERS[index])


def test_zero_is_allowed_where_it_means_no_grace() -> None:
    assert validate.timeout(0, "not_found_grace", allow_zero=True) == 0.0
    assert validate.timeout("0", "--outage-limit", allow_zero=True) == 0.0
    with pytest.raises(ConfigError, match="expected 0 and at most"):
        validate.timeout(-1, "not_found_grace", allow_zero=True)


def test_clean_strips_escapes_and_controls_and_truncates() -> None:
    assert clean("\x1b]0;title\x07a\x1b[31mb\x1b[0mc") == "abc"
    assert clean("line\nforged\r\tend") == "line forged end"
    assert clean("a\u202eb\u200bc\x00d\x7fe\x9b1mf") == "abcdef"
    assert clean("x" * 100, 10) == "x" * 9 + "…"
    assert clean("short", 10) == "short"
    assert clean("é ü 中文", 20) == "é ü 中文"


@pytest.mark.parametrize(
    "argv",
    [
        ["show", GOOD_ID + "\nx"],  # the CLI may strip a trailing newline; an embedded one is refused
        ["wait", GOOD_ID, "--timeout", "1" + "0" * 400],
        ["wait", GOOD_ID, "--endpoint", "http://127.0.0.1:1\t/x"],
        ["wait", GOOD_ID, "--api-path", "/v3/../admin"],
    ],
)
def test_the_cli_refuses_bad_input_with_exit_2_and_sends_nothing(emulator: Emulator, argv: list[str]) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.environ.get("PYTHONPATH", ""), **aksk_env(emulator)}
    result = subprocess.run(
        [str(BIN / "gaussdb-job"), *argv], env=env, capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "gaussdb-job" in result.stderr
    assert emulator.stats()["total"] == 0
