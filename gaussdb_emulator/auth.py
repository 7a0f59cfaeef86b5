"""Credential checks of the API gateway (AK/SK signatures, tokens) and of IAM's password grant.

Error messages are built from fixed text only: a message must never echo a credential back, since clients
log them.
"""

from __future__ import annotations

import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from provider.wire.signer import DATE_HEADER, parse_authorization, parse_timestamp, verify

MAX_CLOCK_SKEW = 15 * 60
IAM_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
DEFAULT_PROJECT_NAME = "eu-de"
# Project names are region names, optionally with a sub-project suffix: "eu-de", "ap-southeast-1", "eu-de_x".
_PROJECT_NAME = re.compile(r"^[a-z]{2,}(-[a-z]+)+(-\d+)?(_[A-Za-z0-9_-]+)?$")

SECURITY_TOKEN_HEADER = "x-security-token"  # noqa: S105 - a header name
AUTH_TOKEN_HEADER = "x-auth-token"  # noqa: S105 - a header name


class AuthError(Exception):
    """The gateway refuses the credentials (401)."""


class IamError(Exception):
    """IAM refuses a token request; carries the HTTP status and IAM's title."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.status, "message": self.message, "title": self.title}}


@dataclass(frozen=True)
class Credentials:
    project_id: str
    access_key: str
    secret_key: str
    temp_access_key: str
    temp_secret_key: str
    security_token: str
    token: str
    user: str
    password: str
    domain: str


@dataclass(frozen=True)
class IssuedToken:
    token: str
    issued_at: datetime
    expires_at: datetime


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def iam_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(IAM_TIME_FORMAT)


class TokenStore:
    """Tokens issued by the emulated IAM, each valid for ``ttl`` seconds of wall-clock time."""

    def __init__(self, ttl: float, *, clock: Callable[[], float] = time.time) -> None:
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._expiry: dict[str, float] = {}

    def issue(self) -> IssuedToken:
        now = self._clock()
        token = "MIIEMU" + secrets.token_urlsafe(48)
        with self._lock:
            # Dropping the dead ones here keeps a long-running emulator's memory flat without a sweeper thread.
            self._expiry = {t: exp for t, exp in self._expiry.items() if exp > now}
            self._expiry[token] = now + self.ttl
        return IssuedToken(
            token,
            datetime.fromtimestamp(now, UTC),
            datetime.fromtimestamp(now + self.ttl, UTC),
        )

    def is_valid(self, token: str) -> bool:
        with self._lock:
            expiry = self._expiry.get(token)
        return expiry is not None and self._clock() < expiry

    def revoke_all(self) -> int:
        with self._lock:
            count = len(self._expiry)
            self._expiry.clear()
        return count


class Authenticator:
    """Decides whether a task-center request carries acceptable credentials."""

    def __init__(self, credentials: Credentials, tokens: TokenStore, *, clock: Callable[[], float] = time.time) -> None:
        self.credentials = credentials
        self.tokens = tokens
        self._clock = clock

    def authenticate(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> str:
        """Return how the caller authenticated ("aksk", "temporary-aksk" or "token"); raise AuthError if not.

        ``headers`` must have lower-case names; ``target`` is the request target as sent (path and query).
        """
        authorization = headers.get("authorization")
        if authorization is not None:
            return self._signature(method, target, headers, body, authorization)
        token = headers.get(AUTH_TOKEN_HEADER)
        if token is not None:
            if _same(token, self.credentials.token) or self.tokens.is_valid(token):
                return "token"
            raise AuthError("the token is invalid or has expired")
        raise AuthError("no Authorization or X-Auth-Token header")

    def _signature(self, method: str, target: str, headers: Mapping[str, str], body: bytes, authorization: str) -> str:
        creds = self.credentials
        parsed = parse_authorization(authorization)
        if parsed is None:
            raise AuthError("malformed Authorization header")
        date = headers.get(DATE_HEADER.lower())
        if date is None:
            raise AuthError(f"missing {DATE_HEADER} header")
        try:
            signed_at = parse_timestamp(date).timestamp()
        except ValueError:
            raise AuthError(f"malformed {DATE_HEADER} header") from None
        if abs(self._clock() - signed_at) > MAX_CLOCK_SKEW:
            raise AuthError(f"{DATE_HEADER} is more than 15 minutes away from the server time")
        security_token = headers.get(SECURITY_TOKEN_HEADER)
        if _same(parsed.access_key, creds.access_key):
            secret, kind = creds.secret_key, "aksk"
            if security_token is not None:
                raise AuthError("a security token was sent with a permanent access key")
        elif _same(parsed.access_key, creds.temp_access_key):
            secret, kind = creds.temp_secret_key, "temporary-aksk"
            if security_token is None:
                raise AuthError("a temporary access key needs an X-Security-Token header")
            if not _same(security_token, creds.security_token):
                raise AuthError("the security token is invalid or has expired")
        else:
            raise AuthError("unknown access key")
        if not verify(secret_key=secret, method=method, url=target, headers=headers, body=body or None, auth=parsed):
            raise AuthError("the signature does not match")
        return kind

    def grant_password_token(self, payload: object) -> tuple[IssuedToken, dict[str, Any]]:
        """IAM ``POST /v3/auth/tokens`` with the password method: the new token and the response body."""
        creds = self.credentials
        user, project = _parse_password_request(payload)
        name, password, domain = user
        if not (_same(name, creds.user) and _same(password, creds.password) and _same(domain, creds.domain)):
            raise IamError(401, "Unauthorized", "The username or password is wrong.")
        scope_key, scope_value = project
        if scope_value == creds.project_id:
            project_name = DEFAULT_PROJECT_NAME
        elif scope_key == "name" and _PROJECT_NAME.match(scope_value):
            project_name = scope_value
        else:
            raise IamError(401, "Unauthorized", "The project does not exist or is not accessible.")
        issued = self.tokens.issue()
        body = {
            "token": {
                "expires_at": iam_time(issued.expires_at),
                "issued_at": iam_time(issued.issued_at),
                "methods": ["password"],
                "project": {
                    "id": creds.project_id,
                    "name": project_name,
                    "domain": {"name": creds.domain},
                },
                "user": {"name": creds.user, "domain": {"name": creds.domain}},
            }
        }
        return issued, body


def _member(value: object, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise IamError(400, "Bad Request", f"{path} must be an object")
    return value


def _text(container: dict[str, Any], key: str, path: str) -> str:
    value = container.get(key)
    if not isinstance(value, str) or not value:
        raise IamError(400, "Bad Request", f"{path}.{key} must be a non-empty string")
    return value


def _parse_password_request(payload: object) -> tuple[tuple[str, str, str], tuple[str, str]]:
    auth = _member(_member(payload, "body").get("auth"), "auth")
    identity = _member(auth.get("identity"), "auth.identity")
    methods = identity.get("methods")
    if not isinstance(methods, list) or "password" not in methods:
        raise IamError(400, "Bad Request", 'auth.identity.methods must contain "password"')
    user = _member(_member(identity.get("password"), "auth.identity.password").get("user"), "...password.user")
    domain = _member(user.get("domain"), "...user.domain")
    domain_ref = domain.get("name", domain.get("id"))
    if not isinstance(domain_ref, str) or not domain_ref:
        raise IamError(400, "Bad Request", "...user.domain needs a name or an id")
    password = user.get("password")
    if not isinstance(password, str):
        raise IamError(400, "Bad Request", "...user.password must be a string")
    scope = _member(auth.get("scope"), "auth.scope (a project scope is required)")
    project = _member(scope.get("project"), "auth.scope.project")
    if "id" in project:
        scope_ref = ("id", _text(project, "id", "auth.scope.project"))
    else:
        scope_ref = ("name", _text(project, "name", "auth.scope.project"))
    return (_text(user, "name", "...user"), password, domain_ref), scope_ref
