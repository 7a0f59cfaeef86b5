"""Request authentication as pluggable ``requests`` auth objects: AK/SK signing, a static IAM token, and the
IAM password flow. They are built by ``provider.taskcenter.compose`` from ``provider.config.credentials`` when a
client is made, and hold credentials only while the client lives; they are never pickled into Pulumi state.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.auth import AuthBase

from provider.config.credentials import remember_secret
from provider.core import deadline as deadlines
from provider.core.errors import ApiError, AuthError
from provider.wire import retry_after, signer
from provider.wire.jsondepth import json_too_deep
from provider.wire.transport import DEFAULT_TRANSPORT, Transport, read_body


class AkSkAuth(AuthBase):
    """Signs each request with ``SDK-HMAC-SHA256`` over Host, X-Sdk-Date and, for temporary keys,
    X-Security-Token (signed too, so it cannot be swapped in transit)."""

    def __init__(self, access_key: str, secret_key: str, security_token: str | None = None) -> None:
        self._access_key = access_key
        self._secret_key = secret_key
        self._security_token = security_token

    def __repr__(self) -> str:
        return f"AkSkAuth(access_key={self._access_key[:4]}***)"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        parts = urlsplit(request.url or "")
        timestamp = signer.timestamp_now()
        request.headers["Host"] = parts.netloc
        request.headers[signer.DATE_HEADER] = timestamp
        if self._security_token:
            request.headers["X-Security-Token"] = self._security_token
        signed = sorted(
            {"host", "x-sdk-date", "content-type", "x-security-token"} & {k.lower() for k in request.headers}
        )
        body = request.body.encode("utf-8") if isinstance(request.body, str) else request.body
        request.headers["Authorization"] = signer.sign(
            access_key=self._access_key,
            secret_key=self._secret_key,
            method=request.method or "GET",
            path=parts.path,
            query=signer.query_pairs(parts.query),
            headers=request.headers,
            signed=signed,
            body=body,
            timestamp=timestamp,
        )
        return request


class TokenAuth(AuthBase):
    """A ready IAM token in ``X-Auth-Token``; when it is refused there is nothing to renew it with."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "TokenAuth(***)"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["X-Auth-Token"] = self._token
        return request


class _CachedToken:
    def __init__(self, value: str, renew_at: float) -> None:
        self.value = value
        self.renew_at = renew_at


# Tokens are cached per process (the Pulumi plugin serves every resource of a stack from one process) and
# keyed without the password itself.
_TOKENS: dict[tuple[str, ...], _CachedToken] = {}
_TOKENS_LOCK = threading.Lock()


# A token goes into a header: visible ASCII only (IAM's are a few KB of base64-like text).
_TOKEN = re.compile(r"[!-~]{1,16384}")
DEFAULT_TOKEN_LIFETIME = 24 * 3600.0
# Logins when IAM answers 201 without a usable token: the first and one more (issue 20: it was never asked again).
UNUSABLE_TOKEN_LOGINS = 2


def _iam_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    # IAM's times are UTC; one without an offset is read as UTC, so naive and aware times can be compared.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _lifetime(body: bytes) -> float:
    """The token's lifetime in seconds from IAM's own pair of times (a skewed local clock does not matter);
    24 h (IAM's default) when the body does not say, or says something impossible."""
    try:
        info = json.loads(body).get("token") if not json_too_deep(body) else None
    except (ValueError, AttributeError):
        info = None
    if not isinstance(info, dict):
        return DEFAULT_TOKEN_LIFETIME
    expires, issued = _iam_time(info.get("expires_at")), _iam_time(info.get("issued_at"))
    if expires is None or issued is None:
        return DEFAULT_TOKEN_LIFETIME
    lifetime = (expires - issued).total_seconds()
    if not 0 < lifetime <= 7 * DEFAULT_TOKEN_LIFETIME:
        # Expiring before it was issued would mean a login before every request: not believed.
        return DEFAULT_TOKEN_LIFETIME
    return lifetime


class PasswordAuth(AuthBase):
    """IAM user/password, exchanged for a project-scoped token at ``{auth_url}/auth/tokens``.

    The token is renewed before it expires (a tenth of its lifetime early, at most 5 minutes) and once when the
    API refuses it with 401, like ``requests``' digest auth re-sends after a challenge.
    """

    def __init__(
        self,
        auth_url: str,
        user: str,
        password: str,
        domain: str,
        project_id: str,
        clock: Any = time.monotonic,
        *,
        transport: Transport = DEFAULT_TRANSPORT,
    ) -> None:
        self._auth_url = auth_url.rstrip("/")
        self._user = user
        self._password = password
        self._domain = domain
        self._project_id = project_id
        self._clock = clock
        # The transport the client was built with (``provider.taskcenter.compose``): the login follows the same
        # timeouts, size cap and retry policy as the calls it authenticates.
        self._transport = transport
        digest = hashlib.sha256(f"{user}\0{password}\0{domain}".encode()).hexdigest()
        self._key = (self._auth_url, project_id, digest)
        self._session: requests.Session | None = None

    def __repr__(self) -> str:
        return f"PasswordAuth(user={self._user!r}, domain={self._domain!r})"

    def _issue(self) -> _CachedToken:
        body = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {"name": self._user, "password": self._password, "domain": {"name": self._domain}}
                    },
                },
                "scope": {"project": {"id": self._project_id}},
            }
        }
        session = self._session = self._session or self._transport.session()
        url = f"{self._auth_url}/auth/tokens"
        # An answer that says the login worked (201) but carries no usable token is a glitch of the gateway, not a
        # refusal: asked once more (``UNUSABLE_TOKEN_LOGINS`` logins at most, within the same deadline).
        for login in range(1, UNUSABLE_TOKEN_LOGINS + 1):
            response = self._login(session, url, body)
            token = response.headers.get("X-Subject-Token")
            usable = response.status_code == 201 and bool(token) and _TOKEN.fullmatch(token or "") is not None
            if usable or response.status_code != 201 or login == UNUSABLE_TOKEN_LOGINS:
                break
        if response.status_code in (400, 401, 403):
            raise AuthError(
                f"IAM refused the password login for user {self._user!r} in domain "
                f"{self._domain!r} (HTTP {response.status_code})"
            )
        if not usable or token is None:
            raise ApiError(
                f"IAM answered HTTP {response.status_code} without a usable token",
                status=response.status_code,
                transient=response.status_code == 429 or response.status_code >= 500,
                retry_after=retry_after.seconds(
                    response.headers.get("Retry-After"), limit=float(self._transport.retry_after_max)
                ),
            )
        lifetime = _lifetime(response.content)
        margin = min(300.0, lifetime / 10)
        remember_secret(token)
        return _CachedToken(token, self._clock() + max(0.0, lifetime - margin))

    def _login(self, session: requests.Session, url: str, body: dict[str, Any]) -> requests.Response:
        # Through the transport: the login gets no more time than the task-center call it authenticates (its
        # deadline is inherited), and its answer is read within the size cap.
        try:
            # Asking for a token twice is harmless: the one login POST that may be retried.
            return self._transport.fetch(session, "POST", url, json=body, repeatable=True)
        except requests.RequestException as exc:
            raise ApiError(
                f"could not reach IAM at {urlsplit(url).netloc}: {type(exc).__name__}", transient=True
            ) from None

    def token(self, *, refused: str | None = None) -> str:
        # One login at a time; a caller waits for another's login no longer than its own call may last, so a
        # hung IAM holds back no other job past its deadline.
        deadline = deadlines.current()
        wait = -1.0 if deadline is None else max(0.0, deadline - time.monotonic())
        if not _TOKENS_LOCK.acquire(timeout=wait):
            raise ApiError("IAM login still in progress at the deadline", transient=True)
        try:
            cached = _TOKENS.get(self._key)
            stale = cached is None or self._clock() >= cached.renew_at or cached.value == refused
            if stale:
                cached = self._issue()
                _TOKENS[self._key] = cached
            assert cached is not None
            return cached.value
        finally:
            _TOKENS_LOCK.release()

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["X-Auth-Token"] = self.token()
        request.register_hook("response", self._retry_on_401)  # type: ignore[no-untyped-call]
        return request

    def _retry_on_401(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        if response.status_code != 401 or getattr(response.request, "_gaussdb_retried", False):
            return response
        sent = response.request.headers.get("X-Auth-Token")
        try:
            read_body(response)  # drain (within the cap) so the connection returns to the pool
        except requests.RequestException:
            pass  # the connection is dropped instead
        response.close()
        retry = response.request.copy()
        retry._gaussdb_retried = True  # type: ignore[attr-defined]
        retry.headers["X-Auth-Token"] = self.token(refused=sent)
        again: requests.Response = response.connection.send(retry, **kwargs)
        again.history.append(response)
        again.request = retry
        return again
