"""One request budget per process, shared by every wait in it (the plugin, one ``gaussdb-job wait``).

STUB (to be completed for issue 9): a plain token bucket. The interface is what the waiter and the CLI use.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

# Requests per second across every wait of the process.
DEFAULT_MAX_RATE = 5.0


class RequestBudget:
    def __init__(
        self,
        rate: float = DEFAULT_MAX_RATE,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        if not rate > 0:
            raise ValueError("rate must be > 0")
        self.rate = rate
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = clock()

    def acquire(
        self, *, priority: float = 0.0, deadline: float | None = None, cancel: threading.Event | None = None
    ) -> bool:
        """Block until one request may be sent; False when ``deadline`` (on ``clock``) or ``cancel`` came first."""
        with self._lock:
            now = self._clock()
            slot = max(self._next, now)
            if deadline is not None and slot > deadline:
                return False
            self._next = slot + 1.0 / self.rate
        delay = slot - now
        if delay > 0:
            if cancel is not None and self._sleep is None:
                if cancel.wait(delay):
                    return False
            else:
                (self._sleep or time.sleep)(delay)
        return not (cancel is not None and cancel.is_set())

    def feedback(self, *, throttled: bool) -> None:
        """Tell the budget how a request went: a 429 or a throttling error code lowers the rate."""
