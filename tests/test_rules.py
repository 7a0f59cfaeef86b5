"""Each rule once (issue 16) and check parity (issue 20): the exit-code table, the services table behind
``--service``, errors that carry the failing setting, the rate bounds, credentials that cannot be sent, what
check refuses, redaction of every form of a secret, one userinfo rule.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from pulumi.dynamic import CheckResult

from gaussdb_emulator.server import Emulator
from provider.cli import exit_codes
from provider.cli.exit_codes import ExitCode
from provider.cli.main import build_parser, main
from provider.config import settings
from provider.config.credentials import redact, redact_value, secret_forms, secret_values
from provider.core import validate
from provider.core.errors import (
    ApiError,
    AuthError,
    ConfigError,
    GaussDBError,
    JobFailed,
    JobNotFound,
    WaitCancelled,
    WaitTimeout,
)
from provider.core.sanitize import strip_userinfo
from provider.resource import GaussDBJobProvider, GaussDBJobsProvider
from provider.taskcenter.models import Job
from provider.wire import retry_after

ROOT = Path(__file__).resolve().parent.parent
JOB_ID = "a9767ede-fe0f-4888-9003-e843a4c90514"
PROJECT = "0123456789abcdef0123456789abcdef"


def run(argv: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, env=env, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


# --- exit codes: the CLI's table ---------------------------------------------------------------------------------


def test_each_error_maps_to_its_exit_code() -> None:
    job = Job(id=JOB_ID, status="Failed")
    cases: list[tuple[BaseException | None, int]] = [
        (None, 0),
        (JobFailed(job), 1),
        (ConfigError("x"), 2),
        (WaitTimeout(JOB_ID, 1.0, None), 3),
        (JobNotFound(JOB_ID), 4),
        (AuthError("x"), 5),
        (ApiError("x"), 6),
        (GaussDBError("x"), 6),
        (ValueError("not ours"), 6),
        (WaitCancelled(JOB_ID, None), 130),
    ]
    assert [exit_codes.for_error(exc) for exc, _ in cases] == [code for _, code in cases]
    assert not hasattr(GaussDBError("x"), "exit_code")  # the core errors know nothing of exit codes


def test_the_help_lists_the_exit_codes_from_the_table() -> None:
    out = io.StringIO()
    assert main(["--help"], env={}, stdout=out, stderr=io.StringIO()) == 0
    for code in ExitCode:
        assert re.search(rf"^  {code.value}\s+{re.escape(exit_codes.MEANINGS[code])}$", out.getvalue(), re.M)
    source = (ROOT / "provider" / "cli" / "main.py").read_text()
    assert "API or network error" not in source  # the text lives in the table only
    assert not re.search(r"\b(code|return)[^\n]*\b6\b", source)  # no literal 6 left


# --- the services table behind --service ------------------------------------------------------------------------


def test_service_alias_works_on_the_command_line(emulator: Emulator, emu_env: dict[str, str]) -> None:
    job = emulator.create_job(duration=0, service="gaussdb-mysql")
    code, out, err = run(["--service", "taurusdb", "show", job["id"]], emu_env)
    assert code == 0, err
    assert json.loads(out)["status"] == "Completed"
    code, out, err = run(["show", job["id"], "--service", "TaurusDB"], emu_env)
    assert code == 0, err


@pytest.mark.parametrize(
    ("typed", "meant"), [("taurus", "taurusdb"), ("gausdb-nosql", "gaussdb-nosql"), ("rdss", "rds")]
)
def test_a_mistyped_service_suggests_the_closest_name_or_alias(typed: str, meant: str) -> None:
    code, out, err = run(["--service", typed, "show", JOB_ID], {})
    assert code == 2 and out == ""
    assert f"did you mean '{meant}'?" in err
    assert "taurusdb" in err  # the choices listed include the aliases


def test_the_service_help_comes_from_the_table() -> None:
    text = build_parser(io.StringIO(), io.StringIO()).format_help()
    assert "taurusdb (= gaussdb-mysql)" in " ".join(text.split())


# --- errors carry the failing setting ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "env", "setting"),
    [
        ({}, {}, "project_id"),
        ({"project_id": "nope", "endpoint": "https://x"}, {}, "project_id"),
        ({"project_id": PROJECT, "service": "nope"}, {}, "service"),
        ({"project_id": PROJECT, "region": "eu west"}, {}, "region"),
        ({"project_id": PROJECT}, {}, "endpoint"),
        ({"project_id": PROJECT, "endpoint": "ftp://x"}, {}, "endpoint"),
        ({"project_id": PROJECT, "endpoint": "https://x", "api_path": "/a/../b"}, {}, "api_path"),
        ({"project_id": PROJECT, "region": "xx-nowhere-1"}, {}, "region"),
        ({"project_id": PROJECT, "endpoint": "https://x"}, {"HW_AUTH_URL": "http://iam.example"}, "auth_url"),
    ],
)
def test_settings_errors_name_their_setting(args: dict[str, Any], env: dict[str, str], setting: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings.resolve(args, {}, env)
    assert caught.value.setting == setting


def check(provider: GaussDBJobProvider, news: dict[str, Any], config: dict[str, Any] | None = None) -> CheckResult:
    provider._config = {"gaussdb:accessKey": "AK-rules-0001", "gaussdb:secretKey": "SK-rules-0001"} | (config or {})
    return provider.check({}, news)


def test_check_blames_the_input_only_when_the_setting_came_from_one() -> None:
    base = {"job_id": JOB_ID, "endpoint": "https://gaussdb.example"}
    from_input = check(GaussDBJobProvider(), {**base, "project_id": "nope"})
    assert [f.property for f in from_input.failures] == ["project_id"]
    from_config = check(GaussDBJobProvider(), base, {"gaussdb:projectId": "nope"})
    assert [f.property for f in from_config.failures] == [""]
    # A message that happens to contain the word "endpoint" is not blamed on the endpoint input (the old guess).
    no_project = check(GaussDBJobProvider(), base)
    assert [f.property for f in no_project.failures] == [""]


# --- check refuses what create would refuse ---------------------------------------------------------------------

VALID = {"job_id": JOB_ID, "project_id": PROJECT, "endpoint": "https://gaussdb.example"}


@pytest.mark.parametrize("rate", ["fast", "0", "-1", "1e-300", "nan", "5000", "9" * 50])
@pytest.mark.parametrize("provider", [GaussDBJobProvider, GaussDBJobsProvider])
def test_check_refuses_a_bad_max_rate_in_stack_config(provider: type[GaussDBJobProvider], rate: str) -> None:
    news = VALID if provider is GaussDBJobProvider else {**VALID, "job_ids": [JOB_ID]}
    news = {k: v for k, v in news.items() if not (provider is GaussDBJobsProvider and k == "job_id")}
    result = check(provider(), news, {"gaussdb:maxRate": rate})
    assert any("gaussdb:maxRate" in f.reason for f in result.failures), result.failures
    assert check(provider(), news, {"gaussdb:maxRate": "2"}).failures == []


@pytest.mark.parametrize("ids", [[JOB_ID, None], [None], f"{JOB_ID},"])
def test_gaussdbjobs_check_refuses_a_missing_id(ids: Any) -> None:
    news = {k: v for k, v in VALID.items() if k != "job_id"} | {"job_ids": ids}
    result = check(GaussDBJobsProvider(), news)
    if ids == f"{JOB_ID},":
        assert result.failures == []  # a trailing comma is a blank, dropped
    else:
        assert any(f.property == "job_ids" and "None" in f.reason for f in result.failures)


def test_max_rate_bounds_are_documented_and_enforced() -> None:
    assert validate.rate("0.05") == validate.MIN_RATE
    assert validate.rate(1000) == validate.MAX_RATE
    for bad in ("1e-300", "0.049", "1000.1", "inf", True, None, "1" * 40):
        with pytest.raises(ConfigError, match="requests per second") as caught:
            validate.rate(bad)
        assert caught.value.setting == "max_rate"
    code, _, err = run(["wait", JOB_ID, "--max-rate", "1e-300"], {})
    assert code == 2 and "0.05" in err
    assert "0.05" in (ROOT / "docs" / "security.md").read_text()


@pytest.mark.parametrize("key", ["gaussdb:authToken", "gaussdb:secretKey", "gaussdb:securityToken"])
@pytest.mark.parametrize("value", ["Zq9v\r\nX-Evil: 1", "Zq9v-\u2603"])
def test_check_refuses_credentials_that_cannot_be_sent_without_repeating_them(key: str, value: str) -> None:
    result = check(GaussDBJobProvider(), VALID, {key: value})
    assert len(result.failures) == 1 and result.failures[0].property == ""
    reason = result.failures[0].reason
    assert key in reason and "Zq9v" not in reason and "Evil" not in reason


# --- the model reads what gateways send -----------------------------------------------------------------------


@pytest.mark.parametrize(("process", "text", "percent"), [(50, "50", 50.0), (-5, "-5", None), (12.5, "12.5", 12.5)])
def test_a_numeric_process_keeps_a_job_readable(process: Any, text: str, percent: float | None) -> None:
    job = Job.model_validate({"id": JOB_ID, "status": "Completed", "process": process})
    assert (job.process, job.percent, job.fields()["process"]) == (text, percent, text)


# --- throttling and Retry-After (pure rules) ---------------------------------------------------------------------


@pytest.mark.parametrize("status", [400, 403, 429, 500])
def test_apigw_0308_is_a_throttle_under_any_status(status: int) -> None:
    assert ApiError("x", status=status, error_code="APIGW.0308").throttled
    assert ApiError("x", status=status, error_code=" apigw.0308 ").throttled
    assert not ApiError("x", status=400, error_code="DBS.280001").throttled


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", 0.0),
        ("7", 7.0),
        (" 12 ", 12.0),
        ("9" * 5000, 30.0),
        ("99999999999", 30.0),
        ("Fri, 31 Dec 99999 23:59:59 GMT", 30.0),
        ("Fri, 31 Dec 9999999999999999999999999999999 23:59:59 GMT", 30.0),
        ("Thu, 01 Jan 1970 00:00:00 GMT", 0.0),
        ("Wed, 21 Oct 2015 07:28:10 GMT", 10.0),
        ("garbage", None),
        ("-5", None),
        ("1.5", None),
        ("", None),
        (None, None),
        ("Mon, 45 Foo 2020 99:99:99 GMT", None),
        ("x" * 100_000, None),
    ],
)
def test_retry_after_is_bounded_and_never_raises(value: Any, expected: float | None) -> None:
    now = 1445412480.0  # Wed, 21 Oct 2015 07:28:00 GMT
    assert retry_after.seconds(value, limit=30.0, now=now) == expected


# --- redaction: every form, one userinfo rule ---------------------------------------------------------------------


@pytest.mark.parametrize("secret", ['SeKrEt"q"', "SeKrEt\\b", "SeKrEt\tt", "SeKrEt-né", "SeKrEt+%&/"])
def test_every_form_of_a_secret_is_redacted(secret: str) -> None:
    forms = [json.dumps(secret), json.dumps(secret, ensure_ascii=False), repr(secret), repr(secret.encode())]
    for text in forms + [f"x{form}y" for form in secret_forms(secret)]:
        assert "SeKrEt" not in redact(text, [secret]), text
    scrubbed = redact_value({"a": [secret, {secret: f"<{secret}>"}], "n": 1}, [secret])
    assert scrubbed == {"a": ["***", {"***": "<***>"}], "n": 1}


def test_one_userinfo_rule_for_messages_and_validation() -> None:
    assert strip_userinfo("see https://user:pw@host/x and http://a@b") == "see https://***@host/x and http://***@b"
    with pytest.raises(ConfigError) as caught:
        validate.endpoint("https://us er:pa ss@host")
    assert "pa ss" not in str(caught.value) and "er:" not in str(caught.value)
    sources = [p.read_text() for p in (ROOT / "provider").rglob("*.py")]
    assert sum(text.count("://)[^/") for text in sources) == 1  # the userinfo pattern is written once


def test_every_configured_credential_is_a_secret_to_scrub() -> None:
    config = {
        "gaussdb:accessKey": "AK-scrub-0001",
        "gaussdb:secretKey": "SK-scrub-0001",
        "gaussdb:securityToken": "ST-scrub-0001",
        "gaussdb:authToken": "TK-scrub-0001",
        "gaussdb:password": "PW-scrub-0001",
    }
    assert set(config.values()) <= set(secret_values(config, {}))
    text = "Credential=AK-scrub-0001/20260101 token TK-scrub-0001 pw PW-scrub-0001"
    assert "scrub" not in redact(text, secret_values(config, {}))
