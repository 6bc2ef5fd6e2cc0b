"""Cost preview, as a member meets it: a job at or above the server's threshold, or above half
of what the member has left, first shows its cost with Confirm / Cancel, and nothing is
reserved or sent to a provider until Confirm. Engine time runs 60 times faster than real time
here (FastTimebase), so a preview's minute passes in about a second."""

from __future__ import annotations

from db.ledger import consistency_problems
from tests.e2e.conftest import ALICE, BOB, CHANNEL, GUILD, MOD

PRO = "nanobanana:nano-banana-pro"  # 6 credits an image
PRO_COST = 6


async def set_threshold(world, credits: int) -> None:
    rec = await world.slash("settings", {"credits": credits}, subcommand="cost_preview", user=MOD)
    assert "Done" in (await world.fake.wait_for_callback(rec)).content


async def previewed(world, options: dict, *, name: str = "image"):
    """Run a command that must be previewed; its preview message."""
    rec = await world.slash(name, options)
    callback = await world.fake.wait_for_callback(rec)
    assert callback.type == 4 and callback.ephemeral, callback.data
    return rec.original


def fields(message) -> dict[str, str]:
    return {f["name"]: f["value"] for f in message.embeds[0]["fields"]}


def buttons(message) -> dict[str, str]:
    return {c["label"]: c["custom_id"] for row in message.components for c in row["components"]}


async def press(world, message, label: str, *, user: int = ALICE):
    rec = await world.fake.press_button(GUILD, CHANNEL, user, message.id, buttons(message)[label])
    return rec, await world.fake.wait_for_callback(rec)


async def nothing_charged(bot, user: int = ALICE) -> bool:
    balance = await bot.quota.balance(GUILD, user)
    return (
        balance.left == 100
        and balance.reserved == 0
        and await bot.db.fetchall("SELECT 1 FROM jobs") == []
        and await bot.db.fetchall("SELECT 1 FROM ledger WHERE kind = 'reserve'") == []
    )


async def test_a_job_at_the_threshold_waits_for_confirm_then_runs_once(world):
    async with world.bot() as bot:
        await set_threshold(world, PRO_COST)
        preview = await previewed(world, {"prompt": "a golden banana", "model": PRO})
        shown = fields(preview)
        assert shown["Cost"] == "6 credits" and shown["Balance after"] == "94 credits"
        assert shown["Expected time"].startswith("about ")
        assert "6 credits or more" in preview.embeds[0]["description"]
        assert set(buttons(preview)) == {"Confirm", "Cancel"}
        assert await nothing_charged(bot) and world.nanobanana.tasks == {}

        confirm, callback = await press(world, preview, "Confirm")
        assert callback.type == 7  # the preview message becomes the job card
        assert callback.data["embeds"][0]["title"] == "Making your image"
        assert callback.data["components"] == []
        result = await world.result_message()
        assert result.content.startswith(f"<@{ALICE}>") and not result.ephemeral
        await world.idle(bot)
        assert len(world.nanobanana.tasks) == 1
        balance = await bot.quota.balance(GUILD, ALICE)
        assert (balance.left, balance.used, balance.reserved) == (100 - PRO_COST, PRO_COST, 0)
        # the card (the former preview) was edited as the job moved, and ends ready
        assert confirm.original is preview
        assert preview.embeds[0]["title"] == "Your image is ready"
        assert await consistency_problems(bot.db) == []


async def test_cancel_charges_nothing(world):
    async with world.bot() as bot:
        await set_threshold(world, 5)
        preview = await previewed(world, {"prompt": "a banana", "model": PRO})
        _, callback = await press(world, preview, "Cancel")
        assert callback.type == 7 and "nothing was charged" in callback.content
        assert preview.components == [] and preview.embeds == []
        assert await nothing_charged(bot) and world.nanobanana.tasks == {}


async def test_an_unanswered_preview_lapses_after_a_minute_with_nothing_charged(world):
    async with world.bot() as bot:
        await set_threshold(world, 5)
        preview = await previewed(world, {"prompt": "a banana", "model": PRO})
        await world.fake.wait_until(
            lambda: "lapsed" in (preview.content or ""), timeout=10, what="the lapse edit"
        )
        assert "nothing was charged" in preview.content
        assert preview.components == [] and preview.embeds == []
        assert await nothing_charged(bot) and world.nanobanana.tasks == {}


async def test_the_buttons_of_a_lapsed_preview_say_it_lapsed(world):
    async with world.bot() as bot:
        await set_threshold(world, 5)
        # Discord refuses the lapse edit, so the preview still shows its buttons
        world.fake.fail_next(
            "PATCH", r"/messages/@original$", 404, {"code": 10008, "message": "Unknown Message"}
        )
        preview = await previewed(world, {"prompt": "a banana", "model": PRO})
        await world.fake.wait_until(
            lambda: any(
                r.status == 404 and r.path.endswith("/@original") for r in world.fake.requests
            ),
            timeout=10,
            what="the refused lapse edit",
        )
        assert set(buttons(preview)) == {"Confirm", "Cancel"}
        _, callback = await press(world, preview, "Confirm")
        assert callback.type == 7 and "lapsed" in callback.content
        assert "nothing was charged" in callback.content and preview.components == []
        assert await nothing_charged(bot) and world.nanobanana.tasks == {}


async def test_more_than_half_of_what_is_left_asks_without_a_server_threshold(world):
    async with world.bot(QUOTA_DEFAULT_CREDITS="20") as bot:
        cheap = await world.slash("image", {"prompt": "a pear", "model": "sandbox:sandbox-image"})
        callback = await world.fake.wait_for_callback(cheap)
        assert not callback.ephemeral and callback.data["embeds"][0]["title"].startswith("Making")
        await world.result_message()
        await world.idle(bot)

        # 16 credits of the 19 left: known only in the reservation, after the card was sent
        rec = await world.slash(
            "image", {"prompt": "a banana", "model": "aivideoapi:nano-banana-2"}
        )
        callback = await world.fake.wait_for_callback(rec)
        assert callback.type == 4 and not callback.ephemeral  # the card, at once
        preview = await world.fake.wait_for_followup(rec)
        assert preview.ephemeral and set(buttons(preview)) == {"Confirm", "Cancel"}
        assert rec.original.deleted  # the public card was taken back
        assert "more than half of the 19 credits you have left" in preview.embeds[0]["description"]
        assert fields(preview)["Balance after"] == "3 credits"
        assert world.aivideoapi.tasks == {}
        assert (await bot.quota.balance(GUILD, ALICE)).left == 19

        _, callback = await press(world, preview, "Confirm")
        assert callback.type == 7
        await world.result_message(skip=1)
        await world.idle(bot)
        assert len(world.aivideoapi.tasks) == 1
        assert (await bot.quota.balance(GUILD, ALICE)).left == 3


async def test_a_second_confirm_runs_nothing_more(world):
    async with world.bot() as bot:
        await set_threshold(world, 5)
        preview = await previewed(world, {"prompt": "a banana", "model": PRO})
        confirm = buttons(preview)["Confirm"]
        first = await world.fake.press_button(GUILD, CHANNEL, ALICE, preview.id, confirm)
        second = await world.fake.press_button(GUILD, CHANNEL, ALICE, preview.id, confirm)
        answers = [await world.fake.wait_for_callback(rec) for rec in (first, second)]
        assert sorted(a.type for a in answers) == [4, 7]
        (again,) = [a for a in answers if a.type == 4]
        assert again.ephemeral and "already confirmed" in again.content
        await world.result_message()
        await world.idle(bot)
        assert len(world.nanobanana.tasks) == 1
        assert (await bot.quota.balance(GUILD, ALICE)).used == PRO_COST
        reserves = await bot.db.fetchall("SELECT 1 FROM ledger WHERE kind = 'reserve'")
        assert len(reserves) == 1
        assert len([m for m in world.fake.messages[CHANNEL] if m.content.startswith("<@")]) == 1


async def test_another_member_cannot_confirm_or_cancel(world):
    async with world.bot() as bot:
        await set_threshold(world, 5)
        preview = await previewed(world, {"prompt": "a banana", "model": PRO})
        for label in ("Confirm", "Cancel"):
            _, callback = await press(world, preview, label, user=BOB)
            assert callback.type == 4 and callback.ephemeral
            assert f"Only <@{ALICE}>" in callback.content
        assert set(buttons(preview)) == {"Confirm", "Cancel"}
        assert await nothing_charged(bot) and await nothing_charged(bot, BOB)
        assert world.nanobanana.tasks == {}

        _, callback = await press(world, preview, "Confirm")  # still Alice's to confirm
        assert callback.type == 7
        await world.result_message()
        await world.idle(bot)
        assert (await bot.quota.balance(GUILD, BOB)).left == 100
        assert (await bot.quota.balance(GUILD, ALICE)).used == PRO_COST


async def test_a_restart_forgets_previews_and_their_confirm_says_it_lapsed(world):
    async with world.bot():
        await set_threshold(world, 5)
        preview = await previewed(world, {"prompt": "a banana", "model": PRO})
    async with world.bot() as bot:
        _, callback = await press(world, preview, "Confirm")
        assert callback.type == 7 and "lapsed" in callback.content
        assert "nothing was charged" in callback.content
        assert await nothing_charged(bot) and world.nanobanana.tasks == {}


async def allow_pro(world, enabled: bool) -> None:
    rec = await world.slash(
        "settings", {"model": "nano-banana-pro", "enabled": enabled}, subcommand="model", user=MOD
    )
    await world.fake.wait_for_callback(rec)


async def test_confirm_checks_again_what_changed_since_the_preview(world):
    async with world.bot() as bot:
        await set_threshold(world, 5)
        preview = await previewed(world, {"prompt": "a banana", "model": PRO})
        await allow_pro(world, False)
        _, callback = await press(world, preview, "Confirm")
        assert callback.type == 7 and "not allowed in this server" in callback.content
        assert preview.components == []
        assert await nothing_charged(bot) and world.nanobanana.tasks == {}

        await allow_pro(world, True)
        preview = await previewed(world, {"prompt": "a banana", "model": PRO})
        await bot.quota.set_allowance(GUILD, ALICE, 4, actor_id=MOD)  # a moderator lowers it
        _, callback = await press(world, preview, "Confirm")
        assert callback.type == 7 and "This costs 6 credits, but you have 4 left" in (
            callback.content
        )
        assert world.nanobanana.tasks == {}
        assert await bot.db.fetchall("SELECT 1 FROM jobs") == []


async def test_a_result_button_is_previewed_too(world):
    async with world.bot() as bot:
        rec = await world.slash("image", {"prompt": "a pear", "model": "nananobanana:nano-banana"})
        await world.fake.wait_for_callback(rec)
        result = await world.result_message()
        await world.idle(bot)
        await set_threshold(world, 1)

        reroll = next(c for c in buttons(result).values() if c.startswith("bb:reroll:"))
        pressed = await world.fake.press_button(GUILD, CHANNEL, ALICE, result.id, reroll)
        callback = await world.fake.wait_for_callback(pressed)
        assert callback.type == 4 and callback.ephemeral
        preview = pressed.original
        assert fields(preview)["Cost"] == "1 credit" and len(world.nananobanana.records) == 1

        _, callback = await press(world, preview, "Confirm")
        assert callback.type == 7
        await world.result_message(skip=1)
        await world.idle(bot)
        assert len(world.nananobanana.records) == 2
        assert (await bot.quota.balance(GUILD, ALICE)).used == 2


async def test_after_a_slow_price_the_public_placeholder_becomes_the_preview(world):
    world.nanobanana.hold["/api/v1/account/calculate-cost"] = 2.0  # past the 1 s deferral
    async with world.bot() as bot:
        await set_threshold(world, 20)
        rec = await world.slash(
            "video",
            {"prompt": "a banana skiing", "model": "nanobanana:wan-2.5", "duration": 10},
        )
        callback = await world.fake.wait_for_callback(rec)
        assert callback.type == 5 and not callback.ephemeral  # "thinking…", in public
        preview = await world.fake.wait_for_original(rec, timeout=10)
        assert not preview.ephemeral and set(buttons(preview)) == {"Confirm", "Cancel"}
        cost = int(fields(preview)["Cost"].split()[0])
        assert cost >= 20 and await nothing_charged(bot) and world.nanobanana.tasks == {}

        _, answer = await press(world, preview, "Confirm", user=BOB)  # Bob sees it, may not
        assert answer.ephemeral and f"Only <@{ALICE}>" in answer.content
        _, answer = await press(world, preview, "Confirm")
        assert answer.type == 7 and answer.data["embeds"][0]["title"] == "Making your video"
        await world.result_message()
        await world.idle(bot)
        assert len(world.nanobanana.tasks) == 1
        assert (await bot.quota.balance(GUILD, ALICE)).used == cost
        assert (await bot.quota.balance(GUILD, BOB)).left == 100


async def test_an_edit_is_previewed_too(world):
    async with world.bot() as bot:
        rec = await world.slash("image", {"prompt": "a pear", "model": "nananobanana:nano-banana"})
        await world.fake.wait_for_callback(rec)
        result = await world.result_message()
        await world.idle(bot)
        await set_threshold(world, 1)

        edit = next(c for c in buttons(result).values() if c.startswith("bb:edit:"))
        pressed = await world.fake.press_button(GUILD, CHANNEL, ALICE, result.id, edit)
        await world.fake.wait_for_callback(pressed)
        submitted = await world.fake.submit_modal(pressed, {"instruction": "make it purple"})
        callback = await world.fake.wait_for_callback(submitted)
        assert callback.type == 4 and callback.ephemeral
        preview = submitted.original
        assert "make it purple" in fields(preview)["Prompt"]
        assert len(world.nananobanana.records) == 1

        _, callback = await press(world, preview, "Confirm")
        assert callback.type == 7
        await world.result_message(skip=1)
        await world.idle(bot)
        assert len(world.nananobanana.records) == 2
        assert (await bot.quota.balance(GUILD, ALICE)).used == 2


async def test_a_preview_that_followed_a_card_lapses_too(world):
    async with world.bot(QUOTA_DEFAULT_CREDITS="20") as bot:
        rec = await world.slash(
            "image", {"prompt": "a banana", "model": "aivideoapi:nano-banana-2"}
        )  # 16 of 20: asked after the card
        preview = await world.fake.wait_for_followup(rec)
        await world.fake.wait_until(
            lambda: "lapsed" in (preview.content or ""), timeout=10, what="the lapse edit"
        )
        assert preview.components == [] and preview.embeds == []
        assert rec.original.deleted and world.aivideoapi.tasks == {}
        balance = await bot.quota.balance(GUILD, ALICE)
        assert (balance.left, balance.reserved) == (20, 0)
        assert await bot.db.fetchall("SELECT 1 FROM jobs") == []
