"""Counts in messages people read: "1 credit", "2 credits", "1 character"."""

from __future__ import annotations


def plural(count: int, noun: str, many: str | None = None, *, signed: bool = False) -> str:
    """Return ``"<count> <noun>"`` with the noun in the plural unless ``count`` is 1 or -1.

    ``many`` is the plural when it is not ``noun + "s"`` (``plural(2, "entry", "entries")``);
    ``signed`` writes the sign of positive counts too (``+1 credit``). Thousands are not
    separated, so the figure reads the same as in the JSON details.
    """
    word = noun if abs(count) == 1 else (many or noun + "s")
    return f"{count:+d} {word}" if signed else f"{count} {word}"
