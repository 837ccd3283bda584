"""Email addresses as account keys: normalized to lowercase, checked for a plausible shape.

The check is deliberately modest (one ``@``, a dotted domain of DNS labels, no spaces or
control characters, RFC 5321 lengths): deliverability is proven by mail, not by a regex.
Addresses are ASCII only, so that look-alike Unicode addresses cannot shadow real ones.
"""

from __future__ import annotations

import re
from typing import Final

from lumiku.errors import ValidationFailed

MAX_LENGTH: Final = 320
MAX_LOCAL_LENGTH: Final = 64
MAX_DOMAIN_LENGTH: Final = 255
_LOCAL: Final = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~.-]+$")
_LABEL: Final = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def normalize_email(email: str) -> str:
    """Return ``email`` trimmed and lowercased: the form stored and compared."""
    return email.strip().lower()


def email_problem(email: str) -> str | None:
    """Return why the normalized ``email`` is not acceptable, or ``None``."""
    if not email:
        return "is required"
    if len(email) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters"
    if not email.isascii():
        return "must contain only ASCII characters (use the punycode form of the domain)"
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
    problem = email_problem(normalized)
    if problem is not None:
        raise ValidationFailed(
            f"The email address {problem}.", details={"fields": {field: problem}}
        )
    return normalized
