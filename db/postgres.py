"""The PostgreSQL backend (asyncpg): a pool of connections, each transaction on one of them.

SQL arrives as db/ writes it for both dialects, with ``?`` or ``:name`` placeholders; it is
translated once per statement text to PostgreSQL's ``$1``… and cached. Rows are asyncpg
Records, read by column name or position like SQLite's. Integer columns are BIGINT (Discord
ids are 64-bit), times DOUBLE PRECISION, and ``SUM`` of BIGINT, which PostgreSQL returns as
NUMERIC, comes back as a Python int, as in SQLite.

Transactions run at READ COMMITTED: every statement sees what was committed before it began.
Balances stay right across processes because each write that reads one first takes a
transaction-scoped advisory lock on the member (``hold``), always in ascending key order so two
transactions never wait for each other in a circle. Jobs are claimed by leases (db.jobs).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any

import asyncpg

from db.database import Connection, Database, shown
from db.tunables import CONNECT_TIMEOUT, POOL_MAX, POOL_MIN

log = logging.getLogger("db.database")

COMMAND_TIMEOUT = 60.0  # seconds any one statement may take before it is abandoned
MIGRATION_LOCK = 0x62616E616E61  # advisory lock key: one process migrates at a time

# A string literal, a quoted identifier, a ``?`` or a ``:name`` (not ``::type``).
_TOKEN = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\?|(?<![:\w]):([A-Za-z_]\w*)")
_RETURNS_ROWS = re.compile(r"^\s*(SELECT|WITH|VALUES|SHOW|TABLE)\b|\bRETURNING\b", re.I)


@lru_cache(maxsize=2048)
def translate(sql: str) -> tuple[str, tuple[str, ...] | int, bool]:
    """(PostgreSQL text, the names of ``:name`` parameters in order or the count of ``?``,
    whether the statement returns rows)."""
    names: list[str] = []
    count = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal count
        token = match.group(0)
        if token == "?":
            count += 1
            return f"${count}"
        name = match.group(1)
        if name is None:
            return token  # a literal or quoted identifier, untouched
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    text = _TOKEN.sub(replace, sql)
    if names and count:
        raise ValueError(f"mixed ? and :name placeholders in {sql!r}")
    return text, tuple(names) if names else count, bool(_RETURNS_ROWS.search(text))


def _arguments(sql: str, params: Sequence[Any] | Mapping[str, Any]) -> tuple[str, list, bool]:
    text, shape, rows = translate(sql)
    if isinstance(shape, tuple):
        if not isinstance(params, Mapping):
            raise TypeError("named placeholders need a mapping of parameters")
        return text, [params[name] for name in shape], rows
    if isinstance(params, Mapping):
        raise TypeError("? placeholders need a sequence of parameters")
    if len(params) != shape:
        raise ValueError(f"{shape} placeholders but {len(params)} parameters in {sql!r}")
    return text, list(params), rows


def _rowcount(status: str) -> int:
    """The row count in a command tag ("UPDATE 3", "INSERT 0 1", "DELETE 0")."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else -1


class _Result:
    """What ``execute`` returns: awaitable, or entered with ``async with``, like aiosqlite's."""

    def __init__(self, target: Any, sql: str, params: Any) -> None:
        self._target, self._sql, self._params = target, sql, params
        self._rows: list[asyncpg.Record] = []
        self._next = 0
        self.rowcount = -1

    async def _run(self) -> _Result:
        text, args, returns_rows = _arguments(self._sql, self._params)
        if returns_rows:
            self._rows = await self._target.fetch(text, *args)
            self.rowcount = len(self._rows)
        else:
            self.rowcount = _rowcount(await self._target.execute(text, *args))
        return self

    def __await__(self):
        return self._run().__await__()

    async def __aenter__(self) -> _Result:
        return await self._run()

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def fetchone(self) -> asyncpg.Record | None:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    async def fetchall(self) -> list[asyncpg.Record]:
        rest, self._next = self._rows[self._next :], len(self._rows)
        return rest


class PostgresConnection:
    """db.database.Connection over one asyncpg connection (in a transaction) or over the
    pool (reads outside one, each on whichever connection is free)."""

    dialect = "postgres"

    def __init__(self, target: asyncpg.Connection | asyncpg.Pool) -> None:
        self.target = target

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> _Result:
        return _Result(self.target, sql, params)

    async def execute_fetchall(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
    ) -> list[asyncpg.Record]:
        text, args, _ = _arguments(sql, params)
        return await self.target.fetch(text, *args)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any] | Mapping[str, Any]]):
        batch = [_arguments(sql, params) for params in rows]
        if batch:
            await self.target.executemany(batch[0][0], [args for _, args, _ in batch])

    async def hold(self, keys: Iterable[int]) -> None:
        ordered = sorted(set(keys))
        if ordered:  # one statement; unnest keeps the array's (ascending) order
            await self.target.execute(
                "SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) AS k", ordered
            )


def _numeric(text: str) -> int | float | Decimal:
    """NUMERIC as SQLite would give it: SUM over integers is an int."""
    if "." not in text and "e" not in text.lower() and text not in ("NaN", "Infinity"):
        return int(text)
    return float(text)


async def _setup_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "numeric", encoder=str, decoder=_numeric, schema="pg_catalog", format="text"
    )


class PostgresDatabase(Database):
    dialect = "postgres"
    shared = True
    skip_locked = " FOR UPDATE SKIP LOCKED"

    def __init__(self, pool: asyncpg.Pool, url: str) -> None:
        self.pool = pool
        self.conn = PostgresConnection(pool)
        self.path = shown(url)

    @classmethod
    async def connect(cls, url: str, *, migrate: bool = True) -> PostgresDatabase:
        pool = await asyncpg.create_pool(
            url,
            min_size=POOL_MIN,
            max_size=POOL_MAX,
            timeout=CONNECT_TIMEOUT,
            command_timeout=COMMAND_TIMEOUT,
            init=_setup_connection,
        )
        db = cls(pool, url)
        try:
            if migrate:
                await db.migrate()
        except BaseException:
            await pool.close()
            raise
        return db

    async def migrate(self) -> list[int]:
        """All pending migrations in one transaction (PostgreSQL's DDL is transactional),
        under a lock so two processes starting together migrate once."""
        applied = []
        async with self.transaction() as conn:
            await conn.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY,"
                " name TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)"
            )
            for version, name, sql in await self._pending_migrations(conn):
                assert isinstance(conn, PostgresConnection)
                await conn.target.execute(sql)  # the whole file: functions hold semicolons
                await self._record_migration(conn, version, name)
                applied.append((version, name))
        for version, name in applied:
            log.info("database migration applied version=%d name=%s", version, name)
        return [version for version, _ in applied]

    async def has_table(self, name: str, conn: Connection | None = None) -> bool:
        rows = await (conn or self.conn).execute_fetchall(
            "SELECT to_regclass(?) IS NOT NULL", (name,)
        )
        return bool(next(iter(rows))[0])

    async def tables(self) -> list[str]:
        rows = await self.fetchall(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
        )
        return [r[0] for r in rows]

    def floor_int(self, expression: str) -> str:
        return f"CAST(FLOOR({expression}) AS BIGINT)"  # CAST alone rounds to nearest

    async def continue_numbering(self, table: str, column: str) -> None:
        """An identity column's sequence does not see ids written explicitly."""
        async with self.transaction() as conn:
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence(?, ?), "
                f"(SELECT COALESCE(MAX({column}), 0) + 1 FROM {table}), false)",
                (table, column),
            )

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[PostgresConnection]:
        """BEGIN … COMMIT on one pooled connection; any failure rolls back. The end (commit
        or rollback, then giving the connection back) runs shielded: a cancelled caller
        cannot leave a transaction half-applied or a connection busy in the pool."""
        raw = await self.pool.acquire()
        try:
            await raw.execute("BEGIN")
        except BaseException:
            await asyncio.shield(self._release(raw))
            raise
        try:
            yield PostgresConnection(raw)
        except BaseException:
            await asyncio.shield(self._end(raw, "ROLLBACK"))
            raise
        await asyncio.shield(self._end(raw, "COMMIT"))

    async def _end(self, raw: asyncpg.Connection, command: str) -> None:
        try:
            await raw.execute(command)
        except BaseException:
            if command == "COMMIT":
                with contextlib.suppress(Exception):
                    await raw.execute("ROLLBACK")
                raise
            # a failed ROLLBACK (the connection broke mid-body): releasing resets or drops it
        finally:
            await self._release(raw)

    async def _release(self, raw: asyncpg.Connection) -> None:
        try:
            await self.pool.release(raw)
        except Exception:  # the pool closes a connection it cannot reset
            log.warning("database connection dropped after a failed transaction", exc_info=True)

    async def close(self) -> None:
        await self.pool.close()
