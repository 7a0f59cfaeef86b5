"""Where credentials come from, which values are secret, and ``redact``, the last guard for text we print.

Credentials are discovered here (stack config > environment) at the moment a client is built, handed to the
request handlers in ``provider.auth``, and never kept on anything Pulumi serializes. Every secret value this
process has seen (configured ones, and IAM tokens issued to it) can be listed, so any message can be scrubbed.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from provider.config.words import SettingError

# (stack config key, environment variables in order of preference)
ACCESS_KEY = ("accessKey", "HW_ACCESS_KEY", "OS_ACCESS_KEY")
SECRET_KEY = ("secretKey", "HW_SECRET_KEY", "OS_SECRET_KEY")
SECURITY_TOKEN = ("securityToken", "HW_SECURITY_TOKEN", "OS_SECURITY_TOKEN")
AUTH_TOKEN = ("authToken", "HW_AUTH_TOKEN", "OS_AUTH_TOKEN")
USER_NAME = ("userName", "HW_USER_NAME", "OS_USERNAME")
PASSWORD = ("password", "HW_PASSWORD", "OS_PASSWORD")
DOMAIN_NAME = ("domainName", "HW_DOMAIN_NAME", "OS_DOMAIN_NAME")
SECRET_SOURCES = (SECRET_KEY, SECURITY_TOKEN, AUTH_TOKEN, PASSWORD)

# Stack config keys this project reads, all under the ``gaussdb:`` namespace.
CONFIG_KEYS = (
    "projectId",
    "region",
    "endpoint",
    "apiPath",
    "service",
    "authUrl",
    "maxRate",
    *(source[0] for source in (ACCESS_KEY, SECRET_KEY, SECURITY_TOKEN, AUTH_TOKEN, USER_NAME, PASSWORD, DOMAIN_NAME)),
)

# Secrets this process obtained at run time (IAM tokens), so messages can be scrubbed of them too.
_RUNTIME_SECRETS: set[str] = set()
_RUNTIME_LOCK = threading.Lock()

MIN_REDACTED_LENGTH = 4


def first(*values: Any) -> Any:
    for value in values:
        if value is not None and not (isinstance(value, str) and not value.strip()):
            return value.strip() if isinstance(value, str) else value
    return None


def config_value(config: Mapping[str, Any], key: str) -> Any:
    """Stack config arrives namespaced (``gaussdb:projectId``); accept the bare key too."""
    return first(config.get(f"gaussdb:{key}"), config.get(key))


def lookup(config: Mapping[str, Any], env: Mapping[str, str], source: tuple[str, ...]) -> str | None:
    """A value from stack config, else from the first environment variable of ``source`` that is set."""
    key, *names = source
    value = config_value(config, key)
    if value is None:
        value = first(*(env.get(name) for name in names))
    return None if value is None else str(value)


@dataclass(frozen=True)
class Credentials:
    """The first configured of: AK/SK (with security token), IAM token, IAM user/password. ``repr`` hides them."""

    kind: str  # "aksk" | "token" | "password"
    access_key: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    security_token: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    domain: str | None = None

    def __reduce__(self) -> Any:
        raise TypeError("credentials are never pickled")


def discover(config: Mapping[str, Any], env: Mapping[str, str]) -> Credentials:
    ak, sk = lookup(config, env, ACCESS_KEY), lookup(config, env, SECRET_KEY)
    if ak or sk:
        if not (ak and sk):
            raise SettingError("incomplete AK/SK: set both {access_key} and {secret_key}")
        return Credentials("aksk", access_key=ak, secret_key=sk, security_token=lookup(config, env, SECURITY_TOKEN))
    token = lookup(config, env, AUTH_TOKEN)
    if token:
        return Credentials("token", token=token)
    user, password = lookup(config, env, USER_NAME), lookup(config, env, PASSWORD)
    domain = lookup(config, env, DOMAIN_NAME)
    if user or password:
        if not (user and password and domain):
            raise SettingError("incomplete IAM login: set {user_name}, {password} and {domain_name}")
        return Credentials("password", user=user, password=password, domain=domain)
    raise SettingError("no credentials: set {aksk}, {auth_token}, or {login}")


def remember_secret(value: str) -> None:
    """Register a secret obtained at run time (an issued IAM token) for redaction."""
    with _RUNTIME_LOCK:
        _RUNTIME_SECRETS.add(value)


def secret_values(config: Mapping[str, Any], env: Mapping[str, str]) -> list[str]:
    """Every configured secret and every token issued to this process, for redacting text."""
    values = [lookup(config, env, source) for source in SECRET_SOURCES]
    with _RUNTIME_LOCK:
        values.extend(_RUNTIME_SECRETS)
    return [v for v in values if v]


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every known secret value in ``text``; very short values are skipped so as not to mangle words.

    URL userinfo (``https://user:pw@host``) is removed as well, whatever it holds.
    """
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        if len(secret) >= MIN_REDACTED_LENGTH:
            text = text.replace(secret, "***")
    return _strip_userinfo(text)


def _strip_userinfo(text: str) -> str:
    if "@" not in text or "://" not in text:
        return text
    return re.sub(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]*@", r"\1***@", text)
