"""Running ``gaussdb-job``: in-process through ``main`` (fast; every flag) and as the real console script in a
subprocess (signals, pipes), with what every CLI test checks about the answer."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from provider.cli.main import main
from provider.waiting.waiter import DEFAULT_POLICY
from provider.wire.transport import Transport
from tests.support.emulator import SETTING_PREFIXES

FIELDS = {"job_id", "name", "status", "created", "ended", "process", "instance", "entities", "fail_reason"}
WAIT_FIELDS = FIELDS | {"error"}
FAST_POLICY = replace(DEFAULT_POLICY, min_interval=0.05, max_interval=0.2, error_backoff=1.0, jitter=0.0)
FAST_TRANSPORT = Transport(retries=0, backoff_factor=0.01, connect_timeout=2, read_timeout=5)
# A job id no emulator has heard of.
UNKNOWN = "a9767ede-fe0f-4888-9003-e843a4c90514"
# Where the console scripts (gaussdb-job, gaussdb-emulator) of this environment are.
BIN = Path(sys.executable).parent


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def jobs(self) -> list[dict[str, Any]]:
        return list(json.loads(self.stdout))

    def errors(self) -> list[str]:
        assert "Traceback" not in self.stderr
        return [line for line in self.stderr.splitlines() if line.startswith("gaussdb-job:")]


def cli(args: list[str], env: dict[str, str], **kwargs: Any) -> Result:
    """``gaussdb-job ARGS`` in-process with a fast polling policy and transport (``kwargs`` override them)."""
    out, err = io.StringIO(), io.StringIO()
    options: dict[str, Any] = {"policy": FAST_POLICY, "transport": FAST_TRANSPORT} | kwargs
    code = main(args, env=env, stdout=out, stderr=err, **options)
    return Result(code, out.getvalue(), err.getvalue())


def process_env(env: dict[str, str]) -> dict[str, str]:
    """This process's environment without any provider setting, plus ``env``."""
    return {k: v for k, v in os.environ.items() if not k.startswith(SETTING_PREFIXES)} | env


def run(args: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The real ``gaussdb-job`` console script in a subprocess."""
    return subprocess.run(
        [str(BIN / "gaussdb-job"), *args],
        env=process_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
