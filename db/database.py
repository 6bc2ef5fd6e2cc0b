"""The database the bot stores everything in: one interface, two backends.

``Database.open(target)`` opens SQLite (a file path, or ``sqlite:///…``) or PostgreSQL
(``postgresql://…``) and applies the versioned migrations. Everything outside db/ sees only
what this module declares: ``transaction()`` (all or nothing; the connection it yields is the
one the db/ functions write through), ``fetchone``/``fetchall`` for reads, and ``conn`` for
reads outside a transaction. SQL is written once, with ``?`` (or ``:name``) placeholders and in
the subset both dialects share; the PostgreSQL backend translates the placeholders, and the few
things that differ are methods here (``floor_int``) or a ``.sqlite.sql``/``.postgres.sql``
pair of migration files.

Writes that read a balance and then write what follows from it take ``Connection.hold`` on the
members concerned (db.ledger.hold_members): SQLite's BEGIN IMMEDIATE already keeps every other
writer out, PostgreSQL takes a transaction-scoped lock per member, so processes sharing one
database cannot overspend.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, Protocol

import asyncpg

from errors import BotError  # the leaf every layer may import; see its docstring

_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)(?:\.(sqlite|postgres))?\.sql$")
DIALECTS = ("sqlite", "postgres")
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
SQLITE_PREFIX = "sqlite:///"

# What a database may raise, whichever backend runs: for the callers that turn a failure into
# one line (bot start, the CLI) and for tests that expect a constraint to refuse a write.
DATABASE_ERRORS: tuple[type[BaseException], ...] = (
    sqlite3.Error,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)
INTEGRITY_ERRORS: tuple[type[BaseException], ...] = (
    sqlite3.IntegrityError,
    asyncpg.IntegrityConstraintViolationError,
)


class MigrationMissing(BotError):
    """A migration version ships a file for one dialect only (a pair needs both halves)."""


def _migrations(dialect: str = "sqlite") -> list[tuple[int, str, str]]:
    """(version, name, SQL) of every migration for ``dialect``, oldest first. ``name`` is the
    file name without the dialect (``0001_initial.sql``), the same in both dialects."""
    if dialect not in DIALECTS:
        raise ValueError(f"unknown SQL dialect {dialect!r}")
    common: dict[int, tuple[str, str]] = {}
    own: dict[int, tuple[str, str]] = {}
    other: dict[int, str] = {}
    for entry in resources.files("db.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if not match:
            continue
        version, stem, which = int(match.group(1)), match.group(2), match.group(3)
        name = f"{version:04d}_{stem}.sql"
        if which is None:
            common[version] = (name, entry.read_text(encoding="utf-8"))
        elif which == dialect:
            own[version] = (name, entry.read_text(encoding="utf-8"))
        else:
            other[version] = entry.name
    found = {**common, **own}
    for version, file_name in other.items():
        if version not in found:
            raise MigrationMissing(f"migration {file_name} has no {dialect} counterpart")
    return sorted((version, name, sql) for version, (name, sql) in found.items())


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


class Result(Protocol):
    """What ``Connection.execute`` gives: awaitable, or ``async with``, then read."""

    rowcount: int

    async def fetchone(self) -> Any: ...

    async def fetchall(self) -> Iterable[Any]: ...


class Connection(Protocol):
    """The connection db/ functions write through (aiosqlite's shape; rows are read by
    column name or position in both backends)."""

    dialect: str

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> Any: ...

    async def execute_fetchall(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
    ) -> Iterable[Any]: ...

    async def hold(self, keys: Iterable[int]) -> None:
        """Until this transaction ends, no other transaction holding one of ``keys`` runs."""


def is_postgres_url(target: Path | str) -> bool:
    return isinstance(target, str) and target.startswith(POSTGRES_SCHEMES)


def sqlite_path(target: Path | str) -> Path:
    """The file of a SQLite target (a path, or ``sqlite:///relative`` / ``sqlite:////abs``)."""
    text = str(target)
    return Path(text[len(SQLITE_PREFIX) :] if text.startswith(SQLITE_PREFIX) else text)


def shown(target: Path | str) -> str:
    """``target`` as it may be printed and logged: a PostgreSQL URL without its password."""
    if not is_postgres_url(target):
        return str(sqlite_path(target))
    from urllib.parse import urlsplit

    parts = urlsplit(str(target))
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    user = f"{parts.username}@" if parts.username else ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{user}{host}{port}{parts.path}"


class Database:
    """One open database. ``Database.open`` picks the backend; the subclasses in db.sqlite
    and db.postgres implement the few methods below that differ."""

    dialect: ClassVar[str] = ""
    # Whether several processes may use the database at once (PostgreSQL), or one at a time
    # (SQLite: whoever starts may take over every job of the run before it).
    shared: ClassVar[bool] = False
    # What ends a SELECT … that locks the rows it reads and passes over rows another
    # transaction has locked (PostgreSQL's FOR UPDATE SKIP LOCKED); SQLite locks the whole
    # database for a write transaction already.
    skip_locked: ClassVar[str] = ""
    conn: Connection  # for reads outside a transaction
    path: Path | str  # as shown to operators (never with a password)

    @classmethod
    async def open(cls, target: Path | str, *, migrate: bool = True) -> Database:
        """Open ``target`` (a SQLite path, ``sqlite:///…`` or ``postgresql://…``) and migrate;
        ``migrate=False`` leaves the schema as it is, for tools that only read
        (``bananabot check``)."""
        if is_postgres_url(target):
            from db.postgres import PostgresDatabase

            return await PostgresDatabase.connect(str(target), migrate=migrate)
        from db.sqlite import SqliteDatabase

        return await SqliteDatabase.connect(sqlite_path(target), migrate=migrate)

    # --- migrations -----------------------------------------------------------------------

    async def migrate(self) -> list[int]:
        """Apply every migration newer than the stored schema version; returns those applied.
        Raises SchemaTooNew, changing nothing, when the stored version is newer than any
        migration shipped here (a downgrade)."""
        raise NotImplementedError

    async def schema_version(self, conn: Connection | None = None) -> int:
        """The newest migration applied to this database (0 for a new or foreign one)."""
        conn = conn or self.conn
        if not await self.has_table("schema_migrations", conn):
            return 0
        rows = list(
            await conn.execute_fetchall("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
        )
        return int(rows[0][0]) if rows else 0

    async def _pending_migrations(self, conn: Connection) -> list[tuple[int, str, str]]:
        """The migrations to apply, the stored version read through ``conn``; SchemaTooNew
        on a downgrade."""
        current = await self.schema_version(conn)
        migrations = _migrations(self.dialect)
        latest = max((version for version, _, _ in migrations), default=0)
        if current > latest:
            raise SchemaTooNew(self.path, current, latest)
        return [m for m in migrations if m[0] > current]

    @staticmethod
    async def _record_migration(conn: Connection, version: int, name: str) -> None:
        await conn.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
            (version, name, time.time()),
        )

    # --- the interface ----------------------------------------------------------------------

    def transaction(self) -> AbstractAsyncContextManager[Connection]:
        """All or nothing; any failure, the COMMIT's own included, rolls back."""
        raise NotImplementedError

    async def fetchone(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> Any:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[Any]:
        return list(await self.conn.execute_fetchall(sql, params))

    async def has_table(self, name: str, conn: Connection | None = None) -> bool:
        raise NotImplementedError

    async def tables(self) -> list[str]:
        """The bot's tables (schema_migrations included), for copying a database."""
        raise NotImplementedError

    def floor_int(self, expression: str) -> str:
        """SQL for the whole number at or below ``expression`` (a non-negative real)."""
        raise NotImplementedError

    async def continue_numbering(self, table: str, column: str) -> None:
        """After rows were copied in with their ids: new rows get ids after the largest."""

    async def close(self) -> None:
        raise NotImplementedError
