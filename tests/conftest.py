"""Fixtures every suite may use: ``database_target`` runs a test once per database backend."""

from __future__ import annotations

import pytest

from tests.databases import BACKENDS, SKIP_REASON, fresh_database, postgres_url


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """ "sqlite", or "postgres" when BANANABOT_TEST_POSTGRES_URL is set (skipped otherwise)."""
    if request.param == "postgres" and postgres_url() is None:
        pytest.skip(SKIP_REASON)
    return request.param


@pytest.fixture
async def database_target(backend, tmp_path):
    """A new, empty database for this test: a SQLite file path, or a PostgreSQL URL whose
    schema is this test's alone. Pass it to Database.open, or use it as DATABASE_URL."""
    async with fresh_database(backend, tmp_path) as target:
        yield target


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    skipped = terminalreporter.stats.get("skipped", [])
    count = sum(1 for report in skipped if SKIP_REASON in str(report.longrepr))
    if count:
        terminalreporter.write_line(f"{count} {SKIP_REASON}")
