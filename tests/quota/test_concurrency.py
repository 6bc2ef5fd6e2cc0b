"""Concurrent reservations can never overspend, within one connection or across two."""

from __future__ import annotations

import asyncio

import pytest

import quota.service as service_module
from db import ledger
from db.database import Database
from jobs.errors import InsufficientCredits, TooManyJobs
from presentation.sentences import for_member
from tests.quota.helpers import job_count, ledger_rows, make_job, make_service, settle_job


@pytest.fixture
def slow_reads(monkeypatch):
    """Widen the read-check-write window: without a write lock taken before the read, two
    reservations would both see the same balance."""
    real = ledger.standings

    async def slow(*args, **kwargs):
        standings = await real(*args, **kwargs)
        await asyncio.sleep(0.002)
        return standings

    monkeypatch.setattr(service_module.ledger, "standings", slow)


async def _race(services, jobs):
    async def watch():
        lows = []
        while True:
            lows.append((await services[0].balance(1, 10)).left)
            await asyncio.sleep(0)
            if watch.stop:
                return lows

    watch.stop = False
    watcher = asyncio.create_task(watch())
    results = await asyncio.gather(
        *(services[i % len(services)].reserve_job(job) for i, job in enumerate(jobs)),
        return_exceptions=True,
    )
    watch.stop = True
    lows = await watcher
    assert min(lows) >= 0
    return results


@pytest.mark.usefixtures("slow_reads")
async def test_concurrent_reservations_one_connection(db, clock):
    quota = make_service(db, clock, default_credits=50)
    jobs = [make_job(cost=7) for _ in range(20)]
    results = await _race([quota], jobs)

    won = [j for j, r in zip(jobs, results, strict=True) if not isinstance(r, Exception)]
    lost = [r for r in results if isinstance(r, Exception)]
    assert len(won) == 7
    assert len(lost) == 13 and all(isinstance(e, InsufficientCredits) for e in lost)
    assert all(e.cost == 7 and 0 <= e.left < 7 for e in lost)
    balance = await quota.balance(1, 10)
    assert (balance.left, balance.reserved, balance.used) == (1, 49, 0)
    assert await job_count(db) == 7
    rows = await ledger_rows(db)
    assert sorted(r["job_id"] for r in rows) == sorted(j.id for j in won)
    assert await ledger.consistency_problems(db) == []


@pytest.mark.usefixtures("slow_reads")
async def test_concurrent_reservations_two_connections(database_target, clock):
    """Two Database objects on one database stand for two processes: only the database keeps
    them apart (each object's asyncio lock knows nothing of the other): BEGIN IMMEDIATE on
    SQLite, the member's lock on PostgreSQL."""
    first = await Database.open(database_target)
    second = await Database.open(database_target)
    try:
        services = [make_service(db, clock, default_credits=50) for db in (first, second)]
        jobs = [make_job(cost=7) for _ in range(20)]
        results = await _race(services, jobs)

        won = [r for r in results if not isinstance(r, Exception)]
        lost = [r for r in results if isinstance(r, Exception)]
        assert len(won) == 7, results
        assert all(isinstance(e, InsufficientCredits) for e in lost), lost
        for quota in services:
            balance = await quota.balance(1, 10)
            assert (balance.left, balance.reserved) == (1, 49)
        assert await job_count(first) == 7
        assert len(await ledger_rows(second)) == 7
        assert await ledger.consistency_problems(first) == []
    finally:
        await first.close()
        await second.close()


@pytest.mark.parametrize("connections", [1, 2])
@pytest.mark.usefixtures("slow_reads")
async def test_max_jobs_per_user(database_target, clock, connections):
    dbs = [await Database.open(database_target) for _ in range(connections)]
    try:
        services = [
            make_service(db, clock, default_credits=1000, max_jobs_per_user=2) for db in dbs
        ]
        jobs = [make_job(cost=3) for _ in range(10)]
        results = await asyncio.gather(
            *(services[i % connections].reserve_job(job) for i, job in enumerate(jobs)),
            return_exceptions=True,
        )
        won = [j for j, r in zip(jobs, results, strict=True) if not isinstance(r, Exception)]
        refused = [j for j, r in zip(jobs, results, strict=True) if isinstance(r, Exception)]
        assert len(won) == 2
        assert all(isinstance(r, TooManyJobs) for r in results if isinstance(r, Exception))
        db = dbs[0]
        for job in refused:
            assert await db.fetchone("SELECT 1 FROM jobs WHERE id = ?", (job.id,)) is None
            assert await db.fetchone("SELECT 1 FROM ledger WHERE job_id = ?", (job.id,)) is None
        assert await job_count(db) == 2 and len(await ledger_rows(db)) == 2
        balance = await services[0].balance(1, 10)
        assert (balance.running_jobs, balance.reserved, balance.left) == (2, 6, 994)

        # another member is not held back by this one's jobs
        await services[0].reserve_job(make_job(user_id=11, cost=3))
        # a finished job frees a slot
        await settle_job(services[0], won[0], 3)
        await services[-1].reserve_job(make_job(cost=3))
        with pytest.raises(TooManyJobs):
            await services[0].reserve_job(make_job(cost=3))
        assert await ledger.consistency_problems(db) == []
    finally:
        for db in dbs:
            await db.close()


async def test_refused_reservation_leaves_nothing(db, quota):
    job = make_job(cost=51)
    with pytest.raises(InsufficientCredits) as refused:
        await quota.reserve_job(job)
    assert (refused.value.cost, refused.value.left) == (51, 50)
    sentence = for_member(refused.value)  # what the member reads
    assert "51 credits" in sentence and "50" in sentence
    assert await job_count(db) == 0 and await ledger_rows(db) == []
    with pytest.raises(ValueError):
        await quota.reserve_job(make_job(cost=-1))
    assert await job_count(db) == 0


@pytest.mark.usefixtures("slow_reads")
async def test_concurrent_take_away_grant_and_reservations_never_overspend_bonus(db, clock):
    """A moderator takes bonus away while the member spends it: together they can never use
    more bonus than there was, and the bonus never goes below zero."""
    quota = make_service(db, clock, default_credits=0, max_jobs_per_user=20)
    await quota.grant(1, 10, 12, actor_id=99, reason="event prize")
    jobs = [make_job(cost=3) for _ in range(6)]
    take_away = quota.grant(1, 10, -9, actor_id=99, reason="mistake")
    results = await asyncio.gather(
        *(quota.reserve_job(job) for job in jobs[:3]),
        take_away,
        *(quota.reserve_job(job) for job in jobs[3:]),
        return_exceptions=True,
    )
    reserved = 3 * sum(1 for r in results[:3] + results[4:] if not isinstance(r, Exception))
    taken = -results[3]
    assert reserved + taken <= 12
    assert reserved + taken > 12 - 3  # nothing left that another job could have used
    balance = await quota.balance(1, 10)
    assert balance.bonus >= 0 and balance.left == 12 - reserved - taken
    assert await ledger.consistency_problems(db) == []


async def test_a_burst_shares_transactions_and_each_member_is_judged_alone(db, clock):
    """Reservations arriving together are written in shared transactions: members with
    credits get theirs, the one without is refused, and the refusal writes nothing."""
    quota = make_service(db, clock, default_credits=10)
    burst = [make_job(user_id=100 + i, cost=4) for i in range(60)]
    broke = make_job(user_id=999, cost=11)
    commits = 0
    real_transaction = db.transaction

    def counting_transaction():
        nonlocal commits
        commits += 1
        return real_transaction()

    db.transaction = counting_transaction
    results = await asyncio.gather(
        *(quota.reserve_job(job) for job in [*burst[:30], broke, *burst[30:]]),
        return_exceptions=True,
    )
    assert commits < 10  # 61 reservations, a handful of transactions
    assert isinstance(results[30], InsufficientCredits)
    assert all(r.left == 6 and r.reserved == 4 for i, r in enumerate(results) if i != 30)
    assert await job_count(db) == 60
    assert await db.fetchone("SELECT 1 FROM ledger WHERE job_id = ?", (broke.id,)) is None
    assert await ledger.consistency_problems(db) == []


async def test_a_database_error_fails_its_batch_and_writes_nothing(db, clock, monkeypatch):
    quota = make_service(db, clock, default_credits=10)
    real_append = service_module.ledger.append_many
    calls = 0

    async def append_fails_once(*args, **kwargs):
        """The jobs are already written when the ledger's rows fail: nothing may remain."""
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("disk I/O error")
        return await real_append(*args, **kwargs)

    monkeypatch.setattr(service_module.ledger, "append_many", append_fails_once)
    jobs = [make_job(user_id=200 + i, cost=1) for i in range(5)]
    results = await asyncio.gather(*(quota.reserve_job(j) for j in jobs), return_exceptions=True)
    assert all(isinstance(r, OSError) for r in results)
    assert await job_count(db) == 0 and await ledger_rows(db) == []

    after = await quota.reserve_job(make_job(user_id=300, cost=1))  # the next batch is fine
    assert after.left == 9
