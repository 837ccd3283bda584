"""Email addresses as account keys: normalized to lowercase, checked for a plausible shape.

The check is deliberately modest (one ``@``, a dotted domain of DNS labels, no spaces or
control characters, RFC 5321 lengths): deliverability is proven by mail, not by a regex.
Addresses are ASCII only, so that look-alike Unicode addresses cannot shadow real ones, and
an address is refused (never folded) when Unicode normalization (NFKC, case folding) would
change its non-ASCII characters into another address: ``quac\u212a@example.com`` (a Kelvin
sign) is not taken as ``quack@example.com``. Only ASCII whitespace around it is trimmed.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from lumiku.errors import ValidationFailed

MAX_LENGTH: Final = 320
MAX_LOCAL_LENGTH: Final = 64
MAX_DOMAIN_LENGTH: Final = 255
_LOCAL: Final = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~.-]+$")
_LABEL: Final = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_ASCII_SPACE: Final = " \t\r\n\f\v"
NOT_ASCII: Final = "must contain only ASCII characters (use the punycode form of the domain)"


def normalize_email(email: str) -> str:
    """Return ``email`` trimmed (ASCII whitespace) and lowercased: the form stored and compared.

    Use :func:`identifier_problem` (or :func:`checked_email`) first: this folds the case of
    ASCII letters only, and a non-ASCII address it returns is not acceptable.
    """
    trimmed = email.strip(_ASCII_SPACE)
    if not trimmed.isascii():
        return trimmed  # never folded: str.lower() turns a Kelvin sign into "k"
    return trimmed.lower()


def identifier_problem(email: str) -> str | None:
    """Return why the raw ``email`` is refused before any folding, or ``None``.

    A non-ASCII character is refused; the message says so plainly when NFKC normalization
    or case folding would turn the address into another one (a look-alike of an ASCII
    address: a Kelvin sign, fullwidth letters, ligatures, combining marks, a dotted I).
    """
    trimmed = email.strip(_ASCII_SPACE)
    if trimmed.isascii():
        return None
    for char in trimmed:
        if char.isascii():
            continue
        folded = unicodedata.normalize("NFKC", char).casefold()
        if folded != char:
            name = unicodedata.name(char, "unnamed")
            return (
                f"contains U+{ord(char):04X} ({name}), which Unicode normalization turns into "
                f"{folded!r}; type the address in plain ASCII"
            )
    return NOT_ASCII


def checked_email(email: str, *, field: str = "email") -> str:
    """Return the normalized ``email`` for a lookup; raise ``ValidationFailed`` if not ASCII.

    Unlike :func:`validate_email` the shape is not checked (a login with a malformed address
    is simply a wrong login).
    """
    problem = identifier_problem(email)
    if problem is not None:
        raise ValidationFailed(
            f"The email address {problem}.", details={"fields": {field: problem}}
        )
    return normalize_email(email)


def email_problem(email: str) -> str | None:
    """Return why the normalized ``email`` is not acceptable, or ``None``."""
    if not email:
        return "is required"
    if len(email) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters"
    if not email.isascii():
        return NOT_ASCII
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain:
        return "must look like name@example.com"
    if len(local) > MAX_LOCAL_LENGTH or not _LOCAL.match(local):
        return "has an invalid part before the @"
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return "has an invalid part before the @"
    labels = domain.split(".")
    if len(domain) > MAX_DOMAIN_LENGTH or len(labels) < 2:
        return "must have a domain such as example.com after the @"
    if not all(_LABEL.match(label) for label in labels) or labels[-1].isdigit():
        return "must have a domain such as example.com after the @"
    return None


def validate_email(email: str, *, field: str = "email") -> str:
    """Return the normalized ``email``; raise ``ValidationFailed`` naming ``field`` if bad."""
    normalized = normalize_email(email)
    problem = identifier_problem(email) or email_problem(normalized)
    if problem is not None:
        raise ValidationFailed(
            f"The email address {problem}.", details={"fields": {field: problem}}
        )
    return normalized
