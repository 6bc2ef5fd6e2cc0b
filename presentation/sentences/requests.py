"""What a member is told when a generation is refused before it starts: the options, the
model, the price, the credits, the channel and the server's rules."""

from __future__ import annotations

from jobs.errors import (
    AudioAlwaysOn,
    AudioNotAvailable,
    ChoiceNotOffered,
    CountOutOfRange,
    DurationNotOffered,
    ImageNotHttps,
    ImageRequired,
    ImagesNotAccepted,
    ImageTooLarge,
    ImageTypeNotSupported,
    InsufficientCredits,
    OptionNotTaken,
    PriceUnavailable,
    PromptEmpty,
    PromptTooLong,
    ProviderNotEnabled,
    Restarting,
    TooManyImages,
    TooManyJobs,
)
from presentation.bot_permissions import BotLacksPermissions
from presentation.refusals import (
    HistoryOfAnotherMember,
    HistoryPageMissing,
    JobFailedNothingToShow,
    JobFilesGone,
    JobNotFinished,
    JobNotFoundHere,
    JobOfAnotherMember,
    NoImageToAnimate,
    NoImageToEdit,
    OneImageToAnimate,
    ResultForgotten,
)
from presentation.sentences._words import words
from providers.registry import (
    ModelNotEnabled,
    ModelRefusedHere,
    ModelUnusableHere,
    NoModelAllowed,
    NoModelEnabled,
)
from quota.server_settings import ChannelNotAllowed, PromptBlocked

CHANNELS_NAMED = 20  # channels a refusal links at most; the rest are counted
MIB = 1048576
CHOICE_NAMES = {  # a choice option's keyword -> how a refusal names it
    "aspect_ratio": "aspect ratio",
    "resolution": "resolution",
    "quality": "quality",
    "output_format": "format",
    "motion": "motion",
}


def _listed(ids: tuple[str, ...] | None) -> str:
    return ", ".join(ids or ()) or "none"


def _s(count: int) -> str:
    return "s" if count != 1 else ""


# --- before anything is priced ------------------------------------------------------------


@words(TooManyJobs)
def too_many_jobs(error: TooManyJobs) -> str:
    return (
        f"You already have {error.running} generation"
        f"{_s(error.running)} running; the limit is "
        f"{error.limit} at a time. Nothing was charged; wait for one to "
        "finish and try again."
    )


@words(InsufficientCredits)
def not_enough_credits(error: InsufficientCredits) -> str:
    when = (
        f" Your credits reset <t:{int(error.resets_at.timestamp())}:R>." if error.resets_at else ""
    )
    reserved = f" ({error.reserved} are held by running jobs)" if error.reserved else ""
    return (
        f"This costs {error.cost} credit{_s(error.cost)}, but you have "
        f"{error.left} left{reserved}, so nothing was charged.{when} Try a cheaper model or "
        "option, or ask a moderator for more."
    )


@words(ChannelNotAllowed)
def channel_not_allowed(error: ChannelNotAllowed) -> str:
    places = ", ".join(f"<#{c}>" for c in sorted(error.channels)[:CHANNELS_NAMED])
    more = len(error.channels) - CHANNELS_NAMED
    if more > 0:
        places += f" and {more} more"
    return (
        f"Images and videos can't be made in this channel. In this server, use {places}. "
        "Nothing was charged."
    )


@words(PromptBlocked)
def prompt_blocked(error: PromptBlocked) -> str:
    return (
        "This prompt contains a word or phrase that this server does not allow, so nothing was "
        "made and nothing was charged. Please rephrase it."
    )


@words(BotLacksPermissions)
def cannot_post_here(error: BotLacksPermissions) -> str:
    """Names each missing permission."""
    missing = error.missing
    if len(missing) == 1:
        names, them = f"**{missing[0]}** permission", "it"
    else:
        names = ", ".join(f"**{m}**" for m in missing[:-1]) + f" and **{missing[-1]}** permissions"
        them = "them"
    return (
        f"I can't post results in this channel: I'm missing the {names} here. "
        f"Nothing was charged. Ask a server admin to give {them} to me in this channel, "
        "or use another channel."
    )


@words(Restarting)
def restarting(error: Restarting) -> str:
    return (
        "The bot is restarting, so nothing was started and nothing was charged. "
        "Please try again in a minute."
    )


# --- the model ----------------------------------------------------------------------------


@words(NoModelEnabled)
def no_model_enabled(error: NoModelEnabled) -> str:
    return (
        f"No {error.kind} model is enabled on this bot. A server admin needs to set a "
        "provider's API key."
    )


@words(NoModelAllowed)
def no_model_allowed(error: NoModelAllowed) -> str:
    return (
        f"No {error.kind} model that can do this is allowed in this server. A "
        "moderator can allow one with /settings model."
    )


@words(ModelNotEnabled)
def model_not_enabled(error: ModelNotEnabled) -> str:
    return (
        f"`{error.name}` is not an enabled {error.kind} model. "
        f"Available: {_listed(error.available)}."
    )


@words(ModelUnusableHere)
def model_unusable_here(error: ModelUnusableHere) -> str:
    return f"`{error.name}` cannot be used this way" + (
        " (it needs an input image)." if error.needs_image else "."
    )


@words(ModelRefusedHere)
def model_refused_here(error: ModelRefusedHere) -> str:
    if error.allowed is None:
        return f"`{error.name}` is not allowed in this server."
    return f"`{error.name}` is not allowed in this server. Allowed here: {_listed(error.allowed)}."


@words(ProviderNotEnabled)
def provider_not_enabled(error: ProviderNotEnabled) -> str:
    return f"The provider {error.provider} is not enabled."


@words(PriceUnavailable)
def price_unavailable(error: PriceUnavailable) -> str:
    if error.reason == "refused":
        what = f"{error.provider} would not price `{error.model}` with these options"
    elif error.reason == "timeout":
        what = f"{error.provider} did not answer the price check for `{error.model}` in time"
    else:
        what = f"{error.provider} could not price `{error.model}` right now"
    return f"{what}, so nothing was started and nothing was charged. Please try again in a minute."


# --- the options --------------------------------------------------------------------------


@words(OptionNotTaken)
def option_not_taken(error: OptionNotTaken) -> str:
    if error.option in CHOICE_NAMES:
        return (
            f"`{error.model}` does not take a `{CHOICE_NAMES[error.option]}` option; "
            "leave it empty."
        )
    if error.option == "duration":
        return f"`{error.model}` does not take a `duration`; leave it empty."
    if error.option == "negative_prompt":
        return f"`{error.model}` does not take a `negative_prompt`; leave it empty."
    return f"`{error.model}` does not take a `{error.option}`; leave it empty."


@words(ChoiceNotOffered)
def choice_not_offered(error: ChoiceNotOffered) -> str:
    option = CHOICE_NAMES.get(error.option, error.option)
    return (
        f"`{error.value}` is not a {option} `{error.model}` offers. "
        f"Allowed: {', '.join(error.allowed)}."
    )


@words(ImageNotHttps)
def image_not_https(error: ImageNotHttps) -> str:
    return f"`{error.label}` must be an https:// link to an image."


@words(ImageTypeNotSupported)
def image_type_not_supported(error: ImageTypeNotSupported) -> str:
    shown = error.filename or "the file"
    return f"`{error.label}` ({shown}) is not a supported image. Use PNG, JPEG or WebP."


@words(ImageTooLarge)
def image_too_large(error: ImageTooLarge) -> str:
    return (
        f"`{error.label}` is {error.size / MIB:.1f} MiB; input images can be at most "
        f"{error.limit // MIB} MiB."
    )


@words(PromptEmpty)
def prompt_empty(error: PromptEmpty) -> str:
    return "The prompt is empty. Describe what you want to see."


@words(PromptTooLong)
def prompt_too_long(error: PromptTooLong) -> str:
    return (
        f"The prompt is {error.length} characters; `{error.model}` accepts at most {error.limit}."
    )


@words(ImagesNotAccepted)
def images_not_accepted(error: ImagesNotAccepted) -> str:
    return (
        f"`{error.model}` does not accept input images. Remove the image or pick a model "
        "that does (the model list shows which)."
    )


@words(TooManyImages)
def too_many_images(error: TooManyImages) -> str:
    return (
        f"`{error.model}` accepts at most {error.limit} input image"
        f"{_s(error.limit)}; you gave {error.given}."
    )


@words(ImageRequired)
def image_required(error: ImageRequired) -> str:
    return f"`{error.model}` needs an input image."


@words(CountOutOfRange)
def count_out_of_range(error: CountOutOfRange) -> str:
    allowed = "1" if error.limit == 1 else f"1 to {error.limit}"
    return f"`count` must be {allowed} for `{error.model}`; you asked for {error.asked}."


@words(DurationNotOffered)
def duration_not_offered(error: DurationNotOffered) -> str:
    shown = ", ".join(f"{d}s" for d in error.allowed)
    return f"`{error.model}` cannot make {error.duration}s videos. Durations: {shown}."


@words(AudioNotAvailable)
def audio_not_available(error: AudioNotAvailable) -> str:
    return f"`{error.model}` cannot generate audio; set `audio` to False."


@words(AudioAlwaysOn)
def audio_always_on(error: AudioAlwaysOn) -> str:
    return f"`{error.model}` always generates audio; it cannot be turned off."


@words(OneImageToAnimate)
def one_image_to_animate(error: OneImageToAnimate) -> str:
    return (
        "Give exactly one image to animate: attach it as `image`, or link it as "
        "`image_url` (https)."
    )


# --- a result's buttons -------------------------------------------------------------------


@words(ResultForgotten)
def result_forgotten(error: ResultForgotten) -> str:
    return "This result is no longer known to the bot, so it cannot be reused."


@words(NoImageToAnimate)
def no_image_to_animate(error: NoImageToAnimate) -> str:
    return "This result has no image that can be animated."


@words(NoImageToEdit)
def no_image_to_edit(error: NoImageToEdit) -> str:
    return "This result has no image that can be edited."


@words(HistoryOfAnotherMember)
def history_of_another_member(error: HistoryOfAnotherMember) -> str:
    return "Only the member who asked for this history can turn its pages; /history shows your own."


@words(HistoryPageMissing)
def history_page_missing(error: HistoryPageMissing) -> str:
    pages = "1 page" if error.pages == 1 else f"{error.pages} pages"
    return f"There is no page {error.page}: your history in this server has {pages}."


@words(JobNotFoundHere)
def job_not_found_here(error: JobNotFoundHere) -> str:
    return (
        "There is no job with that id in this server. /history lists yours, and the "
        "job option offers your finished ones."
    )


@words(JobOfAnotherMember)
def job_of_another_member(error: JobOfAnotherMember) -> str:
    return (
        f"Job `{error.job_id}` belongs to another member; only moderators can show other "
        "members' jobs."
    )


@words(JobFailedNothingToShow)
def job_failed_nothing_to_show(error: JobFailedNothingToShow) -> str:
    return f"Job `{error.job_id}` failed, so there is nothing to show; /history says why."


@words(JobNotFinished)
def job_not_finished(error: JobNotFinished) -> str:
    return (
        f"Job `{error.job_id}` has not finished yet; its result is posted in the channel "
        "when it is ready."
    )


@words(JobFilesGone)
def job_files_gone(error: JobFilesGone) -> str:
    return (
        f"The files of job `{error.job_id}` can no longer be fetched: the result "
        "message is gone and the provider's links have expired. Run the command "
        "again to make it anew."
    )
