"""The example stack (the root ``__main__.py``) under Pulumi's official mocks (``pulumi.runtime.set_mocks``).

What the program registers is what the engine would receive: the GaussDBJob's inputs, its ``__provider``, the
downstream resource's dependency on the job and the endpoint it is given. The ``__provider`` it produces is then
fed to the real plugin process, and the whole stack is run once with every dynamic resource going to it.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs, Mocks

from gaussdb_emulator.server import Emulator
from harness.plugin import PluginProcess
from harness.program import PROJECT, PluginMocks, RecordingMonitor, run_program
from tests.support.plugin import JOB_TYPE, clean_env

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).resolve().parent.parent

APP_TYPE = "pulumi-python:dynamic/demo:AppConfig"
JOB_ID = "a9767ede-fe0f-4888-9003-e843a4c90514"
ENDPOINT = "192.168.0.42:3306"
ENTITIES = {"instance": {"endpoint": ENDPOINT, "type": "Cluster", "datastore": {"type": "gaussdb-mysql"}}}
SECRET = "stack-config-secret-key-value"


class CannedMocks(Mocks):
    """The job comes back Completed with the entities a restart reports; other resources echo their inputs."""

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.typ == JOB_TYPE:
            job_id = args.inputs["job_id"]
            return job_id, {
                **args.inputs,
                "name": "RestartGaussDBInstance",
                "status": "Completed",
                "process": "",
                "entities": ENTITIES,
            }
        if args.typ == APP_TYPE:
            return "app-id", {**args.inputs, "settings": {"host": "192.168.0.42"}}
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None


def config(**extra: str) -> dict[str, str]:
    return {
        f"{PROJECT}:jobId": JOB_ID,
        f"{PROJECT}:timeout": "900",
        "gaussdb:endpoint": "https://gaussdb-mysql.eu-de.otc.t-systems.com",
        "gaussdb:accessKey": "STACKCONFIGACCESSKEY",
        "gaussdb:secretKey": SECRET,
        **extra,
    }


@pytest.fixture
def canned() -> tuple[dict[str, Any], RecordingMonitor]:
    return run_program(CannedMocks(), config(), secret_keys=["gaussdb:secretKey"])


def test_the_job_is_registered_with_the_configured_inputs(canned: tuple[dict[str, Any], RecordingMonitor]) -> None:
    _, monitor = canned
    job = monitor.registrations["restart-db"]
    assert job.type == JOB_TYPE
    assert job.inputs["job_id"] == JOB_ID
    assert job.inputs["timeout"] == 900
    assert job.inputs["fail_on_error"] is True
    # Settings and credentials stay in the stack config, read by the plugin: they are not inputs.
    assert not {"project_id", "endpoint", "region"} & set(job.inputs)
    assert SECRET not in repr(job.inputs) and "STACKCONFIGACCESSKEY" not in repr(job.inputs)


def test_the_provider_input_is_small_plain_and_names_the_provider_class(
    canned: tuple[dict[str, Any], RecordingMonitor],
) -> None:
    provider = canned[1].registrations["restart-db"].inputs["__provider"]
    assert isinstance(provider, str)  # not a secret: it holds nothing secret
    assert len(provider) < 4096
    raw = base64.b64decode(provider)
    assert b"provider.resource" in raw and b"GaussDBJobProvider" in raw
    assert SECRET.encode() not in raw and b"STACKCONFIGACCESSKEY" not in raw


def test_the_downstream_waits_for_the_job_and_receives_its_endpoint(
    canned: tuple[dict[str, Any], RecordingMonitor],
) -> None:
    outputs, monitor = canned
    job, app = monitor.registrations["restart-db"], monitor.registrations["app-db-config"]
    assert app.type == APP_TYPE
    assert job.urn in app.dependencies
    assert app.inputs["endpoint"] == ENDPOINT
    assert outputs["db_endpoint"] == ENDPOINT
    assert outputs["job_status"] == "Completed"
    assert outputs["job_name"] == "RestartGaussDBInstance"


def test_fail_on_error_and_timeout_come_from_project_config() -> None:
    _, monitor = run_program(CannedMocks(), config(**{f"{PROJECT}:failOnError": "false", f"{PROJECT}:timeout": "60"}))
    inputs = monitor.registrations["restart-db"].inputs
    assert inputs["fail_on_error"] is False
    assert inputs["timeout"] == 60


def test_the_program_needs_a_job_id() -> None:
    settings = {k: v for k, v in config().items() if k != f"{PROJECT}:jobId"}
    with pytest.raises(Exception, match="jobId"):
        run_program(CannedMocks(), settings)


@pytest.fixture
def emu(emulator: Emulator) -> Emulator:
    """A fresh emulator per test (tests/conftest.py), under this module's short name."""
    return emulator


def emulator_config(emu: Emulator, job_id: str) -> dict[str, str]:
    cfg = emu.config
    return {
        f"{PROJECT}:jobId": job_id,
        f"{PROJECT}:timeout": "60",
        "gaussdb:endpoint": emu.url,
        "gaussdb:projectId": cfg.project_id,
        "gaussdb:accessKey": cfg.access_key,
        "gaussdb:secretKey": cfg.secret_key,
    }


def test_the_inputs_the_program_produces_work_in_the_real_plugin(emu: Emulator, tmp_path: Path) -> None:
    job = emu.create_job(name="RestartGaussDBInstance", duration=1.0, entities=ENTITIES)
    stack = emulator_config(emu, job["id"])
    _, monitor = run_program(CannedMocks(), stack, secret_keys=["gaussdb:secretKey"])
    registered_job, registered_app = monitor.registrations["restart-db"], monitor.registrations["app-db-config"]

    # Another directory than the repo; the repo on PYTHONPATH only for demo.appconfig (provider is installed).
    with PluginProcess(tmp_path, env=clean_env(), pythonpath=[ROOT]) as plugin:
        plugin.configure(stack, secret_keys=["gaussdb:secretKey"])
        urn = registered_job.urn
        checked = plugin.check(urn, {}, registered_job.inputs)
        assert checked.failures == []
        id_, outputs = plugin.create(urn, checked.inputs)
        assert id_ == job["id"] and outputs["status"] == "Completed"
        assert outputs["entities"] == ENTITIES

        app_inputs = plugin.check(registered_app.urn, {}, registered_app.inputs).inputs
        _, app_outputs = plugin.create(registered_app.urn, app_inputs)
        assert app_outputs["settings"]["host"] == "192.168.0.42"


def test_the_whole_stack_through_the_real_plugin(emu: Emulator) -> None:
    """What `make demo` does without the Pulumi CLI: every dynamic resource goes to the plugin process."""
    job = emu.create_job(name=" RestartGaussDBInstance", duration=1.5, progress="linear", entities=ENTITIES)
    stack = emulator_config(emu, job["id"])
    events: list[str] = []
    with PluginProcess(ROOT, env=clean_env()) as plugin:  # the project directory, as the engine does
        plugin.configure(stack, secret_keys=["gaussdb:secretKey"])
        mocks = PluginMocks(plugin, stack="dev", say=events.append)
        outputs, monitor = run_program(mocks, stack, secret_keys=["gaussdb:secretKey"])
        printed = plugin.stderr_text()

    assert (emu.job(job["id"]) or {})["status"] == "Completed"
    assert outputs["job_status"] == "Completed"
    assert outputs["job_name"] == "RestartGaussDBInstance"
    assert outputs["db_endpoint"] == ENDPOINT
    assert outputs["app_settings"]["dsn"] == f"mysql://app@{ENDPOINT}/orders"
    # The downstream resource was created after the job's create returned.
    created = [e.split("::", 1)[1].split(":", 1)[0] for e in events if ": created (" in e]
    assert created == ["restart-db", "app-db-config"]
    assert monitor.registrations["restart-db"].urn in monitor.registrations["app-db-config"].dependencies
    assert f"info: GaussDBJob {job['id']} (RestartGaussDBInstance): Completed" in printed
    assert emu.config.secret_key not in printed + repr(outputs)
