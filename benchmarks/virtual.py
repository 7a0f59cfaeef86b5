"""Virtual time for many threads: a clock that moves only when every thread is asleep.

``VirtualTime.run`` starts one thread per function; each may call ``clock()`` and ``sleep(seconds)`` (the waiter's
and the request budget's injected time). One thread runs at a time: when the running one sleeps, the sleeper with
the earliest wake-up time (ties: the one that went to sleep first) is woken and the clock jumps to its time. The
run is therefore deterministic, and an hour of fifty waits takes a second or two.

Blocking on anything else than ``sleep`` (a lock held by a sleeping thread, a real network call) would deadlock;
the waiter and ``provider.budget.RequestBudget`` only ever block in ``sleep`` when given one.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar, cast

T = TypeVar("T")


class VirtualTime:
    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self._lock = threading.Lock()
        self._sleepers: list[tuple[float, int, threading.Event]] = []
        self._seq = 0
        self._running = 0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"negative sleep {seconds}")
        woken = threading.Event()
        with self._lock:
            self._push(self.now + seconds, woken)
            self._running -= 1
            self._advance()
        woken.wait()

    def _push(self, at: float, woken: threading.Event) -> None:
        self._seq += 1
        heapq.heappush(self._sleepers, (at, self._seq, woken))

    def _advance(self) -> None:
        if self._running == 0 and self._sleepers:
            at, _, woken = heapq.heappop(self._sleepers)
            self.now = max(self.now, at)
            self._running += 1
            woken.set()

    def run(self, functions: Sequence[Callable[[], T]]) -> list[T | BaseException]:
        """Run every function in its own thread, started in order at the current time; each result or exception."""
        results: list[T | BaseException | None] = [None] * len(functions)
        starts = [threading.Event() for _ in functions]

        def body(index: int) -> None:
            starts[index].wait()
            try:
                results[index] = functions[index]()
            except BaseException as exc:  # noqa: BLE001 - handed back to the caller
                results[index] = exc
            finally:
                with self._lock:
                    self._running -= 1
                    self._advance()

        threads = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(len(functions))]
        for thread in threads:
            thread.start()
        with self._lock:
            for start in starts:
                self._push(self.now, start)
            self._advance()
        for thread in threads:
            thread.join()
        return cast("list[T | BaseException]", results)
