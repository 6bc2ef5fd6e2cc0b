"""The SQLite backend: one aiosqlite connection, its pragmas, BEGIN IMMEDIATE transactions.

One connection serves the whole process. Writes that must be atomic (a reservation and the
job it pays for) run in ``transaction()``: an asyncio lock keeps coroutines of this process
apart, and BEGIN IMMEDIATE keeps any other process out while it runs — which is also why
``hold`` has nothing left to do here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import aiosqlite

from db.database import Connection, Database

log = logging.getLogger("db.database")


class SqliteConnection:
    """aiosqlite's connection as db.database.Connection: the same calls, plus ``hold``."""

    dialect = "sqlite"

    def __init__(self, raw: aiosqlite.Connection) -> None:
        self.raw = raw
        self.execute = raw.execute
        self.execute_fetchall = raw.execute_fetchall
        self.executemany = raw.executemany

    async def hold(self, keys: Iterable[int]) -> None:
        """Nothing to take: BEGIN IMMEDIATE already holds the whole database."""

    def __getattr__(self, name: str) -> Any:  # in_transaction, total_changes, …
        return getattr(self.raw, name)


class SqliteDatabase(Database):
    dialect = "sqlite"

    def __init__(self, connection: aiosqlite.Connection, path: Path | str = "") -> None:
        self.raw = connection
        self.conn = SqliteConnection(connection)
        self.path = path
        self._write_lock = asyncio.Lock()

    @classmethod
    async def connect(cls, path: Path, *, migrate: bool = True) -> SqliteDatabase:
        """Open (creating the file and its folder) and migrate unless told not to."""
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(path, isolation_level=None)  # we issue BEGIN ourselves
        conn.row_factory = aiosqlite.Row
        db = cls(conn, path)
        try:
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA foreign_keys=ON")
            await conn.execute("PRAGMA busy_timeout=5000")
            await conn.execute("PRAGMA synchronous=NORMAL")
            if migrate:
                await db.migrate()
        except BaseException:
            await conn.close()  # its worker thread would otherwise keep the process alive
            raise
        return db

    async def migrate(self) -> list[int]:
        await self.raw.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
        )
        applied = []
        for version, name, sql in await self._pending_migrations(self.conn):
            async with self.transaction() as conn:
                for statement in _split_sql(sql):
                    await conn.execute(statement)
                await self._record_migration(conn, version, name)
            log.info("database migration applied version=%d name=%s", version, name)
            applied.append(version)
        return applied

    async def has_table(self, name: str, conn: Connection | None = None) -> bool:
        rows = await (conn or self.conn).execute_fetchall(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
        )
        return bool(list(rows))

    async def tables(self) -> list[str]:
        rows = await self.fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
        return [r[0] for r in rows]

    def floor_int(self, expression: str) -> str:
        return f"CAST({expression} AS INTEGER)"  # truncates, which is the floor at or above 0

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqliteConnection]:
        """BEGIN IMMEDIATE … COMMIT; any failure, the COMMIT's own included, rolls back.

        A COMMIT can fail (a deferred constraint, a full disk, a busy database) and SQLite
        then leaves the transaction open: without the rollback every later BEGIN on this one
        shared connection would fail with "cannot start a transaction within a transaction".
        """
        async with self._write_lock:
            await self._begin()
            try:
                yield self.conn
            except BaseException:
                await asyncio.shield(self._rollback())
                raise
            # Shielded: once the body succeeded, a cancel must not leave it half-applied,
            # and a COMMIT that fails is rolled back even if the caller was cancelled.
            await asyncio.shield(self._commit())

    async def _begin(self) -> None:
        """BEGIN IMMEDIATE, which runs in aiosqlite's thread even if the caller is cancelled
        while it waits: then it is waited for and rolled back, or the shared connection would
        stay inside a transaction holding the database's write lock."""
        begin = asyncio.ensure_future(self.raw.execute("BEGIN IMMEDIATE"))
        try:
            await asyncio.shield(begin)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await begin
            await self._rollback()
            raise

    async def _commit(self) -> None:
        try:
            await self.raw.execute("COMMIT")
        except BaseException:
            await self._rollback()
            raise

    async def _rollback(self) -> None:
        # "no transaction is active" when a cancel landed after COMMIT was queued, or when
        # SQLite already rolled back by itself (some I/O errors): nothing is left to undo.
        with contextlib.suppress(sqlite3.OperationalError):
            await self.raw.execute("ROLLBACK")

    async def fetchone(self, sql: str, params: Any = ()) -> aiosqlite.Row | None:
        async with self.raw.execute(sql, params) as cur:
            return await cur.fetchone()

    async def fetchall(self, sql: str, params: Any = ()) -> list[aiosqlite.Row]:
        async with self.raw.execute(sql, params) as cur:
            return list(await cur.fetchall())

    async def close(self) -> None:
        await self.raw.close()


def _split_sql(script: str) -> list[str]:
    """Split a migration file into statements, keeping trigger bodies whole."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--"):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
