"""Refusals a member can meet before a job starts, in the one error family (errors.BotError).

Each says what was wrong; presentation/sentences.py turns it into the sentence the member
reads. Classes that carry their facts (TooManyJobs, InsufficientCredits) are worded there;
``message`` holds the sentence of those still worded where they are raised."""

from __future__ import annotations

from datetime import datetime

from providers.errors import InvalidRequest, UserFacingError

__all__ = [
    "InsufficientCredits",
    "InvalidRequest",
    "NotAllowed",
    "PriceUnavailable",
    "TooManyJobs",
    "UserFacingError",
]


class InsufficientCredits(UserFacingError):
    """The job costs more than the member has left; nothing was reserved."""

    def __init__(
        self, *, cost: int, left: int, reserved: int = 0, resets_at: datetime | None = None
    ) -> None:
        super().__init__()
        self.cost = cost
        self.left = left
        self.reserved = reserved  # held by the member's running jobs
        self.resets_at = resets_at  # when the period's allowance comes back, if it does


class TooManyJobs(UserFacingError):
    """The member already has MAX_JOBS_PER_USER jobs running."""

    def __init__(self, *, running: int, limit: int) -> None:
        super().__init__()
        self.running = running
        self.limit = limit


class NotAllowed(UserFacingError):
    """A moderator-only action by someone who is not a moderator."""


class PriceUnavailable(UserFacingError):
    """The provider could not price the job (its cost preview failed or did not answer in
    time) and no printed price table covers it. Nothing was reserved."""
