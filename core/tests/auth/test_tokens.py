"""TokenService: what it issues, and every forged or broken token it must refuse."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import warnings
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from jwt.warnings import InsecureKeyLengthWarning

from lumiku.auth import TokenService
from lumiku.auth.tokens import INVALID_TOKEN_MESSAGE
from lumiku.errors import Unauthorized
from lumiku.testing import ManualClock

SECRET = "test-secret-0123456789-abcdefghijklmnop"
USER_ID = "0b6f5d2e-2f0c-4d9e-9f57-4b0a8e1c2d3f"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: Any, payload: Any, sign: Any = None, *, raw: str | None = None) -> str:
    """Build a token by hand; ``sign(signing_input) -> bytes`` makes the signature."""
    body = raw if raw is not None else json.dumps(payload)
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(body.encode())}"
    signature = sign(signing_input.encode()) if sign else b""
    return f"{signing_input}.{_b64(signature)}"


def hmac_with(key: str, digest: Any = hashlib.sha256) -> Any:
    return lambda data: hmac.new(key.encode(), data, digest).digest()


def claims_at(clock: ManualClock, **overrides: Any) -> dict[str, Any]:
    now = clock().timestamp()
    claims: dict[str, Any] = {
        "sub": USER_ID,
        "role": "user",
        "iat": now,
        "exp": int(now) + 600,
        "jti": "f" * 32,
    }
    claims.update(overrides)
    return {key: value for key, value in claims.items() if value is not None}


def assert_refused(service: TokenService, token: Any) -> None:
    with pytest.raises(Unauthorized) as caught:
        service.decode(token)
    assert caught.value.message == INVALID_TOKEN_MESSAGE


# --- what it issues ---------------------------------------------------------------------


def test_issued_token_round_trips(tokens: TokenService, clock: ManualClock) -> None:
    issued = tokens.issue(USER_ID, "admin")
    claims = tokens.decode(issued.token)
    assert claims.user_id == USER_ID
    assert claims.role == "admin"
    assert claims.jti == issued.jti
    assert claims.issued_at == issued.issued_at == clock()
    assert claims.expires_at == issued.expires_at
    assert timedelta(seconds=3599) < issued.expires_at - clock() <= timedelta(seconds=3600)


def test_header_and_claims_are_the_documented_ones(tokens: TokenService) -> None:
    issued = tokens.issue(USER_ID, "user")
    assert jwt.get_unverified_header(issued.token) == {"alg": "HS256", "typ": "JWT"}
    payload = jwt.decode(issued.token, options={"verify_signature": False})
    assert set(payload) == {"sub", "role", "iat", "exp", "jti", "cv"}
    assert isinstance(payload["exp"], int)


def test_iat_keeps_microseconds_exactly(clock: ManualClock) -> None:
    for micros in (0, 1, 999_999, 123_456, 500_001):
        clock.now = datetime(2099, 12, 31, 23, 59, 58, micros, tzinfo=UTC)
        service = TokenService(SECRET, 60, clock)
        assert service.decode(service.issue(USER_ID, "user").token).issued_at == clock.now


def test_tokens_are_issued_in_strict_order_even_on_a_frozen_clock(
    tokens: TokenService, clock: ManualClock
) -> None:
    first, second = tokens.issue(USER_ID, "user"), tokens.issue(USER_ID, "user")
    assert first.issued_at == clock()
    assert second.issued_at == clock() + timedelta(microseconds=1)
    clock.advance(seconds=-10)
    assert tokens.issue(USER_ID, "user").issued_at == clock() + timedelta(
        seconds=10, microseconds=2
    )
    clock.advance(seconds=20)
    assert tokens.issue(USER_ID, "user").issued_at == clock()


def test_each_token_has_its_own_jti(tokens: TokenService) -> None:
    assert len({tokens.issue(USER_ID, "user").jti for _ in range(50)}) == 50


def test_repr_does_not_show_the_token_or_the_secret(tokens: TokenService) -> None:
    issued = tokens.issue(USER_ID, "user")
    assert issued.token not in repr(issued)
    assert SECRET not in repr(tokens)


def test_refuses_short_secrets_and_bad_lifetimes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        TokenService("too-short", 60)
    with pytest.raises(ValueError, match="positive"):
        TokenService(SECRET, 0)


# --- algorithm attacks ------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_refuses_alg_none(tokens: TokenService, clock: ManualClock, alg: str) -> None:
    assert_refused(tokens, forge({"alg": alg, "typ": "JWT"}, claims_at(clock)))


def test_refuses_alg_none_even_with_a_valid_hs256_signature(
    tokens: TokenService, clock: ManualClock
) -> None:
    token = forge({"alg": "none"}, claims_at(clock), hmac_with(SECRET))
    assert_refused(tokens, token)


@pytest.mark.parametrize(("alg", "digest"), [("HS384", hashlib.sha384), ("HS512", hashlib.sha512)])
def test_refuses_other_hmac_sizes_signed_with_the_secret(
    tokens: TokenService, clock: ManualClock, alg: str, digest: Any
) -> None:
    token = forge({"alg": alg, "typ": "JWT"}, claims_at(clock), hmac_with(SECRET, digest))
    # The forgery is well made: PyJWT accepts it when told to allow that algorithm.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        assert jwt.decode(token, SECRET, algorithms=[alg], options={"verify_exp": False})
    assert_refused(tokens, token)


@pytest.mark.parametrize(
    ("alg", "digest"),
    [("RS256", hashlib.sha256), ("ES256", hashlib.sha256), ("PS256", hashlib.sha256)],
)
def test_refuses_asymmetric_headers_with_the_secret_as_hmac_key(
    tokens: TokenService, clock: ManualClock, alg: str, digest: Any
) -> None:
    token = forge({"alg": alg, "typ": "JWT"}, claims_at(clock), hmac_with(SECRET, digest))
    assert_refused(tokens, token)


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "hs256"},
        {"alg": ["HS256"]},
        {"alg": 5},
        {"alg": "HS256", "b64": False},
        {"alg": "HS256", "crit": ["exp"]},
        ["HS256"],
        "HS256",
        None,
    ],
)
def test_refuses_odd_headers_even_when_signed_with_the_secret(
    tokens: TokenService, clock: ManualClock, header: Any
) -> None:
    assert_refused(tokens, forge(header, claims_at(clock), hmac_with(SECRET)))


def test_refuses_a_header_without_alg(tokens: TokenService, clock: ManualClock) -> None:
    assert_refused(tokens, forge({"typ": "JWT"}, claims_at(clock), hmac_with(SECRET)))


# --- signature ----------------------------------------------------------------------------


def test_refuses_a_token_signed_with_another_secret(
    tokens: TokenService, clock: ManualClock
) -> None:
    other = TokenService("another-secret-0123456789-abcdefghijk", 3600, clock)
    assert_refused(tokens, other.issue(USER_ID, "user").token)


def test_refuses_a_tampered_signature(tokens: TokenService) -> None:
    token = tokens.issue(USER_ID, "user").token
    head, payload, signature = token.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert_refused(tokens, f"{head}.{payload}.{flipped}")
    assert_refused(tokens, f"{head}.{payload}.")


def test_refuses_a_tampered_payload(tokens: TokenService, clock: ManualClock) -> None:
    token = tokens.issue(USER_ID, "user").token
    head, _, signature = token.split(".")
    promoted = _b64(json.dumps(claims_at(clock, role="admin")).encode())
    assert_refused(tokens, f"{head}.{promoted}.{signature}")


# --- time ---------------------------------------------------------------------------------


def test_refuses_an_expired_token(tokens: TokenService, clock: ManualClock) -> None:
    issued = tokens.issue(USER_ID, "user")
    clock.now = issued.expires_at - timedelta(microseconds=1)
    tokens.decode(issued.token)
    clock.now = issued.expires_at
    assert_refused(tokens, issued.token)


def test_refuses_a_token_issued_in_the_future(tokens: TokenService, clock: ManualClock) -> None:
    now = clock().timestamp()
    token = jwt.encode(claims_at(clock, iat=now + 120, exp=int(now) + 600), SECRET)
    assert_refused(tokens, token)


def test_refuses_exp_before_iat(tokens: TokenService, clock: ManualClock) -> None:
    now = clock().timestamp()
    clock.advance(seconds=-30)
    token = jwt.encode(claims_at(clock, iat=now + 10, exp=int(now) + 5), SECRET)
    assert_refused(tokens, token)


# --- claims -------------------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["sub", "role", "iat", "exp", "jti"])
def test_refuses_a_token_missing_a_claim(
    tokens: TokenService, clock: ManualClock, missing: str
) -> None:
    payload = claims_at(clock)
    del payload[missing]
    assert_refused(tokens, jwt.encode(payload, SECRET, algorithm="HS256"))


@pytest.mark.parametrize(
    "overrides",
    [
        {"sub": 42},
        {"sub": ""},
        {"sub": "x" * 37},
        {"role": "ADMIN"},
        {"role": "Admin"},
        {"role": "superuser"},
        {"role": ["admin"]},
        {"jti": 7},
        {"jti": ""},
        {"jti": "j" * 65},
        {"iat": "yesterday"},
        {"iat": True},
        {"iat": -5},
        {"exp": "tomorrow"},
        {"exp": 1e300},
    ],
)
def test_refuses_ill_typed_claims(
    tokens: TokenService, clock: ManualClock, overrides: dict[str, Any]
) -> None:
    token = jwt.encode(claims_at(clock, **overrides), SECRET, algorithm="HS256")
    assert_refused(tokens, token)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_refuses_non_finite_dates(tokens: TokenService, clock: ManualClock, literal: str) -> None:
    raw = json.dumps(claims_at(clock)).replace('"iat": ', f'"iat": {literal}, "x": ', 1)
    assert_refused(tokens, forge({"alg": "HS256", "typ": "JWT"}, None, hmac_with(SECRET), raw=raw))


# --- malformed strings --------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        "",
        " ",
        "abc",
        "a.b",
        "a.b.c",
        "a.b.c.d",
        "...",
        "%%%.%%%.%%%",
        "Bearer x.y.z",
        "eyJhbGciOiJIUzI1NiJ9.e30",
        "x" * 5000,
        None,
        b"bytes.are.not",
        12345,
        "\ud800",  # a lone surrogate (a realtime client's JSON auth can carry one)
        "\ud800.a.b",
        "é.é.é",
    ],
)
def test_refuses_malformed_tokens(tokens: TokenService, token: Any) -> None:
    assert_refused(tokens, token)


@pytest.mark.parametrize("raw", ["not json", "[1, 2, 3]", '"a string"', "null", "{"])
def test_refuses_payloads_that_are_not_json_objects(tokens: TokenService, raw: str) -> None:
    assert_refused(tokens, forge({"alg": "HS256", "typ": "JWT"}, None, hmac_with(SECRET), raw=raw))


def test_a_valid_token_with_surrounding_whitespace_is_refused(tokens: TokenService) -> None:
    # The HTTP layer strips the "Bearer " prefix; anything else is not our token.
    assert_refused(tokens, " " + tokens.issue(USER_ID, "user").token)
