"""Ledger keys of a synchronous charge (an upload, a paid edit), per request and round.

A charge is a ``spend`` keyed on the request (the client's ``Idempotency-Key``, or a fresh
token), compensated when the work then fails by a ``grant`` under the matching refund key.
A retry with the same key must be charged exactly once for the work it finally does:

- the spend of round 0 happened and was not refunded (the first attempt crashed, or its
  answer was lost): the retry spends under the same key, which replays the recorded
  entry -- no second charge;
- the spend of round 0 was refunded (the first attempt failed cleanly and said so): a
  repeated spend under that key would also replay, and the retry would get its work for
  free. So the retry moves on to round 1 (``...:retry-1``), whose spend is a new charge,
  and so on for every round that was refunded.

``ChargeKeys.current`` finds the round by looking the refund keys up
(``Ledger.find_entry``), so it costs one read per refunded round.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from lumiku import Ledger


@attrs.frozen
class ChargeKeys:
    """The spend and refund keys of one round of a request's charge."""

    spend: str
    refund: str
    round: int

    @classmethod
    def of(cls, action: str, user_id: str, token: str, round_: int = 0) -> ChargeKeys:
        """Return the keys of round ``round_`` (0: the keys older versions used too)."""
        suffix = f":retry-{round_}" if round_ else ""
        return cls(
            spend=f"avatar_creator:{action}:{user_id}:{token}{suffix}",
            refund=f"avatar_creator:{action}-refund:{user_id}:{token}{suffix}",
            round=round_,
        )

    @classmethod
    def current(cls, ledger: Ledger, action: str, user_id: str, token: str) -> ChargeKeys:
        """Return the keys of the first round whose spend was not refunded."""
        keys = cls.of(action, user_id, token)
        while ledger.find_entry(keys.refund) is not None:
            keys = cls.of(action, user_id, token, keys.round + 1)
        return keys
