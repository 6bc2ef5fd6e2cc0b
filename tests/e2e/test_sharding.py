"""SHARD_COUNT / SHARD_IDS: each process serves its shards' servers; commands are synced by
the process with SYNC_COMMANDS=1 alone; a job's result is posted once, whichever process holds
the job (over REST when it does not serve the server), and charged once.

The Discord emulator routes each server's events to the shard Discord's formula names,
(guild_id >> 22) % SHARD_COUNT, as the real gateway does."""

from __future__ import annotations

import asyncio

from bot import ShardedBananaBot
from db.ledger import consistency_problems
from tests.e2e.conftest import ALICE, CHANNEL, GUILD

OTHER_GUILD = GUILD + (1 << 22)  # the next shard of two: GUILD is on shard 1, this on 0
OTHER_CHANNEL = OTHER_GUILD + 1


def shard_of(guild_id: int, count: int) -> int:
    return (guild_id >> 22) % count


async def test_two_processes_each_serve_their_shard_and_share_the_jobs(world, database_target):
    assert (shard_of(GUILD, 2), shard_of(OTHER_GUILD, 2)) == (1, 0)
    world.fake.add_guild(OTHER_GUILD, "Second Club", premium_tier=0)
    world.fake.add_channel(OTHER_GUILD, OTHER_CHANNEL, "general")
    world.fake.add_member(OTHER_GUILD, ALICE, "alice")
    url = database_target if isinstance(database_target, str) else f"sqlite:///{database_target}"
    shared = {"DATABASE_URL": url, "SHARD_COUNT": "2", "MAX_JOBS_PER_USER": "10"}
    async with (
        world.bot(**shared, SHARD_IDS="0") as first,
        world.bot(**shared, SHARD_IDS="1", SYNC_COMMANDS="0") as second,
    ):
        assert isinstance(first, ShardedBananaBot) and isinstance(second, ShardedBananaBot)
        await world.fake.wait_until(
            lambda: len(world.fake.gateway.live_sessions()) == 2, timeout=10, what="two shards"
        )
        shards = sorted(tuple(i["shard"]) for i in world.fake.gateway.identifies)
        assert shards == [(0, 2), (1, 2)]
        assert [g.id for g in first.guilds] == [OTHER_GUILD]  # each shard its own servers
        assert [g.id for g in second.guilds] == [GUILD]
        assert len(world.fake.command_syncs) == 1  # SYNC_COMMANDS=0 left it to the first

        records = []
        for guild, channel in ((GUILD, CHANNEL), (OTHER_GUILD, OTHER_CHANNEL)):
            for n in range(3):
                records.append(
                    await world.fake.invoke_slash(
                        guild,
                        channel,
                        ALICE,
                        "image",
                        {"prompt": f"banana {guild % 10} {n}", "model": "sandbox:sandbox-image"},
                    )
                )
        for rec in records:
            callback = await world.fake.wait_for_callback(rec)
            assert callback.type == 4 and not callback.ephemeral

        def results(channel: int) -> list:
            return [
                m
                for m in world.fake.messages.get(channel, [])
                if m.interaction_id is None and (m.content or "").startswith(f"<@{ALICE}> your")
            ]

        await world.fake.wait_until(
            lambda: len(results(CHANNEL)) >= 3 and len(results(OTHER_CHANNEL)) >= 3,
            timeout=20,
            what="six results",
        )
        await world.idle(first)
        await world.idle(second)
        await asyncio.sleep(0.2)  # nothing more arrives
        for channel in (CHANNEL, OTHER_CHANNEL):
            prompts = sorted(m.embeds[0]["description"] for m in results(channel))
            assert len(prompts) == len(set(prompts)) == 3  # each posted once
        for guild in (GUILD, OTHER_GUILD):
            balance = await first.quota.balance(guild, ALICE)
            assert (balance.used, balance.reserved) == (3, 0)  # 1 credit each, charged once
        assert await consistency_problems(first.db) == []


async def test_a_job_left_by_a_stopping_process_is_posted_over_rest_by_another_shard(
    world, database_target
):
    """The process serving the server stops mid-job; the other one, which does not serve
    that server (no cached guild or channel), takes the job over and posts the result over
    REST, once, and charges it once."""
    url = database_target if isinstance(database_target, str) else f"sqlite:///{database_target}"
    shared = {"DATABASE_URL": url, "SHARD_COUNT": "2"}
    world.nanobanana.task_seconds = 1.0
    async with (
        world.bot(**shared, SHARD_IDS="0") as first,
        world.bot(**shared, SHARD_IDS="1", SYNC_COMMANDS="0") as second,
    ):
        await world.fake.wait_until(
            lambda: len(world.fake.gateway.live_sessions()) == 2, timeout=10, what="two shards"
        )
        assert first.get_guild(GUILD) is None and second.get_guild(GUILD) is not None
        options = {"prompt": "handed over", "model": "nanobanana:nano-banana"}
        rec = await world.slash("image", options)
        await world.fake.wait_for_callback(rec)
        await world.fake.wait_until(
            lambda: len(world.nanobanana.tasks) == 1, timeout=10, what="the task submitted"
        )
        await second.engine.stop()  # SIGTERM on the serving process: its lease is released

        result = await world.result_message()
        assert "handed over" in result.embeds[0]["description"]
        await world.idle(first)
        posted = [m for m in world.fake.messages[CHANNEL] if m.interaction_id is None]
        assert len([m for m in posted if m.embeds]) == 1
        assert len(world.nanobanana.tasks) == 1  # followed, not submitted again
        (owner,) = await first.db.fetchone("SELECT lease_owner FROM jobs")
        assert owner == first.engine.owner  # finished by the process that took it over
        balance = await first.quota.balance(GUILD, ALICE)
        assert (balance.used, balance.reserved) == (1, 0)
        assert await consistency_problems(first.db) == []
