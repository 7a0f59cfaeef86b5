"""One request budget per process, shared by every wait in it (the plugin, one ``gaussdb-job wait``).

What it does, in short:

- **a rate cap**: requests to the task center are spaced at least ``1 / rate`` seconds apart (5 % more, so the
  cap holds where they arrive), whoever sends them; no burst allowance: at 4 requests/s no 2-second window
  holds more than 8 requests;
- **fair across jobs, ending jobs first**: a wait asks for a slot when its own polling policy says it is time
  (``acquire``); when several are waiting, slots go in order of arrival, so every job gets its turn (each wait
  has at most one request pending). ``priority`` is in seconds: a request is served as if it had asked that
  much earlier. The waiter (``waiter.budget_priority``) makes the order earliest-deadline-first: a job its
  policy polls every 30 s tolerates 28 s more lag than one polled every 2 s, so it gets -28; a job predicted to
  be ending gets +60, since its lag is what a user notices;
- **adaptive** (after botocore's adaptive retry mode, its ``ClientRateLimiter``): a 429 or a throttling error
  code (``feedback(throttled=True)``) lowers the rate to ``BETA`` (0.7) x the rate actually being sent, then it
  recovers along botocore's cubic curve: back to the rate it had when throttled, then faster up to the cap.
  botocore's constant (C = 0.4) recovers in a second or two at these rates; Huawei Cloud's gateway counts over
  minutes (its throttling message reads ``policy user over ratelimit,limit:60,time:1 minute`` on the DataArts
  Studio FAQ page for MRS; docs/batch-reads.md), so C is scaled to the cap so that one throttle at the cap
  recovers in 30 s (``RECOVERY_SECONDS``). Throttles in a row compound (the rate falls to ``MIN_RATE`` at worst), as in
  botocore: a gateway that counts over a sliding window keeps refusing until its window has drained.

A single wait is never slowed by the default budget: its policy polls at most once every 2 s (1.8 s with jitter),
slower than the default cap's spacing (1.05 / 1.0 s = 1.05 s).

Time is injected (a ``provider.waiting.clock.Clock``): on a ``VirtualClock`` the budget runs in virtual time, and
only ever blocks in the clock's ``sleep``, so a virtual clock that advances when every thread sleeps drives many
waits deterministically.

A request waiting for its slot sleeps on an event of its own until its turn would come if nothing changed; when
the line changes (a request granted or given up, a newcomer, a throttle), every sleeper is woken, looks again and
goes back to sleep. The event is linked to the wait's cancel when that is a ``clock.Cancel`` (the CLI's and the
plugin's are), so a cancel ends the sleep at once; a plain event is looked at every ``CANCEL_CHECK`` seconds.
"""

from __future__ import annotations

import math
import os
import threading
from collections import deque
from collections.abc import Mapping
from typing import Any

from provider.core import validate
from provider.waiting.clock import SYSTEM_CLOCK, Cancel, Clock, linked

# Requests per second across every wait of the process: 60 a minute, the one per-user limit documented for a task
# center of these services: Huawei Cloud's RDS API reference, "API Calling" (support.huaweicloud.com/intl/en-us/
# api-rds/rds_00_0002.html): "Standard request throttling policy: 60 calls per minute for a single user and 8,000
# calls per minute for an API". The other four services publish no number (docs/batch-reads.md). Other sources
# bracket it: the API gateway's default of 200 calls per second per API (APIG user guide, "Creating a Request
# Throttling Policy") bounds an API, not a user; MRS documents 60 a minute per user for its cluster calls and 1,000
# a minute for its queries (api-mrs/mrs_02_0006.html); APIGW.0308 (429) is the throttling answer, lowered here by
# ``feedback``. With MARGIN the requests arrive at <= 57 a minute, list calls and per-job reads together (each is
# its own API, with its own limit). It is above one wait's fastest pace (a request every 2 s): a single job's
# figures are today's. Many jobs are served by list calls (batch reads); python -m benchmarks.batch measures it.
DEFAULT_MAX_RATE = 1.0
MAX_RATE_ENV = "GAUSSDB_MAX_RATE"
MAX_RATE_CONFIG = "gaussdb:maxRate"
MAX_RATE_LIMIT = validate.MAX_RATE
# Requests are spaced this much wider than 1 / rate: they leave on time but reach the gateway with a few
# milliseconds of jitter, and the cap must hold where they arrive.
MARGIN = 1.05
# The adaptive rate never falls below this (one request every 20 s), whatever the throttling.
MIN_RATE = validate.MIN_RATE
BETA = 0.7
RECOVERY_SECONDS = 30.0
# The rate "actually being sent" is measured over this many seconds.
MEASURE_SECONDS = 10.0
# A sleeper given a plain cancel event (not a ``clock.Cancel``) looks at it this often: unverified, a compromise
# between a prompt stop and idle wake-ups.
CANCEL_CHECK = 0.25


def parse_rate(value: object, what: str = "max rate") -> float:
    """A rate in requests per second (a string is parsed): ``provider.core.validate.rate``, the one rule."""
    return validate.rate(value, what)


def max_rate(config: Mapping[str, Any], env: Mapping[str, str]) -> float:
    """The cap from stack config ``gaussdb:maxRate``, else ``GAUSSDB_MAX_RATE``, else ``DEFAULT_MAX_RATE``."""
    if config.get(MAX_RATE_CONFIG) not in (None, ""):
        return parse_rate(config[MAX_RATE_CONFIG], MAX_RATE_CONFIG)
    if env.get(MAX_RATE_ENV, "").strip():
        return parse_rate(env[MAX_RATE_ENV], MAX_RATE_ENV)
    return DEFAULT_MAX_RATE


class RequestBudget:
    """Slots for task-center requests, shared by the waits of one process (thread-safe)."""

    def __init__(self, rate: float = DEFAULT_MAX_RATE, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self.cap = parse_rate(rate)
        self._time = clock
        self._clock = clock.now
        self._lock = threading.Lock()
        self._wakes: dict[int, threading.Event] = {}  # ticket -> the event its sleeper waits on
        self._next = -math.inf  # the earliest moment the next request may go
        self._seq = 0
        self._waiting: dict[int, tuple[float, int]] = {}  # ticket -> its place in line
        self._sent: deque[float] = deque()
        # After a throttle: when it came and the rate in use then (botocore's last_max_rate).
        self._throttled_at: float | None = None
        self._w_max = self.cap
        self.throttles = 0
        self.granted = 0

    @property
    def clock(self) -> Clock:
        """The clock the budget's deadlines are on: a reader that waits on the budget's turns uses its ``now``."""
        return self._time

    @property
    def rate(self) -> float:
        """The rate in use now: the cap, or less while recovering from a throttle."""
        with self._lock:
            return self._current(self._clock())

    def set_cap(self, rate: float) -> None:
        """Change the cap (the one process budget is configured by whoever asks for it last)."""
        with self._lock:
            self.cap = parse_rate(rate)
            self._w_max = min(self._w_max, self.cap)
            self._changed()

    def _changed(self) -> None:
        """The line or the rate changed: every sleeper looks again (called with the lock held)."""
        for event in self._wakes.values():
            event.set()

    def _current(self, now: float) -> float:
        if self._throttled_at is None:
            return self.cap
        # botocore's cubic: W(t) = C (t - K)^3 + W_max, K = cbrt(W_max (1 - BETA) / C): back to W_max after K
        # seconds, then probing faster. C is set so that a throttle at the cap recovers in RECOVERY_SECONDS.
        t = now - self._throttled_at
        scale = self.cap * (1 - BETA) / RECOVERY_SECONDS**3
        k = math.cbrt(self._w_max * (1 - BETA) / scale)
        rate = scale * (t - k) ** 3 + self._w_max
        if rate >= self.cap:
            self._throttled_at = None
            return self.cap
        return max(MIN_RATE, rate)

    def _measured(self, now: float) -> float | None:
        """Requests per second granted over the last MEASURE_SECONDS, or over the time since the oldest of them
        when that is shorter (two requests 0.1 s apart after a quiet minute are a rate of 20/s, not 0.2/s);
        None before there are two."""
        while self._sent and self._sent[0] < now - MEASURE_SECONDS:
            self._sent.popleft()
        if len(self._sent) < 2:
            return None
        window = now - self._sent[0]
        return len(self._sent) / window if window > 0 else None

    def acquire(
        self, *, priority: float = 0.0, deadline: float | None = None, cancel: threading.Event | None = None
    ) -> bool:
        """Block until one request may be sent; False when ``deadline`` (on ``clock``) or ``cancel`` came first.

        ``priority`` (seconds) serves the request as if it had asked that much earlier; negative: later.
        """
        wake = threading.Event()
        with self._lock:
            self._seq += 1
            ticket = self._seq
            self._waiting[ticket] = (self._clock() - priority, ticket)
            self._wakes[ticket] = wake
            self._changed()
        try:
            with linked(cancel, wake):
                while True:
                    if cancel is not None and cancel.is_set():
                        return False
                    with self._lock:
                        wake.clear()
                        now = self._clock()
                        spacing = MARGIN / self._current(now)
                        slot = max(self._next, now)
                        place = self._waiting[ticket]
                        ahead = sum(1 for other in self._waiting.values() if other < place)
                        if ahead == 0 and slot <= now:
                            self._next = now + spacing
                            self._sent.append(now)
                            self._measured(now)  # keeps only the last MEASURE_SECONDS of them
                            self.granted += 1
                            return True
                        if deadline is not None and now >= deadline:
                            return False
                        # Asleep until this request's turn comes if nothing changes; a change in the line sets
                        # ``wake`` (see ``_changed``).
                        wake_at = slot + ahead * spacing
                        if deadline is not None:
                            wake_at = min(wake_at, deadline)
                    pause = max(wake_at - now, 0.0)
                    self._time.sleep(self._nap(pause, cancel), wake)
        finally:
            with self._lock:
                del self._waiting[ticket]
                del self._wakes[ticket]
                self._changed()

    @staticmethod
    def _nap(pause: float, cancel: threading.Event | None) -> float:
        """A plain cancel event cannot wake the sleeper: look at it again every CANCEL_CHECK seconds."""
        return pause if cancel is None or isinstance(cancel, Cancel) else min(pause, CANCEL_CHECK)

    def feedback(self, *, throttled: bool) -> None:
        """Tell the budget how a request went: a 429 or a throttling error code lowers the rate."""
        if not throttled:
            return
        with self._lock:
            now = self._clock()
            current = self._current(now)
            measured = self._measured(now)
            sending = current if measured is None else min(current, measured)
            # botocore: W_max is the rate being sent when throttled; the curve starts at BETA x W_max.
            self._w_max = sending
            self._throttled_at = now
            self.throttles += 1
            self._next = max(self._next, now + MARGIN / self._current(now))
            self._changed()


_process_budget: RequestBudget | None = None
_process_lock = threading.Lock()


def process_budget(rate: float | None = None) -> RequestBudget:
    """The one budget of this process, shared by every wait in it (created on first use).

    ``rate`` (requests per second) sets its cap; None keeps the cap it has (``DEFAULT_MAX_RATE`` at first).
    The CLI calls it once with ``--max-rate``; the provider with the stack config / environment setting.
    """
    global _process_budget
    with _process_lock:
        if _process_budget is None:
            _process_budget = RequestBudget(DEFAULT_MAX_RATE if rate is None else rate)
        elif rate is not None and rate != _process_budget.cap:
            _process_budget.set_cap(rate)
        return _process_budget


def process_budget_from(config: Mapping[str, Any], env: Mapping[str, str] | None = None) -> RequestBudget:
    """The process budget with the cap the settings give (stack config, then environment, then default)."""
    return process_budget(max_rate(config, os.environ if env is None else env))
