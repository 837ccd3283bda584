"""Password hashing (argon2id) and the password policy.

Hashing parameters follow the OWASP Password Storage Cheat Sheet's first argon2id
configuration: 19 MiB of memory, 2 passes, 1 lane. That is about 40 ms per hash on one
server core and bounds memory at 19 MiB per concurrent login, which a small instance can
afford under a login storm (RFC 9106's 64 MiB x 4 lanes costs ~3.5x more per request).
Raising them later is safe: ``needs_rehash`` tells the login to re-hash old passwords.

Passwords are NFKC-normalized before hashing and before the policy counts characters, so
the same passphrase typed on two keyboards (composed or decomposed accents, full-width
digits) is the same password, as NIST SP 800-63B recommends.
"""

from __future__ import annotations

import importlib.resources
import os
import re
import threading
import unicodedata
from collections.abc import Iterable
from typing import Final, Protocol

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

from lumiku.errors import ValidationFailed

MIN_LENGTH: Final = 12
MAX_LENGTH: Final = 128

# Letters that people swap for look-alike digits and symbols ("p@ssw0rd").
_LEET_I: Final = str.maketrans("@4310!$57", "aaeioisst")
_LEET_L: Final = str.maketrans("@4310!$57", "aaeloisst")
_NOT_LETTER: Final = r"[^\w]|[\d_]"
_LEADING: Final = re.compile(rf"^(?:{_NOT_LETTER})+")
_TRAILING: Final = re.compile(rf"(?:{_NOT_LETTER})+$")
_SEPARATORS: Final = re.compile(r"[\s._\-]+")
# Runs that people type along a row of keys or the alphabet ("abcdefghijkl", "1qaz2wsx...").
_SEQUENCES: Final = (
    "0123456789",
    "abcdefghijklmnopqrstuvwxyz",
    "qwertyuiopasdfghjklzxcvbnm",
    "qwertzuiopasdfghjklyxcvbnm",
    "azertyuiopqsdfghjklmwxcvbn",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
    "qazwsxedcrfvtgbyhnujmikolp",
    "1q2w3e4r5t6y7u8i9o0p",
)
_SHORT_UNIT: Final = 4


def normalize_password(password: str) -> str:
    """Return the NFKC form of ``password``: what is hashed and what the policy measures."""
    return unicodedata.normalize("NFKC", password)


class PasswordHasher(Protocol):
    """What the auth service needs from a password hasher (tests pass counting fakes)."""

    def hash(self, password: str) -> str:
        """Return a self-describing hash of ``password`` with a fresh salt."""
        ...

    def verify(self, password_hash: str, password: str) -> bool:
        """Return whether ``password`` matches ``password_hash``; never raise on a mismatch."""
        ...

    def needs_rehash(self, password_hash: str) -> bool:
        """Return whether ``password_hash`` was made with other parameters than today's."""
        ...


class Argon2Hasher:
    """Hash passwords with argon2id (argon2-cffi); tests may pass tiny costs.

    Each hash or verification takes ``memory_cost`` KiB (19 MiB) and a core for a moment:
    at most ``max_concurrent`` run at once (default: the number of cores, at least 2), so
    forty sign-ins at once cost 2 x 19 MiB rather than 760 MiB, and queue for the CPU they
    would share anyway.
    """

    def __init__(
        self,
        *,
        time_cost: int = 2,
        memory_cost: int = 19_456,
        parallelism: int = 1,
        max_concurrent: int | None = None,
    ) -> None:
        """Use ``time_cost`` passes over ``memory_cost`` KiB in ``parallelism`` lanes."""
        self._slots = threading.BoundedSemaphore(max_concurrent or max(2, os.cpu_count() or 2))
        self._hasher = argon2.PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_cost,
            parallelism=parallelism,
            type=argon2.Type.ID,
        )

    def hash(self, password: str) -> str:
        """Return the argon2id hash of the normalized ``password``."""
        with self._slots:
            return str(self._hasher.hash(normalize_password(password)))

    def verify(self, password_hash: str, password: str) -> bool:
        """Return whether ``password`` matches; a malformed hash is a mismatch, not an error."""
        try:
            with self._slots:
                return bool(self._hasher.verify(password_hash, normalize_password(password)))
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """Return whether ``password_hash`` should be replaced by one with today's parameters."""
        try:
            return bool(self._hasher.check_needs_rehash(password_hash))
        except (InvalidHashError, ValueError):
            return True


def load_common_passwords() -> frozenset[str]:
    """Read the packaged list of common passwords (lowercase, ``#`` comments skipped)."""
    text = (
        importlib.resources.files("lumiku.auth")
        .joinpath("common_passwords.txt")
        .read_text(encoding="utf-8")
    )
    return frozenset(
        line.strip().casefold()
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    )


def _repeated_unit(text: str) -> str | None:
    """Return the shortest unit that ``text`` repeats ("abcabc" -> "abc"), if any."""
    for size in range(1, len(text) // 2 + 1):
        if len(text) % size == 0 and text[:size] * (len(text) // size) == text:
            return text[:size]
    return None


def _is_sequence(text: str) -> bool:
    for sequence in _SEQUENCES:
        for run in (sequence, sequence[::-1]):
            if text in run * (len(text) // len(run) + 2):
                return True
    return False


def _variants(folded: str) -> set[str]:
    """Return what ``folded`` looks like with its simple decorations undone."""
    bases = {folded, _SEPARATORS.sub("", folded)}
    cores: set[str] = set()
    for base in bases:
        trailing = _TRAILING.sub("", base)
        leading = _LEADING.sub("", base)
        cores |= {base, trailing, leading, _LEADING.sub("", trailing)}
    variants = set(cores)
    for core in cores:
        variants |= {core.translate(_LEET_I), core.translate(_LEET_L)}
    variants.discard("")
    return variants


class PasswordPolicy:
    """The rules a new password must meet: length, not common, not the email."""

    def __init__(self, common_passwords: Iterable[str]) -> None:
        """Refuse the passwords in ``common_passwords`` and their simple variations."""
        self._common = frozenset(word.casefold() for word in common_passwords)

    @classmethod
    def default(cls) -> PasswordPolicy:
        """Build the policy with the packaged list of common passwords."""
        return cls(load_common_passwords())

    def problem(self, password: str, *, email: str | None = None) -> str | None:
        """Return why ``password`` is refused (a short phrase), or ``None`` if it is fine."""
        normalized = normalize_password(password)
        if len(normalized) < MIN_LENGTH:
            return (
                f"must be at least {MIN_LENGTH} characters; "
                "a few unrelated words make a strong, memorable one"
            )
        if len(normalized) > MAX_LENGTH:
            return f"must be at most {MAX_LENGTH} characters"
        folded = normalized.casefold()
        variants = _variants(folded)
        if email and self._is_email(variants, email):
            return "must not be your email address or built from it"
        if self._is_common(folded, variants):
            return (
                "is too common or too easy to guess (a well-known password, a repeated or "
                "keyboard pattern, or one with a few digits added); choose another one"
            )
        return None

    def check(self, password: str, *, email: str | None = None, field: str = "password") -> None:
        """Raise ``ValidationFailed`` naming ``field`` if ``password`` breaks the policy."""
        problem = self.problem(password, email=email)
        if problem is not None:
            raise ValidationFailed(f"The password {problem}.", details={"fields": {field: problem}})

    def _is_email(self, variants: set[str], email: str) -> bool:
        address = email.strip().casefold()
        local = address.partition("@")[0]
        return bool(variants & {address, local})

    def _is_common(self, folded: str, variants: set[str]) -> bool:
        if variants & self._common:
            return True
        compact = _SEPARATORS.sub("", folded)
        if _is_sequence(compact):
            return True
        for candidate in variants | {compact}:
            unit = _repeated_unit(candidate)
            if unit is not None and (len(unit) <= _SHORT_UNIT or unit in self._common):
                return True
        return False
