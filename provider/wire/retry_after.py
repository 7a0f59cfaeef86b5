"""``Retry-After`` read defensively: any header value gives a bounded number of seconds or None, never an exception.

RFC 9110 10.2.3 allows delta-seconds (``120``) or an HTTP-date (``Fri, 31 Dec 1999 23:59:59 GMT``). A gateway
may send anything: 5,000 digits (``int()`` refuses more than 4,300), a year 99999 (``datetime`` refuses it),
garbage, a date in the past. urllib3 raises ``ValueError`` on some of these (issue 20), so it is not used here.
"""

from __future__ import annotations

import math
import re
import time
from email.utils import parsedate_tz

# Longest delta-seconds text read as a number: 10 digits is over 300 years, far past any bound a caller uses.
_MAX_DIGITS = 10
_DELTA = re.compile(rf"\d{{1,{_MAX_DIGITS}}}")
_ALL_DIGITS = re.compile(r"\d+")
# An HTTP-date is about 29 characters; anything much longer is not one.
_MAX_DATE_TEXT = 64


def seconds(value: object, *, limit: float, now: float | None = None) -> float | None:
    """The wait ``value`` (a Retry-After header) asks for, in [0, ``limit``] seconds; None when it is absent or
    not readable. A number too long to read, or a date too far ahead, is ``limit``; a date in the past is 0.
    ``now`` is the wall clock (``time.time()``) for HTTP-dates."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    if _ALL_DIGITS.fullmatch(text):
        # Many digits are a huge number, whatever they are: never converted (int() of 5,000 digits raises).
        return float(min(int(text), limit)) if _DELTA.fullmatch(text) else float(limit)
    if len(text) > _MAX_DATE_TEXT:
        return None
    try:
        parts = parsedate_tz(text)
    except (ValueError, TypeError, IndexError, OverflowError):
        return None
    if parts is None:
        return None
    year, month, day, hour, minute, second = parts[:6]
    offset = parts[9] or 0
    if not (1 <= month <= 12 and 1 <= day <= 31 and 0 <= hour <= 24 and 0 <= minute <= 59 and 0 <= second <= 61):
        return None
    wall = time.time() if now is None else now
    # Days since the epoch by arithmetic (no datetime: it refuses years past 9999), enough to compare with now.
    try:
        delay = _epoch_seconds(year, month, day, hour, minute, second) - offset - wall
    except OverflowError:  # a year of dozens of digits: as far ahead as it gets
        return float(limit)
    if not math.isfinite(delay):
        return None
    return float(min(max(delay, 0.0), limit))


def _epoch_seconds(year: int, month: int, day: int, hour: int, minute: int, second: int) -> float:
    """Seconds since 1970-01-01T00:00:00Z of a proleptic Gregorian date, for any year (Howard Hinnant's
    days_from_civil)."""
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468
    return float(days * 86400 + hour * 3600 + minute * 60 + second)
