"""The one place errors become the sentences members read (with Discord's markup where it
helps: a timestamp that shows in the reader's own time zone).

Errors say what happened and carry the facts (errors.BotError and its families); the words are
written here, so a sentence is changed in one place and quoted from one place in
docs/operating.md. tests/messages.py reads every sentence returned here.
"""

from __future__ import annotations

from discord import app_commands

from jobs.errors import InsufficientCredits, TooManyJobs, UserFacingError
from quota.server_settings import ChannelNotAllowed

CHANNELS_NAMED = 20  # channels a refusal links at most; the rest are counted


def for_member(error: BaseException) -> str | None:
    """What the member is told about a command's error; None when it is not theirs to read
    (an unexpected error: the caller logs it and answers with something_went_wrong())."""
    cause = getattr(error, "original", error)
    if isinstance(cause, TooManyJobs):
        return too_many_jobs(cause)
    if isinstance(cause, InsufficientCredits):
        return not_enough_credits(cause)
    if isinstance(cause, ChannelNotAllowed):
        return channel_not_allowed(cause)
    if isinstance(cause, UserFacingError):
        return cause.message
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


def too_many_jobs(error: TooManyJobs) -> str:
    return (
        f"You already have {error.running} generation"
        f"{'s' if error.running != 1 else ''} running; the limit is "
        f"{error.limit} at a time. Nothing was charged; wait for one to "
        "finish and try again."
    )


def not_enough_credits(error: InsufficientCredits) -> str:
    when = (
        f" Your credits reset <t:{int(error.resets_at.timestamp())}:R>." if error.resets_at else ""
    )
    reserved = f" ({error.reserved} are held by running jobs)" if error.reserved else ""
    return (
        f"This costs {error.cost} credit{'s' if error.cost != 1 else ''}, but you have "
        f"{error.left} left{reserved}, so nothing was charged.{when} Try a cheaper model or "
        "option, or ask a moderator for more."
    )


def channel_not_allowed(error: ChannelNotAllowed) -> str:
    places = ", ".join(f"<#{c}>" for c in sorted(error.channels)[:CHANNELS_NAMED])
    more = len(error.channels) - CHANNELS_NAMED
    if more > 0:
        places += f" and {more} more"
    return (
        f"Images and videos can't be made in this channel. In this server, use {places}. "
        "Nothing was charged."
    )
