"""/quota usage (a PNG chart and the same figures as text) and /quota export (the ledger as
CSV), run by a moderator against the Discord emulator after real jobs."""

from __future__ import annotations

import csv
import io

from PIL import Image

from presentation.charts import HEIGHT_PX, WIDTH_PX
from presentation.discord_limits import DEFAULT_UPLOAD_LIMIT
from tests.e2e.conftest import ALICE, BOB, GUILD, MOD

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TAB_BLUE = (31, 119, 180)  # matplotlib's first colour: the first model's bars, member bars
COMPLETED_GREEN = (67, 160, 71)


async def make_jobs(world, bot) -> None:
    for user, prompt in ((ALICE, "one"), (ALICE, "two"), (BOB, "three")):
        rec = await world.slash(
            "image", {"prompt": prompt, "model": "sandbox:sandbox-image"}, user=user
        )
        await world.fake.wait_for_callback(rec)
        await world.idle(bot)
    rec = await world.slash(
        "quota", {"user": BOB, "amount": 5, "reason": "=SUM(A1)"}, subcommand="grant", user=MOD
    )
    await world.fake.wait_for_callback(rec)


async def test_usage_is_a_png_chart_with_the_figures_as_text(world):
    async with world.bot() as bot:
        await make_jobs(world, bot)
        rec = await world.slash("quota", {"period": "week"}, subcommand="usage", user=MOD)
        reply = await world.fake.wait_for_original(rec, timeout=30)
        assert reply.ephemeral
        (attachment,) = reply.attachments
        assert attachment.filename == "usage.png" and attachment.data.startswith(PNG_MAGIC)
        assert (attachment.width, attachment.height) == (WIDTH_PX, HEIGHT_PX)
        assert attachment.size < DEFAULT_UPLOAD_LIMIT
        assert "3 credits" in attachment.description and "completed" in attachment.description

        image = Image.open(io.BytesIO(attachment.data)).convert("RGB")
        assert image.size == (WIDTH_PX, HEIGHT_PX)
        assert image.getpixel((0, 0)) == (255, 255, 255)  # the background
        colours = {colour for _, colour in image.getcolors(maxcolors=WIDTH_PX * HEIGHT_PX)}
        assert TAB_BLUE in colours and COMPLETED_GREEN in colours

        (embed,) = reply.embeds
        assert embed["image"]["url"] == "attachment://usage.png"
        text = embed["description"]
        assert "3 credits" in text and "sandbox-image 3" in text
        assert f"<@{ALICE}> 2" in text and f"<@{BOB}> 1" in text
        assert "3 completed, 0 failed, 0 running" in text

        rec = await world.slash(
            "quota", {"period": "day", "user": BOB}, subcommand="usage", user=MOD
        )
        reply = await world.fake.wait_for_original(rec, timeout=30)
        text = reply.embeds[0]["description"]
        assert "by bob" in text and ": 1 credit (" in text and f"<@{ALICE}>" not in text


async def test_export_is_the_ledger_as_csv(world):
    async with world.bot() as bot:
        await make_jobs(world, bot)
        rec = await world.slash("quota", {}, subcommand="export", user=MOD)
        reply = await world.fake.wait_for_original(rec)
        assert reply.ephemeral
        (attachment,) = reply.attachments
        assert attachment.filename.endswith(".csv")
        rows = list(csv.DictReader(io.StringIO(attachment.data.decode())))
        ledger = await bot.db.fetchall("SELECT * FROM ledger ORDER BY id")
        assert len(rows) == len(ledger) and f"{len(rows)} ledger entries" in reply.content
        for row, entry in zip(rows, ledger, strict=True):
            assert (int(row["member"]), row["kind"], int(row["amount"])) == (
                entry["user_id"],
                entry["kind"],
                entry["amount"],
            )
            assert row["job"] == (entry["job_id"] or "")
        assert {r["model"] for r in rows if r["job"]} == {"sandbox:sandbox-image"}
        last_alice = [r for r in rows if int(r["member"]) == ALICE][-1]
        assert int(last_alice["balance_after"]) == (await bot.quota.balance(GUILD, ALICE)).left
        grant = next(r for r in rows if r["kind"] == "grant")
        assert grant["reason"] == "'=SUM(A1)" and int(grant["actor"]) == MOD

        rec = await world.slash(
            "quota", {"since": "2999-01-01", "until": "2999-01-02"}, subcommand="export", user=MOD
        )
        reply = await world.fake.wait_for_original(rec)
        assert "0 ledger entries" in reply.content
        assert reply.attachments[0].data.decode().splitlines() == [
            "time,member,job,model,kind,amount,balance_after,actor,reason"
        ]


async def test_export_refuses_bad_dates_clearly(world):
    async with world.bot():
        for options, words in (
            ({"since": "yesterday"}, "`since` must be a date written YYYY-MM-DD"),
            ({"until": "2024-02-30"}, "`until` must be a date written YYYY-MM-DD"),
            ({"since": "2024-05-02", "until": "2024-05-01"}, "is after `until`"),
        ):
            rec = await world.slash("quota", options, subcommand="export", user=MOD)
            callback = await world.fake.wait_for_callback(rec)
            assert callback.ephemeral and words in callback.content
            assert not callback.attachments
