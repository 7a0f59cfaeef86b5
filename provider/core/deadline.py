"""The deadline of the call this thread is in, on ``time.monotonic``: set by whoever knows it (the waiter, a
caller of ``get_job(deadline=...)``), honoured by every HTTP exchange made inside (``provider.wire.transport``).

A context variable rather than a parameter threaded through every layer: ``fetch`` callables stay
``() -> Job``, and the IAM login made while authenticating a request inherits the request's deadline.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_DEADLINE: ContextVar[float | None] = ContextVar("gaussdb_deadline", default=None)


def current() -> float | None:
    return _DEADLINE.get()


@contextmanager
def within(deadline: float | None) -> Iterator[float | None]:
    """Calls inside end by ``deadline`` (or an earlier one already in force); None changes nothing."""
    outer = _DEADLINE.get()
    effective = deadline if outer is None else (outer if deadline is None else min(outer, deadline))
    token = _DEADLINE.set(effective)
    try:
        yield effective
    finally:
        _DEADLINE.reset(token)
