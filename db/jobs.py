"""The jobs table: one row per job, as plain column -> value mappings. What a row means (the
Job record, its request and media as JSON) is jobs/store.py's business; this module only
stores and finds rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import aiosqlite

from db.database import Database

Row = Mapping[str, Any]
FINISHED = "('completed', 'failed')"  # the states of a job that has ended


async def insert(conn: aiosqlite.Connection, row: Row) -> None:
    """Insert inside the caller's transaction (the reservation's)."""
    names = ", ".join(row)
    marks = ", ".join(f":{name}" for name in row)
    await conn.execute(f"INSERT INTO jobs ({names}) VALUES ({marks})", dict(row))


async def insert_many(conn: aiosqlite.Connection, rows: Sequence[Row]) -> None:
    """Insert rows that share their columns in one statement, inside the caller's
    transaction (a batch of reservations)."""
    if rows:
        names = ", ".join(rows[0])
        marks = ", ".join(f":{name}" for name in rows[0])
        await conn.executemany(f"INSERT INTO jobs ({names}) VALUES ({marks})", rows)


async def get(db: Database, job_id: str) -> aiosqlite.Row | None:
    return await db.fetchone("SELECT * FROM jobs WHERE id = ?", (job_id,))


async def update(
    db: Database, job_id: str, changes: Row, *, conn: aiosqlite.Connection | None = None
) -> None:
    """Write ``changes`` to the job's row, inside ``conn``'s transaction when given."""
    sets = ", ".join(f"{name} = :{name}" for name in changes)
    sql = f"UPDATE jobs SET {sets} WHERE id = :id"
    values = {**changes, "id": job_id}
    if conn is not None:
        await conn.execute(sql, values)
    else:
        async with db.transaction() as own:
            await own.execute(sql, values)


async def unfinished(db: Database) -> list[aiosqlite.Row]:
    return await db.fetchall(
        f"SELECT * FROM jobs WHERE state NOT IN {FINISHED} ORDER BY created_at"
    )


async def running_for_member(db: Database, guild_id: int, user_id: int) -> list[aiosqlite.Row]:
    return await db.fetchall(
        "SELECT * FROM jobs WHERE guild_id = ? AND user_id = ? "
        f"AND state NOT IN {FINISHED} ORDER BY created_at",
        (guild_id, user_id),
    )


async def forget_interaction_tokens(
    db: Database, now: float, lifetime: float, *, open_only: bool = False
) -> int:
    """Null the interaction token of every finished job and of every job whose token is
    past its use (``ack_expires_at`` passed, or created ``lifetime`` seconds ago); returns
    how many. A stored token lets whoever reads it answer as the bot until it expires,
    and is of no use afterwards.

    ``open_only`` looks at unfinished jobs alone, through the jobs_open index: the frequent
    sweep, for finished jobs clear their own token (a whole-table pass runs at start)."""
    expired = "(created_at <= ? OR ack_expires_at <= ?)"
    where = (
        f"state NOT IN {FINISHED} AND {expired}"
        if open_only
        else f"(state IN {FINISHED} OR {expired})"
    )
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "UPDATE jobs SET interaction_token = NULL "
            f"WHERE {where} AND interaction_token IS NOT NULL",
            (now - lifetime, now),
        )
        return cursor.rowcount


async def submitted_since(db: Database, provider: str, since: float) -> list[float]:
    """Submit times of a provider's jobs since ``since`` (for generation windows)."""
    rows = await db.fetchall(
        "SELECT submitted_at FROM jobs WHERE provider = ? AND submitted_at >= ? "
        "ORDER BY submitted_at",
        (provider, since),
    )
    return [r[0] for r in rows]


def _member_filter(state: str | None) -> str:
    return "guild_id = ? AND user_id = ?" + (" AND state = ?" if state else "")


async def member_jobs(
    db: Database,
    guild_id: int,
    user_id: int,
    *,
    limit: int,
    offset: int = 0,
    state: str | None = None,
) -> list[aiosqlite.Row]:
    """A member's jobs in a server (of one ``state`` when given), newest first, ``limit``
    from ``offset``: /history's pages and /show's autocomplete. The jobs_member_recent index
    (migration 0007) serves the order, so a page costs its own rows, not the member's all."""
    values: tuple = (guild_id, user_id, state) if state else (guild_id, user_id)
    return await db.fetchall(
        f"SELECT * FROM jobs WHERE {_member_filter(state)} "
        "ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
        (*values, limit, offset),
    )


async def count_member_jobs(
    db: Database, guild_id: int, user_id: int, *, state: str | None = None
) -> int:
    values: tuple = (guild_id, user_id, state) if state else (guild_id, user_id)
    row = await db.fetchone(f"SELECT COUNT(*) FROM jobs WHERE {_member_filter(state)}", values)
    return int(row[0]) if row else 0
