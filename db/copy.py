"""Copy a whole bananabot database into a new, empty one: SQLite to PostgreSQL when a bot
outgrows one process (``bananabot migrate --from sqlite:///… --to postgresql://…``), or back.

Both sides must be at the schema version this code ships (the target is created at it), so
every table has the same columns on both sides and rows copy column for column. Tables are
read a page at a time in key order and written a page per transaction; jobs before the ledger
rows that name them. Nothing is written to the source.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from db.database import Database, latest_version
from db.tunables import COPY_PAGE
from errors import BotError

# Every table of the schema, in the order they are copied (jobs before the ledger, which
# refers to them), with the columns that order a table's rows for paging.
TABLE_KEYS: dict[str, str] = {
    "jobs": "id",
    "ledger": "id",
    "allowances": "guild_id, scope, target_id",
    "guild_settings": "guild_id",
    "guild_models": "guild_id, model",
    "guild_channels": "guild_id, channel_id",
    "guild_blocklist": "guild_id, phrase",
}
IDENTITY_COLUMNS = {"ledger": "id"}  # numbered by the database: carried on after the copy


class CopyRefused(BotError):
    """The copy cannot be made; the message is one sentence for the operator."""


@dataclass(frozen=True)
class Copied:
    tables: dict[str, int]  # table -> rows copied
    schema_version: int

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


async def copy_database(
    source: Database,
    target: Database,
    *,
    progress: Callable[[str, int], None] | None = None,
) -> Copied:
    """Copy every row of ``source`` into ``target`` (opened, and so migrated, already).
    Refuses a source at another schema version than this code's, and a target holding any
    row: a copy never merges into data that is already there."""
    version, latest = await source.schema_version(), latest_version()
    if version != latest:
        raise CopyRefused(
            f"the source {source.path} is at schema version {version}, this bananabot copies "
            f"version {latest}: run bananabot migrate on it first (with DATABASE_URL set to it)"
        )
    tables = [t for t in await source.tables() if t != "schema_migrations"]
    unknown = sorted(set(tables) - set(TABLE_KEYS))
    if unknown:
        raise CopyRefused(f"the source has tables this bananabot cannot copy: {', '.join(unknown)}")
    for table in TABLE_KEYS:
        if await target.fetchone(f"SELECT 1 FROM {table} LIMIT 1") is not None:
            raise CopyRefused(
                f"the target {target.path} already holds data (table {table}); copy into a new, "
                "empty database"
            )
    copied: dict[str, int] = {}
    for table, key in TABLE_KEYS.items():
        if table not in tables:
            continue
        copied[table] = await _copy_table(source, target, table, key)
        if progress is not None:
            progress(table, copied[table])
    for table, column in IDENTITY_COLUMNS.items():
        await target.continue_numbering(table, column)
    return Copied(copied, version)


async def _copy_table(source: Database, target: Database, table: str, key: str) -> int:
    count, offset = 0, 0
    while True:
        rows = await source.fetchall(
            f"SELECT * FROM {table} ORDER BY {key} LIMIT ? OFFSET ?", (COPY_PAGE, offset)
        )
        if not rows:
            return count
        columns = list(rows[0].keys())
        sql = (
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
        )
        async with target.transaction() as conn:
            await conn.executemany(sql, [tuple(row[c] for c in columns) for row in rows])
        count += len(rows)
        offset += len(rows)
        if len(rows) < COPY_PAGE:
            return count
