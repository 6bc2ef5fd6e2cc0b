"""Job rows: everything needed to resume a job after a restart lives here."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

import aiosqlite

from db.database import Database
from providers.base import GenerationRequest, Media


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
    cost: int  # bot credits reserved
    created_at: float
    deadline_at: float
    updated_at: float
    charged: int | None = None
    task_id: str | None = None
    progress: int | None = None
    provider_cost: float | None = None
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

    def __repr__(self) -> str:  # the interaction token must never reach a log
        return (
            f"Job(id={self.id!r}, state={self.state.value}, "
            f"provider={self.provider}, model={self.model})"
        )


_COLUMNS = [f.name for f in fields(Job)]


def _to_row(job: Job) -> dict[str, Any]:
    row = {name: getattr(job, name) for name in _COLUMNS}
    row["request"] = json.dumps(job.request.to_dict())
    row["state"] = job.state.value
    row["media"] = json.dumps([m.__dict__ for m in job.media]) if job.media else None
    return row


_INSERT = (
    f"INSERT INTO jobs ({', '.join(_COLUMNS)}) VALUES ({', '.join(':' + c for c in _COLUMNS)})"
)


def _from_row(row: aiosqlite.Row) -> Job:
    values = {name: row[name] for name in _COLUMNS}
    values["request"] = GenerationRequest.from_dict(json.loads(row["request"]))
    values["state"] = JobState(row["state"])
    values["media"] = tuple(Media(**m) for m in json.loads(row["media"])) if row["media"] else ()
    return Job(**values)


class JobStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    async def insert(conn: aiosqlite.Connection, job: Job) -> None:
        """Insert inside the caller's transaction (the reservation's)."""
        await conn.execute(_INSERT, _to_row(job))

    @staticmethod
    async def insert_many(conn: aiosqlite.Connection, jobs: list[Job]) -> None:
        """Insert several jobs in one statement, inside the caller's transaction (a batch of
        reservations)."""
        if jobs:
            await conn.executemany(_INSERT, [_to_row(job) for job in jobs])

    async def get(self, job_id: str) -> Job | None:
        row = await self.db.fetchone("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return _from_row(row) if row else None

    async def update(
        self, job: Job, *, conn: aiosqlite.Connection | None = None, **changes: Any
    ) -> Job:
        """Persist some fields of ``job``, inside ``conn``'s transaction when given, then apply
        them to the object: what the object says is never ahead of the database (a stop
        that waits for a state to change can trust it)."""
        row = _to_row(dataclasses.replace(job, **changes))
        sets = ", ".join(f"{name} = :{name}" for name in changes)
        sql = f"UPDATE jobs SET {sets} WHERE id = :id"
        if conn is not None:
            await conn.execute(sql, {**row, "id": job.id})
        else:
            async with self.db.transaction() as own:
                await own.execute(sql, {**row, "id": job.id})
        for name, value in changes.items():
            setattr(job, name, value)
        return job

    async def unfinished(self) -> list[Job]:
        rows = await self.db.fetchall(
            "SELECT * FROM jobs WHERE state NOT IN ('completed', 'failed') ORDER BY created_at"
        )
        return [_from_row(r) for r in rows]

    async def running_for_member(self, guild_id: int, user_id: int) -> list[Job]:
        rows = await self.db.fetchall(
            "SELECT * FROM jobs WHERE guild_id = ? AND user_id = ? "
            "AND state NOT IN ('completed', 'failed') ORDER BY created_at",
            (guild_id, user_id),
        )
        return [_from_row(r) for r in rows]

    async def forget_interaction_tokens(
        self, now: float, lifetime: float, *, open_only: bool = False
    ) -> int:
        """Null the interaction token of every finished job and of every job whose token is
        past its use (``ack_expires_at`` passed, or created ``lifetime`` seconds ago); returns
        how many. A stored token lets whoever reads it answer as the bot until it expires,
        and is of no use afterwards.

        ``open_only`` looks at unfinished jobs alone, through the jobs_open index: the frequent
        sweep, for finished jobs clear their own token (a whole-table pass runs at start)."""
        expired = "(created_at <= ? OR ack_expires_at <= ?)"
        where = (
            f"state NOT IN ('completed', 'failed') AND {expired}"
            if open_only
            else f"(state IN ('completed', 'failed') OR {expired})"
        )
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE jobs SET interaction_token = NULL "
                f"WHERE {where} AND interaction_token IS NOT NULL",
                (now - lifetime, now),
            )
            return cursor.rowcount

    async def submitted_since(self, provider: str, since: float) -> list[float]:
        """Submit times of a provider's jobs since ``since`` (for generation windows)."""
        rows = await self.db.fetchall(
            "SELECT submitted_at FROM jobs WHERE provider = ? AND submitted_at >= ? "
            "ORDER BY submitted_at",
            (provider, since),
        )
        return [r[0] for r in rows]
