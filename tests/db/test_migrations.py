"""The schema is created and upgraded at start, keeping what is already stored."""

from __future__ import annotations

import sqlite3

import pytest

from db.database import Database, SchemaTooNew, _migrations, latest_version


async def test_a_new_database_gets_every_migration(tmp_path):
    db = await Database.open(tmp_path / "nested" / "bot.db")  # the parent folder is created
    try:
        versions = [r[0] for r in await db.fetchall("SELECT version FROM schema_migrations")]
        assert versions == [v for v, _name, _sql in _migrations()]
        journal = (await db.fetchone("PRAGMA journal_mode"))[0]
        assert journal == "wal"
        assert (await db.fetchone("PRAGMA foreign_keys"))[0] == 1
    finally:
        await db.close()


async def test_an_old_database_is_upgraded_in_place(tmp_path):
    path = tmp_path / "bot.db"
    first = _migrations()[0]
    with sqlite3.connect(path) as conn:  # a database written by the first release
        conn.executescript(first[2])
        conn.execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at REAL NOT NULL)"
        )
        conn.execute("INSERT INTO schema_migrations VALUES (1, ?, 0)", (first[1],))
        conn.execute(
            "INSERT INTO jobs (id, guild_id, channel_id, user_id, command, kind, provider, model,"
            " request, state, cost, created_at, deadline_at, updated_at) VALUES ('j1', 1, 2, 3,"
            " 'image', 'image', 'sandbox', 'sandbox-image', '{}', 'queued', 1, 0, 0, 0)"
        )
    db = await Database.open(path)
    try:
        row = await db.fetchone("SELECT id, upload_limit, reserved FROM jobs")
        assert (row[0], row[1]) == ("j1", None)  # kept, with the new column
        assert row[2] == 1  # the old `cost` column, renamed (0005) with its value
        assert len(await db.migrate()) == 0  # running again applies nothing
    finally:
        await db.close()


async def test_a_database_from_a_newer_bananabot_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "bot.db"
    db = await Database.open(path)
    newer = latest_version() + 1
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO schema_migrations VALUES (?, '9999_from_the_future.sql', 0)", (newer,)
        )
    await db.close()
    before = path.read_bytes()

    with pytest.raises(SchemaTooNew) as refused:
        await Database.open(path)

    assert (refused.value.found, refused.value.latest) == (newer, latest_version())
    line = str(refused.value)
    assert "\n" not in line and f"schema version {newer}" in line
    assert f"up to {latest_version()}" in line and "backup" in line
    assert path.read_bytes() == before


def test_every_migration_exists_in_both_dialects():
    """A version is one common file, or a .sqlite.sql/.postgres.sql pair: never one half."""
    sqlite, postgres = _migrations("sqlite"), _migrations("postgres")
    assert [(v, name) for v, name, _ in sqlite] == [(v, name) for v, name, _ in postgres]
    assert [v for v, _, _ in sqlite] == list(range(1, latest_version() + 1))


async def _columns(db: Database, table: str) -> list[str]:
    if db.dialect == "sqlite":
        return [r["name"] for r in await db.fetchall(f"PRAGMA table_info({table})")]
    rows = await db.fetchall(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
        "AND table_schema = current_schema() ORDER BY ordinal_position",
        (table,),
    )
    return [r[0] for r in rows]


async def test_both_backends_end_with_the_same_tables_and_columns(database_target, tmp_path):
    db = await Database.open(database_target)
    reference = await Database.open(tmp_path / "reference.db")  # SQLite
    try:
        assert await db.schema_version() == latest_version()
        assert await db.tables() == await reference.tables()
        for table in await reference.tables():
            assert await _columns(db, table) == await _columns(reference, table), table
    finally:
        await db.close()
        await reference.close()


async def test_a_newer_schema_is_refused_on_either_backend(database_target):
    db = await Database.open(database_target)
    newer = latest_version() + 1
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO schema_migrations VALUES (?, '9999_from_the_future.sql', 0)", (newer,)
        )
    await db.close()
    with pytest.raises(SchemaTooNew) as refused:
        await Database.open(database_target)
    assert refused.value.found == newer
    assert "password" not in str(refused.value)


async def test_discord_ids_and_times_keep_every_digit(database_target):
    """Snowflakes need 64 bits and timestamps a double: a 4-byte column would lose them."""
    db = await Database.open(database_target)
    try:
        snowflake, when = 1_234_567_890_123_456_789, 1_767_225_600.123456
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO guild_settings (guild_id, log_channel_id, updated_at)"
                " VALUES (?, ?, ?)",
                (snowflake, snowflake - 1, when),
            )
        row = await db.fetchone("SELECT guild_id, log_channel_id, updated_at FROM guild_settings")
        assert (row[0], row[1], row[2]) == (snowflake, snowflake - 1, when)
    finally:
        await db.close()


def test_each_schema_version_is_one_migration():
    """Two branches that each add "the next" migration must not both land as one version:
    the second would never run on a database the first had migrated."""
    import re
    from pathlib import Path

    import db.migrations

    folder = Path(db.migrations.__file__).parent
    names: dict[str, set[str]] = {}
    for path in folder.glob("[0-9][0-9][0-9][0-9]_*.sql"):
        stem = re.sub(r"\.(sqlite|postgres)$", "", path.name.removesuffix(".sql"))
        names.setdefault(path.name[:4], set()).add(stem)
    assert names, "no migrations found"
    shared = {version: sorted(stems) for version, stems in names.items() if len(stems) > 1}
    assert not shared, f"one schema version, several migrations: {shared}"
    versions = sorted(int(v) for v in names)
    assert versions == list(range(1, len(versions) + 1)), f"versions not 1..n: {versions}"
