"""Shared pieces for the quota tests: an injectable clock, job factories, a finisher."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from db.database import Database
from jobs.records import Job, JobState
from jobs.store import JobStore
from providers.base import GenerationRequest, Kind
from quota.service import QuotaService

# Wednesday 2024-05-15 12:00 UTC
T0 = datetime(2024, 5, 15, 12, 0, tzinfo=UTC).timestamp()

_ids = itertools.count(1)


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def set(self, when: datetime) -> None:
        self.now = when.timestamp()


def make_job(
    *, guild_id: int = 1, user_id: int = 10, cost: int = 5, now: float = T0, job_id: str = ""
) -> Job:
    return Job(
        id=job_id or f"job{next(_ids)}",
        guild_id=guild_id,
        channel_id=2,
        user_id=user_id,
        command="image",
        kind="image",
        provider="sandbox",
        model="sandbox-image",
        request=GenerationRequest(kind=Kind.IMAGE, model="sandbox-image", prompt="a cat"),
        state=JobState.QUEUED,
        reserved=cost,
        created_at=now,
        deadline_at=now + 600,
        updated_at=now,
    )


def make_service(
    db: Database,
    clock: Clock,
    *,
    period: str = "daily",
    default_credits: int = 50,
    max_jobs_per_user: int = 100,
) -> QuotaService:
    return QuotaService(
        db,
        period=period,
        default_credits=default_credits,
        max_jobs_per_user=max_jobs_per_user,
        clock=clock,
    )


async def settle_job(quota: QuotaService, job: Job, charge: int) -> int:
    """What the engine does: settle and mark the job completed in one transaction."""
    async with quota.db.transaction() as conn:
        charged = await quota.settle(job, charge, conn=conn)
        await JobStore(quota.db).update(
            job, conn=conn, state=JobState.COMPLETED, charged=charged, finished_at=quota.clock()
        )
    return charged


async def refund_job(quota: QuotaService, job: Job, reason: str = "failed") -> bool:
    async with quota.db.transaction() as conn:
        done = await quota.refund(job, reason, conn=conn)
        await JobStore(quota.db).update(
            job, conn=conn, state=JobState.FAILED, finished_at=quota.clock()
        )
    return done


async def ledger_rows(db: Database) -> list:
    return await db.fetchall("SELECT * FROM ledger ORDER BY id")


async def job_count(db: Database) -> int:
    row = await db.fetchone("SELECT COUNT(*) FROM jobs")
    return row[0]
