"""The one place errors become the sentences members read (with Discord's markup where it
helps: a timestamp that shows in the reader's own time zone).

Errors say what happened and carry the facts (errors.BotError and its families); the words are
written in this package, by area: ``requests`` (a generation refused before it starts),
``moderation`` (/quota, /settings, /credits refusals) and ``failures`` (why a job failed), so
a sentence is changed in one place and quoted from one place in docs/operating.md.
tests/messages.py reads every sentence written here.
"""

from __future__ import annotations

from discord import app_commands

from presentation.sentences import moderation, requests  # noqa: F401  (they register their words)
from presentation.sentences._words import worder
from presentation.sentences.failures import job_failure
from providers.errors import UserFacingError

__all__ = ["for_member", "job_failure", "something_went_wrong"]


def for_member(error: BaseException) -> str | None:
    """What the member is told about a command's error; None when it is not theirs to read
    (an unexpected error: the caller logs it and answers with something_went_wrong())."""
    cause = getattr(error, "original", error)
    if isinstance(cause, UserFacingError):
        wording = worder(cause)
        return wording(cause) if wording is not None else None
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command only works in a server."
    if isinstance(error, app_commands.CheckFailure):
        return "You are not allowed to use this command."
    if isinstance(error, app_commands.TransformerError):
        return f"`{error.value}` is not a valid value here."
    return None


def something_went_wrong() -> str:
    """The apology for an error nobody planned for; the detail goes to the log."""
    return "Something went wrong on the bot's side. Sorry! Nothing was charged."
