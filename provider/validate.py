"""Checks on user input, run before anything is sent. Each returns the cleaned value or raises ConfigError."""

from __future__ import annotations

import ipaddress
import math
import re
from urllib.parse import urlsplit

from provider.errors import ConfigError

# Task-center job ids are UUIDs; refusing anything else catches typos at once instead of after the
# not-found grace period, and keeps paths, queries and control characters out of the request.
_JOB_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# Keystone project ids, as used by Huawei Cloud and Open Telekom Cloud: 32 hex digits.
_PROJECT_ID = re.compile(r"^[0-9a-fA-F]{32}$")
_API_PATH = re.compile(r"^(/[A-Za-z0-9._~-]+)+$")
MAX_TIMEOUT = 7 * 24 * 3600.0


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def job_id(value: object) -> str:
    if not isinstance(value, str) or not _JOB_ID.match(value):
        raise ConfigError(
            f"invalid job id {_show(value)}: expected a task-center job id such as a9767ede-fe0f-4888-9003-e843a4c90514"
        )
    return value.lower()


def project_id(value: object) -> str:
    if not isinstance(value, str) or not _PROJECT_ID.match(value):
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
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"invalid {what} {_show(value)}: {exc}") from None
    host = parts.hostname or ""
    if parts.scheme not in {"https", "http"} or not host:
        raise ConfigError(f"invalid {what} {_show(value)}: expected https://host[:port]")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ConfigError(f"invalid {what} {_show(value)}: no credentials, query or fragment allowed")
    if parts.scheme == "http" and not is_loopback(host):
        raise ConfigError(f"refusing plain http to non-loopback host {host!r} in {what}: use https")
    del port
    return text


def api_path(value: object) -> str:
    if not isinstance(value, str) or not _API_PATH.match(value.rstrip("/") or "/x"):
        raise ConfigError(f"invalid API path {_show(value)}: expected something like /v3 or /mysql/v3")
    return value.rstrip("/")


def timeout(value: object, what: str = "timeout") -> float:
    """A number of seconds in (0, 7 days]; ``what`` names the setting in the message."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ConfigError(f"invalid {what} {_show(value)}: expected a number of seconds")
    try:
        seconds = float(value)
    except ValueError:
        raise ConfigError(f"invalid {what} {_show(value)}: expected a number of seconds") from None
    if not math.isfinite(seconds) or seconds <= 0 or seconds > MAX_TIMEOUT:
        raise ConfigError(
            f"invalid {what} {_show(value)}: expected more than 0 and at most {MAX_TIMEOUT:g} seconds (7 days)"
        )
    return seconds
