from __future__ import annotations

import pytest

from db.database import Database
from tests.quota.helpers import Clock, make_service


@pytest.fixture
async def db(tmp_path):
    database = await Database.open(tmp_path / "quota.db")
    yield database
    await database.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def quota(db, clock):
    return make_service(db, clock)
