"""Fresh databases for tests, on SQLite and, when BANANABOT_TEST_POSTGRES_URL names a
PostgreSQL server, on PostgreSQL too.

A PostgreSQL test gets a schema of its own (created empty, dropped afterwards) in the database
the variable names, reached by adding ``search_path`` to the URL: the bot opens that URL
exactly as it opens any DATABASE_URL, and never sees another test's tables.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg

POSTGRES_VARIABLE = "BANANABOT_TEST_POSTGRES_URL"
BACKENDS = ("sqlite", "postgres")
SKIP_REASON = f"PostgreSQL tests skipped: set {POSTGRES_VARIABLE} to run them (see README)"


def postgres_url() -> str | None:
    return os.environ.get(POSTGRES_VARIABLE) or None


def with_search_path(url: str, schema: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "search_path"]
    query.append(("search_path", schema))
    return urlunsplit(parts._replace(query=urlencode(query)))


@contextlib.asynccontextmanager
async def postgres_schema(url: str) -> AsyncIterator[str]:
    """A new empty schema in ``url``'s database; yields a URL that works inside it."""
    schema = f"test_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(url)
    try:
        await admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield with_search_path(url, schema)
        finally:
            await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        await admin.close()


@contextlib.asynccontextmanager
async def fresh_database(backend: str, folder: Path, name: str = "bot.db") -> AsyncIterator:
    """Where a new, empty database lives: a file path in ``folder`` for SQLite, a URL for
    PostgreSQL."""
    if backend == "sqlite":
        yield folder / name
        return
    url = postgres_url()
    assert url is not None, SKIP_REASON
    async with postgres_schema(url) as target:
        yield target
