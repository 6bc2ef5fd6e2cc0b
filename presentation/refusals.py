"""Refusals the Discord side raises itself (the cogs and the checks before a command runs),
in the one error family: each carries its facts, presentation/sentences/ words it."""

from __future__ import annotations

from typing import Literal

from discord import app_commands

from jobs.errors import InvalidRequest, NotAllowed


class ModeratorOnly(app_commands.CheckFailure, NotAllowed):
    """A moderator's command asked by someone else. A CheckFailure, so a cog's
    interaction_check stops the command and the error handler still words it."""

    command: Literal["quota", "settings"]

    def __init__(self, **facts: object) -> None:
        NotAllowed.__init__(self, **facts)


class ServerManagersOnly(NotAllowed):
    """Who moderates (and where that is recorded) takes Manage Server itself."""


class OthersCreditsModeratorsOnly(NotAllowed):
    """/credits of someone else, asked by a member who is not a moderator."""


class ModeratorRoleUnsuitable(InvalidRequest):
    """A role that cannot be the moderator role: everyone has it, or Discord hands it out."""

    role_id: int
    reason: Literal["everyone", "managed"]


class AmountOutOfRange(InvalidRequest):
    low: int
    high: int


class AmountZero(InvalidRequest):
    """A grant of 0 credits changes nothing."""


class PhraseNotBlocked(InvalidRequest):
    """/settings blocklist remove of a phrase that is not on the list."""


class OneImageToAnimate(InvalidRequest):
    """/animate takes exactly one of ``image`` and ``image_url``."""


class ResultForgotten(InvalidRequest):
    """A result's button for a job the bot no longer knows."""


class NoImageToAnimate(InvalidRequest):
    """A result's Animate button on a job with no image that can be used."""


class NoImageToEdit(InvalidRequest):
    """A result's Edit button on a job with no image that can be used."""


class HistoryOfAnotherMember(NotAllowed):
    """/history's page buttons pressed by someone other than the member who asked."""


class HistoryPageMissing(InvalidRequest):
    """/history page past the last one."""

    page: int
    pages: int


class JobNotFoundHere(InvalidRequest):
    """/show of an id that is no job of this server."""


class JobOfAnotherMember(NotAllowed):
    """/show of another member's job, asked by a member who is not a moderator."""

    job_id: str


class JobFailedNothingToShow(InvalidRequest):
    job_id: str


class JobNotFinished(InvalidRequest):
    job_id: str


class JobFilesGone(InvalidRequest):
    """/show of a job whose result message is gone and whose provider links expired."""

    job_id: str
