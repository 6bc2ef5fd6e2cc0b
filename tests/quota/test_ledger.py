"""Settle, refund, grants, resets and history against a real database (each backend)."""

from __future__ import annotations

import pytest

from db import ledger
from db.database import DATABASE_ERRORS
from jobs.store import JobStore
from tests.quota.helpers import ledger_rows, make_job, refund_job, settle_job


async def _reserve(quota, cost, **kwargs):
    job = make_job(cost=cost, **kwargs)
    await quota.reserve_job(job)
    return job


async def test_settle_charges_at_most_the_reservation(db, quota):
    job = await _reserve(quota, 10)
    assert await settle_job(quota, job, 4) == 4
    balance = await quota.balance(1, 10)
    assert (balance.used, balance.reserved, balance.left, balance.running_jobs) == (4, 0, 46, 0)
    stored = await JobStore(db).get(job.id)
    assert stored.charged == 4

    big = await _reserve(quota, 10)
    assert await settle_job(quota, big, 25) == 10  # never more than reserved
    free = await _reserve(quota, 10)
    assert await settle_job(quota, free, -3) == 0
    balance = await quota.balance(1, 10)
    assert (balance.used, balance.left) == (14, 36)
    assert await ledger.consistency_problems(db) == []


async def test_settle_and_refund_are_idempotent(db, quota):
    settled = await _reserve(quota, 10)
    assert await settle_job(quota, settled, 6) == 6
    rows, balance = len(await ledger_rows(db)), await quota.balance(1, 10)
    # a different Job object (as after a restart) with no charge recorded on it
    fresh = make_job(cost=10, job_id=settled.id)
    assert await quota.settle(fresh, 9) == 6
    assert await quota.refund(fresh, "late failure") is False
    assert len(await ledger_rows(db)) == rows and await quota.balance(1, 10) == balance

    refunded = await _reserve(quota, 10)
    assert await refund_job(quota, refunded) is True
    rows, balance = len(await ledger_rows(db)), await quota.balance(1, 10)
    assert await quota.refund(refunded, "again") is False
    assert await quota.settle(refunded, 10) == 0
    assert len(await ledger_rows(db)) == rows and await quota.balance(1, 10) == balance
    assert await ledger.consistency_problems(db) == []


async def test_refund_restores_exactly(db, quota):
    await quota.grant(1, 10, 12, actor_id=99, reason="thanks")
    await settle_job(quota, await _reserve(quota, 45), 45)
    before = await quota.balance(1, 10)
    assert (before.allowance_left, before.bonus, before.left) == (5, 12, 17)
    job = await _reserve(quota, 15)  # 5 from the allowance, 10 from bonus
    during = await quota.balance(1, 10)
    assert (during.allowance_left, during.bonus, during.reserved, during.left) == (0, 2, 15, 2)
    assert await refund_job(quota, job)
    assert await quota.balance(1, 10) == before
    refund = (await quota.history(1, 10, limit=1))[0]
    assert (refund.kind, refund.amount, refund.allowance_delta, refund.bonus_delta) == (
        "refund",
        15,
        5,
        10,
    )
    assert (refund.job_id, refund.reason) == (job.id, "failed")
    assert await ledger.consistency_problems(db) == []


@pytest.mark.parametrize(
    ("allowance", "bonus", "cost", "charge", "expect_bonus", "expect_used"),
    [
        # the reservation takes allowance first; the give-back refills bonus first
        (5, 10, 12, 6, 9, 5),  # 5 + 7 reserved; 6 back: all to bonus
        (50, 10, 55, 20, 10, 20),  # 50 + 5 reserved; 35 back: 5 to bonus, 30 to allowance
        (50, 10, 30, 30, 10, 30),  # all from allowance, all charged
        (0, 10, 8, 3, 7, 0),  # all from bonus
    ],
)
async def test_reservation_and_give_back_order(
    db, quota, allowance, bonus, cost, charge, expect_bonus, expect_used
):
    await quota.set_allowance(1, 10, allowance, actor_id=99)
    await quota.grant(1, 10, bonus, actor_id=99, reason="r")
    job = await _reserve(quota, cost)
    reserve = await ledger.reservation(db.conn, job.id)
    from_allowance = min(cost, allowance)
    assert (reserve.allowance_delta, reserve.bonus_delta) == (
        -from_allowance,
        -(cost - from_allowance),
    )
    await settle_job(quota, job, charge)
    balance = await quota.balance(1, 10)
    assert (balance.bonus, balance.used) == (expect_bonus, expect_used)
    assert balance.left == allowance - expect_used + expect_bonus
    assert await ledger.consistency_problems(db) == []


async def test_ledger_is_append_only(db, quota):
    await _reserve(quota, 5)
    with pytest.raises(DATABASE_ERRORS, match="append-only"):
        async with db.transaction() as conn:
            await conn.execute("UPDATE ledger SET amount = 0")
    with pytest.raises(DATABASE_ERRORS, match="append-only"):
        async with db.transaction() as conn:
            await conn.execute("DELETE FROM ledger")
    assert [r["amount"] for r in await ledger_rows(db)] == [5]


async def test_rows_record_actor_reason_and_job(db, quota):
    job = await _reserve(quota, 5)
    (reserve,) = await quota.history(1, 10)
    assert (reserve.kind, reserve.actor_id, reserve.job_id) == ("reserve", 10, job.id)
    assert reserve.reason == "/image sandbox-image" and reserve.period == "D2024-05-15"
    await settle_job(quota, job, 5)
    settle = (await quota.history(1, 10, limit=1))[0]
    assert (settle.kind, settle.job_id, settle.reason) == (
        "settle",
        job.id,
        "sandbox:sandbox-image completed",
    )


async def test_settle_without_reservation(quota):
    job = make_job(cost=5)
    with pytest.raises(LookupError):
        await quota.settle(job, 5)
    assert await quota.refund(job, "x") is False


async def test_grants_outlive_the_period(db, quota, clock):
    assert await quota.grant(1, 10, 20, actor_id=99, reason="contest") == 20
    balance = await quota.balance(1, 10)
    assert (balance.bonus, balance.left) == (20, 70)
    await settle_job(quota, await _reserve(quota, 60), 60)  # 50 allowance + 10 bonus
    assert (await quota.balance(1, 10)).left == 10
    clock.advance(86400)
    balance = await quota.balance(1, 10)
    assert (balance.bonus, balance.allowance_left, balance.left, balance.used) == (10, 50, 60, 0)
    grant = (await quota.history(1, 10))[-1]
    assert (grant.kind, grant.amount, grant.bonus_delta, grant.allowance_delta) == (
        "grant",
        20,
        20,
        0,
    )
    assert (grant.actor_id, grant.reason, grant.job_id) == (99, "contest", None)


async def test_negative_grants_clamp_to_unreserved_bonus(db, quota):
    await quota.grant(1, 10, 20, actor_id=99, reason="gift")
    job = await _reserve(quota, 60)  # 50 allowance + 10 bonus held
    assert await quota.grant(1, 10, -15, actor_id=99, reason="abuse") == -10
    balance = await quota.balance(1, 10)
    assert (balance.bonus, balance.left, balance.reserved) == (0, 0, 60)
    row = (await quota.history(1, 10, limit=1))[0]
    assert (row.amount, row.bonus_delta) == (-10, -10)
    assert row.reason == "abuse (asked -15, only 10 bonus left)"

    # nothing left to take: the attempt is recorded, nothing changes
    assert await quota.grant(1, 10, -5, actor_id=99, reason=None) == 0
    assert (await quota.history(1, 10, limit=1))[0].amount == 0
    # the held bonus part comes back when the job fails
    await refund_job(quota, job)
    assert (await quota.balance(1, 10)).bonus == 10
    assert await quota.grant(1, 10, -4, actor_id=99, reason="trim") == -4
    assert (await quota.balance(1, 10)).bonus == 6
    with pytest.raises(ValueError):
        await quota.grant(1, 10, 0, actor_id=99, reason="noop")
    assert await ledger.consistency_problems(db) == []


async def test_reset_clears_usage_but_not_open_reservations(db, quota):
    await settle_job(quota, await _reserve(quota, 10), 10)
    running = await _reserve(quota, 15)
    await quota.grant(1, 10, 5, actor_id=99, reason="r")
    balance = await quota.balance(1, 10)
    assert (balance.used, balance.reserved, balance.left) == (10, 15, 30)

    assert await quota.reset(1, 10, actor_id=99, reason="sorry") == 10
    balance = await quota.balance(1, 10)
    assert (balance.used, balance.reserved, balance.bonus, balance.left) == (0, 15, 5, 40)
    row = (await quota.history(1, 10, limit=1))[0]
    assert (row.kind, row.amount, row.allowance_delta, row.actor_id, row.reason) == (
        "reset",
        10,
        10,
        99,
        "sorry",
    )
    # the refund of the running job cannot lift the member above the allowance
    await refund_job(quota, running)
    balance = await quota.balance(1, 10)
    assert (balance.allowance_left, balance.used, balance.left) == (50, 0, 55)
    assert await quota.reset(1, 10, actor_id=99) == 0
    assert await ledger.consistency_problems(db) == []


async def test_reset_then_settle_counts_only_the_charge(db, quota):
    running = await _reserve(quota, 20)
    await settle_job(quota, await _reserve(quota, 30), 30)
    assert await quota.reset(1, 10, actor_id=99) == 30
    await settle_job(quota, running, 12)
    balance = await quota.balance(1, 10)
    assert (balance.used, balance.left) == (12, 38)


async def test_reset_only_touches_the_current_period(db, quota, clock):
    await settle_job(quota, await _reserve(quota, 30), 30)
    clock.advance(86400)
    await settle_job(quota, await _reserve(quota, 5), 5)
    assert await quota.reset(1, 10, actor_id=99) == 5
    clock.advance(-86400)
    assert (await quota.balance(1, 10)).used == 30


async def test_history_pages_newest_first(quota):
    for amount in range(1, 8):
        await quota.grant(1, 10, amount, actor_id=99, reason=f"g{amount}")
    await quota.grant(1, 11, 100, actor_id=99, reason="someone else")
    assert [r.amount for r in await quota.history(1, 10)] == [7, 6, 5, 4, 3, 2, 1]
    assert [r.amount for r in await quota.history(1, 10, limit=3)] == [7, 6, 5]
    assert [r.amount for r in await quota.history(1, 10, limit=3, offset=3)] == [4, 3, 2]
    assert await quota.history(1, 10, offset=10) == []
    with pytest.raises(ValueError):
        await quota.history(1, 10, limit=0)
    with pytest.raises(ValueError):
        await quota.history(1, 10, offset=-1)


async def test_long_reasons_are_trimmed(quota):
    await quota.grant(1, 10, 1, actor_id=99, reason="x" * 500)
    await quota.set_allowance(1, 10, 10, actor_id=99, reason="   ")
    grant, set_row = (await quota.history(1, 10))[::-1]
    assert len(grant.reason) == 200 and set_row.reason is None
