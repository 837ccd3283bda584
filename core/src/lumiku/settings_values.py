"""Values as operators write them in settings: flags, durations, lists, URLs.

Pure functions, used by ``lumiku.settings`` (which re-exports the public ones).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from urllib.parse import urlsplit

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_DURATION = re.compile(r"^([0-9]+)([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def mask_url(url: str) -> str:
    """Return ``url`` with its password (also a ``?password=`` parameter) replaced by ``***``."""
    parts = urlsplit(url)
    if parts.query:
        query = re.sub(r"(?i)((?:^|&)[a-z_]*pass(?:word)?=)[^&]*", r"\1***", parts.query)
        if query != parts.query:
            url = url.replace("?" + parts.query, "?" + query, 1)
            parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return parts._replace(netloc=f"{user}:***@{netloc}").geturl()


def normalize_database_url(url: str) -> str:
    """Make a plain ``postgresql://`` (or ``postgres://``) URL use the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def parse_bool(value: str) -> bool:
    """Read a boolean flag the way operators write them (1/0, true/false, yes/no, on/off)."""
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def parse_duration(value: str) -> int:
    """Read seconds written as ``3600``, ``90m``, ``12h`` or ``7d``."""
    match = _DURATION.match(value.strip())
    if not match:
        raise ValueError(f"expected a duration such as 3600, 90m, 12h or 7d, got {value!r}")
    return int(match.group(1)) * _UNITS[match.group(2)]


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _entropy_bits_per_char(value: str) -> float:
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())
