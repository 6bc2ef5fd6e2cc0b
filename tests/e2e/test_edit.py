"""The Edit button: a form with the instruction, then /image with the result as the reference
image, charged to whoever submits it, under every check a command has; after a restart too."""

from __future__ import annotations

import json

from db.ledger import consistency_problems
from tests.e2e.conftest import ALICE, BOB, CHANNEL, GUILD, MOD

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def button(message, prefix: str) -> str:
    """The custom id of the message's button that starts with ``prefix``."""
    ids = [c["custom_id"] for row in message.components for c in row["components"]]
    return next(i for i in ids if i.startswith(prefix))


def text_input(modal: dict) -> dict:
    (row,) = modal["components"]
    return row["component"] if row["type"] == 18 else row["components"][0]


async def edit_jobs(bot, user: int) -> list:
    return await bot.db.fetchall(
        "SELECT * FROM jobs WHERE user_id = ? AND command = 'edit' ORDER BY created_at", (user,)
    )


async def test_edit_opens_a_form_and_runs_image_with_the_result_as_reference(world):
    async with world.bot() as bot:
        await world.slash("image", {"prompt": "a banana boat", "model": "nanobanana:nano-banana"})
        result = await world.result_message()
        await world.idle(bot)
        edit = button(result, "bb:edit:")
        assert button(result, "bb:reroll:") and button(result, "bb:animate:")

        press = await world.fake.press_button(GUILD, CHANNEL, BOB, result.id, edit)
        opened = await world.fake.wait_for_callback(press)
        assert opened.type == 9  # the form, nothing charged yet
        field = text_input(press.modal)
        assert press.modal["title"] == "Edit this image" and field["style"] == 2
        assert field["required"] is True and field["max_length"] == 2000  # nanobanana's limit
        assert len(world.nanobanana.tasks) == 1
        assert (await bot.quota.balance(GUILD, BOB)).used == 0

        submitted = await world.fake.submit_modal(press, {"instruction": "make it purple"})
        card = await world.fake.wait_for_callback(submitted)
        assert card.type == 4 and not card.ephemeral  # the job card, as for /image
        edited = await world.result_message(user=BOB)
        await world.idle(bot)

        ((_, data),) = edited.files.items()
        assert data.startswith(PNG_MAGIC)
        assert "make it purple" in edited.embeds[0]["description"]
        assert button(edited, "bb:edit:")  # an edit can be edited again
        (job,) = await edit_jobs(bot, BOB)
        reference = result.attachments[0].url
        assert (job["provider"], job["model"]) == ("nanobanana", "nano-banana")
        assert json.loads(job["request"])["reference_urls"] == [reference]
        # one new provider task, sent the delivered image as its reference
        tasks = list(world.nanobanana.tasks.values())
        assert len(tasks) == 2 and tasks[1]["body"]["image_url"] == reference
        bob = await bot.quota.balance(GUILD, BOB)
        assert bob.used == job["charged"] > 0 and bob.reserved == 0  # charged once, to Bob
        assert (await bot.quota.balance(GUILD, ALICE)).used == tasks[0]["credits"]
        assert await consistency_problems(bot.db) == []


async def test_a_form_opened_before_a_restart_is_answered_after_it(world):
    async with world.bot() as bot:
        await world.slash(
            "image",
            {"prompt": "a pear", "model": "nananobanana:nano-banana", "aspect_ratio": "16:9"},
        )
        result = await world.result_message()
        await world.idle(bot)
        press = await world.fake.press_button(
            GUILD, CHANNEL, ALICE, result.id, button(result, "bb:edit:")
        )
        await world.fake.wait_for_callback(press)
        assert text_input(press.modal)["max_length"] == 4000  # Discord's cap, under the model's

    async with world.bot() as bot:  # nothing of the first process is left
        submitted = await world.fake.submit_modal(press, {"instruction": "now in winter"})
        card = await world.fake.wait_for_callback(submitted)
        assert card.type == 4 and not card.ephemeral
        await world.result_message(skip=1)
        await world.idle(bot)
        (job,) = await edit_jobs(bot, ALICE)
        request = json.loads(job["request"])
        assert request["prompt"] == "now in winter" and request["aspect_ratio"] == "16:9"
        assert request["reference_urls"] == [result.attachments[0].url]
        assert len(world.nananobanana.records) == 2
        assert (await bot.quota.balance(GUILD, ALICE)).used == 2
        assert await consistency_problems(bot.db) == []

        # the button itself, pressed after the restart, opens the form again
        press = await world.fake.press_button(
            GUILD, CHANNEL, BOB, result.id, button(result, "bb:edit:")
        )
        assert (await world.fake.wait_for_callback(press)).type == 9


async def test_a_model_without_reference_images_is_edited_on_the_servers_image_model(world):
    world.nananobanana.models.append(
        {
            "name": "nano-banana-sketch",
            "displayName": "Sketch",
            "creditsCost": 1,
            "supportsImageInput": False,
            "supportsAspectRatio": True,
            "requiresPro": False,
        }
    )
    async with world.bot() as bot:
        rec = await world.slash(
            "settings",
            {"kind": "image", "model": "sandbox:sandbox-image"},
            subcommand="default",
            user=MOD,
        )
        await world.fake.wait_for_callback(rec)
        await world.slash("image", {"prompt": "a kite", "model": "nananobanana:nano-banana-sketch"})
        result = await world.result_message()
        await world.idle(bot)

        press = await world.fake.press_button(
            GUILD, CHANNEL, BOB, result.id, button(result, "bb:edit:")
        )
        await world.fake.wait_for_callback(press)
        submitted = await world.fake.submit_modal(press, {"instruction": "add a tail"})
        await world.fake.wait_for_callback(submitted)
        await world.result_message(user=BOB)
        await world.idle(bot)

        (job,) = await edit_jobs(bot, BOB)
        assert (job["provider"], job["model"]) == ("sandbox", "sandbox-image")
        assert json.loads(job["request"])["reference_urls"] == [result.attachments[0].url]
        assert len(world.nananobanana.records) == 1  # the original only
        assert (await bot.quota.balance(GUILD, BOB)).used == job["charged"]


async def test_an_edit_is_refused_like_a_command_and_costs_nothing(world):
    async with world.bot(QUOTA_DEFAULT_CREDITS="1") as bot:
        rec = await world.slash(
            "settings", {"phrase": "forbidden fruit"}, subcommand="blocklist add", user=MOD
        )
        await world.fake.wait_for_callback(rec)
        first = await world.slash(
            "image", {"prompt": "an apple", "model": "nananobanana:nano-banana"}
        )
        preview = await world.fake.wait_for_followup(first)  # all she has: a preview asks
        confirm = button(preview, "bb:preview:confirm:")
        await world.fake.press_button(GUILD, CHANNEL, ALICE, preview.id, confirm)
        result = await world.result_message()
        await world.idle(bot)
        edit = button(result, "bb:edit:")

        press = await world.fake.press_button(GUILD, CHANNEL, BOB, result.id, edit)
        await world.fake.wait_for_callback(press)
        blocked = await world.fake.submit_modal(press, {"instruction": "a FORBIDDEN  fruit"})
        refusal = await world.fake.wait_for_callback(blocked)
        assert refusal.ephemeral and "this server does not allow" in refusal.content

        # Alice spent her only credit on the original: the edit's price is over her balance
        press = await world.fake.press_button(GUILD, CHANNEL, ALICE, result.id, edit)
        await world.fake.wait_for_callback(press)
        broke = await world.fake.submit_modal(press, {"instruction": "greener"})
        # the card first (the reservation follows the reply): it then says it did not start,
        # and Alice alone reads that her credits are short
        card = await world.fake.wait_for_original(
            broke, lambda m: m.embeds[0]["title"].startswith("Did not start")
        )
        assert "Nothing was charged" in card.embeds[0]["description"]
        told = await world.fake.wait_until(lambda: broke.followups, what="the reason")
        assert told[0].ephemeral and "costs 1 credit" in told[0].content
        await world.idle(bot)

        assert len(world.nananobanana.records) == 1
        assert await edit_jobs(bot, BOB) == [] and await edit_jobs(bot, ALICE) == []
        assert (await bot.quota.balance(GUILD, BOB)).used == 0
        assert await consistency_problems(bot.db) == []
