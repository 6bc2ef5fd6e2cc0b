"""The Discord emulator, proven with the real discord.py client and a tiny bot."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from tests.fakediscord import FLAG_EPHEMERAL, FakeDiscord, run_bot

GUILD, BIG_GUILD, CHANNEL, BIG_CHANNEL, ALICE = 1001, 1002, 2001, 2002, 3001
MiB = 1024 * 1024


@pytest.fixture
async def fake():
    fake = FakeDiscord(app_id=4242, bot_user={"id": 4242, "username": "testbot"})
    fake.add_guild(GUILD, "plain", premium_tier=0)
    fake.add_channel(GUILD, CHANNEL, "general")
    fake.add_guild(BIG_GUILD, "boosted", premium_tier=3, owner_id=ALICE - 1)
    fake.add_channel(BIG_GUILD, BIG_CHANNEL, "general")
    fake.add_member(GUILD, ALICE, "alice")
    fake.add_member(BIG_GUILD, ALICE, "alice")
    async with fake:
        yield fake


class Panel(discord.ui.View):
    def __init__(self, seen: dict[str, Any]) -> None:
        super().__init__(timeout=60)
        self.seen = seen

    @discord.ui.button(label="Go", custom_id="panel:go")
    async def go(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.seen["clicked_by"] = interaction.user.id
        await interaction.response.edit_message(content="clicked", view=None)


class Survey(discord.ui.Modal, title="Survey"):
    answer = discord.ui.TextInput(label="Answer", custom_id="survey:answer")

    def __init__(self, seen: dict[str, Any]) -> None:
        super().__init__()
        self.seen = seen

    async def on_submit(self, interaction: discord.Interaction) -> None:
        self.seen["answer"] = self.answer.value
        await interaction.response.send_message(f"thanks: {self.answer.value}")


def make_bot(seen: dict[str, Any]) -> commands.Bot:
    """A bot whose commands record what they received in ``seen``."""
    bot = commands.Bot(command_prefix="!", intents=discord.Intents.default())

    @bot.tree.command(description="Typed options")
    @app_commands.describe(text="t", count="c", image="i")
    async def typed(
        interaction: discord.Interaction, text: str, count: int, image: discord.Attachment
    ) -> None:
        seen["typed"] = (text, count, image.filename, await image.read(), image.size)
        seen["filesize_limit"] = interaction.filesize_limit
        await interaction.response.send_message(f"{text} x{count}", ephemeral=True)

    @bot.tree.command(description="Defer, follow up, edit")
    async def slow(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        first = await interaction.followup.send("first", wait=True)
        await interaction.followup.send("second", file=discord.File(io.BytesIO(b"xyz"), "a.txt"))
        await interaction.edit_original_response(content="edited")
        seen["first_id"] = first.id

    @bot.tree.command(description="Wait for the test, then edit")
    async def late(interaction: discord.Interaction) -> None:
        await interaction.response.defer()
        await seen["release"].wait()
        seen["expired_for_bot"] = interaction.is_expired()
        try:
            await interaction.edit_original_response(content="too late?")
        except discord.HTTPException as exc:
            seen["late_error"] = exc

    @bot.tree.command(description="Autocomplete")
    async def pick(interaction: discord.Interaction, fruit: str) -> None:
        await interaction.response.send_message(fruit)

    @pick.autocomplete("fruit")
    async def fruit_choices(interaction: discord.Interaction, current: str):
        fruits = ["banana", "bandana", "apple"]
        return [app_commands.Choice(name=f, value=f) for f in fruits if f.startswith(current)]

    @bot.tree.command(description="Post a panel")
    async def panel(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("panel", view=Panel(seen))

    @bot.tree.command(description="Open a modal")
    async def survey(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(Survey(seen))

    admin = app_commands.Group(name="admin", description="Admin", guild_ids=[GUILD])
    credits = app_commands.Group(name="credits", description="Credits", parent=admin)

    @credits.command(description="Grant credits")
    @app_commands.describe(who="w", role="r", where="c", amount="a")
    async def grant(
        interaction: discord.Interaction,
        who: discord.Member,
        role: discord.Role,
        where: discord.TextChannel,
        amount: app_commands.Range[int, 1, 100] = 10,
    ) -> None:
        seen["grant"] = (who, role, where, amount)
        await interaction.response.send_message("granted")

    bot.tree.add_command(admin)

    async def setup_hook() -> None:
        seen["synced"] = await bot.tree.sync()
        await bot.tree.sync(guild=discord.Object(GUILD))

    bot.setup_hook = setup_hook  # type: ignore[method-assign]
    return bot


async def test_login_ready_and_guilds_with_filesize_limits(fake: FakeDiscord) -> None:
    async with run_bot(make_bot({}), fake) as bot:
        assert bot.user.id == 4242 and bot.application_id == 4242
        assert {g.id for g in bot.guilds} == {GUILD, BIG_GUILD}
        assert bot.get_guild(GUILD).filesize_limit == 10 * MiB
        assert bot.get_guild(BIG_GUILD).filesize_limit == 100 * MiB
        assert bot.get_guild(BIG_GUILD).owner_id == ALICE - 1
        assert bot.get_guild(GUILD).me is not None
        assert bot.get_channel(CHANNEL).name == "general"
        await fake.update_guild(GUILD, premium_tier=2)
        await fake.wait_until(lambda: bot.get_guild(GUILD).filesize_limit == 50 * MiB)
    assert discord.http.Route.BASE == "https://discord.com/api/v10"
    assert fake.gateway.connect_params[0]["compress"] == "zlib-stream"
    assert fake.gateway.identifies[0]["token"] == "test-token"
    assert fake.unknown_routes == []


async def test_command_sync_is_recorded_with_ids(fake: FakeDiscord) -> None:
    seen: dict[str, Any] = {}
    async with run_bot(make_bot(seen), fake):
        pass
    assert [sync.guild_id for sync in fake.command_syncs] == [None, GUILD]
    typed = fake.get_command("typed")
    assert [(o["name"], o["type"]) for o in typed["options"]] == [
        ("text", 3),
        ("count", 4),
        ("image", 11),
    ]
    assert {c.name: c.id for c in seen["synced"]}["typed"] == int(typed["id"])


async def test_slash_command_gets_typed_options_and_ephemeral_reply(fake: FakeDiscord) -> None:
    seen: dict[str, Any] = {}
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    async with run_bot(make_bot(seen), fake):
        rec = await fake.invoke_slash(
            BIG_GUILD,
            BIG_CHANNEL,
            ALICE,
            "typed",
            {"text": "hi", "count": 3},
            attachments=[{"filename": "cat.png", "data": png}],
        )
        callback = await fake.wait_for_callback(rec)
    assert seen["typed"] == ("hi", 3, "cat.png", png, len(png))
    assert seen["filesize_limit"] == 100 * MiB
    assert callback.type == 4 and callback.flags == FLAG_EPHEMERAL and callback.ephemeral
    assert rec.original is not None and rec.original.content == "hi x3" and rec.original.ephemeral


async def test_subcommand_with_member_role_channel_options(fake: FakeDiscord) -> None:
    seen: dict[str, Any] = {}
    fake.add_role(GUILD, 5001, "artists")
    async with run_bot(make_bot(seen), fake):
        options = {"who": ALICE, "role": 5001, "where": CHANNEL, "amount": 7}
        rec = await fake.invoke_slash(
            GUILD, CHANNEL, ALICE, "admin", options, subcommand="credits grant"
        )
        await fake.wait_for_callback(rec)
        with pytest.raises(ValueError, match="outside"):  # the Discord client enforces ranges
            await fake.invoke_slash(
                GUILD, CHANNEL, ALICE, "admin", {**options, "amount": 0}, subcommand="credits grant"
            )
        with pytest.raises(LookupError):  # guild command, not synced to the other guild
            await fake.invoke_slash(
                BIG_GUILD, BIG_CHANNEL, ALICE, "admin", subcommand="credits grant"
            )
    who, role, where, amount = seen["grant"]
    assert isinstance(who, discord.Member) and who.id == ALICE and who.name == "alice"
    assert (role.name, where.id, amount) == ("artists", CHANNEL, 7)
    assert rec.payload["data"]["guild_id"] == str(GUILD)


async def test_defer_followups_and_edit_original(fake: FakeDiscord) -> None:
    seen: dict[str, Any] = {}
    async with run_bot(make_bot(seen), fake):
        rec = await fake.invoke_slash(GUILD, CHANNEL, ALICE, "slow")
        assert (await fake.wait_for_callback(rec)).type == 5
        await fake.wait_for_original(rec, lambda m: m.content == "edited")
    first, second = rec.followups
    assert first is rec.original and first.id == seen["first_id"]  # replaced the placeholder
    assert first.edits[-1]["content"] == "edited" and not first.loading
    assert second.content == "second" and second.files == {"a.txt": b"xyz"}
    assert [e.target for e in fake.webhook_edits] == ["@original"]


async def test_autocomplete_returns_the_bots_choices(fake: FakeDiscord) -> None:
    async with run_bot(make_bot({}), fake):
        choices = await fake.invoke_autocomplete(
            GUILD, CHANNEL, ALICE, "pick", {"fruit": "ban"}, focused="fruit"
        )
    assert [c["value"] for c in choices] == ["banana", "bandana"]
    assert fake.last_interaction.callback.type == 8


async def test_channel_message_with_file_and_allowed_mentions(fake: FakeDiscord) -> None:
    async with run_bot(make_bot({}), fake) as bot:
        sent = await bot.get_channel(CHANNEL).send(
            f"<@{ALICE}> your image",
            file=discord.File(io.BytesIO(b"PNGDATA"), "out.png"),
            allowed_mentions=discord.AllowedMentions(users=False),
        )
        record = await fake.wait_for_message(CHANNEL)
        fake.guilds[GUILD].upload_limit = 4
        with pytest.raises(discord.HTTPException) as too_big:
            await bot.get_channel(CHANNEL).send(file=discord.File(io.BytesIO(b"12345"), "b.bin"))
    assert record.id == sent.id and record.content == f"<@{ALICE}> your image"
    assert record.files == {"out.png": b"PNGDATA"} and sent.attachments[0].filename == "out.png"
    assert "users" not in record.allowed_mentions["parse"] and record.pings()["users"] == set()
    assert too_big.value.status == 413 and too_big.value.code == 40005


async def test_permissions_and_injected_faults(fake: FakeDiscord) -> None:
    locked = 2099
    fake.add_channel(
        GUILD, locked, "locked", overwrites=[{"id": GUILD, "type": 0, "deny": 1 << 11}]
    )
    async with run_bot(make_bot({}), fake) as bot:
        with pytest.raises(discord.Forbidden) as denied:
            await bot.get_channel(locked).send("hi")
        fake.fail_next("POST", r"/channels/\d+/messages$", 429)  # discord.py waits and retries
        await bot.get_channel(CHANNEL).send("after 429")
        fake.fail_next("POST", r"/channels/\d+/messages$", 503)
        with pytest.raises(discord.DiscordServerError):
            await bot.get_channel(CHANNEL).send("lost")
    assert denied.value.code == 50013
    assert [m.content for m in fake.channel_messages(CHANNEL)] == ["after 429"]
    assert [r.status for r in fake.requests if r.method == "POST"] == [403, 429, 200, 503]


async def test_button_press_reaches_the_view(fake: FakeDiscord) -> None:
    seen: dict[str, Any] = {}
    async with run_bot(make_bot(seen), fake):
        rec = await fake.invoke_slash(GUILD, CHANNEL, ALICE, "panel")
        panel = await fake.wait_for_original(rec)
        press = await fake.press_button(GUILD, CHANNEL, ALICE, panel.id, "panel:go")
        callback = await fake.wait_for_callback(press)
    assert seen["clicked_by"] == ALICE
    assert callback.type == 7 and panel.content == "clicked" and panel.components == []


async def test_modal_submit_reaches_the_modal(fake: FakeDiscord) -> None:
    seen: dict[str, Any] = {}
    async with run_bot(make_bot(seen), fake):
        rec = await fake.invoke_slash(GUILD, CHANNEL, ALICE, "survey")
        await fake.wait_for_callback(rec)
        submitted = await fake.submit_modal(rec, {"survey:answer": "yes"})
        await fake.wait_for_callback(submitted)
    assert rec.modal["title"] == "Survey" and seen["answer"] == "yes"
    assert submitted.original.content == "thanks: yes"


async def test_webhook_token_expires_on_the_emulator_clock(fake: FakeDiscord) -> None:
    seen: dict[str, Any] = {"release": asyncio.Event()}
    async with run_bot(make_bot(seen), fake, sync_clock=True):
        rec = await fake.invoke_slash(GUILD, CHANNEL, ALICE, "late")
        await fake.wait_for_callback(rec)
        fake.clock.advance(15 * 60 + 1)
        seen["release"].set()
        await fake.wait_until(lambda: "late_error" in seen, what="the bot's failed edit")
    assert seen["expired_for_bot"] is True
    assert seen["late_error"].status == 401 and seen["late_error"].code == 50027
    assert fake.webhook_edits[-1].status == 401 and rec.original.loading


async def test_late_first_response_is_unknown_interaction(fake: FakeDiscord) -> None:
    async with run_bot(make_bot({}), fake) as bot:
        fake.callback_deadline = -1  # every callback is already too late
        rec = await fake.invoke_slash(GUILD, CHANNEL, ALICE, "pick", {"fruit": "x"})
        await fake.wait_until(lambda: fake.bot_errors, what="the bot's error log")
        assert rec.callback is None
        assert "Unknown interaction" in fake.bot_errors[-1]
        assert bot.is_ready()


async def test_reconnect_resumes_without_losing_events(fake: FakeDiscord) -> None:
    async with run_bot(make_bot({}), fake):
        await fake.gateway.reconnect()
        rec = await fake.invoke_slash(GUILD, CHANNEL, ALICE, "pick", {"fruit": "kiwi"})
        await fake.wait_for_callback(rec)
    assert len(fake.gateway.resumes) == 1 and len(fake.gateway.identifies) == 1


async def test_unknown_routes_are_logged(fake: FakeDiscord) -> None:
    async with run_bot(make_bot({}), fake) as bot:
        with pytest.raises(discord.NotFound):
            await bot.http.request(discord.http.Route("GET", "/nowhere/{x}", x=1))
    assert fake.unknown_routes == [("GET", "/api/v10/nowhere/1")]


async def test_wrong_token_is_a_login_failure(fake: FakeDiscord) -> None:
    with pytest.raises(discord.LoginFailure):
        async with run_bot(make_bot({}), fake, token="not-the-token"):
            pass
    assert fake.requests[0].status == 401 and not fake.gateway.identifies
