"""The real dynamic-provider plugin (``python -u -m pulumi.dynamic``), driven over gRPC as the Pulumi engine drives
it: started in another directory than the repo, configured with the stack config, then Check, Diff, Create,
Read, Update and Delete against the emulator. No timing asserts: "Create blocks" is asserted as "the job is
Completed in the emulator when Create returns".
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from pulumi.output import Unknown
from pulumi.runtime.rpc import UNKNOWN

from gaussdb_emulator.server import Emulator
from harness.plugin import PluginError, PluginProcess
from harness.program import run_program
from provider.resources.dynamic import OUTPUTS
from tests.support.plugin import clean_env, stack_config, urn

pytestmark = pytest.mark.timeout(60)

ENTITIES = {
    "instance": {
        "endpoint": "192.168.0.42:3306",
        "type": "Cluster",
        "datastore": {"type": "gaussdb-mysql", "version": "8.0"},
    },
    "resource_ids": ["a", "b"],
    "extra": {"kept": True},
}
INSTANCE = {"id": "d3b6a1f0e4c54b2f9a1c0e7d5b8f2a61in07", "name": "orders-db"}

GAUSSDB_JOB_PROGRAM = """
import pulumi
from provider import GaussDBJob

job = GaussDBJob("restart-db", job_id="a9767ede-fe0f-4888-9003-e843a4c90514", timeout=60)
"""


def secrets_of(emu: Emulator) -> list[str]:
    cfg = emu.config
    return [cfg.access_key, cfg.secret_key, cfg.token, cfg.password, cfg.security_token, cfg.temp_secret_key]


class _Recorder:
    def __init__(self) -> None:
        self.inputs: dict[str, dict[str, Any]] = {}

    def new_resource(self, args: Any) -> tuple[str, dict[str, Any]]:
        self.inputs[args.name] = dict(args.inputs)
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: Any) -> tuple[dict[str, Any], None]:
        return {}, None


@pytest.fixture(scope="module")
def program_provider(tmp_path_factory: pytest.TempPathFactory) -> str:
    """``__provider`` exactly as a program produces it (under Pulumi's mocks), with credentials in the program's
    environment that must not end up inside it."""
    from pulumi.runtime.mocks import Mocks

    class RecordingMocks(_Recorder, Mocks):
        pass

    program = tmp_path_factory.mktemp("program") / "__main__.py"
    program.write_text(GAUSSDB_JOB_PROGRAM)
    mocks = RecordingMocks()
    run_program(mocks, {"gaussdb:secretKey": "program-side-secret-value"}, program=program)
    provider = mocks.inputs["restart-db"]["__provider"]
    assert isinstance(provider, str), "the serialized provider is not a secret: it holds nothing secret"
    return provider


@pytest.fixture(scope="module")
def plugin(emu: Emulator, program_provider: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PluginProcess]:
    """The plugin in a directory that is not the repo, configured through Configure (stack config, the secret
    key marked secret as the engine marks it), with nothing in its environment."""
    workdir = tmp_path_factory.mktemp("plugin-cwd")
    # One resource at a time, back to back: a cap well above the default keeps the process-wide request budget
    # (tests/test_budget.py) from spacing one test's first poll after the previous test's last.
    env = clean_env(GAUSSDB_MAX_RATE="50")
    with PluginProcess(workdir, env=env, default_provider=program_provider) as process:
        process.configure(stack_config(emu), secret_keys=["gaussdb:secretKey"])
        yield process


def make_job(emu: Emulator, **fields: Any) -> dict[str, Any]:
    defaults: dict[str, Any] = {
        "name": " RestartGaussDBInstance",
        "duration": 1.5,
        "progress": "linear",
        "instance": INSTANCE,
        "entities": ENTITIES,
    }
    return emu.create_job(**{**defaults, **fields})


def check_ok(plugin: PluginProcess, news: dict[str, Any]) -> dict[str, Any]:
    result = plugin.check(urn(), {}, news)
    assert result.failures == []
    return result.inputs


# -- create ----------------------------------------------------------------------------------------------------


def test_create_blocks_until_completed_and_returns_every_field(plugin: PluginProcess, emu: Emulator) -> None:
    job = make_job(emu, duration=2.0)
    inputs = check_ok(plugin, {"job_id": job["id"], "timeout": 30})
    id_, outputs = plugin.create(urn(), inputs)

    assert (emu.job(job["id"]) or {})["status"] == "Completed"  # Create returned only once the job was done
    assert id_ == job["id"]
    # Every field; null ones (no fail_reason on a Completed job) are dropped by Pulumi's serialization and read
    # back as None in the program.
    assert set(OUTPUTS) - {"fail_reason"} <= set(outputs)
    assert outputs["job_id"] == job["id"]
    assert outputs["name"] == "RestartGaussDBInstance"  # stray space stripped
    assert outputs["status"] == "Completed"
    assert outputs["process"] == ""
    assert outputs["instance"] == INSTANCE
    assert outputs["entities"] == ENTITIES  # kept whole, unknown keys included
    assert outputs["created"] and outputs["ended"]
    assert outputs.get("fail_reason") is None
    assert outputs["timeout"] == 30
    assert outputs["__provider"] == inputs["__provider"]
    assert emu.stats()["jobs"][job["id"]] >= 2  # it polled while the job ran
    lines = plugin.wait_for_stderr(lambda lines: any(job["id"] in s and "Completed" in s for s in lines))
    progress = [line for line in lines if job["id"] in line]
    assert progress[0].startswith("info: GaussDBJob ")
    assert "Running" in progress[0] and "Completed" in progress[-1]


def test_create_waits_through_a_job_not_yet_visible(plugin: PluginProcess, emu: Emulator) -> None:
    job = make_job(emu, duration=1.0, visible_after=1.0)
    _, outputs = plugin.create(urn(), check_ok(plugin, {"job_id": job["id"], "timeout": 30}))
    assert outputs["status"] == "Completed"


def test_failed_job_fails_create_naming_id_name_and_reason(plugin: PluginProcess, emu: Emulator) -> None:
    job = make_job(emu, duration=1.0, outcome="Failed", fail_reason="Disk quota exceeded on node 2")
    inputs = check_ok(plugin, {"job_id": job["id"], "timeout": 30})
    with pytest.raises(PluginError) as caught:
        plugin.create(urn(), inputs)
    line = caught.value.last_line
    assert line.startswith("provider.resource.GaussDBJobError: ")
    assert job["id"] in line and "RestartGaussDBInstance" in line and "Disk quota exceeded on node 2" in line


def test_failed_job_with_fail_on_error_false_returns_status_failed(plugin: PluginProcess, emu: Emulator) -> None:
    job = make_job(emu, duration=1.0, outcome="Failed", fail_reason="Disk quota exceeded")
    inputs = check_ok(plugin, {"job_id": job["id"], "timeout": 30, "fail_on_error": False})
    id_, outputs = plugin.create(urn(), inputs)
    assert id_ == job["id"]
    assert outputs["status"] == "Failed"
    assert outputs["fail_reason"] == "Disk quota exceeded"
    assert outputs["fail_on_error"] is False


def test_timeout_ends_the_wait_naming_job_status_and_progress(plugin: PluginProcess, emu: Emulator) -> None:
    job = make_job(emu, duration=600.0)
    inputs = check_ok(plugin, {"job_id": job["id"], "timeout": 1})
    with pytest.raises(PluginError) as caught:
        plugin.create(urn(), inputs)
    line = caught.value.last_line
    assert "timed out" in line and job["id"] in line
    assert "last status Running" in line
    assert re.search(r"progress \d+%", line), line


def test_a_job_that_never_appears_fails_after_the_grace(plugin: PluginProcess) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    inputs = check_ok(plugin, {"job_id": missing, "timeout": 30, "not_found_grace": 1})
    with pytest.raises(PluginError) as caught:
        plugin.create(urn(), inputs)
    assert f"job {missing} not found" in caught.value.last_line


# -- check -----------------------------------------------------------------------------------------------------

GOOD_ID = "a9767ede-fe0f-4888-9003-e843a4c90514"


@pytest.mark.parametrize(
    ("news", "prop"),
    [
        ({}, "job_id"),
        ({"job_id": "not-a-job-id"}, "job_id"),
        ({"job_id": GOOD_ID + "&x=1"}, "job_id"),
        ({"job_id": GOOD_ID, "project_id": "my-project"}, "project_id"),
        ({"job_id": GOOD_ID, "endpoint": "http://gaussdb.example.com"}, "endpoint"),
        ({"job_id": GOOD_ID, "endpoint": "ftp://127.0.0.1"}, "endpoint"),
        ({"job_id": GOOD_ID, "timeout": 0}, "timeout"),
        ({"job_id": GOOD_ID, "timeout": -5}, "timeout"),
        ({"job_id": GOOD_ID, "timeout": 10**9}, "timeout"),
        ({"job_id": GOOD_ID, "timeout": "soon"}, "timeout"),
        ({"job_id": GOOD_ID, "fail_on_error": "yes"}, "fail_on_error"),
        ({"job_id": GOOD_ID, "not_found_grace": -1}, "not_found_grace"),
        ({"job_id": GOOD_ID, "api_path": "v3?x"}, "api_path"),
    ],
)
def test_check_refuses_bad_inputs(plugin: PluginProcess, news: dict[str, Any], prop: str) -> None:
    failures = plugin.check(urn(), {}, news).failures
    assert prop in [p for p, _ in failures], failures
    assert all(reason for _, reason in failures)


def test_check_tolerates_unknown_values_at_preview(plugin: PluginProcess) -> None:
    news = {"job_id": UNKNOWN, "endpoint": UNKNOWN, "timeout": UNKNOWN, "fail_on_error": UNKNOWN}
    result = plugin.check(urn(), {}, news)
    assert result.failures == []
    assert isinstance(result.inputs["job_id"], Unknown)  # still unknown on the way back to the engine


def test_check_normalises_and_defaults(plugin: PluginProcess) -> None:
    inputs = check_ok(plugin, {"job_id": GOOD_ID.upper(), "timeout": "900"})
    assert inputs["job_id"] == GOOD_ID
    assert inputs["timeout"] == 900
    assert inputs["fail_on_error"] is True


def test_check_reports_missing_settings_and_credentials_at_preview(tmp_path: Path, program_provider: str) -> None:
    with PluginProcess(tmp_path, env=clean_env(), default_provider=program_provider) as bare:
        bare.configure({})
        (prop, reason), *_ = bare.check(urn(), {}, {"job_id": GOOD_ID}).failures
        assert prop == "" and "no project id" in reason
    env = clean_env(HW_PROJECT_ID="0" * 32, GAUSSDB_ENDPOINT="https://gaussdb.example.com")
    with PluginProcess(tmp_path, env=env, default_provider=program_provider) as no_keys:
        no_keys.configure({})
        (prop, reason), *_ = no_keys.check(urn(), {}, {"job_id": GOOD_ID}).failures
        assert prop == "" and "no credentials" in reason


# -- diff and update -------------------------------------------------------------------------------------------


def old_outputs(**changes: Any) -> dict[str, Any]:
    outputs = {
        "job_id": GOOD_ID,
        "timeout": 1800.0,
        "fail_on_error": True,
        "name": "RestartGaussDBInstance",
        "status": "Completed",
        "process": "",
        "instance": INSTANCE,
        "entities": ENTITIES,
        "created": "2026-01-01T10:00:00+08:00",
        "ended": "2026-01-01T10:01:00+08:00",
    }
    outputs.update(changes)
    return outputs


def new_inputs(**changes: Any) -> dict[str, Any]:
    inputs: dict[str, Any] = {"job_id": GOOD_ID, "timeout": 1800.0, "fail_on_error": True}
    inputs.update(changes)
    return inputs


@pytest.mark.parametrize(
    ("change", "replaces"),
    [
        ({"job_id": "b9767ede-fe0f-4888-9003-e843a4c90514"}, ["job_id"]),
        ({"project_id": "1" * 32}, ["project_id"]),
        ({"endpoint": "https://gaussdb.eu-de.example.com"}, ["endpoint"]),
        ({"job_id": UNKNOWN}, ["job_id"]),
        ({"timeout": 3600.0}, []),
        ({"fail_on_error": False}, []),
        ({"region": "eu-de"}, []),
    ],
)
def test_diff_replaces_only_on_job_project_or_endpoint(
    plugin: PluginProcess, change: dict[str, Any], replaces: list[str]
) -> None:
    result = plugin.diff(urn(), GOOD_ID, old_outputs(), new_inputs(**change), old_inputs=new_inputs())
    assert result.changes == "DIFF_SOME"
    assert result.replaces == replaces
    assert result.delete_before_replace is False


def test_diff_sees_no_change_when_only_the_case_of_the_id_differs(plugin: PluginProcess) -> None:
    assert plugin.diff(urn(), GOOD_ID, old_outputs(), new_inputs()).changes == "DIFF_NONE"
    upper = old_outputs(job_id=GOOD_ID.upper())
    assert plugin.diff(urn(), GOOD_ID, upper, new_inputs()).changes == "DIFF_NONE"


def test_update_waits_for_nothing_and_keeps_the_job_outputs(plugin: PluginProcess, emu: Emulator) -> None:
    before = emu.stats()
    outputs = plugin.update(urn(), GOOD_ID, old_outputs(), new_inputs(timeout=60.0))
    assert emu.stats() == before  # no request to the task center
    assert outputs["timeout"] == 60
    assert outputs["status"] == "Completed" and outputs["entities"] == ENTITIES


# -- read (refresh) and delete ---------------------------------------------------------------------------------


def test_refresh_rereads_the_job_and_keeps_outputs_once_it_is_gone(plugin: PluginProcess, emu: Emulator) -> None:
    job = make_job(emu, duration=0.5)
    id_, outputs = plugin.create(urn(), check_ok(plugin, {"job_id": job["id"], "timeout": 30}))

    refreshed = plugin.read(urn(), id_, outputs)
    assert refreshed.id == id_
    assert refreshed.outputs == outputs

    stale = {**outputs, "status": "Running", "process": "50%"}
    assert plugin.read(urn(), id_, stale).outputs["status"] == "Completed"  # re-read from the task center

    response = requests.delete(f"{emu.url}/_emulator/jobs/{id_}", timeout=5)
    assert response.status_code in (200, 204)
    gone = plugin.read(urn(), id_, outputs)
    assert gone.id == id_  # not "" (which would drop it from state)
    assert gone.outputs == outputs


def test_delete_sends_nothing_to_the_task_center(plugin: PluginProcess, emu: Emulator) -> None:
    job = make_job(emu, duration=0.0)
    id_, outputs = plugin.create(urn(), check_ok(plugin, {"job_id": job["id"], "timeout": 30}))
    before = emu.stats()
    plugin.delete(urn(), id_, outputs)
    assert emu.stats() == before
    assert emu.job(id_) is not None


# -- credentials and what leaves the plugin --------------------------------------------------------------------


def test_credentials_from_the_plugin_environment(tmp_path: Path, emu: Emulator, program_provider: str) -> None:
    cfg = emu.config
    env = clean_env(
        GAUSSDB_ENDPOINT=emu.url,
        HW_PROJECT_ID=cfg.project_id,
        HW_ACCESS_KEY=cfg.access_key,
        HW_SECRET_KEY=cfg.secret_key,
    )
    job = make_job(emu, duration=0.5)
    with PluginProcess(tmp_path, env=env, default_provider=program_provider) as from_env:
        from_env.configure({})  # a stack without gaussdb:* config
        _, outputs = from_env.create(urn(), check_ok(from_env, {"job_id": job["id"], "timeout": 30}))
    assert outputs["status"] == "Completed"


def test_iam_password_from_stack_config(tmp_path: Path, emu: Emulator, program_provider: str) -> None:
    cfg = emu.config
    config = {
        "gaussdb:endpoint": emu.url,
        "gaussdb:projectId": cfg.project_id,
        "gaussdb:authUrl": f"{emu.url}/v3",
        "gaussdb:userName": cfg.user,
        "gaussdb:password": cfg.password,
        "gaussdb:domainName": cfg.domain,
    }
    job = make_job(emu, duration=0.5)
    with PluginProcess(tmp_path, env=clean_env(), default_provider=program_provider) as plugin:
        plugin.configure(config, secret_keys=["gaussdb:password"])
        _, outputs = plugin.create(urn(), check_ok(plugin, {"job_id": job["id"], "timeout": 30}))
        printed = plugin.stderr_text() + plugin.stdout_text()
    assert outputs["status"] == "Completed"
    assert cfg.password not in printed and cfg.password not in repr(outputs)


def test_serialized_provider_is_small_and_holds_no_credential(program_provider: str, emu: Emulator) -> None:
    assert len(program_provider) < 4096
    raw = base64.b64decode(program_provider)
    assert b"provider.resource" in raw and b"GaussDBJobProvider" in raw  # pickled by reference
    for secret in [*secrets_of(emu), "program-side-secret-value"]:
        assert secret.encode() not in raw


def test_no_credential_in_outputs_errors_or_anything_the_plugin_printed(
    tmp_path: Path, emu: Emulator, program_provider: str
) -> None:
    wrong = {**stack_config(emu), "gaussdb:secretKey": "wrong-secret-key-value-0000"}
    seen: list[str] = []
    with PluginProcess(tmp_path, env=clean_env(), default_provider=program_provider) as right:
        right.configure(stack_config(emu), secret_keys=["gaussdb:secretKey"])
        ok = make_job(emu, duration=0.5)
        failed = make_job(emu, duration=0.5, outcome="Failed", fail_reason="boom")
        _, outputs = right.create(urn(), check_ok(right, {"job_id": ok["id"], "timeout": 30}))
        seen.append(repr(outputs))
        seen.append(repr(right.read(urn(), ok["id"], outputs)))
        with pytest.raises(PluginError) as caught:
            right.create(urn(), check_ok(right, {"job_id": failed["id"], "timeout": 30}))
        seen.append(caught.value.details)
        seen += [right.stderr_text(), right.stdout_text()]
    with PluginProcess(tmp_path, env=clean_env(), default_provider=program_provider) as refused:
        refused.configure(wrong, secret_keys=["gaussdb:secretKey"])
        with pytest.raises(PluginError) as caught:
            refused.create(urn(), check_ok(refused, {"job_id": ok["id"], "timeout": 30}))
        assert "credentials refused" in caught.value.last_line
        seen += [caught.value.details, refused.stderr_text(), refused.stdout_text()]
    text = "\n".join(seen)
    for secret in [*secrets_of(emu), "wrong-secret-key-value-0000"]:
        assert secret not in text, secret
    assert ok["id"] in text and "boom" in text and "info: GaussDBJob" in text  # sanity: it is what we think


# -- progress lines --------------------------------------------------------------------------------------------


def test_progress_lines_on_status_change_each_ten_percent_and_at_most_a_minute_apart() -> None:
    from provider.resources.dynamic import _ProgressLog
    from provider.taskcenter.models import Job

    now = [0.0]
    lines: list[str] = []
    log = _ProgressLog(GOOD_ID, clock=lambda: now[0], emit=lines.append)

    def poll(at: float, status: str = "Running", process: str = "") -> None:
        now[0] = at
        log(Job(id=GOOD_ID, name="RestartGaussDBInstance", status=status, process=process))

    poll(0, process="1%")  # first poll: a line
    poll(5, process="5%")  # same decile: nothing
    poll(10, process="12%")  # next 10 %: a line
    poll(30, process="15%")  # nothing
    poll(71, process="18%")  # a minute without a line: a heartbeat
    poll(80, process="19%")  # nothing
    poll(90, status="Completed")  # status change: a line
    assert [line.split(": ", 1)[1] for line in lines] == [
        "Running 1% after 0 s",
        "Running 12% after 10 s",
        "Running 18% after 71 s",
        "Completed after 90 s",
    ]
    assert all(line.startswith(f"GaussDBJob {GOOD_ID} (RestartGaussDBInstance): ") for line in lines)


def test_check_accepts_a_zero_grace_as_the_cli_does(plugin: PluginProcess) -> None:
    """0 means "no grace": an unknown job is reported at once, the same in the resource and in the CLI."""
    assert check_ok(plugin, {"job_id": GOOD_ID, "not_found_grace": 0})["not_found_grace"] == 0
