"""The SQLite connection, its pragmas, and versioned migrations applied at start.

One aiosqlite connection serves the whole bot. Writes that must be atomic (a reservation and
the job it pays for) run in ``transaction()``: an asyncio lock keeps coroutines of this process
apart, and BEGIN IMMEDIATE keeps any other process out while it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3
import time
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path

import aiosqlite

from errors import BotError  # the leaf every layer may import; see its docstring

log = logging.getLogger(__name__)

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def _migrations() -> list[tuple[int, str, str]]:
    found = []
    for entry in resources.files("db.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def latest_version() -> int:
    """The newest schema version this code ships a migration for."""
    return max((version for version, _, _ in _migrations()), default=0)


class SchemaTooNew(BotError):
    """The database was migrated by a newer bananabot than this one. Migrations only go
    forward, so this code cannot know what the newer ones changed: it refuses to touch it."""

    def __init__(self, path: Path | str, found: int, latest: int) -> None:
        super().__init__(
            f"the database {path} has schema version {found}, newer than this bananabot "
            f"knows (up to {latest}): run the newer bananabot, or restore the backup taken "
            "before the upgrade"
        )
        self.found = found
        self.latest = latest


class Database:
    def __init__(self, connection: aiosqlite.Connection, path: Path | str = "") -> None:
        self.conn = connection
        self.path = path
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str, *, migrate: bool = True) -> Database:
        """Open (creating the file and its folder) and migrate; ``migrate=False`` leaves the
        schema as it is, for tools that only read (``bananabot check``)."""
        path = Path(path)
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
        """Apply every migration newer than the stored schema version; returns those applied.
        Raises SchemaTooNew, changing nothing, when the stored version is newer than any
        migration shipped here (a downgrade)."""
        await self.conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
        )
        current = await self.schema_version()
        migrations = _migrations()
        latest = max((version for version, _, _ in migrations), default=0)
        if current > latest:
            raise SchemaTooNew(self.path, current, latest)
        applied = []
        for version, name, sql in migrations:
            if version <= current:
                continue
            async with self.transaction():
                for statement in _split_sql(sql):
                    await self.conn.execute(statement)
                await self.conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (version, name, time.time()),
                )
            log.info("database migration applied version=%d name=%s", version, name)
            applied.append(version)
        return applied

    async def schema_version(self) -> int:
        """The newest migration applied to this database (0 for a new or foreign file)."""
        found = await self.fetchone(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
        )
        if found is None:
            return 0
        row = await self.fetchone("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
        return int(row[0]) if row else 0

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """BEGIN IMMEDIATE … COMMIT; any failure, the COMMIT's own included, rolls back.

        A COMMIT can fail (a deferred constraint, a full disk, a busy database) and SQLite
        then leaves the transaction open: without the rollback every later BEGIN on this one
        shared connection would fail with "cannot start a transaction within a transaction".
        """
        async with self._write_lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                await asyncio.shield(self._rollback())
                raise
            # Shielded: once the body succeeded, a cancel must not leave it half-applied,
            # and a COMMIT that fails is rolled back even if the caller was cancelled.
            await asyncio.shield(self._commit())

    async def _commit(self) -> None:
        try:
            await self.conn.execute("COMMIT")
        except BaseException:
            await self._rollback()
            raise

    async def _rollback(self) -> None:
        # "no transaction is active" when a cancel landed after COMMIT was queued, or when
        # SQLite already rolled back by itself (some I/O errors): nothing is left to undo.
        with contextlib.suppress(sqlite3.OperationalError):
            await self.conn.execute("ROLLBACK")

    async def fetchone(self, sql: str, params: tuple = ()) -> aiosqlite.Row | None:
        async with self.conn.execute(sql, params) as cur:
            return await cur.fetchone()

    async def fetchall(self, sql: str, params: tuple = ()) -> list[aiosqlite.Row]:
        async with self.conn.execute(sql, params) as cur:
            return list(await cur.fetchall())

    async def close(self) -> None:
        await self.conn.close()


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
