"""A consistent copy of the SQLite database, taken while the bot runs.

SQLite's online backup API (``sqlite3.Connection.backup``) copies the database page by page
under a read transaction, so the copy is one moment of the database even while the bot keeps
writing (WAL mode: the bot's writes are not blocked, the copy does not see them). Copying the
file with ``cp`` instead can catch a write halfway, and misses what still sits in the -wal file.

The copy is written to a temporary file beside the target and renamed into place once it is
complete and checked, so a failed backup never leaves a half-written file under the name.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from db.tunables import BUSY_TIMEOUT_MS
from errors import BotError  # the leaf every layer may import; see its docstring


class BackupError(BotError):
    """The backup could not be made; the message is one sentence for the operator."""


@dataclass(frozen=True)
class BackupResult:
    target: Path
    size: int  # bytes
    schema_version: int


def backup(source: Path, target: Path, *, overwrite: bool = False) -> BackupResult:
    """Copy the database at ``source`` to ``target``. Refuses an existing ``target`` unless
    ``overwrite``, and a ``source`` that does not exist (it is never created)."""
    source, target = Path(source), Path(target)
    if not source.is_file():
        raise BackupError(f"there is no database at {source} (DATABASE_URL)")
    if target.exists() and not overwrite:
        raise BackupError(f"{target} already exists; choose another name, or add --force")
    if target.resolve() == source.resolve():
        raise BackupError(f"{target} is the database itself; choose another name")
    if not target.parent.is_dir():
        raise BackupError(f"the folder {target.parent} does not exist")
    partial = target.with_name(f".{target.name}.partial")
    try:
        _copy(source, partial)
        version = _check(partial)
        os.replace(partial, target)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot back up {source}: {exc}") from None
    except OSError as exc:
        raise BackupError(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return BackupResult(target=target, size=target.stat().st_size, schema_version=version)


def _copy(source: Path, partial: Path) -> None:
    # mode=rw: never create the source; the backup API only reads it.
    src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=rw", uri=True)
    try:
        src.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)  # every page in one step: one consistent snapshot
            dst.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
        finally:
            dst.close()
    finally:
        src.close()


def _check(path: Path) -> int:
    """The copy opens, passes SQLite's quick check and is a bananabot database; its schema
    version."""
    conn = sqlite3.connect(path)
    try:
        (verdict,) = conn.execute("PRAGMA quick_check").fetchone()
        if verdict != "ok":
            raise BackupError(f"the copy failed SQLite's check: {verdict}")
        found = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
        ).fetchone()
        if found is None:
            raise BackupError("the source is not a bananabot database (no schema_migrations)")
        (version,) = conn.execute(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations"
        ).fetchone()
        return int(version)
    finally:
        conn.close()
