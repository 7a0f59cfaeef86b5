"""Checks on user input, run before anything is sent. Each returns the cleaned value or raises ConfigError."""

from __future__ import annotations

import ipaddress
import math
import re
from urllib.parse import urlsplit

from provider.core.errors import ConfigError
from provider.core.sanitize import strip_userinfo

# Task-center job ids are UUIDs; refusing anything else catches typos at once instead of after the
# not-found grace period, and keeps paths, queries and control characters out of the request.
# Always ``fullmatch``: ``$`` would accept a trailing newline.
_JOB_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# Keystone project ids, as used by Huawei Cloud and Open Telekom Cloud: 32 hex digits.
_PROJECT_ID = re.compile(r"[0-9a-fA-F]{32}")
# Segments of unreserved characters: no empty segment (``//``), no percent-escapes, nothing to normalise.
_API_PATH = re.compile(r"(/[A-Za-z0-9._~-]+)+")
# Whitespace and control characters have no place in a URL; requests would quote some and send others raw.
_URL_FORBIDDEN = re.compile(r"[\s\x00-\x1f\x7f-\x9f\\]")
# A number of seconds is short: longer text is refused before any conversion (int('1' * 10**6) is slow).
_MAX_NUMBER_TEXT = 32
MAX_TIMEOUT = 7 * 24 * 3600.0


def _show(value: object) -> str:
    if isinstance(value, int) and value.bit_length() > 64:
        return "a number of more than 19 digits"  # repr of a huge int is slow, or refused past 4300 digits
    # Userinfo never echoed (an endpoint may carry a password); repr keeps control characters visible, escaped.
    text = strip_userinfo(repr(value)) if isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _hex_id(value: object, pattern: re.Pattern[str], setting: str, expected: str) -> str:
    """``value`` in lower case if it matches ``pattern`` whole; ConfigError naming ``setting`` otherwise."""
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ConfigError(f"invalid {setting.replace('_', ' ')} {_show(value)}: expected {expected}", setting=setting)
    return value.lower()


def job_id(value: object) -> str:
    return _hex_id(value, _JOB_ID, "job_id", "a task-center job id such as a9767ede-fe0f-4888-9003-e843a4c90514")


def split_ids(text: str) -> list[str]:
    """A comma-separated list of ids (as read-replica calls answer ``"id1,id2"``), blanks dropped; unchecked."""
    return [part.strip() for part in text.split(",") if part.strip()]


def project_id(value: object) -> str:
    expected = "32 hexadecimal digits (see 'Obtaining a Project ID' in the API reference)"
    return _hex_id(value, _PROJECT_ID, "project_id", expected)


def is_loopback(host: str) -> bool:
    if host.lower() in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def endpoint(value: object, what: str = "endpoint", setting: str = "endpoint") -> str:
    """A base URL: https anywhere, http only to loopback (the emulator), no credentials, query or fragment."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"invalid {what} {_show(value)}: expected a URL such as https://host", setting=setting)
    text = value.strip().rstrip("/")
    if _URL_FORBIDDEN.search(text):
        raise ConfigError(
            f"invalid {what} {_show(value)}: whitespace, control characters or backslashes in the URL", setting=setting
        )
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        del exc  # its text may quote the netloc, userinfo included
        raise ConfigError(
            f"invalid {what} {_show(value)}: not a valid URL (check the host and port)", setting=setting
        ) from None
    host = parts.hostname or ""
    if parts.scheme not in {"https", "http"} or not host:
        raise ConfigError(f"invalid {what} {_show(value)}: expected https://host[:port]", setting=setting)
    if "@" in parts.netloc or parts.query or parts.fragment:
        raise ConfigError(f"invalid {what} {_show(value)}: no credentials, query or fragment allowed", setting=setting)
    if parts.scheme == "http" and not is_loopback(host):
        raise ConfigError(f"refusing plain http to non-loopback host {host!r} in {what}: use https", setting=setting)
    del port
    return text


def api_path(value: object) -> str:
    """A path prefix such as /v3: refused rather than normalised when it has ``.``/``..`` or empty segments, so
    the URL requested is exactly the one configured."""
    path = value.rstrip("/") if isinstance(value, str) else ""
    if not path or not _API_PATH.fullmatch(path) or any(seg in {".", ".."} for seg in path.split("/")):
        raise ConfigError(
            f"invalid API path {_show(value)}: expected something like /v3 or /mysql/v3", setting="api_path"
        )
    return path


def timeout(value: object, what: str = "timeout", *, allow_zero: bool = False, setting: str | None = None) -> float:
    """A number of seconds in (0, 7 days] (``allow_zero``: [0, 7 days]); ``what`` names the setting.

    Bounded before conversion, so ``10**400`` is a ConfigError rather than an OverflowError. ``allow_zero`` is
    for not_found_grace and outage_limit, where 0 means "no grace: give up at the first such answer"; the CLI
    and the resource both accept it.
    """
    lowest = "0" if allow_zero else "more than 0"
    expected = f"expected {lowest} and at most {MAX_TIMEOUT:g} seconds (7 days)"
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ConfigError(f"invalid {what} {_show(value)}: expected a number of seconds", setting=setting or what)
    if isinstance(value, int) and not -1 <= value <= MAX_TIMEOUT:
        raise ConfigError(f"invalid {what} {_show(value)}: {expected}", setting=setting or what)
    if isinstance(value, str) and len(value.strip()) > _MAX_NUMBER_TEXT:
        raise ConfigError(f"invalid {what} {_show(value)}: expected a number of seconds", setting=setting or what)
    try:
        seconds = float(value)
    except (ValueError, OverflowError):
        raise ConfigError(
            f"invalid {what} {_show(value)}: expected a number of seconds", setting=setting or what
        ) from None
    too_low = seconds < 0 if allow_zero else seconds <= 0
    if not math.isfinite(seconds) or too_low or seconds > MAX_TIMEOUT:
        raise ConfigError(f"invalid {what} {_show(value)}: {expected}", setting=setting or what)
    return seconds


# Requests per second for every wait of a process together (``--max-rate``, ``gaussdb:maxRate``,
# ``GAUSSDB_MAX_RATE``). The floor is the request budget's adaptive floor (one request every 20 s; see
# provider/waiting/budget.py): a lower cap (issue 20: ``1e-300``) would never allow a second poll, and the budget
# could not honour it after a throttle anyway. The ceiling: above the API gateway's limits by far (unverified).
MIN_RATE = 0.05
MAX_RATE = 1000.0


def rate(value: object, what: str = "max rate", *, setting: str = "max_rate") -> float:
    """Requests per second in [MIN_RATE, MAX_RATE] (a string is parsed); raises ConfigError naming ``what``."""
    too_long = isinstance(value, str) and len(value.strip()) > _MAX_NUMBER_TEXT
    try:
        number = (
            float(value)
            if isinstance(value, int | float | str) and not isinstance(value, bool) and not too_long
            else math.nan
        )
    except (ValueError, OverflowError):
        number = math.nan
    if not (math.isfinite(number) and MIN_RATE <= number <= MAX_RATE):
        raise ConfigError(
            f"invalid {what} {_show(value)}: expected requests per second, from {MIN_RATE:g} "
            f"(one request every {1 / MIN_RATE:g} s) to {MAX_RATE:g}",
            setting=setting,
        )
    return number


# Credentials that travel in HTTP headers (tokens, keys) must be Latin-1 without control characters: anything else
# either cannot be sent (UnicodeEncodeError) or would split the header (CR/LF). Those sent in a JSON body (user,
# password, domain) only must not hold control characters.
# A tab is allowed: HTTP field values may hold one (RFC 9110 5.5), and requests sends it as it is.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def credential(value: str, what: str, *, setting: str, in_header: bool = True) -> str:
    """``value`` if it can be sent as a credential; else ConfigError naming ``what`` but never quoting the value."""
    if _CONTROL.search(value):
        raise ConfigError(
            f"invalid {what}: it contains control characters (such as a line break); the value is not shown",
            setting=setting,
        )
    if in_header:
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            raise ConfigError(
                f"invalid {what}: it contains characters outside Latin-1, which an HTTP header cannot carry; "
                "the value is not shown",
                setting=setting,
            ) from None
    return value
