"""Period keys and ends (all periods start at 00:00 UTC, weeks on Monday), and jobs that
straddle a reset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from db import ledger
from quota.periods import PERIODS, period_end, period_key
from tests.quota.helpers import make_job, make_service, refund_job, settle_job


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("period", "when", "key", "end"),
    [
        ("daily", utc(2024, 5, 15, 0, 0), "D2024-05-15", utc(2024, 5, 16)),
        ("daily", utc(2024, 5, 15, 23, 59, 59, 999999), "D2024-05-15", utc(2024, 5, 16)),
        ("daily", utc(2024, 12, 31, 12), "D2024-12-31", utc(2025, 1, 1)),
        ("daily", utc(2024, 2, 28, 12), "D2024-02-28", utc(2024, 2, 29)),
        # 20:00 at UTC-5 is already 01:00 the next day in UTC
        (
            "daily",
            datetime(2024, 5, 15, 20, tzinfo=timezone(timedelta(hours=-5))),
            "D2024-05-16",
            utc(2024, 5, 17),
        ),
        ("weekly", utc(2024, 5, 13, 0, 0), "W2024-05-13", utc(2024, 5, 20)),  # Monday
        ("weekly", utc(2024, 5, 15, 12), "W2024-05-13", utc(2024, 5, 20)),  # Wednesday
        ("weekly", utc(2024, 5, 19, 23, 59, 59), "W2024-05-13", utc(2024, 5, 20)),  # Sunday
        ("weekly", utc(2024, 5, 20, 0, 0), "W2024-05-20", utc(2024, 5, 27)),
        ("weekly", utc(2025, 1, 1, 8), "W2024-12-30", utc(2025, 1, 6)),  # across the year
        ("monthly", utc(2024, 5, 1, 0, 0), "M2024-05", utc(2024, 6, 1)),
        ("monthly", utc(2024, 5, 31, 23, 59, 59), "M2024-05", utc(2024, 6, 1)),
        ("monthly", utc(2024, 2, 29, 12), "M2024-02", utc(2024, 3, 1)),
        ("monthly", utc(2024, 12, 31, 23, 59), "M2024-12", utc(2025, 1, 1)),
        ("none", utc(2024, 5, 15, 12), "all", None),
        ("none", utc(1999, 1, 1), "all", None),
    ],
)
def test_period_key_and_end(period, when, key, end):
    assert period_key(period, when) == key
    assert period_end(period, when) == end


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="unknown quota period"):
        period_key("yearly", utc(2024, 1, 1))
    with pytest.raises(ValueError, match="unknown quota period"):
        period_end("hourly", utc(2024, 1, 1))
    with pytest.raises(ValueError, match="aware"):
        period_key("daily", datetime(2024, 1, 1, 12))  # naive
    with pytest.raises(ValueError, match="aware"):
        period_end("daily", datetime(2024, 1, 1, 12))


@given(
    period=st.sampled_from([p for p in PERIODS if p != "none"]),
    when=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
)
def test_periods_tile_time(period, when):
    """A period ends at a midnight UTC where the next one starts; its key is constant up to
    the end and changes exactly there."""
    end = period_end(period, when)
    assert end > when and (end.hour, end.minute, end.second, end.microsecond) == (0, 0, 0, 0)
    assert end - when <= timedelta(days=31)
    assert period_key(period, end - timedelta(microseconds=1)) == period_key(period, when)
    assert period_key(period, end) != period_key(period, when)
    if period == "weekly":
        assert end.weekday() == 0
    if period == "monthly":
        assert end.day == 1


async def test_job_counts_against_the_day_it_was_reserved(db, clock):
    quota = make_service(db, clock, default_credits=50)
    clock.set(utc(2024, 5, 15, 23, 50))
    await quota.grant(1, 10, 10, actor_id=99, reason="bonus")
    late = make_job(cost=55)  # 50 allowance + 5 bonus on the 15th
    await quota.reserve_job(late)
    before = await quota.balance(1, 10)
    assert (before.left, before.reserved, before.bonus) == (5, 55, 5)
    assert before.resets_at == utc(2024, 5, 16)

    clock.set(utc(2024, 5, 16, 0, 10))
    after = await quota.balance(1, 10)
    # a fresh day: the full allowance, the job still running (held), its bonus part held
    assert (after.allowance_left, after.used, after.reserved, after.bonus) == (50, 0, 55, 5)
    assert after.left == 55 and after.resets_at == utc(2024, 5, 17)

    assert await settle_job(quota, late, 30) == 30
    settled = await quota.balance(1, 10)
    # the give-back went to bonus first (5), then to the 15th's allowance, not the 16th's
    assert (settled.used, settled.allowance_left, settled.bonus, settled.reserved) == (
        0,
        50,
        10,
        0,
    )
    settle_row = (await quota.history(1, 10, limit=1))[0]
    assert (settle_row.kind, settle_row.period) == ("settle", "D2024-05-15")

    clock.set(utc(2024, 5, 15, 23, 59))
    assert (await quota.balance(1, 10)).used == 30  # the 15th carries the charge
    assert await ledger.consistency_problems(db) == []


async def test_refund_after_midnight_goes_back_to_the_old_day(db, clock):
    quota = make_service(db, clock, default_credits=50)
    clock.set(utc(2024, 5, 15, 23, 59))
    job = make_job(cost=20)
    await quota.reserve_job(job)
    clock.set(utc(2024, 5, 16, 0, 1))
    await quota.reserve_job(make_job(cost=50))  # today's allowance is whole
    assert await refund_job(quota, job)
    today = await quota.balance(1, 10)
    assert (today.left, today.used, today.reserved) == (0, 0, 50)
    clock.set(utc(2024, 5, 15, 12))
    yesterday = await quota.balance(1, 10)
    assert (yesterday.used, yesterday.allowance_left) == (0, 50)


@pytest.mark.parametrize(
    ("period", "start", "later_same", "next_period"),
    [
        ("weekly", utc(2024, 5, 13, 0, 0), utc(2024, 5, 19, 23, 59), utc(2024, 5, 20, 0, 0)),
        ("monthly", utc(2024, 2, 1, 0, 0), utc(2024, 2, 29, 23, 59), utc(2024, 3, 1, 0, 0)),
    ],
)
async def test_usage_lasts_for_the_whole_period(db, clock, period, start, later_same, next_period):
    quota = make_service(db, clock, period=period, default_credits=50)
    clock.set(start)
    await settle_job(quota, await _reserved(quota, 40), 40)
    clock.set(later_same)
    assert (await quota.balance(1, 10)).left == 10
    clock.set(next_period)
    assert (await quota.balance(1, 10)).left == 50


async def test_period_none_never_resets(db, clock):
    quota = make_service(db, clock, period="none", default_credits=50)
    await settle_job(quota, await _reserved(quota, 40), 40)
    clock.advance(400 * 86400)
    balance = await quota.balance(1, 10)
    assert (balance.left, balance.used, balance.resets_at) == (10, 40, None)


def test_service_refuses_unknown_period(db, clock):
    with pytest.raises(ValueError):
        make_service(db, clock, period="fortnightly")


async def _reserved(quota, cost):
    job = make_job(cost=cost)
    await quota.reserve_job(job)
    return job


async def test_a_reservation_straddling_midnight_stays_in_one_period(db, clock):
    """The balance check and the reserve row use one clock reading: a clock that ticks past
    midnight during the call must not check the 15th and book the 16th."""
    quota = make_service(db, clock, default_credits=50)
    clock.set(utc(2024, 5, 15, 23, 0))
    await settle_job(quota, await _reserved(quota, 45), 45)

    ticks = iter(utc(2024, 5, 15, 23, 59, 58).timestamp() + i for i in range(100))
    quota.clock = lambda: next(ticks)
    job = make_job(cost=5)
    await quota.reserve_job(job)
    assert (await ledger.reservation(db.conn, job.id)).period == "D2024-05-15"

    quota.clock = clock
    clock.set(utc(2024, 5, 15, 23, 59, 59))
    assert (await quota.balance(1, 10)).left == 0
    clock.set(utc(2024, 5, 16, 0, 0))
    assert (await quota.balance(1, 10)).left == 50
