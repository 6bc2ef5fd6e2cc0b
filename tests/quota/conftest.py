from __future__ import annotations

import pytest

from db.database import Database
from tests.quota.helpers import Clock, make_service


@pytest.fixture
async def db(database_target):
    database = await Database.open(database_target)
    yield database
    await database.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def quota(db, clock):
    return make_service(db, clock)
