"""Signed file URLs: valid until they expire, and useless once any part is changed."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from lumiku.errors import ConfigurationError, Forbidden
from lumiku.storage.errors import ExpiredSignature, InvalidSignature
from lumiku.storage.signing import UrlSigner

SECRET = b"k" * 32
KEY = "avatar-creator/2025/03/0123456789abcdef0123456789abcdef.png"
NOW = 1_750_000_000


def split(url: str) -> tuple[str, str, str]:
    """Return the key, ``expires`` and ``signature`` of a signed URL."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    return parts.path.removeprefix("/files/"), query["expires"][0], query["signature"][0]


def test_sign_builds_a_files_url() -> None:
    url = UrlSigner(SECRET).sign(KEY, expires_in=600, now=NOW)

    assert url.startswith(f"/files/{KEY}?expires={NOW + 600}&signature=")
    key, expires, signature = split(url)
    assert (key, expires, len(signature)) == (KEY, str(NOW + 600), 64)


def test_a_fresh_url_verifies_and_returns_its_expiry() -> None:
    signer = UrlSigner(SECRET)

    assert signer.verify(*split(signer.sign(KEY, now=NOW)), now=NOW + 3599) == NOW + 3600


def test_expires_may_be_passed_as_an_int() -> None:
    signer = UrlSigner(SECRET)
    key, expires, signature = split(signer.sign(KEY, now=NOW))

    assert signer.verify(key, int(expires), signature, now=NOW) == NOW + 3600


@pytest.mark.parametrize("later", [3600, 3601, 10**9])
def test_an_expired_url_is_forbidden(later: int) -> None:
    signer = UrlSigner(SECRET)

    with pytest.raises(ExpiredSignature, match="expired") as caught:
        signer.verify(*split(signer.sign(KEY, now=NOW)), now=NOW + later)
    assert isinstance(caught.value, Forbidden)


def test_tampering_with_any_part_is_forbidden() -> None:
    signer = UrlSigner(SECRET)
    key, expires, signature = split(signer.sign(KEY, now=NOW))
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    other_key = "avatar-creator/2025/03/ffffffffffffffffffffffffffffffff.png"

    for args in [
        (other_key, expires, signature),
        (key, str(int(expires) + 86_400), signature),
        (key, expires, flipped),
    ]:
        with pytest.raises(InvalidSignature, match="does not match"):
            signer.verify(*args, now=NOW)


def test_a_url_signed_with_another_secret_is_forbidden() -> None:
    url = UrlSigner(b"o" * 32).sign(KEY, now=NOW)

    with pytest.raises(InvalidSignature):
        UrlSigner(SECRET).verify(*split(url), now=NOW)


@pytest.mark.parametrize(
    ("expires", "signature"),
    [(None, None), (None, "a" * 64), (str(NOW + 60), None), ("", ""), (str(NOW + 60), "")],
)
def test_an_unsigned_url_is_forbidden(expires: str | None, signature: str | None) -> None:
    with pytest.raises(InvalidSignature, match="not signed"):
        UrlSigner(SECRET).verify(KEY, expires, signature, now=NOW)


@pytest.mark.parametrize(
    ("expires", "signature"),
    [
        ("soon", "a" * 64),
        ("-5", "a" * 64),
        ("1e12", "a" * 64),
        ("9" * 40, "a" * 64),
        (str(NOW + 60), "A" * 64),
        (str(NOW + 60), "a" * 63),
        (str(NOW + 60), "é" * 64),
        (str(NOW + 60), "a" * 64 + "\n"),
    ],
)
def test_a_malformed_url_is_forbidden(expires: str, signature: str) -> None:
    with pytest.raises(InvalidSignature, match="malformed"):
        UrlSigner(SECRET).verify(KEY, expires, signature, now=NOW)


def test_keys_are_quoted_in_the_url() -> None:
    url = UrlSigner(SECRET).sign("outputs/a b#c", now=NOW)

    assert url.startswith("/files/outputs/a%20b%23c?")


def test_a_short_secret_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="at least 32"):
        UrlSigner(b"short")


@pytest.mark.parametrize("expires_in", [0, -1, 7 * 24 * 3600 + 1])
def test_expires_in_is_bounded(expires_in: int) -> None:
    with pytest.raises(ValueError, match="expires_in"):
        UrlSigner(SECRET).sign(KEY, expires_in=expires_in)


def test_the_secret_is_not_in_the_repr() -> None:
    assert "k" * 32 not in repr(UrlSigner(SECRET))


def test_a_signer_derived_from_a_master_secret_is_stable_and_purpose_bound() -> None:
    master = "m" * 48
    url = UrlSigner.from_master_secret(master).sign(KEY, now=NOW)

    assert UrlSigner.from_master_secret(master).verify(*split(url), now=NOW) == NOW + 3600
    with pytest.raises(InvalidSignature):
        UrlSigner(master.encode()).verify(*split(url), now=NOW)
    with pytest.raises(ConfigurationError, match="JWT_SECRET"):
        UrlSigner.from_master_secret("short")
