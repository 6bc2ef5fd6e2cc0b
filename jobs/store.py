"""Jobs in the database: a Job becomes a row (its request and media as JSON) and back.
The SQL is db/jobs.py's, leases included."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from db import jobs as stored
from db.database import Connection, Database
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


class LeaseLost(Exception):
    """Another process holds this job's lease now: this one must leave the job alone."""


class JobStore:
    """Jobs as records. A store made with an ``owner`` (a running engine's lease name) writes
    only to jobs whose lease that owner holds, and raises LeaseLost otherwise: a process that
    was frozen past its lease cannot overwrite the work of the process that took the job
    over."""

    def __init__(self, db: Database, *, owner: str | None = None) -> None:
        self.db = db
        self.owner = owner

    @staticmethod
    async def insert(conn: Connection, job: Job) -> None:
        """Insert inside the caller's transaction (the reservation's)."""
        await stored.insert(conn, _to_row(job))

    @staticmethod
    async def insert_many(conn: Connection, jobs: list[Job]) -> None:
        """Insert several jobs in one statement, inside the caller's transaction (a batch of
        reservations)."""
        await stored.insert_many(conn, [_to_row(job) for job in jobs])

    async def get(self, job_id: str) -> Job | None:
        row = await stored.get(self.db, job_id)
        return _from_row(row) if row else None

    async def update(self, job: Job, *, conn: Connection | None = None, **changes: Any) -> Job:
        """Persist some fields of ``job``, inside ``conn``'s transaction when given, then apply
        them to the object: what the object says is never ahead of the database (a stop
        that waits for a state to change can trust it)."""
        row = _to_row(dataclasses.replace(job, **changes))
        written = await stored.update(
            self.db, job.id, {name: row[name] for name in changes}, conn=conn, owner=self.owner
        )
        if self.owner is not None and written == 0:
            raise LeaseLost(f"job {job.id} is leased to another process")
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

    # --- leases (db/jobs.py) ------------------------------------------------------------

    def _owner(self) -> str:
        assert self.owner is not None, "leases need a JobStore made with an owner"
        return self.owner

    async def claim(self, job_id: str, now: float, until: float) -> bool:
        """Take (or keep) one job's lease, unless a live lease of another process holds it."""
        return job_id in await self.claim_many([job_id], now, until)

    async def claim_many(self, job_ids: list[str], now: float, until: float) -> set[str]:
        return await stored.claim(self.db, self._owner(), job_ids, now, until)

    async def claim_free(
        self, now: float, until: float, *, limit: int, fresh: float | None = None
    ) -> list[Job]:
        """See db.jobs.claim_free; ``fresh`` None: no job is too new."""
        rows = await stored.claim_free(
            self.db, self._owner(), now, until, limit=limit, fresh=now if fresh is None else fresh
        )
        return sorted((_from_row(r) for r in rows), key=lambda job: job.created_at)

    async def claim_at_start(self, now: float, until: float) -> list[Job]:
        """What a starting process resumes. On a database one process uses at a time
        (SQLite) that is every unfinished job, leases left by the previous run included; on a
        shared one, the jobs no live process holds."""
        if not self.db.shared:
            await stored.claim_all(self.db, self._owner(), until)
            return await self.unfinished()
        found: list[Job] = []
        while batch := await self.claim_free(now, until, limit=500):
            found += batch
        return found

    async def renew(self, until: float) -> set[str]:
        """Extend every lease this owner holds on an unfinished job; the ids still held."""
        return await stored.renew(self.db, self._owner(), until)

    async def release(self, job_ids: list[str] | None = None) -> int:
        """Give up leases so another process may take the jobs at once."""
        return await stored.release(self.db, self._owner(), job_ids)
