"""The ledger's invariants are checked at every start; problems are named in one warning."""

from __future__ import annotations

import logging

from tests.test_check_command import ledger_file


async def test_start_warns_naming_the_first_ledger_problems(world, caplog):
    await ledger_file(world.tmp / "bananabot.db", open_jobs_marked_done=4, negative_bonus=True)
    with caplog.at_level(logging.WARNING, logger="bananabot"):
        async with world.bot():
            pass
    (line,) = [r.getMessage() for r in caplog.records if "ledger check" in r.getMessage()]
    assert line.startswith("ledger check at start found 5 problems: ")
    assert "job broken0 is completed but its reservation is still open" in line
    assert line.endswith("; and 2 more")


async def test_a_consistent_ledger_starts_quietly(world, caplog):
    await ledger_file(world.tmp / "bananabot.db")
    with caplog.at_level(logging.WARNING):
        async with world.bot():
            pass
    assert not [r for r in caplog.records if "ledger" in r.getMessage()]
