"""``make demo``: the example stack against a local emulator, end to end.

1. starts the emulator (``python -m gaussdb_emulator --port 0``) on a free loopback port;
2. creates a job in it that runs for a few seconds with visible progress;
3. with the Pulumi CLI on PATH: ``pulumi up`` of the root ``__main__.py`` on stack ``demo``, state in a local
   file backend inside the repo (``.pulumi-state/``), config pointing at the emulator;
   without it: the same ``__main__.py`` in-process under ``pulumi.runtime.set_mocks``, each dynamic resource
   sent to the real provider plugin process, exactly as the engine would send it;
4. stops the emulator.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "gaussdb-job-demo"
STACK = "demo"
JOB_SECONDS = 6.0
PASSPHRASE = "gaussdb-job-demo"  # noqa: S105 - encrypts the demo stack's (emulator) secrets, nothing else
# Published emulator test credentials, passed explicitly so the demo does not depend on the emulator's defaults.
EMULATOR_CREDENTIALS = {
    "--project-id": "0483b6b16e954cb88930a360d2c4e663",
    "--access-key": "DEMOACCESSKEY0000001",
    "--secret-key": "demo-secret-key-for-the-emulator-only-000",
}
JOB = {
    "name": "RestartGaussDBInstance",
    "duration": JOB_SECONDS,
    "outcome": "Completed",
    "progress": "linear",
    "instance": {"id": "d3b6a1f0e4c54b2f9a1c0e7d5b8f2a61in07", "name": "orders-db"},
    "entities": {
        "instance": {
            "endpoint": "192.168.0.42:3306",
            "type": "Cluster",
            "datastore": {"type": "gaussdb-mysql", "version": "8.0"},
        }
    },
}


def say(text: str = "") -> None:
    print(text, flush=True)


class EmulatorProcess:
    """``python -m gaussdb_emulator`` as a child process; ``url`` once it printed ``listening on``."""

    def __init__(self, start_timeout: float = 30.0) -> None:
        self.start_timeout = start_timeout
        self.url = ""
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> EmulatorProcess:
        args = [sys.executable, "-m", "gaussdb_emulator", "--host", "127.0.0.1", "--port", "0"]
        for flag, value in EMULATOR_CREDENTIALS.items():
            args += [flag, value]
        self._process = subprocess.Popen(
            args, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        try:
            self.url = self._wait_for_url()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_for_url(self) -> str:
        assert self._process is not None and self._process.stdout is not None
        fd = self._process.stdout.fileno()
        deadline = time.monotonic() + self.start_timeout
        seen: list[str] = []
        buffer = b""
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise RuntimeError("the emulator did not start in time:\n" + "\n".join(seen))
                if not selector.select(remaining):
                    continue
                chunk = os.read(fd, 4096)
                if not chunk:
                    raise RuntimeError("the emulator exited:\n" + "\n".join([*seen, buffer.decode()]))
                buffer += chunk
                while b"\n" in buffer:
                    raw, buffer = buffer.split(b"\n", 1)
                    line = raw.decode("utf-8", "replace").rstrip()
                    seen.append(line)
                    if line.startswith("listening on "):
                        return line.removeprefix("listening on ").strip()

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        if process.stdout is not None:
            process.stdout.close()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def stack_config(url: str, job_id: str) -> tuple[dict[str, str], list[str]]:
    """The stack config the demo sets, and which keys are secrets."""
    config = {
        "gaussdb:endpoint": url,
        "gaussdb:projectId": EMULATOR_CREDENTIALS["--project-id"],
        "gaussdb:accessKey": EMULATOR_CREDENTIALS["--access-key"],
        "gaussdb:secretKey": EMULATOR_CREDENTIALS["--secret-key"],
        f"{PROJECT}:jobId": job_id,
        f"{PROJECT}:timeout": "120",
    }
    return config, ["gaussdb:secretKey"]


def clean_env() -> dict[str, str]:
    """This environment without ambient cloud settings, so the demo uses exactly the stack config it sets."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("HW_", "OS_", "GAUSSDB_"))}


def run_pulumi_cli(pulumi: str, config: dict[str, str], secret_keys: list[str]) -> int:
    state = ROOT / ".pulumi-state"
    state.mkdir(exist_ok=True)
    env = clean_env()
    env.update(
        {
            "PULUMI_BACKEND_URL": f"file://{state}",
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
        }
    )
    env.pop("PULUMI_CONFIG_PASSPHRASE_FILE", None)
    say(f"Pulumi CLI found at {pulumi}: running a real `pulumi up` (state in {state}).")

    def run(*args: str, quiet: bool = False) -> int:
        say("$ pulumi " + " ".join("<secret>" if a == config.get("gaussdb:secretKey") else a for a in args))
        out = subprocess.DEVNULL if quiet else None
        return subprocess.run([pulumi, *args], cwd=ROOT, env=env, stdout=out, check=False).returncode

    rc = run("stack", "select", "--create", STACK, "--non-interactive")
    for key, value in config.items():
        if rc == 0:
            short = key.removeprefix(f"{PROJECT}:")
            secret = ["--secret"] if key in secret_keys else []
            rc = run("config", "set", "--stack", STACK, *secret, short, value, quiet=True)
    if rc == 0:
        rc = run("up", "--yes", "--stack", STACK, "--non-interactive")
    if rc == 0:
        run("stack", "output", "--stack", STACK, "--json")
    return rc


def run_in_process(config: dict[str, str], secret_keys: list[str]) -> int:
    from harness.plugin import PluginError, PluginProcess
    from harness.program import PluginMocks, run_program

    say("The Pulumi CLI is not installed (no `pulumi` on PATH).")
    say("Running the same __main__.py in-process under pulumi.runtime.set_mocks instead: every dynamic resource")
    say("goes to the real provider plugin process (python -u -m pulumi.dynamic), as `pulumi up` would send it.")
    say()

    def relay(line: str) -> None:
        say(f"    [plugin] {line}")

    # The engine starts the plugin in the project directory: `demo.appconfig` imports from there.
    with PluginProcess(ROOT, env=clean_env(), on_stderr=relay) as plugin:
        plugin.configure(config, secret_keys=secret_keys)
        mocks = PluginMocks(plugin, stack=STACK, project=PROJECT, say=say)
        started = time.monotonic()
        try:
            outputs, _ = run_program(mocks, config, secret_keys=secret_keys, stack=STACK, project=PROJECT)
        except PluginError as exc:
            say(f"error: {exc.last_line}")
            return 1
        except Exception as exc:  # noqa: BLE001 - the demo reports and exits non-zero
            say(f"error: {type(exc).__name__}: {exc}")
            return 1
        say()
        say(f"Update finished in {time.monotonic() - started:.1f}s. Outputs:")
        say(_indent(json.dumps(outputs, indent=2, sort_keys=True)))
    return 0


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


def main() -> int:
    say("GaussDB job demo: an example stack that waits for a task-center job, against a local emulator.")
    with EmulatorProcess() as emulator:
        say(f"Emulator listening on {emulator.url}")
        response = requests.post(f"{emulator.url}/_emulator/jobs", json=JOB, timeout=10)
        response.raise_for_status()
        job: dict[str, Any] = response.json()["job"]
        say(f"Created job {job['id']} ({JOB['name']}): runs {JOB_SECONDS:g}s with linear progress.")
        say()
        config, secret_keys = stack_config(emulator.url, job["id"])
        pulumi = shutil.which("pulumi")
        rc = run_pulumi_cli(pulumi, config, secret_keys) if pulumi else run_in_process(config, secret_keys)
    say()
    say("Emulator stopped." if rc == 0 else f"Demo failed (exit {rc}); emulator stopped.")
    return rc


if __name__ == "__main__":
    sys.exit(main())
