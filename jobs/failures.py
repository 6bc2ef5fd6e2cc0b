"""Why a job failed, in plain words for the member. One place, so every path says it the same
way; technical detail goes to the log, never to the channel."""

from __future__ import annotations

from typing import TYPE_CHECKING

from providers.base import TaskStatus
from providers.errors import (
    AuthError,
    BadRequest,
    ContentFiltered,
    NotFound,
    OutOfProviderCredits,
    ProviderError,
    RateLimited,
    UpstreamError,
)

if TYPE_CHECKING:
    from jobs.policy import EnginePolicy
    from jobs.records import Job

_MAX_PROVIDER_WORDS = 200


def _clean(text: str | None) -> str:
    text = " ".join((text or "").split())
    return text[:_MAX_PROVIDER_WORDS] + ("…" if len(text) > _MAX_PROVIDER_WORDS else "")


def for_error(exc: ProviderError, job: Job) -> str:
    if isinstance(exc, ContentFiltered):
        return (
            "The provider's safety filter rejected this request. Try rewording the prompt "
            "or using a different image."
        )
    if isinstance(exc, OutOfProviderCredits):
        return (
            f"The bot's account at {job.provider} has run out of credits. A server admin "
            "needs to top it up."
        )
    if isinstance(exc, AuthError):
        return f"{job.provider} refused the bot's API key. Please let a server admin know."
    if isinstance(exc, RateLimited):
        return f"{job.provider} is too busy right now. Please try again in a few minutes."
    if isinstance(exc, BadRequest):
        detail = _clean(exc.message)
        return f"{job.provider} rejected the request" + (f": {detail}" if detail else ".")
    if isinstance(exc, NotFound):
        return f"{job.provider} lost track of this generation."
    if isinstance(exc, UpstreamError):
        return f"{job.provider} had a problem and could not make this. Please try again later."
    return f"{job.provider} could not make this."


def task_failed(job: Job, status: TaskStatus) -> str:
    if status.error_type is not None and issubclass(status.error_type, ProviderError):
        return for_error(status.error_type(status.error or ""), job)
    detail = _clean(status.error)
    return "The generation failed at the provider" + (f": {detail}" if detail else ".")


def deadline(job: Job, policy: EnginePolicy, *, offline: bool = False) -> str:
    """Nothing is cancelled at the provider (no API offers it): the bot stops waiting."""
    limit = policy.deadline(job.kind)
    if limit < 90:
        span = f"{round(limit)} second{'s' if round(limit) != 1 else ''}"
    else:
        minutes = round(limit / 60)
        span = f"{minutes} minute{'s' if minutes != 1 else ''}"
    if offline:
        return (
            f"The bot was offline when this generation's {span} ran out, and "
            f"{job.provider} had not finished it when the bot checked again, so the bot "
            "stopped waiting for it."
        )
    return f"The generation did not finish within {span}, so the bot stopped waiting for it."


def queue_too_long(job: Job) -> str:
    return f"{job.provider} has been busy for too long. Please try again later."


def outcome_unknown(job: Job) -> str:
    """No answer, a dropped connection, or an error that may come after the task was made:
    the job is not sent again (it could be paid twice) and the member is not charged."""
    return (
        f"{job.provider} did not confirm that the job started (no answer, or an error), so "
        "it was not charged. Please try again."
    )


def no_provider_left(job: Job, tried: list[tuple[str, str]]) -> str:
    """Every provider that offers the model was tried and none took the job."""
    named = "; ".join(f"{provider}: {why}" for provider, why in tried)
    return (
        f"None of the providers that offer `{job.model}` could take this job ({named}), so "
        "it was not charged. Please try again later."
    )


def submit_interrupted() -> str:
    return (
        "The bot restarted while sending this job, so it was cancelled rather than risk "
        "running it twice."
    )


def provider_disabled(job: Job) -> str:
    return f"The provider {job.provider} is no longer enabled on this bot."


def no_media(job: Job) -> str:
    return f"{job.provider} finished but returned no file."


def unfetchable(job: Job) -> str:
    return (
        f"{job.provider} finished, but its result could not be fetched safely (it pointed "
        "somewhere the bot does not download from), so there is nothing to show."
    )


def unreachable() -> str:
    return "Discord kept failing when the bot posted the result, so it could not be shown."


def undeliverable() -> str:
    return (
        "Discord would not let the bot post the result: not in the channel (missing "
        "permissions, or the channel is gone), not as a reply, and not in your DMs."
    )


def internal() -> str:
    return "Something went wrong on the bot's side. Sorry about that."
