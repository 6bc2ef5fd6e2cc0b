"""transaction(): all or nothing, even when COMMIT itself fails, and the connection lives on."""

from __future__ import annotations

import pytest

from db.database import INTEGRITY_ERRORS, Database

JOB = (
    "INSERT INTO jobs (id, guild_id, channel_id, user_id, command, kind, provider, model,"
    " request, state, reserved, created_at, deadline_at, updated_at) VALUES (?, 1, 2, 3,"
    " 'image', 'image', 'sandbox', 'sandbox-image', '{}', 'queued', 1, 0, 0, 0)"
)
ORPHAN_LEDGER_ROW = (
    "INSERT INTO ledger (guild_id, user_id, kind, amount, period, job_id, created_at)"
    " VALUES (1, 3, 'reserve', 1, '2025-01-01', 'no-such-job', 0)"
)


@pytest.fixture
async def db(database_target):
    database = await Database.open(database_target)
    yield database
    await database.close()


@pytest.fixture
async def sqlite_db(tmp_path):
    database = await Database.open(tmp_path / "bot.db")
    yield database
    await database.close()


async def count(db: Database, table: str) -> int:
    return (await db.fetchone(f"SELECT COUNT(*) FROM {table}"))[0]


async def test_a_failed_commit_rolls_back_and_the_connection_stays_usable(sqlite_db):
    # A deferred foreign key is checked at COMMIT: the commit itself fails, and SQLite
    # leaves the transaction open unless the bot rolls it back.
    db = sqlite_db
    with pytest.raises(INTEGRITY_ERRORS):
        async with db.transaction() as conn:
            await conn.execute("PRAGMA defer_foreign_keys = ON")
            await conn.execute(JOB, ("kept-out",))
            await conn.execute(ORPHAN_LEDGER_ROW)
    assert not db.conn.in_transaction
    assert await count(db, "jobs") == 0 and await count(db, "ledger") == 0  # nothing half-done

    async with db.transaction() as conn:  # the next transaction starts and commits
        await conn.execute(JOB, ("next",))
    assert [r[0] for r in await db.fetchall("SELECT id FROM jobs")] == ["next"]


async def test_an_error_in_the_body_rolls_back(db):
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await conn.execute(JOB, ("half",))
            raise RuntimeError("stop")
    assert await count(db, "jobs") == 0
    async with db.transaction() as conn:
        await conn.execute(JOB, ("whole",))
    assert await count(db, "jobs") == 1


async def test_a_constraint_failing_in_the_body_rolls_back_the_earlier_statements(db):
    with pytest.raises(INTEGRITY_ERRORS):
        async with db.transaction() as conn:
            await conn.execute(JOB, ("first",))
            await conn.execute(ORPHAN_LEDGER_ROW)  # immediate foreign key: fails here
    assert await count(db, "jobs") == 0
    async with db.transaction() as conn:  # and the next transaction is a new one
        await conn.execute(JOB, ("next",))
    assert await count(db, "jobs") == 1
