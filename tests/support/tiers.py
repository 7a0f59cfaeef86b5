"""The speed tier of every test: ``unit`` (pure logic, fakes, virtual time: no socket, no process), ``integration``
(real HTTP to the emulator on loopback, in-process) and ``e2e`` (a real process: the plugin over gRPC, the console
script, the emulator's own command, Terraform, a terminal).

A test's tier is the marker it carries itself (``pytestmark`` or a decorator), else its module's row in ``MODULES``.
A module in neither runs as ``integration`` (never in the fast tier by accident) and is named in a warning: give it
a row here or a ``pytestmark``. A test of a ``unit`` row that asks for an emulator fixture runs as ``integration``.
While a ``unit`` test runs, opening a connection or starting a process fails it (``guard_unit``): the tier is
checked, not trusted. ``make test-unit`` runs ``-m unit``.
"""

from __future__ import annotations

import socket
import subprocess
import warnings
from typing import Any, NoReturn

import pytest

TIERS = ("unit", "integration", "e2e")
DEFAULT_TIER = "integration"
# Fixtures (tests/conftest.py) that start an emulator: a test using one, even through another fixture, is not unit.
EMULATOR_FIXTURES = frozenset({"emulator", "emu", "emu_env"})

# A module with tests of several tiers gets its slowest here, or marks its tests one by one.
MODULES: dict[str, str] = {
    "test_batch": "integration",
    "test_batch_cli": "integration",
    "test_batch_early": "unit",  # its emulator tests are marked integration
    "test_batch_plugin": "e2e",
    "test_budget": "unit",  # its HTTP tests use the emulator fixture: integration
    "test_cli": "e2e",
    "test_cli_doc": "unit",
    "test_cli_streams": "e2e",
    "test_cli_words": "unit",
    "test_client": "integration",
    "test_docs": "e2e",
    "test_echo_secrets": "e2e",
    "test_emulator": "e2e",
    "test_emulator_start": "e2e",
    "test_engine": "unit",  # virtual time; its CLI and refresh tests use the emulator fixture: integration
    "test_engine_plugin": "e2e",
    "test_hostile": "e2e",
    "test_iam_retry": "integration",
    "test_jobs_resource": "e2e",
    "test_lists": "unit",
    "test_lists_sdk": "integration",
    "test_lift": "e2e",
    "test_many_jobs": "integration",
    "test_metadata": "unit",
    "test_models": "unit",
    "test_operations": "integration",
    "test_operations_cli": "integration",
    "test_operations_emulator": "integration",
    "test_operations_plugin": "e2e",
    "test_operations_resource": "integration",
    "test_operations_run": "integration",
    "test_output_caps": "e2e",
    "test_pending": "integration",
    "test_plugin": "e2e",
    "test_plugin_pool": "e2e",
    "test_program": "e2e",
    "test_redaction": "e2e",
    "test_reliability": "e2e",
    "test_rules": "unit",  # its HTTP tests use the emulator fixture: integration
    "test_sdk_emulator": "integration",
    "test_secrets": "integration",
    "test_services": "integration",
    "test_services_cli": "integration",
    "test_services_plugin": "e2e",
    "test_settings": "unit",
    "test_settings_doc": "unit",
    "test_shutdown": "e2e",
    "test_sigint_ignored": "e2e",
    "test_signer": "unit",
    "test_state_contract": "e2e",
    "test_terminal": "e2e",
    "test_terraform": "e2e",
    "test_validate": "e2e",
    "test_waiter": "unit",
}


class UnclassifiedTestWarning(UserWarning):
    """A test module with no tier: it ran as ``integration``."""


def apply_tiers(items: list[pytest.Item]) -> None:
    """Give every collected test exactly one tier marker (called from ``pytest_collection_modifyitems``)."""
    unclassified: set[str] = set()
    for item in items:
        own = [tier for tier in TIERS if item.get_closest_marker(tier) is not None]
        if len(own) > 1:
            raise pytest.UsageError(f"{item.nodeid}: one tier only, not {' and '.join(own)}")
        if own:
            continue
        module = item.module.__name__.rpartition(".")[2] if isinstance(item, pytest.Function) else ""
        tier = MODULES.get(module)
        if tier is None:
            unclassified.add(module or item.nodeid)
            tier = DEFAULT_TIER
        if tier == "unit" and EMULATOR_FIXTURES & set(getattr(item, "fixturenames", ())):
            tier = "integration"
        item.add_marker(getattr(pytest.mark, tier))
    if unclassified:
        warnings.warn(
            UnclassifiedTestWarning(
                f"no tier for {', '.join(sorted(unclassified))}: run as {DEFAULT_TIER}; add a row to "
                "tests/support/tiers.py or a pytestmark"
            ),
            stacklevel=1,
        )


def guard_unit(item: pytest.Item, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make a ``unit`` test fail the moment it connects a socket or starts a process."""
    if item.get_closest_marker("unit") is None:
        return

    def refuse(*_args: Any, **_kwargs: Any) -> NoReturn:
        raise AssertionError(
            f"{item.nodeid} is marked unit but opened a connection or started a process: "
            "mark it integration or e2e (tests/support/tiers.py)"
        )

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
