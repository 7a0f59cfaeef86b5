"""The time a wait runs on: an object with ``now``, ``sleep`` (cancellable) and ``request_deadline``.

``SystemClock`` is the real one (``time.monotonic``; a sleep is a wait on the cancel event, so a cancel ends it at
once). ``VirtualClock`` is the one virtual time of the tests, the benchmarks and the emulator: a sleep moves the time
forward instead of waiting. Code never asks which clock it was given; what differs between them is behind these
three methods (a virtual clock has no real HTTP deadline to give, so ``request_deadline`` is None there).

``Cancel`` is a ``threading.Event`` that also wakes the events linked to it: the request budget's sleepers wait on
an event of their own (set when the line changes) and link it to the wait's cancel, so one ``set`` ends both.
"""

from __future__ import annotations

import contextlib
import heapq
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar, cast

T = TypeVar("T")


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on this clock (only differences mean something)."""
        ...

    def sleep(self, seconds: float, cancel: threading.Event | None = None) -> bool:
        """Sleep ``seconds``, or less when ``cancel`` is set; True when cancelled."""
        ...

    def request_deadline(self, at: float) -> float | None:
        """The ``time.monotonic`` time matching ``at`` on this clock, by which a real HTTP request must end;
        None when requests are not real (virtual time: the reader is a fake or the server shares the clock)."""
        ...


class SystemClock:
    """Real time: ``time.monotonic``; a sleep with a cancel event is a wait on it."""

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float, cancel: threading.Event | None = None) -> bool:
        seconds = max(seconds, 0.0)
        if cancel is None:
            time.sleep(seconds)
            return False
        return cancel.wait(seconds)

    def request_deadline(self, at: float) -> float | None:
        return at


SYSTEM_CLOCK = SystemClock()


class Cancel(threading.Event):
    """A cancel event that also sets every event linked to it (``linked``) when it is set."""

    def __init__(self) -> None:
        super().__init__()
        self._links: set[threading.Event] = set()
        self._links_lock = threading.Lock()

    def set(self) -> None:
        super().set()
        with self._links_lock:
            links = list(self._links)
        for event in links:
            event.set()

    @contextlib.contextmanager
    def linked(self, event: threading.Event) -> Iterator[None]:
        with self._links_lock:
            self._links.add(event)
        if self.is_set():
            event.set()
        try:
            yield
        finally:
            with self._links_lock:
                self._links.discard(event)


def linked(cancel: threading.Event | None, event: threading.Event) -> contextlib.AbstractContextManager[None]:
    """``event`` is set when ``cancel`` is, for as long as the context lasts (only a ``Cancel`` can tell; a plain
    event is not linked, and whoever waits must look at it again from time to time)."""
    return cancel.linked(event) if isinstance(cancel, Cancel) else contextlib.nullcontext()


class VirtualClock:
    """Virtual time, thread-safe. A sleep moves the time forward and returns at once, unless ``run`` is driving
    several threads: then one thread runs at a time and the time jumps to the earliest sleeper's wake-up when every
    thread sleeps (ties: the one that went to sleep first), so many threads run deterministically.

    ``monotonic`` and ``wall`` let the emulator compute jobs from the same time (``Emulator(clock=vc.monotonic)``).
    """

    def __init__(self, start: float = 0.0, epoch: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._start = start
        self._now = start
        self._epoch = epoch or datetime(2026, 1, 1, tzinfo=UTC)
        self.sleeps: list[float] = []  # every sleep asked for, in order
        self._sleepers: list[tuple[float, int, threading.Event]] = []
        self._seq = 0
        self._running = 0
        self._driven = False

    def now(self) -> float:
        with self._lock:
            return self._now

    monotonic = now

    def wall(self) -> datetime:
        """Wall-clock time that moves with the virtual clock (for job ``created``/``ended``)."""
        with self._lock:
            return self._epoch + timedelta(seconds=self._now - self._start)

    def request_deadline(self, at: float) -> float | None:
        return None

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds

    def sleep(self, seconds: float, cancel: threading.Event | None = None) -> bool:
        if seconds < 0:
            raise ValueError(f"negative sleep {seconds}")
        if cancel is not None and cancel.is_set():
            return True
        woken = threading.Event()
        with self._lock:
            self.sleeps.append(seconds)
            if not self._driven:
                self._now += seconds
                return False
            self._push(self._now + seconds, woken)
            self._running -= 1
            self._advance()
        woken.wait()
        return cancel is not None and cancel.is_set()

    def _push(self, at: float, woken: threading.Event) -> None:
        self._seq += 1
        heapq.heappush(self._sleepers, (at, self._seq, woken))

    def _advance(self) -> None:
        if self._running == 0 and self._sleepers:
            at, _, woken = heapq.heappop(self._sleepers)
            self._now = max(self._now, at)
            self._running += 1
            woken.set()

    def run(self, functions: Sequence[Callable[[], T]]) -> list[T | BaseException]:
        """Run every function in its own thread, started in order at the current time; each result or exception.

        Blocking on anything but this clock's ``sleep`` (a lock held by a sleeper, a real request) would deadlock.
        """
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
        with self._lock:
            self._driven = True
        try:
            for thread in threads:
                thread.start()
            with self._lock:
                for start in starts:
                    self._push(self._now, start)
                self._advance()
            for thread in threads:
                thread.join()
        finally:
            with self._lock:
                self._driven = False
        return cast("list[T | BaseException]", results)
