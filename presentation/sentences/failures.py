"""Why a job failed, in plain words for the member: the job card, the result message and the
DM all word a job's Failure (its code and facts, jobs/failures.py) here, when they show it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from jobs.records import Failure, FailureCode

Facts = Mapping[str, Any]


def _span(seconds: float) -> str:
    if seconds < 90:
        return f"{round(seconds)} second{'s' if round(seconds) != 1 else ''}"
    minutes = round(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def content_filtered(facts: Facts) -> str:
    return (
        "The provider's safety filter rejected this request. Try rewording the prompt "
        "or using a different image."
    )


def provider_out_of_credits(facts: Facts) -> str:
    return (
        f"The bot's account at {facts['provider']} has run out of credits. A server admin "
        "needs to top it up."
    )


def api_key_refused(facts: Facts) -> str:
    return f"{facts['provider']} refused the bot's API key. Please let a server admin know."


def provider_busy(facts: Facts) -> str:
    return f"{facts['provider']} is too busy right now. Please try again in a few minutes."


def rejected(facts: Facts) -> str:
    detail = facts.get("detail")
    return f"{facts['provider']} rejected the request" + (f": {detail}" if detail else ".")


def lost_track(facts: Facts) -> str:
    return f"{facts['provider']} lost track of this generation."


def provider_problem(facts: Facts) -> str:
    return f"{facts['provider']} had a problem and could not make this. Please try again later."


def provider_failed(facts: Facts) -> str:
    return f"{facts['provider']} could not make this."


def task_failed(facts: Facts) -> str:
    detail = facts.get("detail")
    return "The generation failed at the provider" + (f": {detail}" if detail else ".")


def deadline(facts: Facts) -> str:
    span = _span(facts["seconds"])
    if facts.get("offline"):
        return (
            f"The bot was offline when this generation's {span} ran out, and "
            f"{facts['provider']} had not finished it when the bot checked again, so the bot "
            "stopped waiting for it."
        )
    return f"The generation did not finish within {span}, so the bot stopped waiting for it."


def queue_too_long(facts: Facts) -> str:
    return f"{facts['provider']} has been busy for too long. Please try again later."


def outcome_unknown(facts: Facts) -> str:
    return (
        f"{facts['provider']} did not confirm that the job started (no answer, or an error), "
        "so it was not charged. Please try again."
    )


REFUSALS = {  # why a provider did not take a job (jobs/failover.py's codes)
    "busy": "too busy",
    "out_of_credits": "the bot's account there is out of credits",
    "key_refused": "it refused the bot's API key",
    "unreachable": "could not be reached",
    "no_answer": "did not answer",
    "server_error": "server error",
    "gone": "no longer offers this",
    "refused": "refused it",
}


def provider_refusal(code: str) -> str:
    """A route's refusal code in a few plain words; ``server_error:503`` names its status."""
    kind, _, status = code.partition(":")
    if kind == "server_error" and status:
        return f"server error (HTTP {status})"
    return REFUSALS.get(kind, "refused it")


def no_provider_left(facts: Facts) -> str:
    named = "; ".join(f"{provider}: {provider_refusal(why)}" for provider, why in facts["tried"])
    return (
        f"None of the providers that offer `{facts['model']}` could take this job ({named}), "
        "so it was not charged. Please try again later."
    )


def submit_interrupted(facts: Facts) -> str:
    return (
        "The bot restarted while sending this job, so it was cancelled rather than risk "
        "running it twice."
    )


def provider_disabled(facts: Facts) -> str:
    return f"The provider {facts['provider']} is no longer enabled on this bot."


def no_media(facts: Facts) -> str:
    return f"{facts['provider']} finished but returned no file."


def unfetchable(facts: Facts) -> str:
    return (
        f"{facts['provider']} finished, but its result could not be fetched safely (it "
        "pointed somewhere the bot does not download from), so there is nothing to show."
    )


def unreachable(facts: Facts) -> str:
    return "Discord kept failing when the bot posted the result, so it could not be shown."


def undeliverable(facts: Facts) -> str:
    return (
        "Discord would not let the bot post the result: not in the channel (missing "
        "permissions, or the channel is gone), not as a reply, and not in your DMs."
    )


def internal(facts: Facts) -> str:
    return "Something went wrong on the bot's side. Sorry about that."


def unknown(facts: Facts) -> str:
    """A code this bot does not know (written by a newer one): no detail, but no silence."""
    return "The job failed."


SENTENCES: dict[str, Callable[[Facts], str]] = {
    FailureCode.CONTENT_FILTERED: content_filtered,
    FailureCode.PROVIDER_OUT_OF_CREDITS: provider_out_of_credits,
    FailureCode.API_KEY_REFUSED: api_key_refused,
    FailureCode.PROVIDER_BUSY: provider_busy,
    FailureCode.REJECTED: rejected,
    FailureCode.LOST_TRACK: lost_track,
    FailureCode.PROVIDER_PROBLEM: provider_problem,
    FailureCode.PROVIDER_FAILED: provider_failed,
    FailureCode.TASK_FAILED: task_failed,
    FailureCode.DEADLINE: deadline,
    FailureCode.QUEUE_TOO_LONG: queue_too_long,
    FailureCode.OUTCOME_UNKNOWN: outcome_unknown,
    FailureCode.NO_PROVIDER_LEFT: no_provider_left,
    FailureCode.SUBMIT_INTERRUPTED: submit_interrupted,
    FailureCode.PROVIDER_DISABLED: provider_disabled,
    FailureCode.NO_MEDIA: no_media,
    FailureCode.UNFETCHABLE: unfetchable,
    FailureCode.UNREACHABLE: unreachable,
    FailureCode.UNDELIVERABLE: undeliverable,
    FailureCode.INTERNAL: internal,
}


def job_failure(failure: Failure | None) -> str:
    """The sentence for a failed job; one stored as a sentence (before failures were facts)
    is shown as it was."""
    if failure is None:
        return unknown({})
    if failure.code == FailureCode.WORDED:
        return str(failure.facts.get("sentence") or unknown({}))
    try:
        return SENTENCES.get(failure.code, unknown)(failure.facts)
    except (KeyError, TypeError, ValueError):  # facts a newer or older bot wrote otherwise
        return unknown({})
