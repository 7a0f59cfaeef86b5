"""A plugin started with SIGINT ignored (``nohup ... &`` from a shell without job control) still stops on SIGINT,
how the engine stops it (issue 20): the provider restores SIGINT's default action once it is loaded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from harness.plugin import PluginProcess, serialize_provider
from provider.resources.dynamic import GaussDBJobProvider
from tests.support.plugin import clean_env, urn

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).resolve().parent.parent
# A stopped plugin is gone at once; a plugin that ignores SIGINT is alive forever. This only ends a broken run.
GRACE = 10.0


def test_a_plugin_started_with_sigint_ignored_stops_on_sigint(tmp_path: Path) -> None:
    python = tmp_path / "python-ignoring-sigint"
    # What a shell does for `nohup python ... &` without job control: SIGINT ignored, inherited across exec.
    python.write_text(f"#!/bin/sh\ntrap '' INT\nexec {sys.executable} \"$@\"\n")
    python.chmod(0o755)
    env = clean_env(PYTHONPATH=os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    plugin = PluginProcess(
        tmp_path, env=env, python=str(python), default_provider=serialize_provider(GaussDBJobProvider())
    ).start()
    try:
        process = plugin._process
        assert process is not None
        ignored = (Path(f"/proc/{process.pid}/status").read_text().split("SigIgn:")[1].split()[0]).strip()
        assert int(ignored, 16) & (1 << (signal.SIGINT - 1))  # the plugin did start with SIGINT ignored
        plugin.configure({"gaussdb:projectId": "0" * 32})
        # The first call loads the provider (and with it plugin_pool); no endpoint: a failure, answered all the same.
        checked = plugin.check(urn("loaded"), {}, {"job_id": "a9767ede-fe0f-4888-9003-e843a4c90514"})
        assert [prop for prop, _ in checked.failures] == [""]
        process.send_signal(signal.SIGINT)
        try:
            code = process.wait(GRACE)
        except subprocess.TimeoutExpired:
            code = None
    finally:
        plugin.stop()
    assert code == -signal.SIGINT, f"the plugin did not stop on SIGINT (code {code})"
