"""A FIFO of scripted failures that the next task-center requests suffer, one request per unit of count."""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

KINDS = ("500", "503", "429", "reset", "hang", "garbage", "html")
DEFAULT_RETRY_AFTER = 1
DEFAULT_HANG_SECONDS = 30.0

_FIELDS = frozenset({"kind", "count", "retry_after", "hang_seconds"})


class FaultError(ValueError):
    """A fault definition was refused; the message is safe to show to the caller."""


@dataclass(frozen=True)
class Fault:
    kind: str
    retry_after: int = DEFAULT_RETRY_AFTER
    hang_seconds: float = DEFAULT_HANG_SECONDS


def parse_fault(payload: Mapping[str, object]) -> tuple[Fault | None, int]:
    """Validate a ``POST /_emulator/faults`` body; ``(None, 0)`` means "clear the queue"."""
    unknown = sorted(set(payload) - _FIELDS)
    if unknown:
        raise FaultError(f"unknown field(s): {', '.join(unknown)}")
    count = payload.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise FaultError("count must be an integer >= 0")
    if count == 0:
        return None, 0
    kind = payload.get("kind")
    # A bare number is the obvious way to write a status code; accept it as well as the string.
    if isinstance(kind, int) and not isinstance(kind, bool):
        kind = str(kind)
    if kind not in KINDS:
        raise FaultError(f"kind must be one of {', '.join(KINDS)}")
    retry_after = payload.get("retry_after", DEFAULT_RETRY_AFTER)
    # Retry-After is delta-seconds, an integer on the wire; clients parse nothing else.
    if isinstance(retry_after, bool) or not isinstance(retry_after, int) or retry_after < 0:
        raise FaultError("retry_after must be an integer number of seconds >= 0")
    hang = payload.get("hang_seconds", DEFAULT_HANG_SECONDS)
    if isinstance(hang, bool) or not isinstance(hang, int | float) or not math.isfinite(hang) or hang < 0:
        raise FaultError("hang_seconds must be a finite number >= 0")
    return Fault(kind=str(kind), retry_after=retry_after, hang_seconds=float(hang)), count


@dataclass
class _Entry:
    fault: Fault
    remaining: int


class FaultQueue:
    """Thread-safe: concurrent requests each take a distinct unit, so N faults hit exactly N requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[_Entry] = deque()

    def add(self, fault: Fault, count: int = 1) -> int:
        with self._lock:
            if count > 0:
                self._queue.append(_Entry(fault, count))
            return self._pending()

    def take(self) -> Fault | None:
        with self._lock:
            if not self._queue:
                return None
            entry = self._queue[0]
            entry.remaining -= 1
            if entry.remaining <= 0:
                self._queue.popleft()
            return entry.fault

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()

    def pending(self) -> int:
        with self._lock:
            return self._pending()

    def _pending(self) -> int:
        return sum(entry.remaining for entry in self._queue)
