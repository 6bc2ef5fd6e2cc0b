"""SIGTERM stops the real entry point cleanly; the running job resumes on the next start."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from bot import run
from db.database import Database
from jobs.records import JobState
from jobs.store import JobStore
from tests.e2e.conftest import ALICE, GUILD
from tests.fakediscord import pointed_at


# discord.py may schedule one last event handler while the client closes; it is never run.
@pytest.mark.filterwarnings("ignore:coroutine 'Client._run_event' was never awaited")
async def test_sigterm_keeps_the_running_job_for_the_next_start(world):
    world.nananobanana.task_seconds = 4.0
    with pointed_at(world.fake):
        process = asyncio.create_task(run(world.settings()))
        await world.fake.wait_until(lambda: world.fake.global_commands, timeout=10, what="sync")
        await world.fake.wait_until(lambda: world.fake.gateway.identifies, what="connected")
        rec = await world.slash("image", {"prompt": "slow", "model": "nananobanana:nano-banana"})
        await world.fake.wait_for_callback(rec)
        await world.fake.wait_until(lambda: world.nananobanana.records, what="submitted")
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(process, 15)

    db = await Database.open(world.tmp / "bananabot.db")
    try:
        (job,) = await JobStore(db).unfinished()
        assert job.state is JobState.RUNNING and job.task_id
    finally:
        await db.close()

    async with world.bot() as bot:
        await world.result_message()
        await world.idle(bot)
        assert len(world.nananobanana.records) == 1
        assert (await bot.quota.balance(GUILD, ALICE)).used == 1


@pytest.mark.filterwarnings("ignore:coroutine 'Client._run_event' was never awaited")
async def test_a_command_answered_just_before_a_stop_is_reserved_and_runs_after_the_restart(
    world,
):
    """Between its card and its reservation a command waits for the burst to end; a stop in
    that moment writes the reservation at once, and the job runs after the restart."""
    async with world.bot() as bot:
        bot.engine.replies.settle = bot.engine.replies.max_wait = 30.0  # only a stop ends it
        rec = await world.slash(
            "image", {"prompt": "just in time", "model": "nananobanana:nano-banana"}
        )
        callback = await world.fake.wait_for_callback(rec)
        assert callback.type == 4 and not callback.ephemeral  # the member has the card
        assert await bot.db.fetchall("SELECT id FROM jobs") == []  # not reserved yet

    db = await Database.open(world.tmp / "bananabot.db")
    try:
        (job,) = await JobStore(db).unfinished()
        assert job.state is JobState.QUEUED and job.task_id is None
        (reserve,) = await db.fetchall("SELECT kind FROM ledger WHERE job_id = ?", (job.id,))
        assert reserve[0] == "reserve"
    finally:
        await db.close()
    assert not world.nananobanana.records  # nothing was sent while stopping

    async with world.bot() as bot:
        await world.result_message()
        await world.idle(bot)
        assert len(world.nananobanana.records) == 1
        assert (await bot.quota.balance(GUILD, ALICE)).used == 1
