"""Job rows: everything needed to resume a job after a restart lives here."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

from db.database import Connection, Database
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


def _from_row(row) -> Job:
    values = {name: row[name] for name in _COLUMNS}
    values["request"] = GenerationRequest.from_dict(json.loads(row["request"]))
    values["state"] = JobState(row["state"])
    values["media"] = tuple(Media(**m) for m in json.loads(row["media"])) if row["media"] else ()
    return Job(**values)


class LeaseLost(Exception):
    """Another process holds this job's lease now: this one must leave the job alone."""


_OPEN = "state NOT IN ('completed', 'failed')"


class JobStore:
    """Job rows. A store made with an ``owner`` (a running engine's lease name) writes only
    to jobs whose lease that owner holds, and raises LeaseLost otherwise: a process that was
    frozen past its lease cannot overwrite the work of the process that took the job over."""

    def __init__(self, db: Database, *, owner: str | None = None) -> None:
        self.db = db
        self.owner = owner

    @staticmethod
    async def insert(conn: Connection, job: Job) -> None:
        """Insert inside the caller's transaction (the reservation's)."""
        row = _to_row(job)
        names = ", ".join(row)
        marks = ", ".join(f":{name}" for name in row)
        await conn.execute(f"INSERT INTO jobs ({names}) VALUES ({marks})", row)

    async def get(self, job_id: str) -> Job | None:
        row = await self.db.fetchone("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return _from_row(row) if row else None

    async def update(self, job: Job, *, conn: Connection | None = None, **changes: Any) -> Job:
        """Persist some fields of ``job``, inside ``conn``'s transaction when given, then apply
        them to the object: what the object says is never ahead of the database (a stop
        that waits for a state to change can trust it)."""
        row = _to_row(dataclasses.replace(job, **changes))
        sets = ", ".join(f"{name} = :{name}" for name in changes)
        values = {**row, "id": job.id}
        sql = f"UPDATE jobs SET {sets} WHERE id = :id"
        if self.owner is not None:
            sql += " AND lease_owner = :lease_owner"
            values["lease_owner"] = self.owner
        if conn is not None:
            written = await conn.execute(sql, values)
        else:
            async with self.db.transaction() as own:
                written = await own.execute(sql, values)
        if self.owner is not None and written.rowcount == 0:
            raise LeaseLost(f"job {job.id} is leased to another process")
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

    # --- leases -------------------------------------------------------------------------

    async def claim(self, job_id: str, now: float, until: float) -> bool:
        """Take (or keep) the lease of one unfinished job, unless a live lease of another
        process holds it."""
        return job_id in await self.claim_many([job_id], now, until)

    async def claim_many(self, job_ids: list[str], now: float, until: float) -> set[str]:
        """``claim`` for several jobs in one statement; the ids now held."""
        assert self.owner is not None
        if not job_ids:
            return set()
        marks = ", ".join("?" for _ in job_ids)
        async with self.db.transaction() as conn:
            rows = await conn.execute_fetchall(
                f"UPDATE jobs SET lease_owner = ?, lease_expires_at = ? WHERE id IN ({marks}) "
                f"AND {_OPEN} AND (lease_owner IS NULL OR lease_owner = ? "
                "OR lease_expires_at <= ?) RETURNING id",
                (self.owner, until, *job_ids, self.owner, now),
            )
        return {r[0] for r in rows}

    async def claim_free(
        self, now: float, until: float, *, limit: int, fresh: float | None = None
    ) -> list[Job]:
        """Take the leases of up to ``limit`` unfinished jobs nobody holds (one released at a
        clean stop, one whose process died and let its lease lapse, one never started),
        oldest first. A job created after ``fresh`` with no lease yet is left alone: the
        process that took its command is about to start it. Processes claiming at the same
        moment get different jobs (PostgreSQL skips rows another claim has locked; SQLite
        has one writer at a time)."""
        assert self.owner is not None
        async with self.db.transaction() as conn:
            rows = await conn.execute_fetchall(
                "UPDATE jobs SET lease_owner = ?, lease_expires_at = ? WHERE id IN ("
                f"SELECT id FROM jobs WHERE {_OPEN} AND ((lease_owner IS NULL "
                "AND created_at <= ?) OR lease_expires_at <= ?) ORDER BY created_at LIMIT ?"
                f"{self.db.skip_locked}) RETURNING *",
                (self.owner, until, now if fresh is None else fresh, now, limit),
            )
        return sorted((_from_row(r) for r in rows), key=lambda job: job.created_at)

    async def claim_at_start(self, now: float, until: float) -> list[Job]:
        """What a starting process resumes. On a database one process uses at a time
        (SQLite) that is every unfinished job, leases left by the previous run included; on a
        shared one, the jobs no live process holds."""
        assert self.owner is not None
        if not self.db.shared:
            async with self.db.transaction() as conn:
                await conn.execute(
                    f"UPDATE jobs SET lease_owner = ?, lease_expires_at = ? WHERE {_OPEN}",
                    (self.owner, until),
                )
            return await self.unfinished()
        found: list[Job] = []
        while batch := await self.claim_free(now, until, limit=500):
            found += batch
        return found

    async def renew(self, until: float) -> set[str]:
        """Extend every lease this owner holds on an unfinished job; the ids still held."""
        assert self.owner is not None
        async with self.db.transaction() as conn:
            rows = await conn.execute_fetchall(
                f"UPDATE jobs SET lease_expires_at = ? WHERE lease_owner = ? AND {_OPEN} "
                "RETURNING id",
                (until, self.owner),
            )
        return {r[0] for r in rows}

    async def release(self, job_ids: list[str] | None = None) -> int:
        """Give up leases (all of this owner's, or those of ``job_ids``) so another process
        may take the jobs at once instead of waiting for the leases to lapse."""
        assert self.owner is not None
        which = ""
        if job_ids is not None:
            if not job_ids:
                return 0
            which = f" AND id IN ({', '.join('?' for _ in job_ids)})"
        async with self.db.transaction() as conn:
            released = await conn.execute(  # lapsed at once (0): free to take
                "UPDATE jobs SET lease_owner = NULL, lease_expires_at = 0 "
                f"WHERE lease_owner = ?{which}",
                (self.owner, *(job_ids or ())),
            )
            return released.rowcount
