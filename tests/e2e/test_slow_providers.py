"""Slow providers never cost an interaction its 3 seconds.

The providers' price and balance endpoints are held back (the emulators' ``hold`` knob) while
members run commands. Every interaction must still get its first callback within Discord's
3 s (the Discord emulator refuses a later one with 404 10062, so a recorded callback is an
accepted one), and what needed the slow answer arrives after a deferral.
"""

from __future__ import annotations

from db.ledger import consistency_problems
from tests.e2e.conftest import ALICE, BOB, CHANNEL, GUILD, MOD

HOLD = 5.0  # seconds every held endpoint takes to answer
DISCORD_DEADLINE = 3.0  # what Discord allows for the first callback
DEFERRED, ANSWERED = 5, 4  # callback types: "thinking…" placeholder, or a message at once
ACCOUNTS = ("nanobanana", "aivideoapi", "nananobanana")  # the providers with a balance endpoint


def hold_prices_and_balances(world, seconds: float = HOLD) -> None:
    world.nanobanana.hold["/api/v1/account/calculate-cost"] = seconds
    world.nanobanana.hold["/api/v1/account/credits"] = seconds
    world.aivideoapi.hold["/v1/credits"] = seconds
    world.nananobanana.hold["/api/v1/credits"] = seconds


async def answered_in_time(world, rec):
    callback = await world.fake.wait_for_callback(rec)
    assert callback.at - rec.created_at <= DISCORD_DEADLINE, rec.name
    return callback


def fields(message) -> dict[str, str]:
    return {f["name"]: f["value"] for f in message.embeds[0]["fields"]}


async def test_commands_answer_in_time_while_prices_and_balances_are_slow(world):
    hold_prices_and_balances(world)
    async with world.bot() as bot:
        video = await world.slash(
            "video",
            {
                "prompt": "a banana skiing",
                "model": "nanobanana:wan-2.5",  # priced by calculate-cost only
                "duration": 10,
                "resolution": "1080p",
            },
        )
        image = await world.slash(
            "image", {"prompt": "a banana", "model": "nanobanana:nano-banana"}, user=BOB
        )
        member = await world.slash("credits", user=BOB)
        moderator = await world.slash("credits", user=MOD)
        choices = await world.fake.invoke_autocomplete(
            GUILD, CHANNEL, ALICE, "video", {"model": "wan"}, focused="model"
        )
        autocomplete = world.fake.last_interaction
        for rec in (video, image, member, moderator, autocomplete):
            await answered_in_time(world, rec)

        # /video: deferred in public, then the card replaces "thinking…" once priced
        assert video.callback.type == DEFERRED and not video.callback.ephemeral
        card = await world.fake.wait_for_original(video, timeout=HOLD + 5)
        assert not card.ephemeral and fields(card)["Cost"] == "30 credits"  # 2 x 10 s x 1.5
        # /image is priced from the document's table: the card comes at once
        assert image.callback.type == ANSWERED and fields(image.original)["Cost"] == "1 credit"
        # a member's /credits never waits: prices not known yet say so
        assert member.callback.type == ANSWERED and member.callback.ephemeral
        assert member.callback.content == "100 / 100"
        prices = fields(member.original)["Prices (default options)"]
        assert "/video: price not known yet" in prices
        assert "Provider accounts" not in fields(member.original)
        # a moderator's /credits: deferred ephemerally, the balances follow
        assert moderator.callback.type == DEFERRED and moderator.callback.ephemeral
        reply = await world.fake.wait_for_original(moderator, timeout=HOLD + 5)
        assert reply.ephemeral and reply.content == "100 / 100"
        accounts = fields(reply)["Provider accounts"].splitlines()
        assert len(accounts) == len(ACCOUNTS)
        for provider_id, line in zip(ACCOUNTS, accounts, strict=True):
            assert line.startswith(f"{provider_id}: ")
            assert line.endswith(("provider credits", "unavailable right now")), line
        # autocomplete answered from what was cached
        assert "nanobanana:wan-2.5" in {c["value"] for c in choices}

        # the video job ran, was charged the price calculate-cost gave, and its card was kept
        # up to date (progress edits need the acknowledgement's bookkeeping)
        await world.result_message()
        await world.result_message(user=BOB)
        await world.idle(bot)
        [(reserved, ack_expires_at)] = await bot.db.fetchall(
            "SELECT reserved, ack_expires_at FROM jobs WHERE user_id = ?", (ALICE,)
        )
        assert reserved == 30 and ack_expires_at is not None
        await world.fake.wait_for_original(
            video, lambda m: "ready" in m.embeds[0]["title"], timeout=5
        )
        assert (await bot.quota.balance(GUILD, ALICE)).used == 30
        assert await consistency_problems(bot.db) == []

        # nothing was refused, by Discord or by the bot
        assert [r for r in world.fake.requests if r.status >= 400] == []
        assert [e for e in world.fake.webhook_edits if e.status >= 400] == []
        assert world.fake.bot_errors == []


async def test_a_preview_past_its_timeout_uses_the_table_or_refuses_publicly(world):
    hold_prices_and_balances(world, 2.5)
    async with world.bot() as bot:
        bot.pricer.timeout = 1.5  # PRICE_TIMEOUT, shortened to keep the test quick
        veo_options = {"model": "nanobanana:veo-3.1-fast", "duration": 8, "audio": True}
        veo = await world.slash("video", {"prompt": "a banana", **veo_options})
        kling = await world.slash(
            "video",
            {"prompt": "a banana", "model": "nanobanana:kling-o3-pro", "duration": 10},
            user=BOB,
        )
        for rec in (veo, kling):
            assert (await answered_in_time(world, rec)).type == DEFERRED

        # veo-3.1-fast has a printed table: the job runs at the table's price
        card = await world.fake.wait_for_original(veo)
        assert fields(card)["Cost"] == "30 credits"
        # kling-o3-pro has none: the refusal replaces "thinking…", in public as Discord keeps
        # the deferral's visibility, and says that nothing was charged
        refusal = await world.fake.wait_for_original(kling)
        assert not refusal.ephemeral and not refusal.embeds
        assert "nothing was charged" in refusal.content and "kling-o3-pro" in refusal.content

        # asked again at once, the failure is remembered briefly: refused at once, privately
        again = await world.slash(
            "video",
            {"prompt": "again", "model": "nanobanana:kling-o3-pro", "duration": 10},
            user=BOB,
        )
        callback = await answered_in_time(world, again)
        assert callback.type == ANSWERED and callback.ephemeral
        assert "nothing was charged" in callback.content

        await world.result_message()
        await world.idle(bot)
        assert (await bot.quota.balance(GUILD, ALICE)).used == 30
        assert await bot.db.fetchall("SELECT * FROM ledger WHERE user_id = ?", (BOB,)) == []
        submitted = [b["model_id"] for (_m, p, b) in world.nanobanana.requests if "generate" in p]
        assert submitted == ["veo-3.1-fast"]
        assert world.fake.bot_errors == []


async def test_a_result_button_defers_while_its_price_is_slow(world):
    async with world.bot(DEFAULT_ANIMATE_MODEL="nanobanana:wan-2.5") as bot:
        rec = await world.slash("image", {"prompt": "a pear", "model": "sandbox:sandbox-image"})
        await world.fake.wait_for_callback(rec)
        result = await world.result_message()
        animate = next(
            c["custom_id"]
            for row in result.components
            for c in row["components"]
            if c["custom_id"].startswith("bb:animate:")
        )
        world.nanobanana.hold["/api/v1/account/calculate-cost"] = 2.0
        press = await world.fake.press_button(GUILD, CHANNEL, BOB, result.id, animate)
        callback = await answered_in_time(world, press)
        assert callback.type == DEFERRED and not callback.ephemeral  # a new "thinking…" message
        card = await world.fake.wait_for_original(press)
        assert card.id != result.id and fields(card)["Cost"] == "10 credits"  # 2 x 5 s at 720p
        await world.result_message(user=BOB)
        await world.idle(bot)
        assert (await bot.quota.balance(GUILD, BOB)).used == 10
        assert world.fake.bot_errors == []


async def test_a_failed_balance_is_not_asked_again_at_once(world):
    """A provider whose balance endpoint fails is shown as unavailable, and the next
    /credits answers at once from that instead of spending the account's request budget."""
    world.nananobanana.break_next("GET", "/api/v1/credits", "status", status=500)
    async with world.bot():
        first = await world.slash("credits", user=MOD)
        reply = await world.fake.wait_for_original(first, timeout=HOLD + 5)
        assert "nananobanana: unavailable right now" in fields(reply)["Provider accounts"]
        asked = [r for r in world.nananobanana.requests if r[1] == "/api/v1/credits"]

        again = await world.slash("credits", user=MOD)
        callback = await answered_in_time(world, again)
        assert callback.type == ANSWERED  # every balance known or known to fail: no deferral
        assert "nananobanana: unavailable right now" in fields(again.original)["Provider accounts"]
        assert [r for r in world.nananobanana.requests if r[1] == "/api/v1/credits"] == asked
