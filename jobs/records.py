"""The job as the bot knows it: what was asked, where it stands, what it cost. Everything
needed to resume a job after a restart is a field here; jobs/store.py writes it to the
database (db/jobs.py holds the SQL)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from providers.base import GenerationRequest, Media


@dataclass(frozen=True)
class Route:
    """One provider a job may run on: the job's price there in bot credits (None: not known
    when it was planned) and, once it refused the job, why in a few words."""

    provider: str
    credits: int | None = None
    refused: str | None = None


class JobState(StrEnum):
    QUEUED = "queued"  # credits reserved, waiting for a provider slot
    SUBMITTING = "submitting"  # the submit request may be in flight: never send it again
    RUNNING = "running"  # the provider has a task id; following it
    DELIVERING = "delivering"  # result known; posting it in the channel
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        return self in (JobState.COMPLETED, JobState.FAILED)


class FailureCode(StrEnum):
    """Why a job failed (jobs/failures.py decides which; presentation/sentences/ words it)."""

    CONTENT_FILTERED = "content_filtered"
    PROVIDER_OUT_OF_CREDITS = "provider_out_of_credits"
    API_KEY_REFUSED = "api_key_refused"
    PROVIDER_BUSY = "provider_busy"
    REJECTED = "rejected"  # facts: detail, the provider's own words (clipped)
    LOST_TRACK = "lost_track"
    PROVIDER_PROBLEM = "provider_problem"
    PROVIDER_FAILED = "provider_failed"
    TASK_FAILED = "task_failed"  # facts: detail
    DEADLINE = "deadline"  # facts: seconds, offline
    QUEUE_TOO_LONG = "queue_too_long"
    OUTCOME_UNKNOWN = "outcome_unknown"
    NO_PROVIDER_LEFT = "no_provider_left"  # facts: model, tried ([provider, why] each)
    SUBMIT_INTERRUPTED = "submit_interrupted"
    PROVIDER_DISABLED = "provider_disabled"
    NO_MEDIA = "no_media"
    UNFETCHABLE = "unfetchable"
    UNREACHABLE = "unreachable"
    UNDELIVERABLE = "undeliverable"
    INTERNAL = "internal"
    WORDED = "worded"  # a row from before failures were facts: facts["sentence"] as it was


@dataclass(frozen=True)
class Failure:
    """Why a job failed, as facts: a code and its details (the provider's id where the
    sentence names it). Stored as one JSON object in the job's ``failure`` column."""

    code: str  # a FailureCode; kept as read, so a code from a newer bot still loads
    facts: Mapping[str, Any] = field(default_factory=dict)  # JSON values only

    def to_stored(self) -> str:
        return json.dumps({"code": str(self.code), **self.facts}, sort_keys=True)

    @classmethod
    def from_stored(cls, text: str) -> Failure:
        """The column's text; a plain sentence (written before failures were facts) is kept
        as it was, to be shown as it was."""
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("code"), str):
            code = data.pop("code")
            return cls(code, data)
        return cls(FailureCode.WORDED, {"sentence": text})


@dataclass
class Job:
    id: str
    guild_id: int
    channel_id: int
    user_id: int
    command: str
    kind: str
    provider: str
    model: str
    request: GenerationRequest
    state: JobState
    reserved: int  # bot credits held for the job until it is settled or refunded
    created_at: float
    deadline_at: float
    updated_at: float
    charged: int | None = None  # bot credits charged when it was settled (at most reserved)
    task_id: str | None = None
    progress: int | None = None
    provider_cost: float | None = None  # what the provider says it charged, in its own credits
    media: tuple[Media, ...] = ()
    failure: Failure | None = None  # why it failed, for the member (as facts)
    error: str | None = None  # the technical cause, for logs
    application_id: int | None = None
    interaction_token: str | None = None
    ack_expires_at: float | None = None
    result_message_id: int | None = None
    submit_attempts: int = 0
    submitted_at: float | None = None
    finished_at: float | None = None
    upload_limit: int | None = None  # the interaction's attachment limit (counts the member's
    # Nitro): not the limit for the result, which is a bot message bound by the server's
    posting_started_at: float | None = None  # the result's post began (see migration 0003)
    routes: tuple[Route, ...] = ()  # providers to try in order (jobs/failover.py); () = only
    # ``provider`` (a pinned provider:model, or a model one enabled provider offers)

    @property
    def quoted(self) -> int:
        """What the job costs where it runs now when the provider reports no cost: that
        provider's price on its routes, never more than the reservation (a job that moved to
        a dearer provider still costs what was reserved; see jobs/failover.py)."""
        for candidate in self.routes:
            if candidate.provider == self.provider and candidate.credits is not None:
                return min(candidate.credits, self.reserved)
        return self.reserved

    def __repr__(self) -> str:  # the interaction token must never reach a log
        return (
            f"Job(id={self.id!r}, state={self.state.value}, "
            f"provider={self.provider}, model={self.model})"
        )


@dataclass(frozen=True)
class HistoryPage:
    """One page of a member's jobs in a server, newest first (/history)."""

    jobs: list[Job]
    number: int  # from 1
    pages: int  # 0 when the member has no jobs there
    total: int
    size: int  # jobs a full page holds

    @property
    def exists(self) -> bool:
        return 1 <= self.number <= max(self.pages, 1)

    @property
    def first(self) -> int:
        """The position of the page's first job in the whole history, from 1."""
        return (self.number - 1) * self.size + 1
