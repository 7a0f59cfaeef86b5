"""The composition root: settings and credentials resolved once, in one place, into a client.

Both the resource's check (to fail a preview early) and every client (the resource's waits, the CLI) go through
``resolve``, so what check accepts is exactly what a wait will use.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from requests.auth import AuthBase

from provider.config import settings as settings_module
from provider.config.credentials import Credentials, discover, secret_values
from provider.config.settings import Settings
from provider.config.words import SettingError
from provider.taskcenter.client import TaskCenterClient
from provider.wire.auth import AkSkAuth, PasswordAuth, TokenAuth
from provider.wire.transport import DEFAULT_TRANSPORT, Transport


@dataclass(frozen=True)
class Resolved:
    settings: Settings
    credentials: Credentials


def resolve(args: Mapping[str, Any], config: Mapping[str, Any], env: Mapping[str, str]) -> Resolved:
    """Settings (argument > stack config > environment) and credentials (stack config > environment), checked;
    raises ``ConfigError`` naming what is missing or wrong. Sends nothing."""
    settings = settings_module.resolve(args, config, env)
    credentials = discover(config, env)
    if credentials.kind == "password" and settings.auth_url is None:
        raise SettingError(
            "IAM password login needs the IAM URL: set {auth_url} (or {region} to derive it from)", setting="auth_url"
        )
    return Resolved(settings, credentials)


def auth_for(resolved: Resolved, transport: Transport | None = None) -> AuthBase:
    """The request handler for these credentials; the IAM login (password) goes through ``transport``."""
    c, s = resolved.credentials, resolved.settings
    if c.kind == "aksk":
        assert c.access_key and c.secret_key
        return AkSkAuth(c.access_key, c.secret_key, c.security_token)
    if c.kind == "token":
        assert c.token
        return TokenAuth(c.token)
    assert s.auth_url and c.user and c.password and c.domain
    return PasswordAuth(
        s.auth_url, c.user, c.password, c.domain, s.project_id, transport=transport or DEFAULT_TRANSPORT
    )


def client_for(
    args: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    *,
    transport: Transport | None = None,
) -> TaskCenterClient:
    """A client for these settings and credentials (argument > stack config > environment). It scrubs every
    configured credential (and every IAM token issued to this process) from what the server sends back."""
    config, env = config or {}, os.environ if env is None else env
    resolved = resolve(args or {}, config, env)
    return TaskCenterClient(
        resolved.settings,
        auth_for(resolved, transport),
        transport=transport,
        secrets=lambda: secret_values(config, env),
    )
