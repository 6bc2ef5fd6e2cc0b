"""What a moderator (or a member trying a moderator's command) is told when /quota,
/settings or /credits refuses."""

from __future__ import annotations

from presentation.refusals import (
    AmountOutOfRange,
    AmountZero,
    ModeratorOnly,
    ModeratorRoleUnsuitable,
    OthersCreditsModeratorsOnly,
    PhraseNotBlocked,
    ServerManagersOnly,
)
from presentation.sentences._words import words
from quota.server_settings import (
    CostPreviewOutOfRange,
    NotAModel,
    PhraseEmpty,
    PhraseTooLong,
    TooManyPhrases,
)
from quota.usage import DaysReversed, NotADay

# --- who may ------------------------------------------------------------------------------


@words(ModeratorOnly)
def moderator_only(error: ModeratorOnly) -> str:
    if error.command == "settings":
        return (
            "Only moderators can change the bot's settings (Manage Server permission or a "
            "moderator role). Everyone can see them with /settings show."
        )
    return "Only moderators can use /quota (Manage Server permission or a moderator role)."


@words(ServerManagersOnly)
def server_managers_only(error: ServerManagersOnly) -> str:
    return (
        "Only members with the Manage Server permission can change who moderates or where "
        "moderator actions are recorded; a moderator role is not enough."
    )


@words(OthersCreditsModeratorsOnly)
def others_credits(error: OthersCreditsModeratorsOnly) -> str:
    return "Only moderators can look at someone else's credits."


@words(ModeratorRoleUnsuitable)
def moderator_role_unsuitable(error: ModeratorRoleUnsuitable) -> str:
    if error.reason == "everyone":
        return (
            "@everyone cannot be the moderator role: every member has it, so everyone could "
            "change credits. Choose a role that only your moderators have."
        )
    role = f"<@&{error.role_id}>"
    return (
        f"{role} cannot be the moderator role: it is managed by an integration "
        "(a bot, a server subscription or the booster role), so Discord, not your staff, "
        "decides who has it. Choose a role that you hand out yourself."
    )


# --- /quota -------------------------------------------------------------------------------


@words(AmountOutOfRange)
def amount_out_of_range(error: AmountOutOfRange) -> str:
    return f"The amount must be between {error.low} and {error.high}."


@words(AmountZero)
def amount_zero(error: AmountZero) -> str:
    return "The amount must not be 0."


@words(NotADay)
def not_a_day(error: NotADay) -> str:
    return (
        f"`{error.option}` must be a date written YYYY-MM-DD, like 2025-01-31 (got "
        f"`{error.text[:20]}`). Nothing was exported."
    )


@words(DaysReversed)
def days_reversed(error: DaysReversed) -> str:
    return (
        f"`since` ({error.since.isoformat()}) is after `until` ({error.until.isoformat()}). "
        "Nothing was exported."
    )


# --- /settings ----------------------------------------------------------------------------


@words(NotAModel)
def not_a_model(error: NotAModel) -> str:
    shown = ", ".join(error.known) or "none"
    return f"`{error.name}` is not an enabled model. Models: {shown}."


@words(PhraseEmpty)
def phrase_empty(error: PhraseEmpty) -> str:
    return "The phrase must contain something besides spaces."


@words(PhraseTooLong)
def phrase_too_long(error: PhraseTooLong) -> str:
    return f"A blocked phrase can be at most {error.limit} characters."


@words(TooManyPhrases)
def too_many_phrases(error: TooManyPhrases) -> str:
    return f"This server already blocks {error.limit} phrases, the most it can. Remove one first."


@words(PhraseNotBlocked)
def phrase_not_blocked(error: PhraseNotBlocked) -> str:
    return "That phrase is not on the blocklist; /settings blocklist list shows it."


@words(CostPreviewOutOfRange)
def cost_preview_out_of_range(error: CostPreviewOutOfRange) -> str:
    return f"The amount must be between 0 (off) and {error.limit}."
