"""The HTTP session every call goes through: retries, backoff and Retry-After from urllib3, bounded timeouts.

Retries here ride out blips of a few seconds (a dropped connection, a 503, a 429 burst); a longer outage is
the waiter's business, which keeps polling on its own schedule and knows the deadline.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from provider import __version__

# (connect, read) seconds for one request: a hung gateway is cut off and retried, never waited on forever.
REQUEST_TIMEOUT: tuple[float, float] = (5.0, 15.0)
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def retry_policy(total: int = 3, backoff_factor: float = 0.5, retry_after_max: int = 30) -> Retry:
    return Retry(
        total=total,
        connect=total,
        read=total,
        status=total,
        other=0,
        redirect=0,
        allowed_methods=frozenset({"GET", "POST"}),
        status_forcelist=RETRY_STATUSES,
        backoff_factor=backoff_factor,
        backoff_max=8.0,
        backoff_jitter=0.25,
        respect_retry_after_header=True,
        retry_after_max=retry_after_max,
        # The last answer is mapped to a clear error by the client rather than urllib3's MaxRetryError.
        raise_on_status=False,
    )


def make_session(retry: Retry | None = None, pool_size: int = 32) -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry or retry_policy(), pool_connections=4, pool_maxsize=pool_size)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = f"gaussdb-job/{__version__} (+python-requests)"
    return session


@dataclass(frozen=True)
class Transport:
    """How the client talks HTTP: the timeouts and retries of each request. Tests pass fast ones."""

    connect_timeout: float = REQUEST_TIMEOUT[0]
    read_timeout: float = REQUEST_TIMEOUT[1]
    retries: int = 3
    backoff_factor: float = 0.5
    retry_after_max: int = 30
    pool_size: int = 32

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.connect_timeout, self.read_timeout)

    def session(self) -> requests.Session:
        return make_session(retry_policy(self.retries, self.backoff_factor, self.retry_after_max), self.pool_size)


DEFAULT_TRANSPORT = Transport()
