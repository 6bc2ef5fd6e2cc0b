"""SQL behind /quota usage: a server's spending and jobs over a time window, aggregated in the
database (a month of a busy server is many thousand rows; the chart needs a few hundred
numbers). Spending is what the ledger settled: the credits actually charged."""

from __future__ import annotations

from dataclasses import dataclass

from db.database import Database


@dataclass(frozen=True)
class Window:
    guild_id: int
    since: float  # inclusive
    until: float  # exclusive
    user_id: int | None = None  # one member, or the whole server

    def _where(self, table: str) -> tuple[str, tuple]:
        sql = f"{table}.guild_id = ? AND {table}.created_at >= ? AND {table}.created_at < ?"
        params: tuple = (self.guild_id, self.since, self.until)
        if self.user_id is not None:
            sql += f" AND {table}.user_id = ?"
            params += (self.user_id,)
        return sql, params


async def spending_by_bucket(
    db: Database, window: Window, bucket_seconds: float
) -> list[tuple[int, str, int]]:
    """(bucket index from ``window.since``, model, credits charged), for each pair with any."""
    where, params = window._where("l")
    rows = await db.fetchall(
        f"SELECT {db.floor_int('(l.created_at - ?) / ?')} AS bucket,"
        " COALESCE(j.model, '?') AS model, SUM(l.amount) AS credits"
        " FROM ledger l LEFT JOIN jobs j ON j.id = l.job_id"
        f" WHERE {where} AND l.kind = 'settle'"
        " GROUP BY bucket, model HAVING SUM(l.amount) > 0 ORDER BY bucket, model",
        (window.since, bucket_seconds, *params),
    )
    return [(int(r["bucket"]), str(r["model"]), int(r["credits"])) for r in rows]


async def top_spenders(db: Database, window: Window, limit: int) -> list[tuple[int, int]]:
    """(member id, credits charged), most first."""
    where, params = window._where("l")
    rows = await db.fetchall(
        "SELECT l.user_id, SUM(l.amount) AS credits FROM ledger l"
        f" WHERE {where} AND l.kind = 'settle'"
        " GROUP BY l.user_id HAVING SUM(l.amount) > 0 ORDER BY credits DESC, l.user_id LIMIT ?",
        (*params, limit),
    )
    return [(int(r["user_id"]), int(r["credits"])) for r in rows]


async def jobs_by_state(db: Database, window: Window) -> dict[str, int]:
    """Jobs started in the window, by their state now."""
    where, params = window._where("j")
    rows = await db.fetchall(
        f"SELECT j.state, COUNT(*) AS n FROM jobs j WHERE {where} GROUP BY j.state", params
    )
    return {str(r["state"]): int(r["n"]) for r in rows}
