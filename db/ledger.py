"""SQL for the append-only credit ledger and the allowance settings.

Every function that changes money takes the connection of an open transaction, so the caller
(quota.service) decides what must happen atomically together.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from db.database import Connection, Database
from db.tunables import EXPORT_PAGE


@dataclass(frozen=True)
class LedgerRow:
    id: int
    kind: str
    amount: int
    allowance_delta: int
    bonus_delta: int
    period: str
    job_id: str | None
    actor_id: int | None
    reason: str | None
    created_at: float


@dataclass(frozen=True)
class Sums:
    """What the ledger says about one member for one period."""

    allowance_delta: int  # sum over the period's rows: minus usage and open reservations
    bonus: int  # sum of all bonus deltas: bonus credits left
    reserved: int  # credits held by reservations not yet settled or refunded
    reserved_allowance: int  # the part of ``reserved`` taken from this period's allowance


async def _scalar(conn: Connection, sql: str, params: tuple) -> int:
    async with conn.execute(sql, params) as cur:
        row = await cur.fetchone()
    return int(row[0] or 0)


def _member_key(guild_id: int, user_id: int) -> int:
    """A signed 64-bit key naming one member's balance (for Connection.hold)."""
    digest = hashlib.blake2b(f"member:{guild_id}:{user_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def hold_members(conn: Connection, members: Iterable[tuple[int, int]]) -> None:
    """Keep these (guild, user) balances still until ``conn``'s transaction ends: whoever
    reads a balance and writes what follows from it (a reservation, a settle, a grant) holds
    the member first, so another process cannot spend the same credits in between."""
    await conn.hold(_member_key(guild_id, user_id) for guild_id, user_id in members)


@dataclass(frozen=True)
class Standing:
    """Everything a balance is computed from, read in one statement."""

    own: int | None  # the member's own allowance setting
    role: int | None  # the highest setting among the member's roles
    default: int | None  # the server's default
    sums: Sums
    running_jobs: int


async def standing(
    conn: Connection, guild_id: int, user_id: int, role_ids: list[int], period: str
) -> Standing:
    """A member's allowance settings, ledger sums and running jobs in one trip to the
    database thread."""
    return (await standings(conn, [(guild_id, user_id, role_ids)], period))[0]


# One row per member of the batch (i = its place). The allowance settings and running jobs
# are subqueries on their indexes; the ledger sums come from one pass over the batch's
# members' rows (each reservation looking up its close in the ledger_one_close index), not
# one pass per sum: a member's history is read once per batch, however long it is.
_STANDINGS = (
    ", mm(g, u) AS (SELECT DISTINCT g, u FROM m),"
    " t(g, u, allowance, bonus, reserved, reserved_allowance) AS ("
    "  SELECT l.guild_id, l.user_id,"
    "   SUM(CASE WHEN l.period = CAST(:period AS TEXT) THEN l.allowance_delta ELSE 0 END),"
    "   SUM(l.bonus_delta),"
    "   SUM(CASE WHEN l.kind = 'reserve' AND c.job_id IS NULL THEN l.amount ELSE 0 END),"
    "   SUM(CASE WHEN l.kind = 'reserve' AND c.job_id IS NULL"
    "    AND l.period = CAST(:period AS TEXT) THEN -l.allowance_delta ELSE 0 END)"
    "  FROM mm JOIN ledger l ON l.guild_id = mm.g AND l.user_id = mm.u"
    "  LEFT JOIN ledger c ON l.kind = 'reserve' AND c.job_id = l.job_id"
    "   AND c.kind IN ('settle', 'refund')"
    "  GROUP BY l.guild_id, l.user_id)"
    " SELECT m.i,"
    " (SELECT amount FROM allowances WHERE guild_id = m.g AND scope = 'user'"
    "  AND target_id = m.u),"
    " (SELECT MAX(a.amount) FROM allowances a JOIN r ON a.target_id = r.role"
    "  WHERE r.i = m.i AND a.guild_id = m.g AND a.scope = 'role'),"
    " (SELECT amount FROM allowances WHERE guild_id = m.g AND scope = 'guild'"
    "  AND target_id = m.g),"
    " t.allowance, t.bonus, t.reserved, t.reserved_allowance,"
    " (SELECT COUNT(*) FROM jobs WHERE guild_id = m.g AND user_id = m.u"
    "  AND state NOT IN ('completed', 'failed'))"
    " FROM m LEFT JOIN t ON t.g = m.g AND t.u = m.u ORDER BY m.i"
)


async def standings(
    conn: Connection,
    members: Sequence[tuple[int, int, Sequence[int]]],
    period: str,
) -> list[Standing]:
    """``standing`` for each (guild_id, user_id, role_ids) of ``members``, in their order,
    read in one statement: a burst of reservations reads every member's balance at once."""
    params: dict[str, object] = {"period": period}
    member_rows, role_rows = [], []
    for i, (guild_id, user_id, role_ids) in enumerate(members):
        # typed, so PostgreSQL knows what the parameters of a VALUES list are
        member_rows.append(f"({i}, CAST(:g{i} AS BIGINT), CAST(:u{i} AS BIGINT))")
        params[f"g{i}"], params[f"u{i}"] = guild_id, user_id
        for j, role_id in enumerate(role_ids):
            role_rows.append(f"({i}, CAST(:r{i}_{j} AS BIGINT))")
            params[f"r{i}_{j}"] = role_id
    roles = (
        f"VALUES {', '.join(role_rows)}"
        if role_rows
        else "SELECT 0, CAST(NULL AS BIGINT) WHERE 1 = 0"  # no roles: an empty list
    )
    rows = await conn.execute_fetchall(
        f"WITH m(i, g, u) AS (VALUES {', '.join(member_rows)}), r(i, role) AS ({roles})"
        + _STANDINGS,
        params,
    )
    return [
        Standing(
            own,
            role,
            default,
            Sums(
                int(delta or 0), int(bonus or 0), int(reserved or 0), int(reserved_allowance or 0)
            ),
            int(running),
        )
        for _, own, role, default, delta, bonus, reserved, reserved_allowance, running in rows
    ]


async def sums(conn: Connection, guild_id: int, user_id: int, period: str) -> Sums:
    """What the ledger says about a member for ``period``."""
    return (await standing(conn, guild_id, user_id, [], period)).sums


_INSERT_ENTRY = (
    "INSERT INTO ledger (guild_id, user_id, kind, amount, allowance_delta, bonus_delta, "
    "period, job_id, actor_id, reason, created_at) VALUES (:guild_id, :user_id, :kind, "
    ":amount, :allowance_delta, :bonus_delta, :period, :job_id, :actor_id, :reason, :created_at)"
)


def entry(
    *,
    guild_id: int,
    user_id: int,
    kind: str,
    amount: int,
    period: str,
    created_at: float,
    allowance_delta: int = 0,
    bonus_delta: int = 0,
    job_id: str | None = None,
    actor_id: int | None = None,
    reason: str | None = None,
) -> dict[str, object]:
    """One ledger row to write, for ``append_many``."""
    return {
        "guild_id": guild_id,
        "user_id": user_id,
        "kind": kind,
        "amount": amount,
        "allowance_delta": allowance_delta,
        "bonus_delta": bonus_delta,
        "period": period,
        "job_id": job_id,
        "actor_id": actor_id,
        "reason": reason,
        "created_at": created_at,
    }


async def append(conn: Connection, **fields: Any) -> None:
    """Write one ledger row (``fields`` are the keywords of ``entry``)."""
    await conn.execute(_INSERT_ENTRY, entry(**fields))


async def append_many(conn: Connection, entries: Sequence[Mapping[str, object]]) -> None:
    """Write rows made by ``entry`` in one statement (a batch of reservations)."""
    if entries:
        await conn.executemany(_INSERT_ENTRY, entries)


async def reservation(conn: Connection, job_id: str) -> LedgerRow | None:
    async with conn.execute(
        "SELECT * FROM ledger WHERE job_id = ? AND kind = 'reserve'", (job_id,)
    ) as cur:
        row = await cur.fetchone()
    return _row(row) if row else None


async def closing(conn: Connection, job_id: str) -> LedgerRow | None:
    """The settle or refund row that closed ``job_id``'s reservation, if any."""
    async with conn.execute(
        "SELECT * FROM ledger WHERE job_id = ? AND kind IN ('settle', 'refund')", (job_id,)
    ) as cur:
        row = await cur.fetchone()
    return _row(row) if row else None


async def is_closed(conn: Connection, job_id: str) -> bool:
    return bool(
        await _scalar(
            conn,
            "SELECT COUNT(*) FROM ledger WHERE job_id = ? AND kind IN ('settle', 'refund')",
            (job_id,),
        )
    )


async def history(
    db: Database, guild_id: int, user_id: int, *, limit: int, offset: int = 0
) -> list[LedgerRow]:
    rows = await db.fetchall(
        "SELECT * FROM ledger WHERE guild_id = ? AND user_id = ? ORDER BY id DESC LIMIT ? OFFSET ?",
        (guild_id, user_id, limit, offset),
    )
    return [_row(r) for r in rows]


def _row(row) -> LedgerRow:
    return LedgerRow(
        id=row["id"],
        kind=row["kind"],
        amount=row["amount"],
        allowance_delta=row["allowance_delta"],
        bonus_delta=row["bonus_delta"],
        period=row["period"],
        job_id=row["job_id"],
        actor_id=row["actor_id"],
        reason=row["reason"],
        created_at=row["created_at"],
    )


# --- export -------------------------------------------------------------------------------


def _before(until: float | None) -> tuple[str, tuple[float, ...]]:
    """The condition for rows written before ``until`` (none when None). Not ``? IS NULL
    OR …``: PostgreSQL cannot tell the type of a parameter that is only compared with NULL."""
    return ("", ()) if until is None else (" AND l.created_at < ?", (until,))


@dataclass(frozen=True)
class GuildEntry:
    """One ledger row of a server, with the model of its job and, for an allowance setting
    audited under a role's or the server's id, that scope ('role' or 'guild')."""

    row: LedgerRow
    user_id: int
    provider: str | None
    model: str | None
    target_scope: str | None


async def guild_entries(
    db: Database, guild_id: int, *, before: float | None = None
) -> AsyncIterator[GuildEntry]:
    """Every ledger row of ``guild_id`` in the order written (by id), up to ``before`` (a
    timestamp, exclusive). Read a page at a time, each page its own statement, so a long
    export neither holds a read open nor keeps the whole ledger in memory."""
    after_id = 0
    while True:
        cut, cut_params = _before(before)
        rows = await db.fetchall(
            "SELECT l.*, j.provider AS job_provider, j.model AS job_model,"
            " (SELECT a.scope FROM allowances a WHERE a.guild_id = l.guild_id"
            "  AND a.target_id = l.user_id AND a.scope != 'user') AS target_scope"
            " FROM ledger l LEFT JOIN jobs j ON j.id = l.job_id"
            f" WHERE l.guild_id = ? AND l.id > ?{cut} ORDER BY l.id LIMIT ?",
            (guild_id, after_id, *cut_params, EXPORT_PAGE),
        )
        for row in rows:
            yield GuildEntry(
                row=_row(row),
                user_id=row["user_id"],
                provider=row["job_provider"],
                model=row["job_model"],
                target_scope=row["target_scope"] if row["kind"] == "set" else None,
            )
        if len(rows) < EXPORT_PAGE:
            return
        after_id = rows[-1]["id"]


# --- allowance settings -------------------------------------------------------------------


async def set_allowance(
    conn: Connection,
    guild_id: int,
    scope: str,
    target_id: int,
    amount: int,
    actor_id: int | None,
    now: float,
) -> None:
    await conn.execute(
        "INSERT INTO allowances (guild_id, scope, target_id, amount, updated_by, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (guild_id, scope, target_id) DO UPDATE SET "
        "amount = excluded.amount, updated_by = excluded.updated_by, "
        "updated_at = excluded.updated_at",
        (guild_id, scope, target_id, amount, actor_id, now),
    )


async def consistency_problems(db: Database) -> list[str]:
    """Invariants the ledger must keep; the tests run this after every scenario."""
    problems = []
    rows = await db.fetchall(
        "SELECT j.id, j.state FROM jobs j JOIN ledger r ON r.job_id = j.id AND r.kind = 'reserve' "
        "WHERE j.state IN ('completed', 'failed') AND NOT EXISTS (SELECT 1 FROM ledger c "
        "WHERE c.job_id = j.id AND c.kind IN ('settle', 'refund'))"
    )
    problems += [f"job {r[0]} is {r[1]} but its reservation is still open" for r in rows]
    rows = await db.fetchall(
        "SELECT guild_id, user_id, SUM(bonus_delta) FROM ledger GROUP BY guild_id, user_id "
        "HAVING SUM(bonus_delta) < 0"
    )
    problems += [f"member {r[1]} in {r[0]} has negative bonus {r[2]}" for r in rows]
    rows = await db.fetchall(
        "SELECT c.job_id, c.kind, c.amount, r.amount FROM ledger c JOIN ledger r "
        "ON r.job_id = c.job_id AND r.kind = 'reserve' WHERE c.kind IN ('settle', 'refund') "
        "AND (c.allowance_delta + c.bonus_delta) != r.amount - (CASE c.kind WHEN 'settle' "
        "THEN c.amount ELSE 0 END)"
    )
    problems += [f"job {r[0]}: {r[1]} does not balance its reservation" for r in rows]
    rows = await db.fetchall(
        "SELECT j.id, j.charged, c.amount FROM jobs j JOIN ledger c ON c.job_id = j.id "
        "AND c.kind = 'settle' WHERE j.charged IS NULL OR j.charged != c.amount"
    )
    problems += [f"job {r[0]} charged {r[1]} but the ledger settled {r[2]}" for r in rows]
    return problems
