"""The ``bananabot`` command line: its help, its one-line failures, check-config (with
--online against the provider emulators on 127.0.0.1), migrate, and a start refused on a
database from a newer bananabot."""

from __future__ import annotations

import contextlib
import csv
import io
import sqlite3

import pytest

from cli import COMMANDS, build_parser
from db.database import Database, latest_version
from db.ledger import consistency_problems
from quota.export import CSV_COLUMNS
from tests.cli_helpers import clean_env, console, main_off_loop
from tests.emulators.aivideoapi import AIVideoAPIEmulator
from tests.emulators.base import serve
from tests.emulators.nananobanana import NanaNoBananaEmulator
from tests.emulators.nanobanana import NanoBananaEmulator
from tests.emulators.nanobananavideo import NanoBananaVideoEmulator
from tests.quota.helpers import Clock, make_job, make_service


def test_help_lists_every_command(tmp_path):
    result = console("--help", cwd=tmp_path, env={})
    assert result.returncode == 0
    for command in ("run", "check", "check-config", "export-usage", "migrate", "backup"):
        assert command in result.stdout
    assert set(COMMANDS) == {"run", "check", "check-config", "export-usage", "migrate", "backup"}


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["frob"], "invalid choice: 'frob'"),
        (["export-usage"], "the following arguments are required: --guild"),
        (["export-usage", "--guild", "1", "--since", "31/01/2026"], "is not a date like"),
        (["backup"], "the following arguments are required: path"),
    ],
)
def test_a_bad_command_line_is_one_line_and_exit_2(argv, says, capsys):
    with pytest.raises(SystemExit) as stopped:
        build_parser().parse_args(argv)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and says in err and err.startswith("bananabot: ")


# --- check-config -------------------------------------------------------------------------


async def test_check_config_reports_valid_settings_in_one_line(tmp_path, monkeypatch, capsys):
    clean_env(monkeypatch, tmp_path, DISCORD_TOKEN="abc.def", SANDBOX_PROVIDER="1")
    assert await main_off_loop("check-config") == 0
    out, err = capsys.readouterr()
    assert err == "" and out.count("\n") == 1
    assert "settings are valid" in out and "sandbox" in out and "every server" in out


@pytest.mark.parametrize(
    ("settings", "variable"),
    [
        ({"SANDBOX_PROVIDER": "1"}, "DISCORD_TOKEN"),
        ({"DISCORD_TOKEN": "abc.def"}, "NANOBANANA_API_KEY"),
        ({"DISCORD_TOKEN": "abc.def", "SANDBOX_PROVIDER": "1", "QUOTA_PERIOD": "hourly"},
         "QUOTA_PERIOD"),
    ],
)  # fmt: skip
async def test_check_config_names_the_setting_that_is_wrong(
    settings, variable, tmp_path, monkeypatch, capsys
):
    clean_env(monkeypatch, tmp_path, **settings)
    assert await main_off_loop("check-config") == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith(f"bananabot: configuration error: {variable} ")
    assert not (tmp_path / "data").exists()  # nothing created


@contextlib.asynccontextmanager
async def providers():
    emulators = (
        NanoBananaEmulator(),
        NanoBananaVideoEmulator(),
        AIVideoAPIEmulator(),
        NanaNoBananaEmulator(),
    )
    async with contextlib.AsyncExitStack() as stack:
        for emulator in emulators:
            await stack.enter_async_context(serve(emulator))
        yield emulators


def provider_env(emulators, **keys: str) -> dict[str, str]:
    env = {"DISCORD_TOKEN": "abc.def"}
    for pid, emulator in zip(
        ("NANOBANANA", "NANOBANANAVIDEO", "AIVIDEOAPI", "NANANOBANANA"), emulators, strict=True
    ):
        env[f"{pid}_API_KEY"] = keys.get(pid, emulator.api_key)
        env[f"{pid}_BASE_URL"] = emulator.base_url
    return env


async def test_check_config_online_tries_every_key(tmp_path, monkeypatch, capsys):
    async with providers() as emulators:
        clean_env(monkeypatch, tmp_path, **provider_env(emulators))
        assert await main_off_loop("check-config", "--online") == 0

    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert len(lines) == 5 and "settings are valid" in lines[0]
    seen = dict(line.split(": ", 1) for line in lines[1:])
    assert seen["nanobanana"] == "the key was accepted; the account has 500 credits"
    assert seen["nanobananavideo"] == "the key was accepted (this API shows no balance)"
    assert seen["aivideoapi"].startswith("the key was accepted")
    assert seen["nananobanana"].startswith("the key was accepted; the account has")
    # one read each, and nothing that could start (or pay for) a task
    for emulator in emulators:
        assert [method for method, *_ in emulator.requests] == ["GET"]


async def test_check_config_online_names_each_key_that_does_not_work(tmp_path, monkeypatch, capsys):
    wrong = {"NANANOBANANA": "nb_wrong_key_1234", "NANOBANANAVIDEO": "wrong-video-key-5678"}
    async with providers() as emulators:
        clean_env(monkeypatch, tmp_path, **provider_env(emulators, **wrong))
        assert await main_off_loop("check-config", "--online") == 1

    out, err = capsys.readouterr()
    seen = dict(line.split(": ", 1) for line in out.splitlines()[1:])
    assert seen["nananobanana"] == "the key was refused (HTTP 401): check NANANOBANANA_API_KEY"
    assert seen["nanobananavideo"] == (
        "the key was refused (HTTP 401): check NANOBANANAVIDEO_API_KEY"
    )
    assert seen["nanobanana"].startswith("the key was accepted")
    assert err == "bananabot: 2 of 4 provider keys did not work: nanobananavideo, nananobanana\n"
    for key in wrong.values():  # the emulators echo a wrong key back; it is never printed
        assert key not in out + err


async def test_check_config_online_says_when_a_provider_cannot_be_reached(
    tmp_path, monkeypatch, capsys
):
    async with providers() as emulators:
        env = provider_env(emulators)
    # the emulators are gone: nothing listens on their ports any more
    clean_env(monkeypatch, tmp_path, **env)
    assert await main_off_loop("check-config", "--online") == 1
    out, err = capsys.readouterr()
    assert out.count("could not check the key") == 4
    assert "4 of 4 provider keys did not work" in err and "Traceback" not in out + err


# --- migrate and the schema version -------------------------------------------------------


def newer_database(path) -> int:
    """A database last migrated by a bananabot one version newer than this one."""
    newer = latest_version() + 1
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at REAL NOT NULL)"
        )
        conn.execute("INSERT INTO schema_migrations VALUES (?, 'from_the_future', 0)", (newer,))
    return newer


async def test_migrate_applies_the_migrations_and_exits(tmp_path, monkeypatch, capsys):
    path = tmp_path / "data" / "bot.db"
    clean_env(monkeypatch, tmp_path, DATABASE_URL=f"sqlite:///{path}")
    assert await main_off_loop("migrate") == 0
    assert await main_off_loop("migrate") == 0
    out, err = capsys.readouterr()
    first, second = out.splitlines()
    assert f"schema version {latest_version()}" in first and "applied 0001" in first
    assert "nothing to apply" in second and err == ""


async def test_migrate_refuses_a_database_from_a_newer_bananabot(tmp_path, monkeypatch, capsys):
    path = tmp_path / "bot.db"
    newer = newer_database(path)
    clean_env(monkeypatch, tmp_path, DATABASE_URL=f"sqlite:///{path}")
    assert await main_off_loop("migrate") == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert f"has schema version {newer}, newer than this bananabot knows" in err


def test_the_bot_will_not_start_on_a_database_from_a_newer_bananabot(tmp_path):
    path = tmp_path / "bot.db"
    newer = newer_database(path)
    env = {"DISCORD_TOKEN": "abc.def", "SANDBOX_PROVIDER": "1", "DATABASE_URL": f"sqlite:///{path}"}
    result = console("run", cwd=tmp_path, env=env)

    assert result.returncode == 2
    assert result.stderr == "" and "Traceback" not in result.stdout
    (line,) = result.stdout.splitlines()
    assert line.endswith(
        f"ERROR bananabot: cannot start: the database {path} has schema version {newer}, "
        f"newer than this bananabot knows (up to {latest_version()}): run the newer "
        "bananabot, or restore the backup taken before the upgrade"
    )
    with contextlib.closing(sqlite3.connect(path)) as conn:  # untouched: no table was added
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert tables == {"schema_migrations"}


# --- export-usage and backup ----------------------------------------------------------------


async def ledger_of_two_servers(path) -> None:
    db = await Database.open(path)
    try:
        clock = Clock()
        quota = make_service(db, clock, period="daily", default_credits=50)
        job = make_job(guild_id=1, user_id=10, cost=6, now=clock.now)
        await quota.reserve_job(job)
        async with db.transaction() as conn:  # as the engine settles a job
            charged = await quota.settle(job, 4, conn=conn)
            await conn.execute(
                "UPDATE jobs SET state = 'completed', charged = ? WHERE id = ?", (charged, job.id)
            )
        await quota.grant(1, 10, 5, actor_id=99, reason="welcome, friend")
        await quota.reserve_job(make_job(guild_id=2, user_id=10, cost=3, now=clock.now))
        clock.advance(86400)
        await quota.grant(1, 11, 2, actor_id=99, reason=None)
    finally:
        await db.close()


async def test_export_usage_writes_the_servers_ledger_as_csv(tmp_path, monkeypatch, capsys):
    path = tmp_path / "bot.db"
    await ledger_of_two_servers(path)
    clean_env(monkeypatch, tmp_path, DATABASE_URL=f"sqlite:///{path}")
    assert await main_off_loop("export-usage", "--guild", "1") == 0
    out, err = capsys.readouterr()

    rows = list(csv.DictReader(io.StringIO(out)))
    with contextlib.closing(sqlite3.connect(path)) as conn:
        ledger = conn.execute(
            "SELECT user_id, job_id, kind, amount, actor_id, reason FROM ledger"
            " WHERE guild_id = 1 ORDER BY id"
        ).fetchall()
    assert err == "" and len(rows) == len(ledger) == 4
    for row, (user, job, kind, amount, actor, reason) in zip(rows, ledger, strict=True):
        assert (row["member"], row["job"], row["kind"], row["amount"]) == (
            str(user),
            job or "",
            kind,
            str(amount),
        )
        assert (row["actor"], row["reason"]) == (str(actor or ""), reason or "")
    assert [r["balance_after"] for r in rows] == ["44", "46", "51", "52"]
    assert rows[0]["model"] == "sandbox:sandbox-image" and rows[0]["time"].endswith("Z")

    day_two = rows[-1]["time"][:10]
    assert await main_off_loop("export-usage", "--guild", "1", "--since", day_two) == 0
    assert len(list(csv.DictReader(io.StringIO(capsys.readouterr().out)))) == 1


async def test_export_usage_failures_are_one_line(tmp_path, monkeypatch, capsys):
    clean_env(monkeypatch, tmp_path, DATABASE_URL=f"sqlite:///{tmp_path}/absent.db")
    assert await main_off_loop("export-usage", "--guild", "1") == 2
    assert (
        capsys.readouterr().err
        == f"bananabot: no database at {tmp_path}/absent.db (DATABASE_URL)\n"
    )
    assert not (tmp_path / "absent.db").exists()

    path = tmp_path / "bot.db"
    await ledger_of_two_servers(path)
    clean_env(monkeypatch, tmp_path, DATABASE_URL=f"sqlite:///{path}")
    argv = ("export-usage", "--guild", "1", "--since", "2024-05-02", "--until", "2024-05-01")
    assert await main_off_loop(*argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == "bananabot: --since 2024-05-02 is after --until 2024-05-01\n"

    assert await main_off_loop("export-usage", "--guild", "777") == 0  # a server with no entries
    out, err = capsys.readouterr()
    assert out == ",".join(CSV_COLUMNS) + "\r\n"  # RFC 4180 line ends
    assert err == "bananabot: no ledger entries for server 777\n"


async def test_backup_copies_once_and_replaces_only_with_force(tmp_path, monkeypatch, capsys):
    path, copy = tmp_path / "bot.db", tmp_path / "copy.db"
    await ledger_of_two_servers(path)
    clean_env(monkeypatch, tmp_path, DATABASE_URL=f"sqlite:///{path}")

    assert await main_off_loop("backup", str(copy)) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"bananabot: copied {path} to {copy} (schema version {latest_version()}")
    assert await main_off_loop("backup", str(copy)) == 2
    assert capsys.readouterr().err == (
        f"bananabot: {copy} already exists; choose another name, or add --force\n"
    )
    assert await main_off_loop("backup", str(copy), "--force") == 0

    copied = await Database.open(copy, migrate=False)
    try:
        assert await consistency_problems(copied) == []
        (entries,) = await copied.fetchone("SELECT COUNT(*) FROM ledger")
        assert entries == 5
    finally:
        await copied.close()


def test_a_database_that_cannot_be_opened_stops_the_start_in_one_line(tmp_path):
    path = tmp_path / "bot.db"
    path.write_bytes(b"not a database at all " * 100)
    env = {"DISCORD_TOKEN": "abc.def", "SANDBOX_PROVIDER": "1", "DATABASE_URL": f"sqlite:///{path}"}
    result = console("run", cwd=tmp_path, env=env)

    assert result.returncode == 2 and result.stderr == ""
    (line,) = result.stdout.splitlines()
    assert f"ERROR bananabot: cannot start: cannot open the database {path}: " in line
