"""A local stand-in for the GaussDB (for MySQL) task center and IAM, over real HTTP.

Start it with ``python -m emulator`` or in-process with ``emulator.server.Emulator``.
"""

from emulator.server import Emulator, EmulatorConfig

__all__ = ["Emulator", "EmulatorConfig"]
