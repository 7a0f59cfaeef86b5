"""Checks on user input, run before anything is sent. Each returns the cleaned value or raises ConfigError."""

from __future__ import annotations

import ipaddress
import math
import re
from urllib.parse import urlsplit

from provider.core.errors import ConfigError

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
    text = _strip_userinfo(repr(value)) if isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _strip_userinfo(text: str) -> str:
    return re.sub(r"(?i)([a-z][a-z0-9+.-]*://)[^/@]*@", r"\1***@", text)


def job_id(value: object) -> str:
    if not isinstance(value, str) or not _JOB_ID.fullmatch(value):
        raise ConfigError(
            f"invalid job id {_show(value)}: expected a task-center job id such as a9767ede-fe0f-4888-9003-e843a4c90514"
        )
    return value.lower()


def split_ids(text: str) -> list[str]:
    """A comma-separated list of ids (as read-replica calls answer ``"id1,id2"``), blanks dropped; unchecked."""
    return [part.strip() for part in text.split(",") if part.strip()]


def project_id(value: object) -> str:
    if not isinstance(value, str) or not _PROJECT_ID.fullmatch(value):
        raise ConfigError(
            f"invalid project id {_show(value)}: expected 32 hexadecimal digits "
            "(see 'Obtaining a Project ID' in the API reference)"
        )
    return value.lower()


def is_loopback(host: str) -> bool:
    if host.lower() in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def endpoint(value: object, what: str = "endpoint") -> str:
    """A base URL: https anywhere, http only to loopback (the emulator), no credentials, query or fragment."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"invalid {what} {_show(value)}: expected a URL such as https://host")
    text = value.strip().rstrip("/")
    if _URL_FORBIDDEN.search(text):
        raise ConfigError(f"invalid {what} {_show(value)}: whitespace, control characters or backslashes in the URL")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        del exc  # its text may quote the netloc, userinfo included
        raise ConfigError(f"invalid {what} {_show(value)}: not a valid URL (check the host and port)") from None
    host = parts.hostname or ""
    if parts.scheme not in {"https", "http"} or not host:
        raise ConfigError(f"invalid {what} {_show(value)}: expected https://host[:port]")
    if "@" in parts.netloc or parts.query or parts.fragment:
        raise ConfigError(f"invalid {what} {_show(value)}: no credentials, query or fragment allowed")
    if parts.scheme == "http" and not is_loopback(host):
        raise ConfigError(f"refusing plain http to non-loopback host {host!r} in {what}: use https")
    del port
    return text


def api_path(value: object) -> str:
    """A path prefix such as /v3: refused rather than normalised when it has ``.``/``..`` or empty segments, so
    the URL requested is exactly the one configured."""
    path = value.rstrip("/") if isinstance(value, str) else ""
    if not path or not _API_PATH.fullmatch(path) or any(seg in {".", ".."} for seg in path.split("/")):
        raise ConfigError(f"invalid API path {_show(value)}: expected something like /v3 or /mysql/v3")
    return path


def timeout(value: object, what: str = "timeout", *, allow_zero: bool = False) -> float:
    """A number of seconds in (0, 7 days] (``allow_zero``: [0, 7 days]); ``what`` names the setting.

    Bounded before conversion, so ``10**400`` is a ConfigError rather than an OverflowError. ``allow_zero`` is
    for not_found_grace and outage_limit, where 0 means "no grace: give up at the first such answer"; the CLI
    and the resource both accept it.
    """
    lowest = "0" if allow_zero else "more than 0"
    expected = f"expected {lowest} and at most {MAX_TIMEOUT:g} seconds (7 days)"
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ConfigError(f"invalid {what} {_show(value)}: expected a number of seconds")
    if isinstance(value, int) and not -1 <= value <= MAX_TIMEOUT:
        raise ConfigError(f"invalid {what} {_show(value)}: {expected}")
    if isinstance(value, str) and len(value.strip()) > _MAX_NUMBER_TEXT:
        raise ConfigError(f"invalid {what} {_show(value)}: expected a number of seconds")
    try:
        seconds = float(value)
    except (ValueError, OverflowError):
        raise ConfigError(f"invalid {what} {_show(value)}: expected a number of seconds") from None
    too_low = seconds < 0 if allow_zero else seconds <= 0
    if not math.isfinite(seconds) or too_low or seconds > MAX_TIMEOUT:
        raise ConfigError(f"invalid {what} {_show(value)}: {expected}")
    return seconds
