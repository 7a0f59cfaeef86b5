"""A virtual clock to share between the emulator and a wait, so waits run over real HTTP in virtual time.

It is the wait engine's one virtual clock (``provider.waiting.clock.VirtualClock``): ``Emulator(clock=vc.monotonic,
wall_clock=vc.wall)`` computes every job's state from it, and a wait given ``clock=vc`` moves it forward instead of
sleeping. Thread-safe, so several waits may share one.
"""

from __future__ import annotations

from provider.waiting.clock import VirtualClock

__all__ = ["VirtualClock"]
