"""The one way tests start the emulator: a real HTTP server on a free loopback port, stopped on exit.

The fixtures built on it are in tests/conftest.py: ``emulator`` (one per test) and ``emu`` (one per module,
configured by the module's ``EMULATOR_CONFIG``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from gaussdb_emulator.server import Emulator, EmulatorConfig
from provider.waiting.clock import VirtualClock

# Prefixes of every variable the provider reads: tests see only the settings they set.
SETTING_PREFIXES = ("HW_", "OS_", "GAUSSDB_")


@contextmanager
def running_emulator(*, clock: VirtualClock | None = None, **config: Any) -> Iterator[Emulator]:
    """An emulator on 127.0.0.1 and a free port; ``config`` overrides fields of ``EmulatorConfig``. With ``clock``
    its jobs run on that virtual clock (created, ended and progress too): a test moves time instead of waiting."""
    times: dict[str, Any] = {} if clock is None else {"clock": clock.monotonic, "wall_clock": clock.wall}
    with Emulator(EmulatorConfig(**{"host": "127.0.0.1", "port": 0, **config}), **times) as emu:
        yield emu


def aksk_env(emu: Emulator) -> dict[str, str]:
    """Settings and AK/SK credentials for ``emu``, as a user would export them."""
    cfg = emu.config
    return {
        "GAUSSDB_ENDPOINT": emu.url,
        # The default budget (1.0 requests/s) would pace many-job tests by minutes; tests of the budget set their own.
        "GAUSSDB_MAX_RATE": "50",
        "HW_PROJECT_ID": cfg.project_id,
        "HW_ACCESS_KEY": cfg.access_key,
        "HW_SECRET_KEY": cfg.secret_key,
    }
