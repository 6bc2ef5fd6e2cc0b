"""The job as the bot knows it: what was asked, where it stands, what it cost. Everything
needed to resume a job after a restart is a field here; jobs/store.py writes it to the
database (db/jobs.py holds the SQL)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

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
    failure: str | None = None  # a finished sentence for the user
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
