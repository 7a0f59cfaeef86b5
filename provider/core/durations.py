"""Durations as people type them on a command line: ``90``, ``90s``, ``10m``, ``1h30m``, ``1.5h``, ``2d``.
Units are lower-case only: ``10M`` (minutes or months?) is refused.

Parsing and printing live together so that what the CLI shows (``1m20s``, ``deadline in 58m``) is a form it
also accepts.
"""

from __future__ import annotations

import math
import re

from provider.core import validate
from provider.core.errors import ConfigError

_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
# Units in decreasing order, each at most once: "1h30m" and "90s" yes, "30m1h" and "5m5m" no.
_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)d)?(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$")
_EXAMPLES = "a number of seconds or a duration such as 90s, 10m, 1h30m"


def parse(value: str, what: str, *, allow_zero: bool = False) -> float:
    """Seconds in (0, 7 days] (or [0, 7 days] with ``allow_zero``); ``what`` names the setting in the message."""
    text = value.strip()
    if any(unit.isupper() for unit in text if unit.isalpha()):
        # "10M" reads as months to some and minutes to others: refused rather than guessed.
        raise ConfigError(f"invalid {what} {value!r}: units are lower-case s, m, h, d (is M minutes or months?)")
    seconds: float | None = None
    try:
        seconds = float(text)
    except ValueError:
        match = _DURATION.match(text)
        if match and text:
            seconds = sum(float(n) * unit for n, unit in zip(match.groups(), _UNITS.values(), strict=True) if n)
    if seconds is None or not math.isfinite(seconds):
        raise ConfigError(f"invalid {what} {value!r}: expected {_EXAMPLES}")
    if allow_zero and seconds == 0:
        return 0.0
    try:
        return validate.timeout(seconds, what)
    except ConfigError:
        lower = "0" if allow_zero else "more than 0"
        raise ConfigError(f"invalid {what} {value!r}: expected {lower} and at most 7d ({_EXAMPLES})") from None


def format(seconds: float) -> str:
    """``45s``, ``1m20s``, ``58m``, ``1h30m``, ``2d3h``: the largest unit and the next one when not zero,
    rounded down (seconds do not matter next to an hour); under 10 s a fraction shows as ``0.3s``, ``1.5s``."""
    if 0 < seconds < 10 and seconds != int(seconds):
        return f"{int(seconds * 10) / 10:g}s"
    total = max(0, int(seconds))
    sizes = [int(size) for size in _UNITS.values()]
    names = list(_UNITS)
    for i, size in enumerate(sizes):
        if total >= size or size == 1:
            text = f"{total // size}{names[i]}"
            if size > 1:
                rest = (total % size) // sizes[i + 1]
                text += f"{rest}{names[i + 1]}" if rest else ""
            return text
    return "0s"  # unreachable: the last unit is 1 second
