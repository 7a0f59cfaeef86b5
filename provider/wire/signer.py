"""AK/SK request signing, ``SDK-HMAC-SHA256`` as Huawei Cloud's API gateway verifies it.

The canonical form is a pure function of the request parts so that the emulator can verify with exactly the
code the client signs with, and a test can compare it byte for byte with the official SDK's signer.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote, unquote, urlsplit

ALGORITHM = "SDK-HMAC-SHA256"
DATE_HEADER = "X-Sdk-Date"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
CONTENT_SHA256_HEADER = "X-Sdk-Content-Sha256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def _encode(value: str) -> str:
    return quote(value, safe="~")


def canonical_uri(path: str) -> str:
    """Each segment of the decoded path percent-encoded, with a trailing slash (the gateway's rule)."""
    encoded = "/".join(_encode(segment) for segment in unquote(path).split("/"))
    return encoded if encoded.endswith("/") else encoded + "/"


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    return "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(pairs))


def query_pairs(raw_query: str) -> list[tuple[str, str]]:
    """Decode a query string the way servers do (``+`` is a space), keeping blank values."""
    return parse_qsl(raw_query, keep_blank_values=True)


def canonical_headers(headers: Mapping[str, str], signed: Iterable[str]) -> str:
    lowered = {k.lower(): str(v).strip() for k, v in headers.items()}
    return "".join(f"{name}:{lowered[name]}\n" for name in signed)


def payload_hash(body: bytes | None, headers: Mapping[str, str]) -> str:
    if not body:
        return EMPTY_SHA256
    for key, value in headers.items():
        if key.lower() == CONTENT_SHA256_HEADER.lower():
            return value
    return hashlib.sha256(body).hexdigest()


def canonical_request(
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    signed: list[str],
    body: bytes | None,
) -> str:
    return "\n".join(
        [
            method.upper(),
            canonical_uri(path),
            canonical_query(query),
            canonical_headers(headers, signed),
            ";".join(signed),
            payload_hash(body, headers),
        ]
    )


def string_to_sign(canonical: str, timestamp: str) -> str:
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{timestamp}\n{digest}"


def signature(secret_key: str, text: str) -> str:
    return hmac.new(secret_key.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).hexdigest()


def authorization(access_key: str, signed: list[str], sig: str) -> str:
    return f"{ALGORITHM} Access={access_key}, SignedHeaders={';'.join(signed)}, Signature={sig}"


def sign(
    *,
    access_key: str,
    secret_key: str,
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    signed: list[str],
    body: bytes | None,
    timestamp: str,
) -> str:
    """The ``Authorization`` header value for a request whose headers already hold ``X-Sdk-Date``."""
    canonical = canonical_request(method, path, query, headers, signed, body)
    return authorization(access_key, signed, signature(secret_key, string_to_sign(canonical, timestamp)))


def timestamp_now() -> str:
    return datetime.now(UTC).strftime(DATE_FORMAT)


def parse_timestamp(value: str) -> datetime:
    return datetime.strptime(value, DATE_FORMAT).replace(tzinfo=UTC)


@dataclass(frozen=True)
class ParsedAuthorization:
    access_key: str
    signed_headers: list[str]
    signature: str


def parse_authorization(value: str) -> ParsedAuthorization | None:
    """Split an ``SDK-HMAC-SHA256 Access=..., SignedHeaders=..., Signature=...`` header; None if malformed."""
    prefix = ALGORITHM + " "
    if not value.startswith(prefix):
        return None
    fields: dict[str, str] = {}
    for part in value[len(prefix) :].split(","):
        key, sep, val = part.strip().partition("=")
        if not sep:
            return None
        fields[key] = val
    try:
        signed = [h for h in fields["SignedHeaders"].split(";") if h]
        return ParsedAuthorization(fields["Access"], signed, fields["Signature"])
    except KeyError:
        return None


def verify(
    *,
    secret_key: str,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    auth: ParsedAuthorization,
) -> bool:
    """Server side: recompute the signature over the headers the client named, compare in constant time."""
    lowered = {k.lower(): v for k, v in headers.items()}
    if any(name not in lowered for name in auth.signed_headers) or DATE_HEADER.lower() not in lowered:
        return False
    parts = urlsplit(url)
    canonical = canonical_request(method, parts.path, query_pairs(parts.query), lowered, auth.signed_headers, body)
    expected = signature(secret_key, string_to_sign(canonical, lowered[DATE_HEADER.lower()]))
    return hmac.compare_digest(expected, auth.signature)
