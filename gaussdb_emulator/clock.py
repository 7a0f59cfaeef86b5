"""A virtual clock to share between the emulator and a waiter, so waits run over real HTTP in virtual time.

``Emulator(clock=vc.monotonic)`` computes every job's state from ``vc``; a waiter given ``clock=vc.monotonic,
sleep=vc.sleep`` moves it forward instead of sleeping. Thread-safe, so several waits may share one.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class VirtualClock:
    def __init__(self, start: float = 1000.0, epoch: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._start = start
        self._now = start
        self._epoch = epoch or datetime(2026, 1, 1, tzinfo=UTC)
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        with self._lock:
            return self._now

    def wall(self) -> datetime:
        """Wall-clock time that moves with the virtual clock (for job ``created``/``ended``)."""
        with self._lock:
            return self._epoch + timedelta(seconds=self._now - self._start)

    def sleep(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"negative sleep {seconds}")
        self.advance(seconds)
        with self._lock:
            self.sleeps.append(seconds)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds
