"""Shared fixtures: a real emulator on a free loopback port, and an environment pointing at it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from gaussdb_emulator.server import Emulator, EmulatorConfig

CREDENTIAL_VARS = [name for name in os.environ if name.startswith(("HW_", "OS_", "GAUSSDB_"))]


@pytest.fixture(autouse=True)
def _no_ambient_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see only the settings they set: nothing from the developer's shell leaks in."""
    for name in list(os.environ):
        if name.startswith(("HW_", "OS_", "GAUSSDB_")):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(host="127.0.0.1", port=0)) as emu:
        yield emu


def aksk_env(emu: Emulator) -> dict[str, str]:
    cfg = emu.config
    return {
        "GAUSSDB_ENDPOINT": emu.url,
        # The default budget (1 request/s) would pace many-job tests by minutes; tests of the budget set their own.
        "GAUSSDB_MAX_RATE": "50",
        "HW_PROJECT_ID": cfg.project_id,
        "HW_ACCESS_KEY": cfg.access_key,
        "HW_SECRET_KEY": cfg.secret_key,
    }


@pytest.fixture
def emu_env(emulator: Emulator) -> dict[str, str]:
    """Settings and AK/SK credentials for the emulator, as a user would export them."""
    return aksk_env(emulator)
