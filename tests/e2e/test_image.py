"""/image from the slash command to the picture in the channel, on every image provider."""

from __future__ import annotations

import pytest

from db.ledger import consistency_problems
from tests.e2e.conftest import ALICE, BOB, CHANNEL, GUILD

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("model", "emulator", "cost"),
    [
        ("nanobanana:nano-banana-pro", "nanobanana", 6),
        ("aivideoapi:nano-banana-2", "aivideoapi", 16),
        ("nananobanana:nano-banana", "nananobanana", 1),
        ("sandbox:sandbox-image", None, 1),
    ],
)
async def test_image_is_posted_in_the_channel_and_charged(world, model, emulator, cost):
    async with world.bot() as bot:
        rec = await world.slash("image", {"prompt": "a banana wearing sunglasses", "model": model})
        callback = await world.fake.wait_for_callback(rec)
        assert callback.type == 4 and not callback.ephemeral
        card = callback.data["embeds"][0]
        assert any(f["name"] == "Cost" and f"{cost} credit" in f["value"] for f in card["fields"])

        result = await world.result_message()
        assert result.content.startswith(f"<@{ALICE}>")
        assert result.pings() == {"users": {ALICE}, "roles": set(), "everyone": False}
        ((name, data),) = result.files.items()
        assert data.startswith(PNG_MAGIC) and name.endswith(".png")
        embed = result.embeds[0]
        assert "a banana wearing sunglasses" in embed["description"]
        fields = {f["name"]: f["value"] for f in embed["fields"]}
        assert model.split(":")[1] in fields["Model"] and f"{cost} credit" in fields["Cost"]
        assert "Time" in fields
        buttons = [c["custom_id"] for row in result.components for c in row["components"]]
        assert any(b.startswith("bb:reroll:") for b in buttons)
        assert any(b.startswith("bb:animate:") for b in buttons)

        await world.idle(bot)
        # progress edits only after the acknowledgement existed, and the card ends "ready"
        assert all(edit.status == 200 for edit in world.fake.webhook_edits)
        assert rec.original.embeds[0]["title"].startswith("Your image is ready")
        balance = await bot.quota.balance(GUILD, ALICE)
        assert (balance.left, balance.used, balance.reserved) == (100 - cost, cost, 0)
        assert await consistency_problems(bot.db) == []
        if emulator:
            tasks = getattr(world, emulator)
            created = getattr(tasks, "tasks", None) or getattr(tasks, "records", None)
            assert len(created) == 1


async def test_invalid_option_is_refused_ephemerally_and_nothing_is_sent(world):
    async with world.bot() as bot:
        rec = await world.slash(
            "image", {"prompt": "x", "model": "nanobanana:nano-banana", "aspect_ratio": "21:9"}
        )
        callback = await world.fake.wait_for_callback(rec)
        assert callback.ephemeral
        assert "21:9" in callback.content and "16:9" in callback.content
        assert world.nanobanana.tasks == {}
        balance = await bot.quota.balance(GUILD, ALICE)
        assert balance.left == 100 and balance.reserved == 0


async def test_not_enough_credits_says_cost_balance_and_reset(world):
    async with world.bot(QUOTA_DEFAULT_CREDITS="10") as bot:
        rec = await world.slash("image", {"prompt": "x", "model": "aivideoapi:nano-banana-2"})
        # the card comes first; the reservation after it refuses: the card says so in public,
        # without the member's balance, and the member alone reads the figures
        card = await world.fake.wait_for_original(
            rec, lambda m: m.embeds[0]["title"] == "Did not start this image"
        )
        assert not card.ephemeral
        assert card.embeds[0]["description"] == (
            "There were not enough credits left for it. Nothing was charged."
        )
        told = await world.fake.wait_until(lambda: rec.followups, what="the reason")
        assert told[0].ephemeral
        assert "costs 16 credits" in told[0].content and "10 left" in told[0].content
        assert "<t:" in told[0].content  # the reset time
        await world.idle(bot)
        assert world.aivideoapi.tasks == {}
        assert (await bot.quota.balance(GUILD, ALICE)).left == 10
        assert await bot.db.fetchall("SELECT id FROM jobs") == []  # nothing stored, nothing runs


async def test_failed_task_refunds_and_says_why(world):
    world.aivideoapi.filter_next_task = True
    async with world.bot() as bot:
        rec = await world.slash(
            "image", {"prompt": "something", "model": "aivideoapi:nano-banana-2"}
        )
        await world.fake.wait_for_callback(rec)
        original = await world.fake.wait_for_original(
            rec, lambda m: m.embeds and "Could not" in m.embeds[0].get("title", "")
        )
        text = original.embeds[0]["description"]
        assert "safety filter" in text and "16 credits were returned" in text
        await world.idle(bot)
        balance = await bot.quota.balance(GUILD, ALICE)
        assert (balance.left, balance.reserved) == (100, 0)
        assert await consistency_problems(bot.db) == []


async def test_prompt_mentions_never_ping_anyone_else(world):
    async with world.bot():
        prompt = f"@everyone look <@{BOB}> <@&{GUILD}> banana"
        rec = await world.slash("image", {"prompt": prompt, "model": "sandbox:sandbox-image"})
        await world.fake.wait_for_callback(rec)
        result = await world.result_message()
        assert result.pings() == {"users": {ALICE}, "roles": set(), "everyone": False}
        ack = rec.original
        assert ack.pings() == {"users": set(), "roles": set(), "everyone": False}


async def test_model_autocomplete_shows_name_provider_and_cost(world):
    async with world.bot() as bot:
        await bot.price_hints.warm()  # started at login; prices come from the cache
        choices = await world.fake.invoke_autocomplete(
            GUILD, CHANNEL, ALICE, "image", {"model": "banana-2"}, focused="model"
        )
        values = {c["value"]: c["name"] for c in choices}
        assert "aivideoapi:nano-banana-2" in values and "nanobanana:nano-banana-2" in values
        assert (
            "AI Video API" in values["aivideoapi:nano-banana-2"]
            or "aivideoapi" in values["aivideoapi:nano-banana-2"]
        )
        assert "16 credits" in values["aivideoapi:nano-banana-2"]
        ratios = await world.fake.invoke_autocomplete(
            GUILD,
            CHANNEL,
            ALICE,
            "image",
            {"model": "nananobanana:nano-banana", "aspect_ratio": ""},
            focused="aspect_ratio",
        )
        assert {c["value"] for c in ratios} == {"default", "1:1", "16:9", "9:16", "4:3", "3:4"}


async def test_credits_shows_plain_number(world):
    async with world.bot():
        rec = await world.slash("credits")
        callback = await world.fake.wait_for_callback(rec)
        assert callback.ephemeral
        assert callback.content == "100 / 100"


async def test_the_card_shows_the_job_moving_and_ends_ready(world):
    world.nananobanana.task_seconds = 1.0
    async with world.bot() as bot:
        rec = await world.slash(
            "image", {"prompt": "a slow pear", "model": "nananobanana:nano-banana"}
        )
        await world.result_message()
        await world.idle(bot)
    shown = [e.data["embeds"][0]["description"] for e in world.fake.webhook_edits if e.data]
    assert any("so far (usually about" in text for text in shown), shown
    assert any(text.startswith("Downloading the result") for text in shown), shown
    assert rec.original.embeds[0]["title"] == "Your image is ready"


async def test_a_card_discord_no_longer_knows_is_not_edited_again(world):
    world.nananobanana.task_seconds = 1.0
    world.fake.fail_next(
        "PATCH", r"/messages/@original$", 404, {"code": 10008, "message": "Unknown Message"}
    )
    async with world.bot() as bot:
        await world.slash("image", {"prompt": "a pear", "model": "nananobanana:nano-banana"})
        await world.result_message()
        await world.idle(bot)
    edits = [r.status for r in world.fake.requests if r.path.endswith("/messages/@original")]
    assert edits == [404]  # tried once, then left alone; the result still came
