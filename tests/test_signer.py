"""The AK/SK signer, proven byte for byte against the official Huawei Cloud SDK's signer."""

from __future__ import annotations

import random
import string
from urllib.parse import urlsplit

import pytest
import requests
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer
from hypothesis import given, settings
from hypothesis import strategies as st

from provider.wire import signer
from provider.wire.auth import AkSkAuth

AK, SK = "EXAMPLEAK0123456789A", "example/secret+key=0123456789abcdefghijklm"
RESERVED = "!#$&'()*+,/:;=?@[]% \"<>\\^`{|}"
UNICODE = "éü中文ß😀ж"


def _text(rng: random.Random, alphabet: str, low: int = 0, high: int = 12) -> str:
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(low, high)))


def _request(rng: random.Random) -> dict[str, object]:
    alphabet = string.ascii_letters + string.digits + "-._~" + RESERVED + UNICODE
    segments = [_text(rng, alphabet.replace("/", "").replace("%", ""), 1, 10) for _ in range(rng.randint(0, 5))]
    path = "/" + "/".join(segments) + ("/" if rng.random() < 0.2 else "")
    query = [(_text(rng, alphabet, 1, 8), _text(rng, alphabet, 0, 10)) for _ in range(rng.randint(0, 5))]
    if query and rng.random() < 0.3:
        query.append((query[0][0], _text(rng, alphabet, 0, 6)))  # a repeated key
    headers = {
        "Host": rng.choice(["127.0.0.1:8080", "gaussdb-mysql.eu-de.otc.t-systems.com", "[::1]:9000"]),
        signer.DATE_HEADER: f"2026{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}"
        f"{rng.randint(0, 59):02d}{rng.randint(0, 59):02d}Z",
    }
    for _ in range(rng.randint(0, 4)):
        name = "X-" + _text(rng, string.ascii_letters + string.digits + "-", 1, 10)
        headers[name] = rng.choice(["", "  padded value  ", _text(rng, string.printable.strip() + UNICODE, 0, 20)])
    method = rng.choice(["GET", "POST", "PUT", "DELETE", "PATCH", "get"])
    body = rng.choice([None, b"", b'{"a": 1}', "ünïcode body".encode()]) if method.upper() != "GET" else None
    if body and rng.random() < 0.5:
        headers["Content-Type"] = "application/json"
    return {"method": method, "path": path, "query": query, "headers": headers, "body": body}


def _sdk_authorization(
    method: str, path: str, query: list[tuple[str, str]], headers: dict[str, str], body: bytes | None
) -> str:
    request = SdkRequest(
        method=method,
        schema="https",
        host=headers["Host"],
        resource_path=path,
        query_params=list(query),
        header_params=dict(headers),
        body=body,
    )
    signed = Signer(BasicCredentials(AK, SK)).sign(request)
    return str(signed.header_params["Authorization"])


def test_canonical_form_matches_the_sdk_on_1000_generated_requests() -> None:
    rng = random.Random(20261128)
    for case in range(1000):
        req = _request(rng)
        headers: dict[str, str] = req["headers"]  # type: ignore[assignment]
        signed = sorted(h.lower() for h in headers)
        ours = signer.sign(
            access_key=AK,
            secret_key=SK,
            method=req["method"],  # type: ignore[arg-type]
            path=req["path"],  # type: ignore[arg-type]
            query=req["query"],  # type: ignore[arg-type]
            headers=headers,
            signed=signed,
            body=req["body"],  # type: ignore[arg-type]
            timestamp=headers[signer.DATE_HEADER],
        )
        sdk = _sdk_authorization(req["method"], req["path"], req["query"], headers, req["body"])  # type: ignore[arg-type]
        assert ours == sdk, f"case {case}: {req!r}"


def test_signed_requests_as_sent_match_the_sdk_over_what_the_server_sees() -> None:
    """End to end through requests' URL preparation: what AkSkAuth signs is what a server recomputes."""
    rng = random.Random(7)
    alphabet = string.ascii_letters + string.digits + "-._~" + "!$'()*+,;=:@ " + UNICODE
    for case in range(300):
        segments = [_text(rng, alphabet, 1, 8) for _ in range(rng.randint(1, 4))]
        params = [
            (_text(rng, alphabet + "&=?/#%", 1, 6), _text(rng, alphabet + "&=?/#%", 0, 8))
            for _ in range(rng.randint(0, 4))
        ]
        token = rng.choice([None, "temporary-security-token"])
        prepared = requests.Request("GET", "https://example.test:8443/" + "/".join(segments), params=params).prepare()
        AkSkAuth(AK, SK, token)(prepared)
        parts = urlsplit(prepared.url or "")
        parsed = signer.parse_authorization(prepared.headers["Authorization"])
        assert parsed is not None
        sent = {name: prepared.headers[name] for name in prepared.headers if name.lower() in parsed.signed_headers}
        sdk = _sdk_authorization("GET", parts.path, signer.query_pairs(parts.query), sent, None)
        assert prepared.headers["Authorization"] == sdk, f"case {case}: {prepared.url}"
        assert signer.verify(
            secret_key=SK, method="GET", url=prepared.url or "", headers=prepared.headers, body=None, auth=parsed
        )
        assert ("x-security-token" in parsed.signed_headers) == (token is not None)


def test_verify_rejects_a_tampered_request() -> None:
    prepared = requests.Request("GET", "https://h/v3/p/jobs", params={"id": "a"}).prepare()
    AkSkAuth(AK, SK)(prepared)
    parsed = signer.parse_authorization(prepared.headers["Authorization"])
    assert parsed is not None
    tampered = (prepared.url or "").replace("id=a", "id=b")
    assert not signer.verify(
        secret_key=SK, method="GET", url=tampered, headers=prepared.headers, body=None, auth=parsed
    )
    assert not signer.verify(
        secret_key="other", method="GET", url=prepared.url or "", headers=prepared.headers, body=None, auth=parsed
    )


@pytest.mark.parametrize("value", ["", "Basic abc", "SDK-HMAC-SHA256 Access=a", "SDK-HMAC-SHA256 junk"])
def test_malformed_authorization_headers_are_refused(value: str) -> None:
    assert signer.parse_authorization(value) is None


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=0, max_size=30), st.lists(st.tuples(st.text(max_size=10), st.text(max_size=10)), max_size=5))
def test_canonicalisation_properties(path: str, query: list[tuple[str, str]]) -> None:
    uri = signer.canonical_uri("/" + path)
    assert uri.endswith("/") and uri.isascii()
    canonical = signer.canonical_query(query)
    assert canonical.isascii() and " " not in canonical
    # Order of parameters does not change the canonical form.
    assert signer.canonical_query(list(reversed(query))) == canonical
    # Encoding is idempotent through decoding: a server decoding and re-encoding gets the same form.
    assert signer.canonical_query(signer.query_pairs(canonical)) == canonical
