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
