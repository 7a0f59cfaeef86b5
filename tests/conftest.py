"""Fixtures for every test: no ambient credentials, the emulator (tests/support/emulator.py), and the speed tier
of each test (tests/support/tiers.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from gaussdb_emulator.server import Emulator
from provider.taskcenter import batch
from tests.support.emulator import SETTING_PREFIXES, aksk_env, running_emulator
from tests.support.tiers import apply_tiers, guard_unit


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    apply_tiers(items)


@pytest.fixture(autouse=True)
def _unit_tests_stay_in_process(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    guard_unit(request.node, monkeypatch)


@pytest.fixture(autouse=True)
def _no_ambient_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see only the settings they set: nothing from the developer's shell leaks in."""
    for name in list(os.environ):
        if name.startswith(SETTING_PREFIXES):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _fresh_task_centers() -> Iterator[None]:
    """Batch reads keep what they learn of a task center for the life of the process (a refused list call above
    all); in-process CLI runs and resources of one test must not inherit another test's on a reused port."""
    batch.forget_task_centers()
    yield
    batch.forget_task_centers()


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """A fresh emulator for one test: its request log counts that test's requests only."""
    with running_emulator() as emu:
        yield emu


@pytest.fixture(scope="module")
def emu(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """One emulator shared by a module's tests, configured by the module's ``EMULATOR_CONFIG`` (a dict of
    ``EmulatorConfig`` fields) if it has one."""
    config: dict[str, Any] = dict(getattr(request.module, "EMULATOR_CONFIG", {}))
    with running_emulator(**config) as emulator:
        yield emulator


@pytest.fixture
def emu_env(emulator: Emulator) -> dict[str, str]:
    """Settings and AK/SK credentials for the emulator, as a user would export them."""
    return aksk_env(emulator)
