"""A command the bot could not deliver in its channel is refused before anything is charged,
naming the permissions the bot lacks there; the invite URL is logged once at start."""

from __future__ import annotations

import logging

import pytest

from presentation.bot_permissions import REQUIRED_PERMISSIONS
from tests.e2e.conftest import ALICE, BOB, CHANNEL, GUILD
from tests.fakediscord import ATTACH_FILES, SEND_MESSAGES, VIEW_CHANNEL

MODEL = "nananobanana:nano-banana"  # 1 credit, one task per job


def provider_tasks(world) -> int:
    return sum(
        len(found)
        for found in (
            world.nanobanana.tasks,
            world.aivideoapi.tasks,
            world.nananobanana.records,
            world.nanobananavideo.videos,
        )
    )


async def assert_nothing_happened(world, bot, user: int) -> None:
    """No job stored, nothing reserved or charged, no provider task."""
    (entries,) = await bot.db.fetchone("SELECT COUNT(*) FROM ledger WHERE user_id = ?", (user,))
    (jobs,) = await bot.db.fetchone("SELECT COUNT(*) FROM jobs WHERE user_id = ?", (user,))
    assert (entries, jobs) == (0, 0)
    balance = await bot.quota.balance(GUILD, user)
    assert (balance.left, balance.reserved) == (100, 0)


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("image", {"prompt": "a pear", "model": MODEL}),
        ("video", {"prompt": "a pear rolling", "model": "sandbox:sandbox-video"}),
        ("animate", {"image_url": "https://example.com/pear.png"}),
    ],
)
async def test_a_command_the_bot_cannot_deliver_here_is_refused_naming_what_is_missing(
    world, command, options
):
    async with world.bot() as bot:
        rec = await world.slash(command, options, app_permissions=VIEW_CHANNEL | SEND_MESSAGES)
        callback = await world.fake.wait_for_callback(rec)

        assert callback.ephemeral
        assert "**Embed Links**" in callback.content and "**Attach Files**" in callback.content
        assert "Send Messages" not in callback.content and "View Channel" not in callback.content
        assert "Nothing was charged" in callback.content
        await assert_nothing_happened(world, bot, ALICE)
        assert provider_tasks(world) == 0
        assert [m for m in world.fake.channel_messages(CHANNEL) if not m.ephemeral] == []


async def test_the_permission_refusal_comes_before_the_options_are_checked(world):
    async with world.bot() as bot:
        options = {"prompt": "x", "model": "nanobanana:nano-banana", "aspect_ratio": "21:9"}
        rec = await world.slash("image", options, app_permissions=VIEW_CHANNEL)
        callback = await world.fake.wait_for_callback(rec)

        assert callback.ephemeral and "21:9" not in callback.content
        assert "**Send Messages**, **Embed Links** and **Attach Files** permissions" in (
            callback.content
        )
        await assert_nothing_happened(world, bot, ALICE)


async def test_a_result_button_in_a_channel_that_now_denies_the_bot_files_is_refused(world):
    async with world.bot() as bot:
        await world.slash("image", {"prompt": "a pear", "model": MODEL})
        result = await world.result_message()
        await world.idle(bot)
        reroll = next(
            c["custom_id"]
            for row in result.components
            for c in row["components"]
            if c["custom_id"].startswith("bb:reroll:")
        )
        # A moderator takes Attach Files from the bot in this channel afterwards.
        deny = {"id": str(world.fake.bot_user.id), "type": 1, "allow": "0"}
        world.fake.channels[CHANNEL].overwrites.append({**deny, "deny": str(ATTACH_FILES)})

        press = await world.fake.press_button(GUILD, CHANNEL, BOB, result.id, reroll)
        callback = await world.fake.wait_for_callback(press)

        assert callback.ephemeral
        assert "missing the **Attach Files** permission here" in callback.content
        await assert_nothing_happened(world, bot, BOB)
        assert provider_tasks(world) == 1  # Alice's job only


async def test_the_invite_url_is_logged_once_at_start(world, caplog):
    with caplog.at_level(logging.INFO, logger="bananabot"):
        async with world.bot():
            await world.slash("credits")  # the bot is up and answering
            lines = [r.getMessage() for r in caplog.records if "invite the bot" in r.getMessage()]
    (line,) = lines
    value = REQUIRED_PERMISSIONS.value
    assert f"client_id={world.fake.app_id}" in line and f"permissions={value}" in line
    assert (
        f"https://discord.com/oauth2/authorize?client_id={world.fake.app_id}"
        f"&scope=bot%20applications.commands&permissions={value}"
    ) in line
