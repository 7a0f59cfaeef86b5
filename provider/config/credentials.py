"""Where credentials come from, which values are secret, and ``redact``, the last guard for text we print.

Credentials are discovered here (stack config > environment) at the moment a client is built, handed to the
request handlers in ``provider.auth``, and never kept on anything Pulumi serializes. Every secret value this
process has seen (configured ones, and IAM tokens issued to it) can be listed, so any message can be scrubbed.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, quote_plus

from provider.config.words import SettingError
from provider.core import validate
from provider.core.sanitize import strip_userinfo

# (stack config key, environment variables in order of preference)
ACCESS_KEY = ("accessKey", "HW_ACCESS_KEY", "OS_ACCESS_KEY")
SECRET_KEY = ("secretKey", "HW_SECRET_KEY", "OS_SECRET_KEY")
SECURITY_TOKEN = ("securityToken", "HW_SECURITY_TOKEN", "OS_SECURITY_TOKEN")
AUTH_TOKEN = ("authToken", "HW_AUTH_TOKEN", "OS_AUTH_TOKEN")
USER_NAME = ("userName", "HW_USER_NAME", "OS_USERNAME")
PASSWORD = ("password", "HW_PASSWORD", "OS_PASSWORD")
DOMAIN_NAME = ("domainName", "HW_DOMAIN_NAME", "OS_DOMAIN_NAME")
# Every credential value is scrubbed from what the server sends back, the access key included: it is not a
# secret on its own, but it is half of a pair and has no business in outputs or logs.
SECRET_SOURCES = (ACCESS_KEY, SECRET_KEY, SECURITY_TOKEN, AUTH_TOKEN, PASSWORD)
# (source, what messages call it, the resource/config setting it is blamed on, whether it travels in a header)
_CHECKED = (
    (ACCESS_KEY, "access key", "access_key", True),
    (SECRET_KEY, "secret key", "secret_key", True),
    (SECURITY_TOKEN, "security token", "security_token", True),
    (AUTH_TOKEN, "IAM token", "auth_token", True),
    (USER_NAME, "IAM user name", "user_name", False),
    (PASSWORD, "IAM password", "password", False),
    (DOMAIN_NAME, "IAM domain name", "domain_name", False),
)

# Stack config keys this project reads, all under the ``gaussdb:`` namespace.
CONFIG_KEYS = (
    "projectId",
    "region",
    "endpoint",
    "apiPath",
    "service",
    "authUrl",
    "maxRate",
    "listApi",
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


def _checked(config: Mapping[str, Any], env: Mapping[str, str], source: tuple[str, ...]) -> str | None:
    """``lookup``, refusing a value that cannot be sent (control characters; outside Latin-1 for a header)."""
    value = lookup(config, env, source)
    if value is None:
        return None
    _, what, setting, in_header = next(row for row in _CHECKED if row[0] == source)
    where = f"gaussdb:{source[0]} or {'/'.join(source[1:])}"
    return validate.credential(value, f"{what} ({where})", setting=setting, in_header=in_header)


def discover(config: Mapping[str, Any], env: Mapping[str, str]) -> Credentials:
    """The credentials to use; ConfigError when they are incomplete or hold what cannot be sent (the message
    names the setting, never the value). Every configured credential is checked, used or not."""
    for source, *_ in _CHECKED:
        _checked(config, env, source)
    ak, sk = lookup(config, env, ACCESS_KEY), lookup(config, env, SECRET_KEY)
    if ak or sk:
        if not (ak and sk):
            raise SettingError(
                "incomplete AK/SK: set both {access_key} and {secret_key}",
                setting="secret_key" if ak else "access_key",
            )
        return Credentials("aksk", access_key=ak, secret_key=sk, security_token=lookup(config, env, SECURITY_TOKEN))
    token = lookup(config, env, AUTH_TOKEN)
    if token:
        return Credentials("token", token=token)
    user, password = lookup(config, env, USER_NAME), lookup(config, env, PASSWORD)
    domain = lookup(config, env, DOMAIN_NAME)
    if user or password:
        if not (user and password and domain):
            raise SettingError(
                "incomplete IAM login: set {user_name}, {password} and {domain_name}", setting="password"
            )
        return Credentials("password", user=user, password=password, domain=domain)
    raise SettingError("no credentials: set {aksk}, {auth_token}, or {login}")


def remember_secret(value: str) -> None:
    """Register a secret obtained at run time (an issued IAM token) for redaction."""
    with _RUNTIME_LOCK:
        _RUNTIME_SECRETS.add(value)


def runtime_secrets() -> list[str]:
    """The secrets this process obtained at run time (issued IAM tokens)."""
    with _RUNTIME_LOCK:
        return list(_RUNTIME_SECRETS)


def secret_values(config: Mapping[str, Any], env: Mapping[str, str]) -> list[str]:
    """Every configured secret and every token issued to this process, for redacting text."""
    values = [lookup(config, env, source) for source in SECRET_SOURCES]
    with _RUNTIME_LOCK:
        values.extend(_RUNTIME_SECRETS)
    return [v for v in values if v]


def secret_forms(secret: str) -> list[str]:
    """``secret`` as it may appear in text: itself, JSON-escaped (ASCII or not), URL-encoded (upper- or lower-case
    escapes, ``+`` for spaces or not), Python's repr and ascii forms, and the repr of its bytes, as a library
    error quotes a header value (``Invalid header value b'...'``)."""
    forms = {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],
        ascii(secret)[1:-1],
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
    }
    for encoding in ("utf-8", "latin-1"):
        try:
            forms.add(repr(secret.encode(encoding))[2:-1])
        except UnicodeEncodeError:
            pass
    forms |= {re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), form) for form in forms}
    return [form for form in forms if len(form) >= MIN_REDACTED_LENGTH]


@functools.lru_cache(maxsize=64)
def _patterns(secrets: tuple[str, ...]) -> tuple[str, ...]:
    # Longest first, so that a form containing another is removed whole.
    return tuple(sorted({form for secret in secrets for form in secret_forms(secret)}, key=len, reverse=True))


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` without any form (``secret_forms``) of any of ``secrets``, nor the userinfo of a URL; values
    shorter than ``MIN_REDACTED_LENGTH`` are skipped so as not to mangle words."""
    for form in _patterns(tuple(sorted({s for s in secrets if s and len(s) >= MIN_REDACTED_LENGTH}))):
        if form in text:
            text = text.replace(form, "***")
    return strip_userinfo(text)


def redact_value(value: Any, secrets: Iterable[str | None]) -> Any:
    """A JSON-like value (dicts, lists, strings) with ``redact`` applied to every string in it, keys included:
    for scrubbing what the server sent *before* anything serializes it (``json.dumps`` would escape a secret
    holding ``"`` or a tab into a form that text redaction afterwards might not meet whole)."""
    known = [s for s in secrets if s]
    if not known:
        return value

    def scrub(item: Any) -> Any:
        if isinstance(item, str):
            return redact(item, known)
        if isinstance(item, dict):
            return {scrub(k) if isinstance(k, str) else k: scrub(v) for k, v in item.items()}
        if isinstance(item, list | tuple):
            return [scrub(v) for v in item]
        return item

    return scrub(value)
