"""Settling the credit hold of a generation: capture on success, release on failure.

The ledger resolves a hold exactly once, so every call here may be repeated safely (a
re-delivered job settles again and changes nothing). The ledger itself counts every
operation in ``lumiku_credit_transactions{operation, outcome}`` (the operator's alert on
failed releases); this module adds the log lines that say which generation it was.
"""

from __future__ import annotations

from typing import Literal

from lumiku import Conflict, PluginContext

GivenBack = Literal["released", "charged", "pending"]
"""What became of a hold's credits after a release: back with the user (released or
expired), charged (the hold had been captured), or still held (the release failed; the
sweeper gives them back when the hold expires)."""


class Settlement:
    """Capture or release generation holds, logging what could not be done."""

    def __init__(self, ctx: PluginContext) -> None:
        self._ledger = ctx.ledger
        self._logger = ctx.logger

    def capture(self, hold_id: str, amount: int) -> bool:
        """Charge ``amount`` of the hold; return False if the hold was already given back.

        A hold that expired or was released before the work finished cannot be charged:
        the user keeps the avatar for free, and the event is logged. Database errors raise.
        """
        try:
            self._ledger.capture(hold_id, amount)
        except Conflict as exc:
            self._logger.warning("⚠️ hold %s could not be captured: %s", hold_id, exc)
            return False
        return True

    def release(self, hold_id: str, *, reason: str, raise_errors: bool = False) -> bool:
        """Give the hold's credits back; return whether it is released (or expired) now.

        A failure is logged as an error (the sweeper releases the hold when it expires);
        with ``raise_errors`` it is raised as well, so a job can be retried.
        """
        try:
            hold = self._ledger.release(hold_id)
        except Conflict as exc:
            self._logger.error("❌ hold %s was not released (%s): %s", hold_id, reason, exc)
            return False
        except Exception:
            self._logger.exception(
                "❌ hold %s could not be released (%s); the sweeper releases it when it expires",
                hold_id,
                reason,
            )
            if raise_errors:
                raise
            return False
        self._logger.info("released hold %s of %d credits (%s)", hold.id, hold.amount, reason)
        return True

    def give_back(self, hold_id: str, *, reason: str) -> GivenBack:
        """Release the hold and report what became of its credits (never raises)."""
        if self.release(hold_id, reason=reason):
            return "released"
        try:
            status = self._ledger.get_hold(hold_id).status
        except Exception:
            self._logger.exception("❌ hold %s could not be read after its release", hold_id)
            return "pending"
        if status in ("released", "expired"):
            return "released"
        return "charged" if status == "captured" else "pending"
