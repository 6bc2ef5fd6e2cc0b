"""The ``bananabot`` command line: run the bot, or one operator task and exit.

Every command that fails prints one line on stderr starting with ``bananabot:`` and exits
non-zero (2: the command could not do its work — configuration, a missing or unusable
database, a bad argument; 1: it did its work and found a problem — ledger violations, a
provider key that does not work). ``run`` logs its start-up errors as one log line instead,
since logging is set up by then. ``python bot.py`` runs this module's ``main`` too, so it and the
console script are the same program.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from datetime import date
from pathlib import Path
from typing import NoReturn

import discord

import bot as bot_module
from db.backup import BackupError, backup
from db.copy import Copied, CopyRefused, copy_database
from db.database import (
    DATABASE_ERRORS,
    Database,
    SchemaTooNew,
    is_postgres_url,
    shown,
    sqlite_path,
)
from db.ledger import consistency_problems
from providers.errors import AuthError, ProviderError
from providers.registry import ProviderRegistry
from quota.export import usage_rows, write_csv
from settings import ConfigError, Settings, load_settings

log = logging.getLogger("bananabot")

EXIT_PROBLEM = 1  # the command ran and found something wrong
EXIT_FAILED = 2  # the command could not run
KEY_CHECK_TIMEOUT = 20.0  # seconds for each provider's key check (they run side by side)
LOGIN_REJECTED = "Discord rejected DISCORD_TOKEN; check the token in the developer portal"

COMMANDS = {
    "run": "run the bot (the default)",
    "check": "check the credit ledger in DATABASE_URL and exit",
    "check-config": "check the settings without connecting to Discord, and exit",
    "export-usage": "write a server's credit ledger as CSV to stdout",
    "migrate": "apply the database migrations and exit; with --from/--to, copy a database",
    "backup": "write a consistent copy of the database, also while the bot runs",
}


def fail(message: str, code: int = EXIT_FAILED) -> int:
    """One line on stderr; the exit code."""
    print(f"bananabot: {message}", file=sys.stderr)
    return code


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad command line in one line, like every other failure."""

    def error(self, message: str) -> NoReturn:
        print(f"bananabot: {message} (see bananabot --help)", file=sys.stderr)
        raise SystemExit(EXIT_FAILED)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-01-31") from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="bananabot",
        description="The bananabot Discord bot. Settings come from the environment and .env.",
        epilog="Without a command, bananabot runs the bot. Operator guide: docs/operating.md",
    )
    commands = parser.add_subparsers(
        dest="command", metavar="{" + ",".join(COMMANDS) + "}", parser_class=_Parser
    )
    commands.add_parser("run", help=COMMANDS["run"])
    commands.add_parser("check", help=COMMANDS["check"])
    check_config = commands.add_parser("check-config", help=COMMANDS["check-config"])
    check_config.add_argument(
        "--online",
        action="store_true",
        help="also try each enabled provider's API key (its balance, or a lookup that costs "
        "nothing)",
    )
    export = commands.add_parser(
        "export-usage",
        help=COMMANDS["export-usage"],
        description="One CSV row per ledger entry: time, member, job, model, kind, amount, "
        "balance_after, actor, reason. Dates are UTC days, both included.",
    )
    export.add_argument("--guild", type=int, required=True, metavar="ID", help="the server id")
    export.add_argument("--since", type=_day, metavar="YYYY-MM-DD", help="from this day")
    export.add_argument("--until", type=_day, metavar="YYYY-MM-DD", help="through this day")
    migrate = commands.add_parser(
        "migrate",
        help=COMMANDS["migrate"],
        description="Without options: apply the migrations to DATABASE_URL. With --from and "
        "--to: copy every row of one database into a new, empty one (SQLite to PostgreSQL "
        "when the bot outgrows one process); stop the bot first.",
    )
    migrate.add_argument("--from", dest="source", metavar="URL", help="sqlite:///… to copy")
    migrate.add_argument("--to", dest="target", metavar="URL", help="postgresql://… to fill")
    copy = commands.add_parser(
        "backup",
        help=COMMANDS["backup"],
        description="Copy the SQLite database with SQLite's online backup API: safe while "
        "the bot runs. Restore by stopping the bot and copying the file back.",
    )
    copy.add_argument("path", type=Path, help="where to write the copy")
    copy.add_argument("--force", action="store_true", help="replace PATH if it exists")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        return fail(f"configuration error: {exc}")
    command = args.command or "run"
    handlers = {
        "run": _run,
        "check": _check,
        "check-config": _check_config,
        "export-usage": _export_usage,
        "migrate": _migrate,
        "backup": _backup,
    }
    return handlers[command](args, settings)


# --- run ----------------------------------------------------------------------------------


def _run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        settings.require_token()
        bot_module.check_providers(settings)
    except ConfigError as exc:
        return fail(f"configuration error: {exc}")
    bot_module.configure_logging(settings)
    try:
        with bot_module.event_loop_runner() as runner:
            runner.run(bot_module.run(settings))
    except discord.LoginFailure:
        log.error(LOGIN_REJECTED)
        return EXIT_FAILED
    except (bot_module.StartupError, SchemaTooNew) as exc:
        log.error("cannot start: %s", exc)
        return EXIT_FAILED
    except KeyboardInterrupt:
        pass
    return 0


# --- check-config -------------------------------------------------------------------------


def _check_config(args: argparse.Namespace, settings: Settings) -> int:
    try:
        settings.require_token()
        bot_module.check_providers(settings)
    except ConfigError as exc:
        return fail(f"configuration error: {exc}")
    providers = [*settings.providers, *(["sandbox"] if settings.sandbox else [])]
    where = f"server {settings.dev_guild_id}" if settings.dev_guild_id else "every server"
    print(
        f"bananabot: the settings are valid (providers: {', '.join(providers)}; "
        f"database: {settings.database_shown}; commands sync to {where})"
    )
    if not args.online:
        return 0
    if not settings.providers:
        print("bananabot: no provider key to try (only the built-in sandbox is enabled)")
        return 0
    results = asyncio.run(check_keys(settings))
    secrets = [s for s in bot_module.secrets_of(settings) if len(s) >= 4]
    for provider_id, (_, words) in results.items():
        for secret in secrets:  # adapters scrub their errors; this is the second lock
            words = words.replace(secret, "***")
        print(f"{provider_id}: {words}")
    failed = [provider_id for provider_id, (ok, _) in results.items() if not ok]
    if failed:
        return fail(
            f"{len(failed)} of {len(results)} provider keys did not work: {', '.join(failed)}",
            EXIT_PROBLEM,
        )
    return 0


async def check_keys(settings: Settings) -> dict[str, tuple[bool, str]]:
    """Each enabled provider's key, tried side by side: provider id -> (works, what was seen).
    The sandbox has no key and is not listed."""
    registry = ProviderRegistry.from_settings(settings)
    try:
        ids = list(settings.providers)
        found = await asyncio.gather(*(_check_key(registry, pid) for pid in ids))
        return dict(zip(ids, found, strict=True))
    finally:
        await registry.aclose()


async def _check_key(registry: ProviderRegistry, provider_id: str) -> tuple[bool, str]:
    provider = registry.providers[provider_id]
    variable = f"{provider_id.upper()}_API_KEY"
    try:
        words = await asyncio.wait_for(provider.check_key(), KEY_CHECK_TIMEOUT)
    except AuthError as exc:
        status = f" (HTTP {exc.status})" if exc.status else ""
        return False, f"the key was refused{status}: check {variable}"
    except ProviderError as exc:
        return False, f"could not check the key: {exc}"
    except TimeoutError:
        return False, f"could not check the key: no answer within {KEY_CHECK_TIMEOUT:g} s"
    return True, words


# --- database commands --------------------------------------------------------------------


def _check(args: argparse.Namespace, settings: Settings) -> int:
    """The ledger's invariants, one line on stdout (0) or stderr (1); 2 when there is no
    database to check. Reads only: the schema is not migrated."""
    path = settings.database_shown
    if settings.database_path is not None and not settings.database_path.is_file():
        return fail(f"no database at {path} (DATABASE_URL)")
    return asyncio.run(_check_ledger(settings.database, path))


async def _check_ledger(target: Path | str, path: str) -> int:
    try:
        db = await Database.open(target, migrate=False)
        try:
            problems = await consistency_problems(db)
            (entries,) = await db.fetchone("SELECT COUNT(*) FROM ledger")
            (jobs,) = await db.fetchone("SELECT COUNT(*) FROM jobs")
        finally:
            await db.close()
    except (*DATABASE_ERRORS, OSError) as exc:
        return fail(f"cannot check {path}: {exc}")
    if problems:
        return fail(
            f"the ledger in {path} has {bot_module.count(problems, 'problem')}: "
            f"{bot_module.describe_problems(problems)}",
            EXIT_PROBLEM,
        )
    print(f"bananabot: the ledger in {path} is consistent ({entries} entries, {jobs} jobs)")
    return 0


def _export_usage(args: argparse.Namespace, settings: Settings) -> int:
    path = settings.database_shown
    if settings.database_path is not None and not settings.database_path.is_file():
        return fail(f"no database at {path} (DATABASE_URL)")
    if args.since and args.until and args.since > args.until:
        return fail(f"--since {args.since} is after --until {args.until}")
    try:
        written = asyncio.run(_export(settings.database, args, settings))
    except (*DATABASE_ERRORS, OSError) as exc:
        return fail(f"cannot read {path}: {exc}")
    if not written:
        within = " in that range" if args.since or args.until else ""
        print(f"bananabot: no ledger entries for server {args.guild}{within}", file=sys.stderr)
    return 0


async def _export(target: Path | str, args: argparse.Namespace, settings: Settings) -> int:
    db = await Database.open(target, migrate=False)
    try:
        rows = usage_rows(
            db,
            args.guild,
            period=settings.quota_period,
            default_credits=settings.quota_default_credits,
            since=args.since,
            until=args.until,
        )
        written, _ = await write_csv(rows, sys.stdout)
        return written
    finally:
        await db.close()


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    if args.source or args.target:
        return _copy(args)
    path = settings.database_shown
    try:
        applied, version = asyncio.run(_apply_migrations(settings.database))
    except SchemaTooNew as exc:
        return fail(str(exc))
    except (*DATABASE_ERRORS, OSError) as exc:
        return fail(f"cannot migrate {path}: {exc}")
    done = f"applied {', '.join(f'{v:04d}' for v in applied)}" if applied else "nothing to apply"
    print(f"bananabot: the database {path} is at schema version {version} ({done})")
    return 0


async def _apply_migrations(target: Path | str) -> tuple[list[int], int]:
    db = await Database.open(target, migrate=False)
    try:
        applied = await db.migrate()
        return applied, await db.schema_version()
    finally:
        await db.close()


def _copy(args: argparse.Namespace) -> int:
    if not (args.source and args.target):
        return fail("migrate copies a database with both --from URL and --to URL")
    source, target = args.source, args.target
    if not is_postgres_url(source) and not sqlite_path(source).is_file():
        return fail(f"no database at {shown(source)} (--from)")
    if shown(source) == shown(target):
        return fail("--from and --to name the same database")
    try:
        copied = asyncio.run(_copy_rows(source, target))
    except (CopyRefused, SchemaTooNew) as exc:
        return fail(str(exc))
    except (*DATABASE_ERRORS, OSError) as exc:
        return fail(f"cannot copy {shown(source)} to {shown(target)}: {exc}")
    tables = ", ".join(f"{table} {rows}" for table, rows in copied.tables.items())
    print(
        f"bananabot: copied {shown(source)} to {shown(target)} at schema version "
        f"{copied.schema_version} ({copied.rows} rows: {tables}); set DATABASE_URL to the "
        "new database and start the bot"
    )
    return 0


async def _copy_rows(source: str, target: str) -> Copied:
    src = await Database.open(source, migrate=False)
    try:
        dst = await Database.open(target)  # the schema is created there
        try:
            return await copy_database(src, dst)
        finally:
            await dst.close()
    finally:
        await src.close()


def _backup(args: argparse.Namespace, settings: Settings) -> int:
    source = settings.database_path
    if source is None:
        return fail(
            "bananabot backup copies a SQLite database; back up PostgreSQL with pg_dump "
            "(docs/operating.md, section 6)"
        )
    try:
        result = backup(source, args.path, overwrite=args.force)
    except BackupError as exc:
        return fail(str(exc))
    print(
        f"bananabot: copied {source} to {result.target} "
        f"(schema version {result.schema_version}, {result.size / 1024:.0f} KiB)"
    )
    return 0
