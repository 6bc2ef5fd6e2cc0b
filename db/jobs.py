"""The jobs table: one row per job, as plain column -> value mappings. What a row means (the
Job record, its request and media as JSON) is jobs/store.py's business; this module only
stores and finds rows, and keeps their leases: which process runs a job, and until when
(migration 0008). A process renews the leases it holds; a job whose lease lapsed (its process
died) is claimed by another."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from db.database import Connection, Database

Row = Mapping[str, Any]
FINISHED = "('completed', 'failed')"  # the states of a job that has ended


async def insert(conn: Connection, row: Row) -> None:
    """Insert inside the caller's transaction (the reservation's)."""
    names = ", ".join(row)
    marks = ", ".join(f":{name}" for name in row)
    await conn.execute(f"INSERT INTO jobs ({names}) VALUES ({marks})", dict(row))


async def insert_many(conn: Connection, rows: Sequence[Row]) -> None:
    """Insert rows that share their columns in one statement, inside the caller's
    transaction (a batch of reservations)."""
    if rows:
        names = ", ".join(rows[0])
        marks = ", ".join(f":{name}" for name in rows[0])
        await conn.executemany(f"INSERT INTO jobs ({names}) VALUES ({marks})", rows)  # type: ignore[attr-defined]


async def get(db: Database, job_id: str) -> Row | None:
    return await db.fetchone("SELECT * FROM jobs WHERE id = ?", (job_id,))


async def update(
    db: Database,
    job_id: str,
    changes: Row,
    *,
    conn: Connection | None = None,
    owner: str | None = None,
) -> int:
    """Write ``changes`` to the job's row, inside ``conn``'s transaction when given; with an
    ``owner``, only while that owner holds the job's lease (checked in the same statement).
    Returns the rows written: 0 when the lease is another's."""
    sets = ", ".join(f"{name} = :{name}" for name in changes)
    sql = f"UPDATE jobs SET {sets} WHERE id = :id"
    values = {**changes, "id": job_id}
    if owner is not None:
        sql += " AND lease_owner = :lease_owner"
        values["lease_owner"] = owner
    if conn is not None:
        written = await conn.execute(sql, values)
    else:
        async with db.transaction() as own:
            written = await own.execute(sql, values)
    return written.rowcount


async def unfinished(db: Database) -> list[Row]:
    return await db.fetchall(
        f"SELECT * FROM jobs WHERE state NOT IN {FINISHED} ORDER BY created_at"
    )


async def running_for_member(db: Database, guild_id: int, user_id: int) -> list[Row]:
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
) -> list[Row]:
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


# --- leases -----------------------------------------------------------------------------


async def claim(db: Database, owner: str, job_ids: list[str], now: float, until: float) -> set[str]:
    """Take (or keep) the leases of these unfinished jobs, except those a live lease of
    another process holds; the ids now held."""
    if not job_ids:
        return set()
    marks = ", ".join("?" for _ in job_ids)
    async with db.transaction() as conn:
        rows = await conn.execute_fetchall(
            f"UPDATE jobs SET lease_owner = ?, lease_expires_at = ? WHERE id IN ({marks}) "
            f"AND state NOT IN {FINISHED} AND (lease_owner IS NULL OR lease_owner = ? "
            "OR lease_expires_at <= ?) RETURNING id",
            (owner, until, *job_ids, owner, now),
        )
    return {r[0] for r in rows}


async def claim_free(
    db: Database, owner: str, now: float, until: float, *, limit: int, fresh: float
) -> list[Row]:
    """Take the leases of up to ``limit`` unfinished jobs nobody holds (one released at a
    clean stop, one whose process died and let its lease lapse, one never started), oldest
    first; their rows. A job created after ``fresh`` with no lease yet is left alone: the
    process that took its command is about to start it. Processes claiming at the same
    moment get different jobs (PostgreSQL skips rows another claim has locked; SQLite has one
    writer at a time)."""
    async with db.transaction() as conn:
        return list(
            await conn.execute_fetchall(
                "UPDATE jobs SET lease_owner = ?, lease_expires_at = ? WHERE id IN ("
                f"SELECT id FROM jobs WHERE state NOT IN {FINISHED} AND ((lease_owner IS NULL "
                "AND created_at <= ?) OR lease_expires_at <= ?) ORDER BY created_at LIMIT ?"
                f"{db.skip_locked}) RETURNING *",
                (owner, until, fresh, now, limit),
            )
        )


async def claim_all(db: Database, owner: str, until: float) -> None:
    """Take every unfinished job's lease, whoever held it: for a database one process uses
    at a time (SQLite), where the holder can only be the run before this one."""
    async with db.transaction() as conn:
        await conn.execute(
            f"UPDATE jobs SET lease_owner = ?, lease_expires_at = ? WHERE state NOT IN {FINISHED}",
            (owner, until),
        )


async def renew(db: Database, owner: str, until: float) -> set[str]:
    """Extend every lease ``owner`` holds on an unfinished job; the ids still held."""
    async with db.transaction() as conn:
        rows = await conn.execute_fetchall(
            f"UPDATE jobs SET lease_expires_at = ? WHERE lease_owner = ? "
            f"AND state NOT IN {FINISHED} RETURNING id",
            (until, owner),
        )
    return {r[0] for r in rows}


async def release(db: Database, owner: str, job_ids: list[str] | None = None) -> int:
    """Give up ``owner``'s leases (all, or those of ``job_ids``): they lapse at once (0), so
    another process may take the jobs now instead of when the leases would have run out."""
    which = ""
    if job_ids is not None:
        if not job_ids:
            return 0
        which = f" AND id IN ({', '.join('?' for _ in job_ids)})"
    async with db.transaction() as conn:
        released = await conn.execute(
            "UPDATE jobs SET lease_owner = NULL, lease_expires_at = 0 "
            f"WHERE lease_owner = ?{which}",
            (owner, *(job_ids or ())),
        )
        return released.rowcount
