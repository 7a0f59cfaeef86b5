"""A local stand-in for the GaussDB (for MySQL) task center and IAM, over real HTTP.

Start it with ``python -m gaussdb_emulator`` or in-process with ``gaussdb_emulator.Emulator``.
"""

from gaussdb_emulator.clock import VirtualClock
from gaussdb_emulator.server import Emulator, EmulatorConfig

__all__ = ["Emulator", "EmulatorConfig", "VirtualClock"]
