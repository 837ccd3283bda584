"""Expiring file URLs signed with HMAC-SHA256, so files are served without a session cookie."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from urllib.parse import quote, urlencode

from lumiku.errors import ConfigurationError
from lumiku.storage.errors import ExpiredSignature, InvalidSignature
from lumiku.wording import plural

MIN_SECRET_BYTES = 32
MAX_EXPIRES_IN = 7 * 24 * 3600

# Versioned and purpose-bound, so a MAC made with the same secret for anything else can
# never pass as a file URL signature.
_CONTEXT = b"lumiku.files.v1\x00"
_EXPIRES_RE = re.compile(r"[0-9]{1,12}", re.ASCII)
_SIGNATURE_RE = re.compile(r"[0-9a-f]{64}", re.ASCII)


class UrlSigner:
    """Sign file keys into ``/files/<key>?expires=..&signature=..`` URLs, and verify them."""

    def __init__(self, secret: bytes, *, prefix: str = "/files") -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise ConfigurationError(
                f"The file URL signing secret has {len(secret)} bytes and needs at least "
                f"{MIN_SECRET_BYTES}; derive it from a long random secret."
            )
        self._secret = secret
        self._prefix = prefix.rstrip("/")

    @classmethod
    def from_master_secret(cls, master: str, *, prefix: str = "/files") -> UrlSigner:
        """Return a signer whose key is derived from ``master`` (such as ``JWT_SECRET``).

        The derived key is bound to this purpose, so it is never the master secret itself
        and a file URL signature can never be replayed as a token signature or vice versa.
        """
        if len(master) < MIN_SECRET_BYTES:
            raise ConfigurationError(
                f"The master secret for file URLs has {plural(len(master), 'character')} and "
                f"needs at least {MIN_SECRET_BYTES}; set a long random JWT_SECRET."
            )
        key = hmac.new(master.encode("utf-8"), _CONTEXT + b"signing key", hashlib.sha256)
        return cls(key.digest(), prefix=prefix)

    def __repr__(self) -> str:
        return f"UrlSigner(prefix={self._prefix!r})"

    @property
    def prefix(self) -> str:
        """Return the path the signed URLs start with (``/files``)."""
        return self._prefix

    def sign(self, key: str, *, expires_in: int = 3600, now: float | None = None) -> str:
        """Return a URL path for ``key`` that stays valid for ``expires_in`` seconds."""
        if not 0 < expires_in <= MAX_EXPIRES_IN:
            raise ValueError(
                f"expires_in must be between 1 and {MAX_EXPIRES_IN} seconds, got {expires_in}"
            )
        issued = time.time() if now is None else now
        expires = int(issued) + expires_in
        query = urlencode({"expires": expires, "signature": self._mac(key, expires)})
        return f"{self._prefix}/{quote(key, safe='/')}?{query}"

    def verify(
        self,
        key: str,
        expires: str | int | None,
        signature: str | None,
        *,
        now: float | None = None,
    ) -> int:
        """Check the signature of ``key`` and return its expiry time (unix seconds).

        Raises ``InvalidSignature`` when the URL is unsigned, malformed or tampered with,
        and ``ExpiredSignature`` when it was valid but its time has passed.
        """
        if expires is None or expires == "" or not signature:
            raise InvalidSignature(
                "This file URL is not signed; ask the API for a fresh link to the file.",
                details={"reason": "unsigned"},
            )
        expires_at = _parse_expires(expires)
        if not _SIGNATURE_RE.fullmatch(signature):
            raise InvalidSignature(
                "The file URL's signature is malformed (64 lowercase hex digits expected); "
                "use the link exactly as the API returned it.",
                details={"reason": "malformed"},
            )
        if not hmac.compare_digest(self._mac(key, expires_at), signature):
            raise InvalidSignature(
                "The file URL's signature does not match its path or expiry; it was changed "
                "after signing. Use the link exactly as the API returned it.",
                details={"reason": "mismatch"},
            )
        current = time.time() if now is None else now
        if current >= expires_at:
            raise ExpiredSignature(
                "This file URL has expired; ask the API for a fresh link to the file.",
                details={"expires": expires_at},
            )
        return expires_at

    def _mac(self, key: str, expires: int) -> str:
        message = (
            _CONTEXT + str(expires).encode("ascii") + b"\x00" + key.encode("utf-8", "surrogatepass")
        )
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()


def _parse_expires(expires: str | int) -> int:
    if isinstance(expires, int) and not isinstance(expires, bool) and expires >= 0:
        return expires
    if isinstance(expires, str) and _EXPIRES_RE.fullmatch(expires):
        return int(expires)
    raise InvalidSignature(
        "The file URL's expiry is malformed (unix seconds expected); use the link exactly "
        "as the API returned it.",
        details={"reason": "malformed"},
    )
