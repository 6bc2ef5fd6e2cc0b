"""/status: each enabled provider's recent health and this bot's jobs there, ephemerally; the
bot's provider balances for moderators only. nanobanana is made to fail five submits in a row
(two pinned jobs: four tries for the first, refunded, one for the second, which then goes
through), which pauses it."""

from __future__ import annotations

from tests.e2e.conftest import ALICE, GUILD, MOD

NB_SUBMIT = "/api/v1/images/generate"


async def pause_nanobanana(world, bot) -> None:
    world.nanobanana.break_next("POST", NB_SUBMIT, "status", status=503, times=5)
    for prompt in ("first", "second"):
        rec = await world.slash("image", {"prompt": prompt, "model": "nanobanana:nano-banana"})
        await world.fake.wait_for_callback(rec)
        await world.idle(bot)
    assert len(world.nanobanana.tasks) == 1  # the second job, after the pause began
    balance = await bot.quota.balance(GUILD, ALICE)
    assert (balance.left, balance.used) == (99, 1)  # the first was refunded


def fields_of(message) -> dict[str, str]:
    return {f["name"]: f["value"] for f in message.embeds[0]["fields"]}


async def test_status_shows_a_paused_provider_and_jobs_running_and_no_balances_to_members(world):
    world.nananobanana.task_seconds = 3.0  # still running when /status is asked
    async with world.bot() as bot:
        await pause_nanobanana(world, bot)
        rec = await world.slash("image", {"prompt": "slow", "model": "nananobanana:nano-banana"})
        await world.fake.wait_for_callback(rec)
        await world.fake.wait_until(lambda: world.nananobanana.records, what="a running task")

        rec = await world.slash("status", user=ALICE)
        callback = await world.fake.wait_for_callback(rec)
        assert callback.type == 4 and callback.ephemeral
        fields = {f["name"]: f["value"] for f in callback.data["embeds"][0]["fields"]}
        assert set(fields) == {
            "nanobanana (paused)",
            "nanobananavideo",
            "aivideoapi",
            "nananobanana",
            "sandbox",
        }
        paused = fields["nanobanana (paused)"]
        assert "**Paused** for" in paused and f"503 on {NB_SUBMIT}" in paused
        assert "Errors: 5 of" in paused and "Latency: p50" in paused
        assert "Jobs: 0 queued, 0 running" in paused
        assert "Jobs: 0 queued, 1 running" in fields["nananobanana"]
        assert "Paused" not in fields["nananobanana"]
        assert "No requests in the last 5 minutes." in fields["sandbox"]
        await world.idle(bot)
        # asking cost nothing and started nothing
        assert len(world.nananobanana.records) == 1 and len(world.nanobanana.tasks) == 1
        assert (await bot.quota.balance(GUILD, ALICE)).left == 98


async def test_moderators_also_see_the_bots_provider_balances(world):
    async with world.bot() as bot:
        await pause_nanobanana(world, bot)
        rec = await world.slash("status", user=MOD)
        # balances not cached yet: deferred ephemerally, then the reply replaces "thinking…"
        reply = await world.fake.wait_for_original(rec)
        assert reply.ephemeral
        fields = fields_of(reply)
        assert "nanobanana (paused)" in fields
        accounts = fields["Bot's provider accounts"]
        assert "nanobanana: 499 provider credits" in accounts  # 500, one job of 1 credit
        assert "nananobanana: 1000 provider credits" in accounts
        assert "sandbox" not in accounts

        rec = await world.slash("status", user=MOD)  # now cached: answered at once
        callback = await world.fake.wait_for_callback(rec)
        assert callback.type == 4 and callback.ephemeral
        assert "Bot's provider accounts" in str(callback.data["embeds"][0]["fields"])
