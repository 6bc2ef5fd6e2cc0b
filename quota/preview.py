"""When a job asks the member to confirm its cost first (SPEC §3, "Cost preview").

The rule is one function so that the reservation, which already reads the member's balance
in its transaction, can apply it without a second read: a job that needs confirming is
refused there with PreviewNeeded, and nothing is written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from quota.service import Balance


def preview_reason(cost: int, left: int, threshold: int) -> str | None:
    """Why a job of ``cost`` credits must be confirmed first, or None when it need not.

    ``threshold`` is the server's ``/settings cost_preview`` (0 = off): a cost at or above it
    asks. Whatever the server's setting, a cost above half of the ``left`` credits the member
    has asks too, so nobody spends most of what they have by a slip of the finger."""
    if threshold > 0 and cost >= threshold:
        return "threshold"
    if cost * 2 > left:
        return "half"
    return None


class PreviewNeeded(Exception):
    """The job must be confirmed before its credits are reserved; nothing was written.
    ``balance`` is the member's balance as the reservation read it."""

    def __init__(self, reason: str, balance: Balance) -> None:
        super().__init__(reason)
        self.reason = reason
        self.balance = balance
