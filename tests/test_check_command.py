"""`bananabot check`: the ledger's invariants from the command line, on real SQLite files."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

import cli
from db import ledger
from db.database import Database
from jobs.records import Job, JobState
from providers.base import GenerationRequest, Kind
from quota.service import QuotaService

ROOT = Path(__file__).resolve().parent.parent
GUILD, USER = 11, 22


def job(job_id: str, cost: int = 4) -> Job:
    return Job(
        id=job_id,
        guild_id=GUILD,
        channel_id=33,
        user_id=USER,
        command="image",
        kind="image",
        provider="sandbox",
        model="sandbox-image",
        request=GenerationRequest(kind=Kind.IMAGE, model="sandbox-image", prompt="p"),
        state=JobState.QUEUED,
        reserved=cost,
        created_at=0.0,
        deadline_at=600.0,
        updated_at=0.0,
    )


async def ledger_file(path: Path, *, open_jobs_marked_done: int = 0, negative_bonus: bool = False):
    """A database with one settled job, then the damage asked for."""
    db = await Database.open(path)
    try:
        quota = QuotaService(db, period="none", default_credits=100, max_jobs_per_user=99)
        settled = job("settled")
        await quota.reserve_job(settled)
        charged = await quota.settle(settled, 3)
        async with db.transaction() as conn:
            await conn.execute("UPDATE jobs SET state = 'completed', charged = ?", (charged,))
        for n in range(open_jobs_marked_done):  # finished without closing the reservation
            await quota.reserve_job(job(f"broken{n}", cost=1))
            async with db.transaction() as conn:
                await conn.execute(
                    "UPDATE jobs SET state = 'completed' WHERE id = ?", (f"broken{n}",)
                )
        if negative_bonus:  # a take-away that skipped the clamp
            async with db.transaction() as conn:
                await ledger.append(
                    conn,
                    guild_id=GUILD,
                    user_id=USER,
                    kind="grant",
                    amount=-5,
                    bonus_delta=-5,
                    period="all",
                    created_at=1.0,
                )
    finally:
        await db.close()


def check(monkeypatch, path: Path) -> int:
    monkeypatch.chdir(path.parent)  # no .env there
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    for name in ("DISCORD_TOKEN", "SANDBOX_PROVIDER"):  # check needs neither
        monkeypatch.delenv(name, raising=False)
    return cli.main(["check"])


async def check_off_loop(monkeypatch, path: Path) -> int:
    """main() runs its own event loop (asyncio.run), so it cannot run on the test's."""
    return await asyncio.to_thread(check, monkeypatch, path)


async def test_a_consistent_ledger_exits_0_with_one_line(tmp_path, monkeypatch, capsys):
    path = tmp_path / "bot.db"
    await ledger_file(path)
    code = await check_off_loop(monkeypatch, path)
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    assert out.count("\n") == 1 and "consistent" in out and "2 entries, 1 jobs" in out


async def test_a_corrupted_ledger_exits_1_naming_the_violations(tmp_path, monkeypatch, capsys):
    path = tmp_path / "bot.db"
    await ledger_file(path, open_jobs_marked_done=1, negative_bonus=True)
    code = await check_off_loop(monkeypatch, path)
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "2 problems" in err
    assert "job broken0 is completed but its reservation is still open" in err
    assert f"member {USER} in {GUILD} has negative bonus -5" in err


async def test_many_violations_name_the_first_few(tmp_path, monkeypatch, capsys):
    path = tmp_path / "bot.db"
    await ledger_file(path, open_jobs_marked_done=5)
    assert await check_off_loop(monkeypatch, path) == 1
    err = capsys.readouterr().err
    assert "5 problems" in err and err.count("is completed but") == 3 and "and 2 more" in err


def test_a_missing_database_is_not_created(tmp_path, monkeypatch, capsys):
    path = tmp_path / "absent.db"
    assert check(monkeypatch, path) == 2
    assert "no database at" in capsys.readouterr().err
    assert not path.exists()


@pytest.mark.parametrize("content", [b"", b"not a database at all " * 100])
def test_a_file_that_is_not_a_bananabot_database(content, tmp_path, monkeypatch, capsys):
    path = tmp_path / "other.db"
    path.write_bytes(content)
    assert check(monkeypatch, path) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot check" in err and "Traceback" not in err


def test_the_console_script_runs_check_without_a_token(tmp_path):
    path = tmp_path / "bot.db"
    asyncio.run(ledger_file(path, open_jobs_marked_done=1))
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_TOKEN"))}
    env["DATABASE_URL"] = f"sqlite:///{path}"
    result = subprocess.run(
        [sys.executable, str(ROOT / "bot.py"), "check"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stdout == "" and result.stderr.count("\n") == 1
    assert "broken0" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("argv", [[], ["run"]])
def test_run_is_the_default_and_still_needs_the_token(argv, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.setenv("SANDBOX_PROVIDER", "1")
    assert cli.main(argv) == 2
    assert "DISCORD_TOKEN" in capsys.readouterr().err
