"""A result is posted exactly once, even when the process dies right after posting it."""

from __future__ import annotations

import asyncio

from db.database import Database
from db.ledger import consistency_problems
from jobs.records import JobState
from jobs.store import JobStore
from tests.e2e.conftest import ALICE, CHANNEL, GUILD

MODEL = "nananobanana:nano-banana"
UNKNOWN_WEBHOOK = {"code": 10015, "message": "Unknown Webhook"}


def results(world) -> list:
    return [
        m
        for m in world.fake.channel_messages(CHANNEL)
        if (m.content or "").startswith(f"<@{ALICE}> your")
    ]


async def stored_jobs(world) -> list:
    db = await Database.open(world.tmp / "bananabot.db")
    try:
        return await JobStore(db).unfinished()
    finally:
        await db.close()


async def test_a_crash_between_the_post_and_storing_its_id_posts_once(world):
    async with world.bot(stop_grace=0.2) as bot:
        store = bot.engine.jobs
        real_update = store.update
        posted = asyncio.Event()

        async def update(job, *, conn=None, **changes):
            if "result_message_id" in changes:
                posted.set()
                await asyncio.Future()  # the process dies here: the id is never stored
            return await real_update(job, conn=conn, **changes)

        store.update = update  # type: ignore[method-assign]
        await world.slash("image", {"prompt": "a plum", "model": MODEL})
        await asyncio.wait_for(posted.wait(), 15)
    assert len(results(world)) == 1

    (job,) = await stored_jobs(world)
    assert job.state is JobState.DELIVERING
    assert job.posting_started_at is not None and job.result_message_id is None

    async with world.bot() as bot:
        await world.fake.wait_until(lambda: world.fake.nonce_repeats == 1, what="the repost")
        await world.idle(bot)
        assert len(results(world)) == 1  # Discord answered the repeat with the first message
        stored = await bot.engine.jobs.get(job.id)
        assert stored.state is JobState.COMPLETED
        assert stored.result_message_id == results(world)[0].id
        balance = await bot.quota.balance(GUILD, ALICE)
        assert (balance.used, balance.reserved) == (1, 0)
        assert await consistency_problems(bot.db) == []
    assert len(world.nananobanana.records) == 1


async def test_a_failing_card_edit_after_the_post_never_posts_again(world):
    world.fake.fail_next(
        "PATCH", r"/webhooks/\d+/[^/]+/messages/@original$", 404, UNKNOWN_WEBHOOK, times=20
    )
    async with world.bot() as bot:
        await world.slash("image", {"prompt": "a plum", "model": MODEL})
        await world.result_message()
        await world.idle(bot)
        assert len(results(world)) == 1
        assert (await bot.quota.balance(GUILD, ALICE)).used == 1
