"""What tests of the real dynamic-provider plugin share: URNs, the stack config the engine sends, a clean
environment. The plugin process itself is driven by ``harness.plugin`` (shared with the demo)."""

from __future__ import annotations

import os

from gaussdb_emulator.server import Emulator
from tests.support.emulator import SETTING_PREFIXES

JOB_TYPE = "pulumi-python:dynamic/gaussdb:GaussDBJob"
JOBS_TYPE = "pulumi-python:dynamic/gaussdb:GaussDBJobs"
PROJECT = "gaussdb-job-demo"


def urn(name: str = "restart-db", type_: str = JOB_TYPE) -> str:
    """A URN as the engine builds it for a top-level resource of the ``dev`` stack."""
    return f"urn:pulumi:dev::{PROJECT}::{type_}::{name}"


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any provider setting, plus ``extra``: the plugin's settings come
    from the stack config only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(SETTING_PREFIXES)}
    env.update(extra)
    return env


def stack_config(emu: Emulator) -> dict[str, str]:
    """The stack config for ``emu`` as the engine sends it to Configure (namespaced keys)."""
    cfg = emu.config
    return {
        "gaussdb:endpoint": emu.url,
        "gaussdb:projectId": cfg.project_id,
        "gaussdb:accessKey": cfg.access_key,
        "gaussdb:secretKey": cfg.secret_key,
        "gaussdb-job-demo:jobId": "ignored by the provider",
    }
