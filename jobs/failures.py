"""Why a job failed, as facts (jobs.records.Failure): one place decides which failure each
path is, so every path tells it the same way. The member's sentence is written in
presentation/sentences/failures.py when it is shown; technical detail goes to the log
(the job's ``error``), never to the channel."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jobs.records import Failure, FailureCode
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

_MAX_PROVIDER_WORDS = 200  # characters of a provider's own words kept for the member


def _clean(text: str | None) -> str:
    text = " ".join((text or "").split())
    return text[:_MAX_PROVIDER_WORDS] + ("…" if len(text) > _MAX_PROVIDER_WORDS else "")


def _at(code: FailureCode, job: Job, **facts: object) -> Failure:
    """A failure that names the job's provider."""
    return Failure(code, {"provider": job.provider, **facts})


def for_error(exc: ProviderError, job: Job) -> Failure:
    if isinstance(exc, ContentFiltered):
        return Failure(FailureCode.CONTENT_FILTERED)
    if isinstance(exc, OutOfProviderCredits):
        return _at(FailureCode.PROVIDER_OUT_OF_CREDITS, job)
    if isinstance(exc, AuthError):
        return _at(FailureCode.API_KEY_REFUSED, job)
    if isinstance(exc, RateLimited):
        return _at(FailureCode.PROVIDER_BUSY, job)
    if isinstance(exc, BadRequest):
        return _at(FailureCode.REJECTED, job, detail=_clean(exc.message))
    if isinstance(exc, NotFound):
        return _at(FailureCode.LOST_TRACK, job)
    if isinstance(exc, UpstreamError):
        return _at(FailureCode.PROVIDER_PROBLEM, job)
    return _at(FailureCode.PROVIDER_FAILED, job)


def task_failed(job: Job, status: TaskStatus) -> Failure:
    if status.error_type is not None and issubclass(status.error_type, ProviderError):
        return for_error(status.error_type(status.error or ""), job)
    return Failure(FailureCode.TASK_FAILED, {"detail": _clean(status.error)})


def deadline(job: Job, policy: EnginePolicy, *, offline: bool = False) -> Failure:
    """Nothing is cancelled at the provider (no API offers it): the bot stops waiting."""
    return _at(FailureCode.DEADLINE, job, seconds=policy.deadline(job.kind), offline=offline)


def queue_too_long(job: Job) -> Failure:
    return _at(FailureCode.QUEUE_TOO_LONG, job)


def outcome_unknown(job: Job) -> Failure:
    """No answer, a dropped connection, or an error that may come after the task was made:
    the job is not sent again (it could be paid twice) and the member is not charged."""
    return _at(FailureCode.OUTCOME_UNKNOWN, job)


def no_provider_left(job: Job, tried: list[tuple[str, str]]) -> Failure:
    """Every provider that offers the model was tried and none took the job; ``tried`` is
    (provider, why in a few words: the route's own, jobs/failover.py)."""
    named = [[provider, why] for provider, why in tried]
    return Failure(FailureCode.NO_PROVIDER_LEFT, {"model": job.model, "tried": named})


def submit_interrupted() -> Failure:
    return Failure(FailureCode.SUBMIT_INTERRUPTED)


def provider_disabled(job: Job) -> Failure:
    return _at(FailureCode.PROVIDER_DISABLED, job)


def no_media(job: Job) -> Failure:
    return _at(FailureCode.NO_MEDIA, job)


def unfetchable(job: Job) -> Failure:
    return _at(FailureCode.UNFETCHABLE, job)


def unreachable() -> Failure:
    return Failure(FailureCode.UNREACHABLE)


def undeliverable() -> Failure:
    return Failure(FailureCode.UNDELIVERABLE)


def internal() -> Failure:
    return Failure(FailureCode.INTERNAL)
