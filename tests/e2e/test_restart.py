"""A restart loses no job and charges none twice; buttons keep working afterwards."""

from __future__ import annotations

from db.ledger import consistency_problems
from jobs.records import JobState
from presentation.sentences import job_failure
from tests.e2e.conftest import ALICE, BOB, CHANNEL, GUILD
from tests.e2e.stored import store_job


async def test_job_running_at_shutdown_is_finished_once_after_restart(world):
    world.nananobanana.task_seconds = 1.5
    async with world.bot() as bot:
        rec = await world.slash(
            "image", {"prompt": "slow banana", "model": "nananobanana:nano-banana"}
        )
        await world.fake.wait_for_callback(rec)
        await world.fake.wait_until(
            lambda: world.nananobanana.records, what="the task reached the provider"
        )
        (job,) = await bot.engine.jobs.unfinished()
    # the first process is gone; its job is still "running" in the database
    async with world.bot() as bot:
        result = await world.result_message()
        assert result.files
        await world.idle(bot)
        stored = await bot.engine.jobs.get(job.id)
        assert stored.state is JobState.COMPLETED and stored.result_message_id == result.id
        assert len(world.nananobanana.records) == 1  # reached the provider exactly once
        delivered = [
            m
            for m in world.fake.messages[CHANNEL]
            if (m.content or "").startswith(f"<@{ALICE}> your")
        ]
        assert len(delivered) == 1
        assert (await bot.quota.balance(GUILD, ALICE)).left == 99
        assert await consistency_problems(bot.db) == []


async def test_buttons_work_after_restart_and_charge_the_presser(world):
    async with world.bot():
        rec = await world.slash(
            "image", {"prompt": "a red banana", "model": "sandbox:sandbox-image"}
        )
        await world.fake.wait_for_callback(rec)
        result = await world.result_message()
    ids = [c["custom_id"] for row in result.components for c in row["components"]]
    reroll = next(i for i in ids if i.startswith("bb:reroll:"))
    animate = next(i for i in ids if i.startswith("bb:animate:"))

    async with world.bot(DEFAULT_ANIMATE_MODEL="sandbox:sandbox-video") as bot:
        press = await world.fake.press_button(GUILD, CHANNEL, BOB, result.id, reroll)
        callback = await world.fake.wait_for_callback(press)
        assert callback.type == 4 and not callback.ephemeral
        rerolled = await world.result_message(user=BOB)
        assert rerolled.files and "a red banana" in rerolled.embeds[0]["description"]

        press = await world.fake.press_button(GUILD, CHANNEL, BOB, result.id, animate)
        await world.fake.wait_for_callback(press)
        animated = await world.result_message(user=BOB, skip=1)
        (name,) = animated.files
        assert name.endswith(".gif") and "video" in animated.content
        await world.idle(bot)
        jobs = await bot.db.fetchall(
            "SELECT command, model, request FROM jobs WHERE user_id = ? ORDER BY created_at",
            (BOB,),
        )
        assert [(j["command"], j["model"]) for j in jobs] == [
            ("reroll", "sandbox-image"),
            ("animate", "sandbox-video"),
        ]
        # the animate job used the delivered image as its input
        assert result.attachments[0].url in jobs[1]["request"]
        bob = await bot.quota.balance(GUILD, BOB)
        assert bob.used == 1 + 4  # one image, one 4-second 480p clip
        assert (await bot.quota.balance(GUILD, ALICE)).used == 1
        assert await consistency_problems(bot.db) == []


async def test_job_caught_mid_submit_is_refunded_not_resent(world):
    async with world.bot() as bot:
        await bot.engine.stop()  # keep the job where we put it
        job = await store_job(
            bot, state=JobState.SUBMITTING, provider="aivideoapi", model="nano-banana-2"
        )
    async with world.bot() as bot:
        await world.idle(bot)
        stored = await bot.engine.jobs.get(job.id)
        assert stored.state is JobState.FAILED
        assert "restarted" in job_failure(stored.failure)
        assert world.aivideoapi.tasks == {}
        assert (await bot.quota.balance(GUILD, ALICE)).left == 100
        notice = await world.fake.wait_for_message(
            CHANNEL, lambda m: m.embeds and "Could not" in m.embeds[0].get("title", "")
        )
        assert notice.pings()["users"] == {ALICE}
