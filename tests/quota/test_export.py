"""A server's ledger as rows and CSV: one row per ledger entry, matching the ledger, with the
balance /credits would have shown after each entry."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

from quota.export import CSV_COLUMNS, usage_rows, write_csv
from tests.quota.helpers import T0, Clock, make_job, make_service

GUILD, OTHER_GUILD = 1, 2
ALICE, BOB, MOD, VIP_ROLE = 10, 11, 99, 500
DAY = 86400.0


async def history(db, clock: Clock):
    """Two days of a server's life (and some of another server's)."""
    quota = make_service(db, clock, period="daily", default_credits=50)
    first = make_job(guild_id=GUILD, user_id=ALICE, cost=6, now=clock.now)
    await quota.reserve_job(first)  # 44 left
    clock.advance(60)
    await quota.settle(first, 4)  # charged 4: 46 left
    await quota.grant(GUILD, ALICE, 10, actor_id=MOD, reason="contest winner")  # 56
    failed = make_job(guild_id=GUILD, user_id=BOB, cost=5, now=clock.now)
    await quota.reserve_job(failed)  # Bob 45
    await quota.refund(failed, "provider failed")  # Bob 50
    await quota.set_role_allowance(GUILD, VIP_ROLE, 80, actor_id=MOD)  # a role's, no balance
    await quota.reserve_job(make_job(guild_id=OTHER_GUILD, user_id=ALICE, cost=3, now=clock.now))
    clock.advance(DAY)  # the next day: a fresh allowance
    await quota.set_default_allowance(GUILD, 30, actor_id=MOD)  # the server's, no balance
    second = make_job(guild_id=GUILD, user_id=ALICE, cost=7, now=clock.now)
    await quota.reserve_job(second)  # 30 - 7 + 10 bonus = 33
    await quota.set_allowance(GUILD, ALICE, 100, actor_id=MOD, reason="regular")  # 103
    return quota, second


async def rows_of(db, **kwargs):
    return [
        row async for row in usage_rows(db, GUILD, period="daily", default_credits=50, **kwargs)
    ]


async def test_one_row_per_ledger_entry_of_the_server_matching_the_ledger(db, clock):
    await history(db, clock)
    rows = await rows_of(db)

    ledger = await db.fetchall(
        "SELECT l.*, j.provider, j.model FROM ledger l LEFT JOIN jobs j ON j.id = l.job_id "
        "WHERE l.guild_id = ? ORDER BY l.id",
        (GUILD,),
    )
    assert len(rows) == len(ledger) == 9
    for row, entry in zip(rows, ledger, strict=True):
        assert row.time == datetime.fromtimestamp(entry["created_at"], UTC)
        assert (row.member, row.job, row.kind, row.amount) == (
            entry["user_id"],
            entry["job_id"],
            entry["kind"],
            entry["amount"],
        )
        assert (row.actor, row.reason) == (entry["actor_id"], entry["reason"])
        assert row.model == (f"{entry['provider']}:{entry['model']}" if entry["job_id"] else None)


async def test_the_balance_after_each_entry_is_what_credits_showed(db, clock):
    quota, _ = await history(db, clock)
    rows = await rows_of(db)

    assert [(r.member, r.kind, r.amount, r.balance_after) for r in rows] == [
        (ALICE, "reserve", 6, 44),
        (ALICE, "settle", 4, 46),
        (ALICE, "grant", 10, 56),
        (BOB, "reserve", 5, 45),
        (BOB, "refund", 5, 50),
        (VIP_ROLE, "set", 80, None),
        (GUILD, "set", 30, None),
        (ALICE, "reserve", 7, 33),
        (ALICE, "set", 100, 103),
    ]
    assert rows[-1].balance_after == (await quota.balance(GUILD, ALICE)).left
    assert rows[3].balance_after == 45 and rows[3].model == "sandbox:sandbox-image"


async def test_a_role_allowance_the_caller_knows_is_used(db, clock):
    await history(db, clock)
    rows = await rows_of(db, role_allowances={BOB: 80})
    bob = [r.balance_after for r in rows if r.member == BOB]
    assert bob == [75, 80]


async def test_since_and_until_are_whole_utc_days_and_balances_keep_their_history(db, clock):
    await history(db, clock)
    first_day = datetime.fromtimestamp(T0, UTC).date()
    second_day = date.fromordinal(first_day.toordinal() + 1)

    day_one = await rows_of(db, until=first_day)
    day_two = await rows_of(db, since=second_day)
    assert len(day_one) == 6 and len(day_two) == 3
    assert all(r.time.date() == first_day for r in day_one)
    assert [r.balance_after for r in day_two] == [None, 33, 103]  # the bonus from day one
    assert await rows_of(db, since=second_day, until=second_day) == day_two
    assert await rows_of(db, since=date(2030, 1, 1)) == []


async def test_the_csv_parses_back_to_the_rows(db, clock):
    quota, _ = await history(db, clock)
    await quota.grant(GUILD, BOB, 3, actor_id=MOD, reason='said "thanks", twice\nand a newline')
    rows = await rows_of(db)

    out = io.StringIO()
    written, left_out = await write_csv(
        usage_rows(db, GUILD, period="daily", default_credits=50), out
    )
    assert left_out is None

    parsed = list(csv.reader(io.StringIO(out.getvalue())))
    assert (
        parsed[0]
        == list(CSV_COLUMNS)
        == [
            "time",
            "member",
            "job",
            "model",
            "kind",
            "amount",
            "balance_after",
            "actor",
            "reason",
        ]
    )
    assert written == len(rows) == len(parsed) - 1
    assert parsed[1:] == [row.as_csv() for row in rows]
    assert parsed[-1][-1] == 'said "thanks", twice\nand a newline'
    first = dict(zip(parsed[0], parsed[1], strict=True))
    assert first["time"] == datetime.fromtimestamp(T0, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (first["member"], first["kind"], first["amount"], first["balance_after"]) == (
        str(ALICE),
        "reserve",
        "6",
        "44",
    )
    assert first["actor"] == str(ALICE) and first["model"] == "sandbox:sandbox-image"


async def test_a_long_ledger_is_read_in_pages(db, clock, monkeypatch):
    from db import ledger

    monkeypatch.setattr(ledger, "EXPORT_PAGE", 4)
    quota = make_service(db, clock, period="none", default_credits=1000)
    for _ in range(9):
        job = make_job(guild_id=GUILD, user_id=ALICE, cost=2, now=clock.now)
        await quota.reserve_job(job)
        await quota.settle(job, 2)
    rows = [r async for r in usage_rows(db, GUILD, period="none", default_credits=1000)]
    assert len(rows) == 18 and rows[-1].balance_after == 1000 - 18
