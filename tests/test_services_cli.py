"""`gaussdb-job wait --service S` for every task center: a Running job waited to Completed, a Failed job reported
with its reason, a job the task center does not know reported as not found after the grace. In-process over real
HTTP to the emulator, each job answered in its own service's shape."""

from __future__ import annotations

import pytest

from gaussdb_emulator.server import Emulator
from provider.core.services import SERVICES
from tests.support.cli import WAIT_FIELDS, cli


@pytest.mark.parametrize("service", list(SERVICES))
def test_each_service_through_the_cli(emulator: Emulator, emu_env: dict[str, str], service: str) -> None:
    running = emulator.create_job(service=service, name="Resize", duration=0.8, progress="linear")
    failed = emulator.create_job(service=service, duration=0, outcome="Failed", fail_reason=f"{service} broke")
    invisible = emulator.create_job(service=service, duration=5, visible_after=3600)
    ids = [running["id"], failed["id"], invisible["id"]]
    # Per-job reads: the emulator plays one service per port, and GeminiDB's list shares its path with every
    # service's per-job read (tests/test_batch.py reads each service's list).
    flags = ["--service", service, "--not-found-grace", "0.3", "--progress", "plain", "--list-api", "off"]
    result = cli(["wait", *ids, *flags], emu_env)
    assert result.code == 4, result.stderr  # not found outranks failed
    done, broke, missing = result.jobs()
    assert all(set(entry) == WAIT_FIELDS for entry in (done, broke, missing))
    assert (done["status"], done["process"], done["error"]) == ("Completed", "", None)
    assert done["name"] == "Resize" and done["created"] and done["ended"]
    assert ": Running" in result.stderr  # it was seen running, so it was waited for
    assert broke["status"] == "Failed" and broke["fail_reason"] == f"{service} broke"
    assert f"{service} broke" in broke["error"]
    assert "not found" in missing["error"]
    errors = [line for line in result.errors() if "hint:" not in line]
    assert any(f"{service} broke" in line for line in errors) and any("not found" in line for line in errors)
