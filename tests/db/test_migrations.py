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
