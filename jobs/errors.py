"""Refusals a member can meet before a job starts. Each message is a finished sentence that
says what was wrong and what is allowed; the cogs show it ephemerally as it is."""

from __future__ import annotations

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
    def __init__(self, message: str, *, cost: int, left: int) -> None:
        super().__init__(message)
        self.cost = cost
        self.left = left


class TooManyJobs(UserFacingError):
    """The member already has MAX_JOBS_PER_USER jobs running."""


class NotAllowed(UserFacingError):
    """A moderator-only action by someone who is not a moderator."""


class PriceUnavailable(UserFacingError):
    """The provider could not price the job (its cost preview failed or did not answer in
    time) and no printed price table covers it. Nothing was reserved."""
