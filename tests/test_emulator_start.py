"""gaussdb-emulator as a script starts and stops it: --background, --ready-file, --help, GET /_emulator/."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from gaussdb_emulator.__main__ import build_parser
from gaussdb_emulator.control import CONTROL_API
from gaussdb_emulator.server import Emulator, EmulatorConfig


def _get(url: str) -> tuple[int, dict[str, object]]:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return answer.status, json.loads(answer.read())


def test_background_returns_once_listening_with_exports_and_kill_stops_it() -> None:
    started = subprocess.run(
        [sys.executable, "-m", "gaussdb_emulator", "--port", "0", "--background"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    exports = dict(
        line.removeprefix("export ").split("=", 1) for line in started.stdout.splitlines() if line.startswith("export ")
    )
    exports = {name: shlex.split(value)[0] for name, value in exports.items()}
    assert set(exports) == {
        "GAUSSDB_ENDPOINT",
        "HW_PROJECT_ID",
        "HW_ACCESS_KEY",
        "HW_SECRET_KEY",
        "GAUSSDB_EMULATOR_PID",
    }
    pid = int(exports["GAUSSDB_EMULATOR_PID"])
    try:
        # No retry: it listens by the time --background returned.
        status, body = _get(exports["GAUSSDB_ENDPOINT"] + "/_emulator/")
        assert status == 200
        assert isinstance(body, dict)
        control = body["control"]
        assert isinstance(control, list)
        assert [entry["path"] for entry in control] == [path for _, path, _ in CONTROL_API]
        assert exports["HW_PROJECT_ID"] == EmulatorConfig().project_id
    finally:
        os.kill(pid, signal.SIGTERM)


def test_ready_file_holds_the_url_while_it_listens_and_goes_when_it_stops(tmp_path: Path) -> None:
    ready = tmp_path / "url"
    process = subprocess.Popen(
        [sys.executable, "-m", "gaussdb_emulator", "--port", "0", "--ready-file", str(ready)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = iter(process.stdout)
        banner = next(line for line in lines if line.startswith("listening on "))
        url = banner.removeprefix("listening on ").strip()
        assert ready.read_text() == url + "\n"  # written before the banner's last line
        assert _get(url + "/_emulator/")[0] == 200
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    assert not ready.exists()


def test_help_describes_the_control_api_and_how_to_stop_it() -> None:
    text = build_parser().format_help()
    for needle in (
        "POST   /_emulator/jobs",
        "/_emulator/faults",
        "/_emulator/stats",
        "/_emulator/instances",
        "list call",
    ):
        assert needle in text
    assert 'kill "$GAUSSDB_EMULATOR_PID"' in text


def test_every_described_route_exists(emulator: Emulator) -> None:
    # A described route that the server does not know answers 404 with the gateway's code; any other answer
    # (200, 400 for a missing body, 405) means the path is routed. Instances belong to the operations work.
    for method, path, _ in CONTROL_API:
        if "instances" in path:
            continue
        concrete = path.replace("{id}", "00000000-0000-0000-0000-000000000000")
        request = urllib.request.Request(
            emulator.url + concrete, method=method, data=b"{}" if method == "POST" else None
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                body = answer.read()
        except urllib.error.HTTPError as error:
            body = error.read()
            assert error.code != 404 or b"EMU.0404" in body, (method, path)


def test_background_that_cannot_start_makes_the_eval_fail(emulator: Emulator) -> None:
    port = emulator.config.port  # taken
    script = f'set -e; eval "$("{sys.executable}" -m gaussdb_emulator --port {port} --background)"; echo reached'
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode != 0 and "reached" not in result.stdout
    assert "did not start" in result.stderr and "Traceback" not in result.stderr
