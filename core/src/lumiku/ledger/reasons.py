"""The history lines of the entries the ledger writes itself, as a person reads them.

A capture's line is the description its caller gives ("Avatar generation 'Ana'"), else the
work its hold was for ("Avatar generation", from the reference type). Entries written
before this existed say ``capture of hold <id>``: ``readable_reason`` shows them the same
way at read time, so the stored rows need no rewriting.
"""

from __future__ import annotations

import re

from lumiku.ledger.records import Entry, Reference
from lumiku.wording import plural

# Kinds whose line is an operator's own text (an admin grant, a manual adjustment): shown
# exactly as written. Every other kind's line is written by the system or a plugin.
_OPERATOR_KINDS = frozenset({"grant", "adjustment"})
# The line the ``credits grant`` command wrote when the operator gave none (lower case).
_OLD_GRANT_DEFAULT = "granted by an operator"

_OLD_CAPTURE = re.compile(r"^capture of hold \S+$")
_OLD_CORRECTION = re.compile(
    r"^reconciliation run \S+: the balance differed from the entries by ([+-]\d+) credits$"
)


def work_name(reference: Reference) -> str:
    """Return the reference's type as words: ``avatar_generation`` -> ``Avatar generation``."""
    words = re.sub(r"[_\-.]+", " ", reference.type).strip()
    return (words[:1].upper() + words[1:]) if words else "Charged work"


def capture_reason(reference: Reference) -> str:
    """Return the default history line of a capture for the work ``reference`` names."""
    return work_name(reference)


def correction_reason(difference: int) -> str:
    """Return the history line of the adjustment that explains a drifted balance."""
    return (
        f"Balance correction: {plural(difference, 'credit', signed=True)} found by an account check"
    )


def readable_reason(entry: Entry) -> str:
    """Return the entry's history line; lines written before this module existed (a capture
    naming its hold, a correction naming its reconciliation run) read as new ones.

    Lines the system writes start with a capital ("welcome credits" was stored in lower
    case); an operator's own text (a grant's or adjustment's reason) is shown verbatim.
    """
    if entry.kind == "capture" and _OLD_CAPTURE.match(entry.reason):
        return work_name(entry.reference) if entry.reference else "Charged work"
    correction = _OLD_CORRECTION.match(entry.reason) if entry.kind == "adjustment" else None
    if correction:
        return correction_reason(int(correction.group(1)))
    if entry.kind in _OPERATOR_KINDS and entry.reason != _OLD_GRANT_DEFAULT:
        return entry.reason
    # A system line starts like a sentence ("welcome credits" was written in lower case).
    return entry.reason[:1].upper() + entry.reason[1:]
