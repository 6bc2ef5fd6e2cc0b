"""``bananabot migrate --from … --to …``: a used SQLite database copied into a new one (on
PostgreSQL, or SQLite again) holds the same rows, balances and settings, keeps numbering its
ledger after the copied rows, and a second copy into it is refused."""

from __future__ import annotations

from pathlib import Path

from db import guilds, server_settings
from db.copy import TABLE_KEYS
from db.database import Database, latest_version
from db.ledger import consistency_problems
from tests.cli_helpers import clean_env, main_off_loop
from tests.quota.helpers import Clock, make_job, make_service, refund_job, settle_job

MEMBERS = [(1, 10), (1, 11), (2, 10)]


async def _used_database(path: Path) -> None:
    """A database as a few days of a bot leave it: jobs settled, refunded and running,
    grants, allowances and every kind of server setting."""
    db = await Database.open(path)
    try:
        clock = Clock()
        quota = make_service(db, clock)
        for n, (guild, user) in enumerate(MEMBERS * 3):
            job = make_job(guild_id=guild, user_id=user, cost=3 + n, now=clock())
            await quota.reserve_job(job)
            if n % 3 == 0:
                await settle_job(quota, job, 2 + n)
            elif n % 3 == 1:
                await refund_job(quota, job, "content filtered")
            clock.advance(3600)
        await quota.grant(1, 10, 25, actor_id=99, reason="event prize")
        await quota.set_allowance(1, 11, 80, actor_id=99)
        await quota.set_role_allowance(1, 500, 120, actor_id=99)
        await quota.set_default_allowance(2, 40, actor_id=99)
        await guilds.set_mod_role(db, 1, 500, clock())
        await guilds.set_log_channel(db, 1, 700, clock())
        await server_settings.set_default(db, 1, "image", "nano-banana-2", clock())
        await server_settings.set_cost_preview(db, 1, 12, clock())
        await server_settings.set_model_rule(db, 1, "aivideoapi:nano-banana-2", False, 99, clock())
        await server_settings.set_channel(db, 1, 800, True, 99, clock())
        await server_settings.add_phrase(db, 1, "forbidden words", 99, clock())
    finally:
        await db.close()


async def _rows(db: Database) -> dict[str, list[dict]]:
    return {
        table: [dict(r) for r in await db.fetchall(f"SELECT * FROM {table} ORDER BY {key}")]
        for table, key in TABLE_KEYS.items()
    }


def _url(target: Path | str) -> str:
    return target if isinstance(target, str) else f"sqlite:///{target}"


async def test_a_used_database_is_copied_whole(tmp_path, database_target, monkeypatch, capsys):
    source = tmp_path / "old.db"
    await _used_database(source)
    clean_env(monkeypatch, tmp_path)

    copy = ("migrate", "--from", f"sqlite:///{source}", "--to", _url(database_target))
    assert await main_off_loop(*copy) == 0
    out = capsys.readouterr().out
    assert f"at schema version {latest_version()}" in out and "jobs 9, ledger 19," in out
    assert "set DATABASE_URL to the new database" in out

    old, new = await Database.open(source), await Database.open(database_target)
    try:
        assert await _rows(new) == await _rows(old)  # every row, every value
        assert await consistency_problems(new) == []
        for guild, user in MEMBERS:
            assert await make_service(new, Clock()).balance(guild, user) == await make_service(
                old, Clock()
            ).balance(guild, user)
        last = (await new.fetchone("SELECT MAX(id) FROM ledger"))[0]
        await make_service(new, Clock()).grant(1, 11, 5, actor_id=99, reason="after the move")
        assert (await new.fetchone("SELECT MAX(id) FROM ledger"))[0] == last + 1
    finally:
        await old.close()
        await new.close()

    assert await main_off_loop(*copy) == 2
    err = capsys.readouterr().err
    assert "already holds data (table jobs); copy into a new, empty database" in err


async def test_a_copy_needs_both_ends_and_an_existing_source(tmp_path, monkeypatch, capsys):
    clean_env(monkeypatch, tmp_path)
    assert await main_off_loop("migrate", "--to", f"sqlite:///{tmp_path}/new.db") == 2
    assert "both --from URL and --to URL" in capsys.readouterr().err
    absent = f"sqlite:///{tmp_path}/absent.db"
    new = f"sqlite:///{tmp_path}/n.db"
    assert await main_off_loop("migrate", "--from", absent, "--to", new) == 2
    assert capsys.readouterr().err == f"bananabot: no database at {tmp_path}/absent.db (--from)\n"
    assert not (tmp_path / "n.db").exists()
