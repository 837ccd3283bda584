"""JSON Web Tokens: HS256 only, every claim required, time read from the injected clock.

``iat`` carries microseconds (a JSON number such as ``1767225600.123456``; RFC 7519 allows
non-integer NumericDates) so that "a password change revokes every token issued before
it" is exact: a token issued a microsecond after the change stays valid, one issued a
microsecond before dies. One ``TokenService`` never issues two tokens in the same
microsecond (a clock that stands still or steps back is nudged forward), so order is exact
within a process; across nodes it is as exact as their clocks agree (NTP: milliseconds).
``exp`` is a whole second, as most clients expect.

PyJWT checks the signature and that the header's ``alg`` is exactly ``HS256``; the times
are checked here against the service's clock rather than PyJWT's wall clock, so that the
clock tests move is the clock that decides.

Verifying a signature and parsing the claims is most of what authenticating a request
costs, and a client sends the same token again and again: the claims of the last
``VERIFIED_CACHE_SIZE`` tokens verified are kept by their exact text (the same text always
has the same signature and claims), and only the times are checked again on each use.
"""

from __future__ import annotations

import hashlib
import math
import threading
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import attrs
import jwt

from lumiku.clock import Clock, utc_now
from lumiku.errors import Unauthorized
from lumiku.roles import Role, is_role

ALGORITHM: Final = "HS256"
REQUIRED_CLAIMS: Final = ("sub", "role", "iat", "exp", "jti")
MIN_SECRET_BYTES: Final = 32
MAX_TOKEN_CHARS: Final = 4096
# Tokens are only ever issued by us, but nodes' clocks drift a little apart.
CLOCK_SKEW: Final = timedelta(seconds=60)
INVALID_TOKEN_MESSAGE: Final = "The token is invalid or has expired; sign in again."  # noqa: S105 - a message

VERIFIED_CACHE_SIZE: Final = 10_000
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)


@attrs.frozen
class IssuedToken:
    """A freshly signed token and the facts a client or a revocation needs about it."""

    token: str = attrs.field(repr=False)
    jti: str
    issued_at: datetime
    expires_at: datetime


@attrs.frozen
class Claims:
    """The verified content of a token."""

    user_id: str
    role: Role
    jti: str
    issued_at: datetime
    expires_at: datetime
    credential: str = ""
    """The credential version the token was issued for (see ``credential_version``)."""


def credential_version(password_hash: str) -> str:
    """Return a short fingerprint of a password hash, carried in tokens as ``cv``.

    A token whose ``cv`` no longer matches the account's hash was issued for an old
    password (e.g. a login that verified the old password while it was being changed)
    and is refused. The fingerprint reveals nothing useful about the hash.
    """
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def _to_microseconds(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


def _from_microseconds(value: int) -> datetime:
    return _EPOCH + value * _MICROSECOND


def _numeric_date_microseconds(value: Any) -> int:
    """Turn a NumericDate into whole microseconds exactly (no float arithmetic)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("not a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("not finite")
    try:
        # repr() is the shortest decimal that round-trips, i.e. the six-decimal value we wrote.
        micros = (Decimal(repr(value)) * 1_000_000).to_integral_value()
    except InvalidOperation as exc:
        raise ValueError("not a date") from exc
    result = int(micros)
    if not 0 <= result <= _to_microseconds(datetime(9999, 1, 1, tzinfo=UTC)):
        raise ValueError("out of range")
    return result


def _invalid() -> Unauthorized:
    return Unauthorized(INVALID_TOKEN_MESSAGE)


class TokenService:
    """Issue and verify HS256 access tokens signed with one secret."""

    def __init__(self, secret: str, expires_in: int, clock: Clock = utc_now) -> None:
        """Sign with ``secret`` (32+ bytes); tokens live ``expires_in`` seconds."""
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"the JWT secret must be at least {MIN_SECRET_BYTES} bytes")
        if expires_in <= 0:
            raise ValueError("expires_in must be a positive number of seconds")
        self._secret = secret
        self._expires_in = expires_in
        self._clock = clock
        self._last_issued = 0
        self._lock = threading.Lock()
        self._verified: dict[str, Claims] = {}

    def _next_issued_microseconds(self) -> int:
        with self._lock:
            micros = max(_to_microseconds(self._clock()), self._last_issued + 1)
            self._last_issued = micros
        return micros

    def issue(self, user_id: str, role: Role, *, credential: str = "") -> IssuedToken:
        """Sign a token for ``user_id`` with ``role``, issued now (and after any earlier one).

        ``credential`` is the ``credential_version`` of the password the caller proved.
        """
        micros = self._next_issued_microseconds()
        issued_at = _from_microseconds(micros)
        exp = micros // 1_000_000 + self._expires_in
        jti = uuid.uuid4().hex
        payload = {
            "sub": user_id,
            "role": role,
            "iat": micros / 1_000_000,
            "exp": exp,
            "jti": jti,
            "cv": credential,
        }
        token = jwt.encode(payload, self._secret, algorithm=ALGORITHM)
        return IssuedToken(
            token=token,
            jti=jti,
            issued_at=issued_at,
            expires_at=_EPOCH + timedelta(seconds=exp),
        )

    def decode(self, token: str) -> Claims:
        """Verify ``token`` and return its claims; raise ``Unauthorized`` on any problem.

        Only ``HS256`` is accepted: ``none``, other HMAC sizes and asymmetric algorithms
        are refused whatever key they were made with. Every claim must be present and well
        typed, ``exp`` must be in the future and ``iat`` not in the future.
        """
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
            raise _invalid()
        claims = self._verified.get(token)
        if claims is None:
            claims = self._verify(token)
            with self._lock:
                if len(self._verified) >= VERIFIED_CACHE_SIZE:
                    self._verified.pop(next(iter(self._verified)))
                self._verified[token] = claims
        now = self._clock()
        if claims.expires_at <= now or claims.issued_at > now + CLOCK_SKEW:
            raise _invalid()
        return claims

    def _verify(self, token: str) -> Claims:
        try:
            payload = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                options={
                    "require": list(REQUIRED_CLAIMS),
                    "verify_signature": True,
                    "verify_exp": False,  # checked below against our clock
                    "verify_iat": False,
                    "verify_nbf": False,
                    "verify_aud": False,
                    "verify_iss": False,
                    "enforce_minimum_key_length": True,
                },
            )
        except (jwt.PyJWTError, UnicodeError) as exc:  # UnicodeError: a lone surrogate
            raise _invalid() from exc
        return self._claims(payload)

    def _claims(self, payload: dict[str, Any]) -> Claims:
        user_id, role, jti = payload["sub"], payload["role"], payload["jti"]
        if not (isinstance(user_id, str) and 0 < len(user_id) <= 36):
            raise _invalid()
        if not (isinstance(jti, str) and 0 < len(jti) <= 64):
            raise _invalid()
        if not is_role(role):
            raise _invalid()
        credential = payload.get("cv", "")
        if not (isinstance(credential, str) and len(credential) <= 64):
            raise _invalid()
        try:
            issued_at = _from_microseconds(_numeric_date_microseconds(payload["iat"]))
            expires_at = _from_microseconds(_numeric_date_microseconds(payload["exp"]))
        except ValueError as exc:
            raise _invalid() from exc
        if expires_at <= issued_at:
            raise _invalid()
        return Claims(
            user_id=user_id,
            role=role,
            jti=jti,
            issued_at=issued_at,
            expires_at=expires_at,
            credential=credential,
        )
