"""Jobs in the database: a Job becomes a row (its request and media as JSON) and back.
The SQL is db/jobs.py's."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

import aiosqlite

from db import jobs as stored
from db.database import Database
from jobs.records import Failure, Job, JobState, Route
from providers.base import GenerationRequest, Media

_COLUMNS = [f.name for f in fields(Job)]


def _to_row(job: Job) -> dict[str, Any]:
    row = {name: getattr(job, name) for name in _COLUMNS}
    row["request"] = json.dumps(job.request.to_dict())
    row["state"] = job.state.value
    row["media"] = json.dumps([m.__dict__ for m in job.media]) if job.media else None
    row["failure"] = job.failure.to_stored() if job.failure else None
    row["routes"] = json.dumps([r.__dict__ for r in job.routes]) if job.routes else None
    return row


def _from_row(row: Mapping[str, Any]) -> Job:
    values = {name: row[name] for name in _COLUMNS}
    values["request"] = GenerationRequest.from_dict(json.loads(row["request"]))
    values["state"] = JobState(row["state"])
    values["media"] = tuple(Media(**m) for m in json.loads(row["media"])) if row["media"] else ()
    values["failure"] = Failure.from_stored(row["failure"]) if row["failure"] else None
    values["routes"] = tuple(Route(**r) for r in json.loads(row["routes"])) if row["routes"] else ()
    return Job(**values)


class JobStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    async def insert(conn: aiosqlite.Connection, job: Job) -> None:
        """Insert inside the caller's transaction (the reservation's)."""
        await stored.insert(conn, _to_row(job))

    @staticmethod
    async def insert_many(conn: aiosqlite.Connection, jobs: list[Job]) -> None:
        """Insert several jobs in one statement, inside the caller's transaction (a batch of
        reservations)."""
        await stored.insert_many(conn, [_to_row(job) for job in jobs])

    async def get(self, job_id: str) -> Job | None:
        row = await stored.get(self.db, job_id)
        return _from_row(row) if row else None

    async def update(
        self, job: Job, *, conn: aiosqlite.Connection | None = None, **changes: Any
    ) -> Job:
        """Persist some fields of ``job``, inside ``conn``'s transaction when given, then apply
        them to the object: what the object says is never ahead of the database (a stop
        that waits for a state to change can trust it)."""
        row = _to_row(dataclasses.replace(job, **changes))
        await stored.update(self.db, job.id, {name: row[name] for name in changes}, conn=conn)
        for name, value in changes.items():
            setattr(job, name, value)
        return job

    async def unfinished(self) -> list[Job]:
        return [_from_row(r) for r in await stored.unfinished(self.db)]

    async def for_member(
        self,
        guild_id: int,
        user_id: int,
        *,
        limit: int,
        offset: int = 0,
        state: JobState | None = None,
    ) -> list[Job]:
        """A member's jobs in a server, newest first (see db.jobs.member_jobs)."""
        rows = await stored.member_jobs(
            self.db, guild_id, user_id, limit=limit, offset=offset, state=state
        )
        return [_from_row(r) for r in rows]

    async def count_for_member(
        self, guild_id: int, user_id: int, *, state: JobState | None = None
    ) -> int:
        return await stored.count_member_jobs(self.db, guild_id, user_id, state=state)

    async def running_for_member(self, guild_id: int, user_id: int) -> list[Job]:
        return [_from_row(r) for r in await stored.running_for_member(self.db, guild_id, user_id)]

    async def forget_interaction_tokens(
        self, now: float, lifetime: float, *, open_only: bool = False
    ) -> int:
        """See db.jobs.forget_interaction_tokens."""
        return await stored.forget_interaction_tokens(self.db, now, lifetime, open_only=open_only)

    async def submitted_since(self, provider: str, since: float) -> list[float]:
        """Submit times of a provider's jobs since ``since`` (for generation windows)."""
        return await stored.submitted_since(self.db, provider, since)
