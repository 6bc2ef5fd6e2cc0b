"""Part d: credit reservations per second with members competing, and no overspend.

The real QuotaService reserves on a real SQLite file (WAL, as the bot opens it). Every member
runs its own loop of /image-sized reservations at once with the others until its allowance is
spent; the figure is successful reservations per second of wall time. Afterwards every
member's reservations must add up to no more than its allowance, its balance must agree, and
``db.ledger.consistency_problems`` must find nothing.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from db import ledger
from db.database import Database
from jobs.errors import InsufficientCredits
from jobs.records import Job, JobState
from providers.base import GenerationRequest, Kind
from quota.service import QuotaService

GUILD = 1
REQUEST = GenerationRequest(kind=Kind.IMAGE, model="nano-banana", prompt="a banana")


@dataclass(frozen=True)
class LedgerSize:
    members: int
    allowance: int  # each member's credits for the period
    max_cost: int  # each reservation costs 1..max_cost credits


def _job(user_id: int, cost: int, now: float) -> Job:
    return Job(
        id=secrets.token_hex(6),
        guild_id=GUILD,
        channel_id=2,
        user_id=user_id,
        command="image",
        kind="image",
        provider="nanobanana",
        model="nano-banana",
        request=REQUEST,
        state=JobState.QUEUED,
        reserved=cost,
        created_at=now,
        deadline_at=now + 600,
        updated_at=now,
    )


async def run(size: LedgerSize) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="bench-ledger-") as tmp:
        db = await Database.open(Path(tmp) / "ledger.db")
        try:
            return await _race(db, size)
        finally:
            await db.close()


async def _race(db: Database, size: LedgerSize) -> dict[str, object]:
    quota = QuotaService(
        db,
        period="daily",
        default_credits=size.allowance,
        max_jobs_per_user=10**9,  # the running-jobs cap is not what this measures
    )
    rng = random.Random(7)
    costs = {
        100 + m: [rng.randint(1, size.max_cost) for _ in range(size.allowance + 5)]
        for m in range(size.members)
    }
    won: dict[int, list[int]] = {user: [] for user in costs}
    refused = 0

    async def member(user_id: int) -> None:
        nonlocal refused
        for cost in costs[user_id]:
            try:
                await quota.reserve_job(_job(user_id, cost, time.time()))
            except InsufficientCredits:
                refused += 1
                if (await quota.balance(GUILD, user_id)).left == 0:
                    return
                continue
            won[user_id].append(cost)

    started = time.perf_counter()
    await asyncio.gather(*(member(user) for user in costs))
    elapsed = time.perf_counter() - started

    reservations = sum(len(v) for v in won.values())
    overspent = []
    for user, spent in won.items():
        balance = await quota.balance(GUILD, user)
        if sum(spent) > size.allowance or balance.left != size.allowance - sum(spent):
            overspent.append(user)
    problems = await ledger.consistency_problems(db)
    return {
        "members": size.members,
        "allowance": size.allowance,
        "reservations": reservations,
        "refused": refused,
        "seconds": elapsed,
        "per_second": reservations / elapsed if elapsed > 0 else None,
        "overspent_members": len(overspent),
        "ledger_problems": problems,
    }
