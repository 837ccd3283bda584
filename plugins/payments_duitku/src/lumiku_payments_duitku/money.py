"""Money is whole rupiah (IDR), an ``int``: never a float, never rounded."""

from __future__ import annotations

import re

_WHOLE_RUPIAH = re.compile(r"^(\d{1,15})(?:\.0{1,2})?$")


def parse_rupiah(raw: object) -> int | None:
    """Return the whole rupiah that ``raw`` states, or ``None`` when it states anything else.

    Accepts an ``int`` or the text Duitku sends: digits, optionally with a zero fraction
    (``"10000"``, ``"10000.00"``). A fraction that is not zero, a sign, spaces, separators,
    exponents or a bool are ``None``: an amount either is exactly an order's or it is not.
    """
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if raw >= 0 else None
    if not isinstance(raw, str):
        return None
    match = _WHOLE_RUPIAH.match(raw)
    return int(match.group(1)) if match else None
