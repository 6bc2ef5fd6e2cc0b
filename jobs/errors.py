"""Refusals a member can meet before a job starts, in the one error family (errors.BotError).

Each class says what was wrong and carries the facts as keywords (providers/errors.py's
UserFacingError); presentation/sentences/ turns it into the sentence the member reads.
Options are named by their keyword (``aspect_ratio``), never in words."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from providers.errors import InvalidRequest, UserFacingError

__all__ = [
    "AudioAlwaysOn",
    "AudioNotAvailable",
    "ChoiceNotOffered",
    "CountOutOfRange",
    "DurationNotOffered",
    "ImageNotHttps",
    "ImageRequired",
    "ImageTooLarge",
    "ImageTypeNotSupported",
    "ImagesNotAccepted",
    "InsufficientCredits",
    "InvalidRequest",
    "NotAllowed",
    "OptionNotTaken",
    "PriceUnavailable",
    "PromptEmpty",
    "PromptTooLong",
    "ProviderNotEnabled",
    "Restarting",
    "TooManyImages",
    "TooManyJobs",
    "UserFacingError",
]


class InsufficientCredits(UserFacingError):
    """The job costs more than the member has left; nothing was reserved."""

    cost: int
    left: int
    reserved: int = 0  # held by the member's running jobs
    resets_at: datetime | None = None  # when the period's allowance comes back, if it does


class TooManyJobs(UserFacingError):
    """The member already has MAX_JOBS_PER_USER jobs running."""

    running: int
    limit: int


class NotAllowed(UserFacingError):
    """Something only some members may do, asked by someone else."""


class PriceUnavailable(UserFacingError):
    """The provider could not price the job (its cost preview failed or did not answer in
    time) and no printed price table covers it. Nothing was reserved."""

    provider: str
    model: str
    reason: Literal["refused", "timeout", "failed"]  # refused the options / too slow / other


class ProviderNotEnabled(InvalidRequest):
    """The model's provider is not (or no longer) enabled on this bot."""

    provider: str


class Restarting(InvalidRequest):
    """The bot is stopping and starts no new job."""


# --- a command's options against the chosen model (jobs/validation.py) -----------------------


class OptionNotTaken(InvalidRequest):
    """The model has no such option; ``option`` is its keyword (``aspect_ratio``)."""

    model: str
    option: str


class ChoiceNotOffered(InvalidRequest):
    """The value is not one the model offers for that option."""

    model: str
    option: str
    value: str
    allowed: tuple[str, ...]


class ImageNotHttps(InvalidRequest):
    """An input image given by a link that is not https."""

    label: str  # the command option that gave it


class ImageTypeNotSupported(InvalidRequest):
    label: str
    filename: str = ""


class ImageTooLarge(InvalidRequest):
    label: str
    size: int  # bytes
    limit: int  # bytes


class PromptEmpty(InvalidRequest):
    """A model that needs a prompt got none."""


class PromptTooLong(InvalidRequest):
    model: str
    length: int  # characters
    limit: int


class ImagesNotAccepted(InvalidRequest):
    model: str


class TooManyImages(InvalidRequest):
    model: str
    limit: int
    given: int


class ImageRequired(InvalidRequest):
    model: str


class CountOutOfRange(InvalidRequest):
    model: str
    limit: int  # the most outputs the model makes at once
    asked: int


class DurationNotOffered(InvalidRequest):
    model: str
    duration: int  # seconds
    allowed: tuple[int, ...]


class AudioNotAvailable(InvalidRequest):
    model: str


class AudioAlwaysOn(InvalidRequest):
    model: str
