"""/quota usage's figures and /quota export's rows, from a ledger written at known times:
bars by hour or day stacked by model, "other" past MODELS_SHOWN, top members, jobs by
outcome; every ledger entry exported once with the balance /credits would have shown."""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import date

import pytest

from jobs.errors import InvalidRequest
from presentation.sentences import for_member
from quota import export
from quota.usage import MODELS_SHOWN, OTHER, UsageService, day_range, parse_day
from tests.quota.helpers import T0, make_job, refund_job, settle_job

DAY = 86_400
MIDNIGHT = T0 - 12 * 3600  # T0 is 12:00 UTC


async def spend(quota, clock, *, user_id=10, model="sandbox-image", cost=5, charge=None, at=T0):
    clock.now = at
    job = dataclasses.replace(make_job(user_id=user_id, cost=cost, now=at), model=model)
    await quota.reserve_job(job)
    if charge is None:
        return job
    await settle_job(quota, job, charge)
    return job


async def test_week_bars_are_days_stacked_by_model_with_top_members_and_outcomes(db, quota, clock):
    await spend(quota, clock, charge=3, at=T0 - 2 * DAY)
    await spend(quota, clock, charge=4, at=T0, model="nano-banana")
    await spend(quota, clock, user_id=11, charge=5, at=T0 + 60)
    await spend(quota, clock, user_id=11, charge=9, at=T0 - 8 * DAY)  # before the window
    failed = await spend(quota, clock, user_id=12, at=T0 + 120)
    await refund_job(quota, failed)
    await spend(quota, clock, user_id=12, at=T0 + 180)  # still running
    clock.now = T0 + 3600
    report = await UsageService(db, default_allowance=50, clock=clock).report(1, "week")
    assert (report.since, report.until, report.bars) == (MIDNIGHT - 6 * DAY, MIDNIGHT + DAY, 7)
    assert report.by_model == {
        "sandbox-image": (0, 0, 0, 0, 3, 0, 5),
        "nano-banana": (0, 0, 0, 0, 0, 0, 4),
    }
    assert report.total == 12
    assert report.top_members == ((10, 7), (11, 5))
    assert report.outcomes == {"completed": 3, "failed": 1, "running": 1}

    mine = await UsageService(db, default_allowance=50, clock=clock).report(1, "day", 10)
    assert mine.bars == 24 and mine.by_model["nano-banana"][12] == 4
    assert mine.total == 4 and mine.top_members == ((10, 4),)


async def test_models_past_the_shown_ones_are_stacked_as_other(db, quota, clock):
    for index in range(MODELS_SHOWN + 2):
        await spend(
            quota,
            clock,
            user_id=100 + index,
            model=f"model-{index:02d}",
            cost=20,
            charge=index + 1,
            at=T0 + index,
        )
    report = await UsageService(db, default_allowance=50, clock=clock).report(1, "month")
    assert len(report.by_model) == MODELS_SHOWN + 1 and list(report.by_model)[-1] == OTHER
    assert sum(report.by_model[OTHER]) == 1 + 2  # the two smallest
    assert next(iter(report.by_model)) == f"model-{MODELS_SHOWN + 1:02d}"


def test_dates_are_checked_and_both_days_included():
    assert parse_day(" 2024-05-15 ", "since") == date(2024, 5, 15)
    assert parse_day(None, "since") is None
    with pytest.raises(InvalidRequest) as refused:
        parse_day("15/05/2024", "until")
    assert "`until` must be a date written YYYY-MM-DD" in for_member(refused.value)
    with pytest.raises(InvalidRequest) as refused:
        day_range(date(2024, 5, 16), date(2024, 5, 15))
    assert "is after" in for_member(refused.value)
    assert day_range(date(2024, 5, 15), date(2024, 5, 15)) == (MIDNIGHT, MIDNIGHT + DAY)


async def export_rows(db, since=None, until=None):
    return [
        row
        async for row in export.rows_between(
            db, 1, since, until, period="daily", default_credits=50
        )
    ]


async def test_export_has_every_entry_once_with_the_balance_after_it(db, quota, clock):
    await quota.set_default_allowance(1, 40, actor_id=99)
    await spend(quota, clock, charge=3, at=T0)
    await quota.grant(1, 10, 7, actor_id=99, reason="=HYPERLINK(evil)")
    job = await spend(quota, clock, cost=20, at=T0 + 10)
    await refund_job(quota, job)
    left_then = (await quota.balance(1, 10)).left
    await quota.set_role_allowance(1, 555, 70, actor_id=99)
    await spend(quota, clock, user_id=11, charge=2, at=T0 + DAY)  # the next day: a new period
    rows = await export_rows(db)
    stored = await db.fetchall("SELECT id FROM ledger WHERE guild_id = 1")
    assert len(rows) == len(stored)
    alice = [(r.kind, r.amount, r.balance_after) for r in rows if r.member == 10]
    assert alice == [
        ("reserve", 5, 35),
        ("settle", 3, 37),
        ("grant", 7, 44),
        ("reserve", 20, 24),
        ("refund", 20, 44),
    ]
    assert [r.balance_after for r in rows if r.member in (1, 555)] == [None, None]
    assert left_then == alice[-1][2]  # what /credits said

    late = UsageService(db, default_allowance=50, clock=clock)
    exported = await late.export_csv(1, T0 + DAY - 60, None)
    assert (exported.rows, exported.stopped_at) == (2, None)
    parsed = list(csv.DictReader(io.StringIO(exported.data.decode())))
    assert [(r["member"], r["kind"], r["model"]) for r in parsed] == [
        ("11", "reserve", "sandbox:sandbox-image"),
        ("11", "settle", "sandbox:sandbox-image"),
    ]
    assert (
        parsed[0]["time"].endswith("Z") and parsed[0]["balance_after"] == "35"
    )  # server default 40, 5 held

    capped = await late.export_csv(1, None, None, max_bytes=300)
    assert 0 < capped.rows < len(rows) and len(capped.data) <= 300
    assert capped.stopped_at == rows[capped.rows].time.timestamp()  # the first row left out
    everything = (await late.export_csv(1, None, None)).data.decode()
    grant = next(r for r in csv.DictReader(io.StringIO(everything)) if r["kind"] == "grant")
    assert grant["reason"] == "'=HYPERLINK(evil)"  # not run as a formula by a spreadsheet


async def test_balance_after_counts_the_period_current_at_the_entry(db, quota, clock):
    job = await spend(quota, clock, cost=10, at=MIDNIGHT + DAY - 60)  # reserved before midnight
    clock.now = MIDNIGHT + DAY + 60
    await settle_job(quota, job, 4)  # settled after it: the charge counts for yesterday
    rows = await export_rows(db)
    assert [(r.kind, r.balance_after) for r in rows] == [("reserve", 40), ("settle", 50)]
    assert (await quota.balance(1, 10)).left == 50  # what /credits says after midnight
