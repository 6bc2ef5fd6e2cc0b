"""``bananabot backup``: a consistent copy while the bot writes, never over an existing file
unless asked, and a copy that restores."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from db.backup import BackupError, backup
from db.database import Database, latest_version
from db.ledger import consistency_problems
from tests.quota.helpers import Clock, make_job, make_service

GUILD, USER = 1, 10


async def write_jobs(
    db: Database, stop: asyncio.Event, done: list[str], progress: asyncio.Event
) -> None:
    """What the bot does all day: reserve a job, then settle it and mark it completed in one
    transaction. Every committed state of the database passes the ledger check."""
    quota = make_service(db, Clock(), period="none", default_credits=10**9)
    for n in itertools.count():
        if stop.is_set():
            return
        job = make_job(guild_id=GUILD, user_id=USER, cost=3, job_id=f"w{n}")
        await quota.reserve_job(job)
        async with db.transaction() as conn:
            charged = await quota.settle(job, 2, conn=conn)
            await conn.execute(
                "UPDATE jobs SET state = 'completed', charged = ? WHERE id = ?", (charged, job.id)
            )
        done.append(job.id)
        progress.set()
        await asyncio.sleep(0)


async def until(done: list[str], count: int, progress: asyncio.Event) -> None:
    while len(done) < count:
        progress.clear()
        await progress.wait()


async def test_a_backup_taken_while_the_bot_writes_is_consistent(tmp_path):
    path, copy = tmp_path / "bot.db", tmp_path / "copy.db"
    db = await Database.open(path)
    stop, done, progress = asyncio.Event(), [], asyncio.Event()
    writer = asyncio.create_task(write_jobs(db, stop, done, progress))
    try:
        await until(done, 50, progress)  # a ledger with some history, still being written
        result = await asyncio.to_thread(backup, path, copy)  # as the CLI runs it: own thread
        written_during = len(done)
        await until(done, written_during + 20, progress)  # the bot went on writing meanwhile
    finally:
        stop.set()
        await writer
        await db.close()

    assert result.schema_version == latest_version() and result.size == copy.stat().st_size
    assert copy.read_bytes()[18:20] == b"\x01\x01"  # a rollback-journal file: no -wal needed
    copied = await Database.open(copy, migrate=False)
    try:
        assert await consistency_problems(copied) == []
        (jobs,) = await copied.fetchone("SELECT COUNT(*) FROM jobs")
        (entries,) = await copied.fetchone("SELECT COUNT(*) FROM ledger")
        assert 50 <= jobs < len(done)  # a moment in the middle of the writing
        assert entries in (2 * jobs, 2 * jobs - 1)  # every job reserved; all but one settled
    finally:
        await copied.close()
    assert not list(tmp_path.glob(".copy.db*"))  # no partial file left behind


def test_an_existing_file_is_kept_unless_forced(tmp_path):
    path, copy = tmp_path / "bot.db", tmp_path / "copy.db"
    asyncio.run(_new_database(path))
    copy.write_bytes(b"last week's backup")

    with pytest.raises(BackupError) as refused:
        backup(path, copy)
    assert str(refused.value) == f"{copy} already exists; choose another name, or add --force"
    assert copy.read_bytes() == b"last week's backup"

    backup(path, copy, overwrite=True)
    assert copy.read_bytes().startswith(b"SQLite format 3\x00")


async def _new_database(path) -> None:
    await (await Database.open(path)).close()


async def test_a_restored_copy_is_the_database_as_it_was(tmp_path):
    path, copy = tmp_path / "bot.db", tmp_path / "copy.db"
    db = await Database.open(path)
    quota = make_service(db, Clock(), period="none")
    await quota.grant(GUILD, USER, 7, actor_id=99, reason="welcome")
    await db.close()
    backup(path, copy)

    db = await Database.open(path)  # later: more changes, then something goes wrong
    await make_service(db, Clock(), period="none").grant(GUILD, USER, 100, actor_id=99, reason="x")
    await db.close()
    for leftover in tmp_path.glob("bot.db-*"):  # restore: stop the bot, copy the file back
        leftover.unlink()
    path.write_bytes(copy.read_bytes())

    db = await Database.open(path)
    try:
        assert (await make_service(db, Clock(), period="none").balance(GUILD, USER)).bonus == 7
    finally:
        await db.close()


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda tmp: None, "there is no database at"),
        (lambda tmp: (tmp / "bot.db").write_bytes(b"not sqlite" * 500), "cannot back up"),
    ],
)
def test_a_missing_or_foreign_source_is_refused_and_nothing_is_written(tmp_path, make, says):
    make(tmp_path)
    with pytest.raises(BackupError) as refused:
        backup(tmp_path / "bot.db", tmp_path / "copy.db")
    assert says in str(refused.value)
    assert sorted(p.name for p in tmp_path.iterdir()) in ([], ["bot.db"])


def test_a_target_in_a_missing_folder_is_refused(tmp_path):
    asyncio.run(_new_database(tmp_path / "bot.db"))
    with pytest.raises(BackupError, match="does not exist"):
        backup(tmp_path / "bot.db", tmp_path / "nowhere" / "copy.db")
