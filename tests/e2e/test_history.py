"""/history: the member's own jobs in this server, newest first, ten a page, with Previous /
Next buttons that only the asker can use and that work after a restart."""

from __future__ import annotations

from tests.e2e.conftest import ALICE, BOB, CHANNEL, GUILD
from tests.e2e.stored import store_history

STORED = 21  # older jobs written straight to the database, beside two real ones


def fields(message) -> list[dict]:
    return message.embeds[0]["fields"]


def page_buttons(message) -> dict[str, dict]:
    return {c["label"]: c for row in message.components for c in row["components"]}


async def test_history_pages_through_23_jobs_newest_first(world):
    async with world.bot() as bot:
        delivered = []
        for prompt in ("the second newest", "the newest"):
            rec = await world.slash("image", {"prompt": prompt, "model": "sandbox:sandbox-image"})
            await world.fake.wait_for_callback(rec)
            delivered.append(await world.result_message(skip=len(delivered)))
            await world.idle(bot)
        (first,) = await bot.db.fetchall("SELECT MIN(created_at) FROM jobs")
        await store_history(bot, STORED, before=first[0])

        rec = await world.slash("history")
        await world.fake.wait_for_callback(rec)
        page = rec.original
        assert rec.ephemeral
        assert page.embeds[0]["description"].startswith("Page 1 of 3 · 23 jobs")
        shown = fields(page)
        assert len(shown) == 10
        # newest first, each with its prompt, model, cost, state and where the result is
        assert "the newest" in shown[0]["value"] and "the second newest" in shown[1]["value"]
        for field, message in zip(shown[:2], reversed(delivered), strict=True):
            assert "done" in field["name"] and "/image" in field["name"]
            assert "`sandbox-image` (sandbox) · 1 credit" in field["value"]
            assert f"https://discord.com/channels/{GUILD}/{CHANNEL}/{message.id}" in field["value"]
        assert "old 0" in shown[2]["value"] and "2 credits" in shown[2]["value"]
        assert "https://media.example/0.png" in shown[2]["value"]  # no message: the media link
        assert "failed" in shown[3]["name"] and "0 credits (refunded)" in shown[3]["value"]
        assert "safety filter" in shown[3]["value"]
        assert "generating" in shown[4]["name"] and "3 credits held" in shown[4]["value"]
        buttons = page_buttons(page)
        assert buttons["◀ Previous"]["disabled"] and not buttons["Next ▶"].get("disabled")

        press = await world.fake.press_button(
            GUILD, CHANNEL, ALICE, page.id, buttons["Next ▶"]["custom_id"]
        )
        assert (await world.fake.wait_for_callback(press)).type == 7  # the same message, turned
        assert page.embeds[0]["description"].startswith("Page 2 of 3")
        assert "old 8" in fields(page)[0]["value"] and len(fields(page)) == 10

        press = await world.fake.press_button(
            GUILD, CHANNEL, ALICE, page.id, page_buttons(page)["Next ▶"]["custom_id"]
        )
        await world.fake.wait_for_callback(press)
        assert page.embeds[0]["description"].startswith("Page 3 of 3")
        assert [f["value"].splitlines()[0] for f in fields(page)] == [
            "“old 18”",
            "“old 19”",
            "“old 20”",
        ]
        last = page_buttons(page)
        assert last["Next ▶"]["disabled"] and not last["◀ Previous"].get("disabled")

        # a member who did not ask cannot turn Alice's pages
        press = await world.fake.press_button(
            GUILD, CHANNEL, BOB, page.id, last["◀ Previous"]["custom_id"]
        )
        refusal = await world.fake.wait_for_callback(press)
        assert refusal.ephemeral and "Only the member who asked" in refusal.content
        assert page.embeds[0]["description"].startswith("Page 3 of 3")

        rec = await world.slash("history", {"page": 4})
        refusal = await world.fake.wait_for_callback(rec)
        assert refusal.ephemeral
        assert refusal.content == "There is no page 4: your history in this server has 3 pages."

        rec = await world.slash("history", user=BOB)
        empty = await world.fake.wait_for_callback(rec)
        assert empty.ephemeral and empty.content.startswith("You have no jobs in this server yet")

    async with world.bot():  # the buttons need nothing the first process kept
        press = await world.fake.press_button(
            GUILD, CHANNEL, ALICE, page.id, last["◀ Previous"]["custom_id"]
        )
        await world.fake.wait_for_callback(press)
        assert page.embeds[0]["description"].startswith("Page 2 of 3")
