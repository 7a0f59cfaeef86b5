"""Errors name the fix in the words of the front end in use: flags and environment variables for the CLI,
arguments and `gaussdb:` keys for the Pulumi resources (provider/config/words.py)."""

from __future__ import annotations

import io

import pytest

from gaussdb_emulator.server import Emulator
from provider.cli.main import main
from provider.config import words
from provider.config.settings import resolve
from provider.taskcenter.compose import resolve as resolve_all

JOB = "a9767ede-fe0f-4888-9003-e843a4c90514"
PROJECT = "0" * 32


def _cli(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    err = io.StringIO()
    code = main(argv, env=env, stdout=io.StringIO(), stderr=err)
    return code, err.getvalue()


@pytest.mark.parametrize(
    ("argv", "env", "named"),
    [
        (["show", JOB], {}, "--project-id"),
        (["show", JOB, "--project-id", PROJECT], {}, "--endpoint"),
        (["show", JOB, "--project-id", PROJECT], {}, "--region"),
        (["show", JOB, "--project-id", PROJECT, "--region", "xx-nowhere-9"], {}, "--endpoint"),
        (["show", JOB, "--project-id", PROJECT, "--endpoint", "https://x.example"], {}, "HW_ACCESS_KEY"),
        (
            ["show", JOB, "--project-id", PROJECT, "--endpoint", "https://x.example"],
            {"HW_ACCESS_KEY": "ak"},
            "HW_SECRET_KEY",
        ),
        (
            ["show", JOB, "--project-id", PROJECT, "--endpoint", "https://x.example"],
            {"HW_USER_NAME": "u", "HW_PASSWORD": "p", "HW_DOMAIN_NAME": "d"},
            "HW_AUTH_URL",
        ),
    ],
)
def test_cli_errors_name_flags_and_variables_never_stack_keys(argv: list[str], env: dict[str, str], named: str) -> None:
    code, err = _cli(argv, env)
    assert code == 2
    assert named in err
    assert "gaussdb:" not in err and "argument" not in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "config", "env", "named"),
    [
        ({}, {}, {}, "gaussdb:projectId"),
        ({"project_id": PROJECT}, {}, {}, "gaussdb:endpoint"),
        ({"project_id": PROJECT, "endpoint": "https://x.example"}, {}, {}, "gaussdb:accessKey"),
        ({"project_id": PROJECT, "endpoint": "https://x.example"}, {"gaussdb:userName": "u"}, {}, "gaussdb:password"),
    ],
)
def test_stack_errors_name_arguments_and_config_keys_never_flags(
    args: dict[str, str], config: dict[str, str], env: dict[str, str], named: str
) -> None:
    with pytest.raises(words.SettingError) as caught:
        resolve_all(args, config, env)
    assert named in str(caught.value)
    assert "--" not in str(caught.value)


def test_both_vocabularies_name_every_setting_a_template_uses() -> None:
    assert set(words.STACK) == set(words.CLI)
    with pytest.raises(words.SettingError) as caught:
        resolve({}, {}, {})
    assert caught.value.worded(words.CLI) != str(caught.value)


@pytest.mark.parametrize(
    "change",
    [{"HW_PROJECT_ID": "f" * 32}, {"HW_SECRET_KEY": "not-the-secret"}],
    ids=["another-project", "wrong-secret"],
)
def test_refused_credentials_name_what_to_check(
    emulator: Emulator, emu_env: dict[str, str], change: dict[str, str]
) -> None:
    job = emulator.create_job(duration=1)
    code, err = _cli(["show", job["id"]], {**emu_env, **change})
    assert code == 5
    hint = err.splitlines()[-1]
    assert hint.startswith("gaussdb-job: hint: the credentials were refused")
    for named in ("HW_ACCESS_KEY", "HW_SECRET_KEY", "--project-id", "HW_PROJECT_ID", "--region", "--endpoint"):
        assert named in hint
    assert "not-the-secret" not in err


@pytest.mark.parametrize(("argv", "told"), [(["run", "restart"], "run --help"), (["wait"], "wait --help")])
def test_a_command_usage_error_points_at_that_commands_help(argv: list[str], told: str) -> None:
    code, err = _cli(argv, {})
    assert code == 2
    assert err.splitlines()[-1] == f"Try 'gaussdb-job {told}' for more."
