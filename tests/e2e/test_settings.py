"""/settings as a server's moderators and members use it: defaults the commands honour,
models and channels a server allows, a prompt blocklist, the cost-preview threshold; every
change stored, shown and posted to the log channel; refusals before anything is priced."""

from __future__ import annotations

import pytest

from providers.base import Kind
from quota.server_settings import GuildPolicy
from tests.e2e.conftest import ALICE, CHANNEL, GUILD, HELPER, LOG_CHANNEL, MOD

OTHER_CHANNEL = 900_000_000_000_000_004

CHANGES = [
    ("default", {"kind": "image", "model": "sandbox:sandbox-image"}),
    ("model", {"model": "nano-banana", "enabled": False}),
    ("channel", {"channel": CHANNEL, "allowed": True}),
    ("blocklist add", {"phrase": "banana"}),
    ("blocklist remove", {"phrase": "banana"}),
    ("blocklist list", {}),
    ("cost_preview", {"credits": 10}),
]


async def settings(world, sub: str, options: dict | None = None, *, user: int = MOD):
    rec = await world.slash("settings", options or {}, subcommand=sub, user=user)
    return await world.fake.wait_for_callback(rec)


async def log_lines(world, count: int) -> list[str]:
    messages = await world.fake.wait_until(
        lambda: (
            len(world.fake.messages.get(LOG_CHANNEL, [])) >= count
            and world.fake.messages[LOG_CHANNEL]
        ),
        what=f"{count} log lines",
    )
    return [m.content for m in messages]


async def charged_nothing(bot) -> bool:
    return (
        await bot.db.fetchall("SELECT 1 FROM ledger") == []
        and await bot.db.fetchall("SELECT 1 FROM jobs") == []
    )


@pytest.mark.parametrize(("sub", "options"), CHANGES)
async def test_members_cannot_change_settings(world, sub, options):
    async with world.bot() as bot:
        callback = await settings(world, sub, options, user=ALICE)
        assert callback.ephemeral and "Only moderators" in callback.content
        assert await bot.server_settings.policy(GUILD) == GuildPolicy(guild_id=GUILD)
        assert world.fake.messages.get(LOG_CHANNEL, []) == []


async def test_everyone_can_see_the_settings(world):
    async with world.bot():
        callback = await settings(world, "show", user=ALICE)
        assert callback.ephemeral
        fields = {f["name"]: f["value"] for f in callback.data["embeds"][0]["fields"]}
        assert "every channel" in fields["Channels"]
        assert fields["Cost preview"] == "off"
        assert "/image:" in fields["Default models"] and "bot default" in fields["Default models"]


async def test_a_moderator_role_may_change_settings(world):
    async with world.bot(MODERATOR_ROLE_IDS=str(900_000_000_000_000_020)):
        callback = await settings(world, "cost_preview", {"credits": 5}, user=HELPER)
        assert "Done" in callback.content


async def test_server_default_model_is_used_and_every_change_is_logged(world):
    async with world.bot(DEFAULT_IMAGE_MODEL="nananobanana:nano-banana") as bot:
        await world.slash("quota", {"channel": LOG_CHANNEL}, subcommand="logchannel", user=MOD)
        await log_lines(world, 1)
        callback = await settings(world, "default", {"kind": "image", "model": "sandbox-image"})
        assert callback.ephemeral and "sandbox-image" in callback.content
        await settings(world, "cost_preview", {"credits": 25})

        rec = await world.slash("image", {"prompt": "a banana"})
        await world.fake.wait_for_callback(rec)
        await world.result_message()
        await world.idle(bot)
        (job,) = await bot.db.fetchall("SELECT provider, model FROM jobs")
        assert (job["provider"], job["model"]) == ("sandbox", "sandbox-image")

        shown = await settings(world, "show", user=ALICE)
        fields = {f["name"]: f["value"] for f in shown.data["embeds"][0]["fields"]}
        assert "/image: `sandbox:sandbox-image` (this server's default)" in fields["Default models"]
        assert fields["Cost preview"] == "jobs of 25 credits or more"

        lines = await log_lines(world, 3)
        assert f"<@{MOD}> set this server's default /image model to `sandbox-image`" in lines[1]
        assert "cost preview to 25 credits or more (was off)" in lines[2]
        assert all(m.pings()["users"] == set() for m in world.fake.messages[LOG_CHANNEL])

        # cleared: the operator's DEFAULT_IMAGE_MODEL applies again
        await settings(world, "default", {"kind": "image", "model": "none"})
        rec = await world.slash("image", {"prompt": "another banana"})
        await world.fake.wait_for_callback(rec)
        await world.result_message(skip=1)
        await world.idle(bot)
        rows = await bot.db.fetchall("SELECT provider FROM jobs ORDER BY created_at")
        assert [r["provider"] for r in rows] == ["sandbox", "nananobanana"]


async def test_a_default_that_is_not_enabled_or_not_allowed_is_refused(world):
    async with world.bot() as bot:
        callback = await settings(world, "default", {"kind": "video", "model": "sandbox-image"})
        assert callback.ephemeral and "not an enabled video model" in callback.content
        await settings(world, "model", {"model": "sandbox:sandbox-image", "enabled": False})
        callback = await settings(world, "default", {"kind": "image", "model": "sandbox-image"})
        assert "not allowed in this server" in callback.content
        assert (await bot.server_settings.policy(GUILD)).defaults == {}


async def test_a_refused_model_is_refused_hidden_and_never_picked(world):
    async with world.bot() as bot:
        callback = await settings(world, "model", {"model": "nano-banana", "enabled": False})
        assert "refused `nano-banana`" in callback.content

        rec = await world.slash("image", {"prompt": "x", "model": "nananobanana:nano-banana"})
        callback = await world.fake.wait_for_callback(rec)
        assert callback.ephemeral
        assert "`nananobanana:nano-banana` is not allowed in this server" in callback.content
        assert await charged_nothing(bot)
        emulator = world.nananobanana
        assert not (getattr(emulator, "tasks", None) or getattr(emulator, "records", None))

        choices = await world.fake.invoke_autocomplete(
            GUILD, CHANNEL, ALICE, "image", {"model": "nano"}, focused="model"
        )
        values = [c["value"] for c in choices]
        assert values and not any(v.endswith(":nano-banana") for v in values)

        # one provider's allowed again, the id refused elsewhere
        await settings(world, "model", {"model": "nananobanana:nano-banana", "enabled": True})
        policy = await bot.server_settings.policy(GUILD)
        assert policy.model_rules == {"nano-banana": False, "nananobanana:nano-banana": True}
        rec = await world.slash("image", {"prompt": "x", "model": "nano-banana"})
        await world.fake.wait_for_callback(rec)
        await world.result_message()
        await world.idle(bot)
        (job,) = await bot.db.fetchall("SELECT provider FROM jobs")
        assert job["provider"] == "nananobanana"

        # allowing the id again drops every rule for it
        await settings(world, "model", {"model": "nano-banana", "enabled": True})
        assert (await bot.server_settings.policy(GUILD)).model_rules == {}


async def test_refusing_every_video_model_says_so(world):
    async with world.bot(SANDBOX_PROVIDER="1") as bot:
        for spec in bot.registry.models(Kind.VIDEO):
            await bot.server_settings.set_model(GUILD, spec.id, False, actor_id=MOD, known=[spec])
        rec = await world.slash("video", {"prompt": "a banana dancing"})
        callback = await world.fake.wait_for_callback(rec)
        assert callback.ephemeral and "No video model" in callback.content
        assert "/settings model" in callback.content
        assert await charged_nothing(bot)


async def test_generation_only_in_allowed_channels(world):
    world.fake.add_channel(GUILD, OTHER_CHANNEL, "art")
    async with world.bot() as bot:
        callback = await settings(world, "channel", {"channel": OTHER_CHANNEL, "allowed": True})
        assert f"only in <#{OTHER_CHANNEL}>" in callback.content
        rec = await world.slash("image", {"prompt": "x", "model": "sandbox:sandbox-image"})
        callback = await world.fake.wait_for_callback(rec)
        assert callback.ephemeral and f"<#{OTHER_CHANNEL}>" in callback.content
        assert "Nothing was charged" in callback.content
        assert await charged_nothing(bot)

        rec = await world.fake.invoke_slash(
            GUILD, OTHER_CHANNEL, ALICE, "image", {"prompt": "x", "model": "sandbox:sandbox-image"}
        )
        callback = await world.fake.wait_for_callback(rec)
        assert not callback.ephemeral  # the job card
        await world.idle(bot)

        await settings(world, "channel", {"channel": OTHER_CHANNEL, "allowed": False})
        rec = await world.slash("credits")  # other commands were never limited
        await world.fake.wait_for_callback(rec)
        rec = await world.slash("image", {"prompt": "y", "model": "sandbox:sandbox-image"})
        assert not (await world.fake.wait_for_callback(rec)).ephemeral  # everywhere again
        await world.idle(bot)


async def test_blocked_phrases_are_refused_without_echo_or_charge(world):
    async with world.bot() as bot:
        await settings(world, "blocklist add", {"phrase": "  Purple   Monkey "})
        await settings(world, "blocklist add", {"phrase": "gore"})
        listed = await settings(world, "blocklist list")
        assert "purple monkey" in listed.data["embeds"][0]["description"]

        for prompt, kind in (
            ("A PURPLE\nmonkey on a bike", "image"),
            ("some gore, please", "image"),
            ("a calm sea", "video"),  # the negative prompt counts too
        ):
            options = {"prompt": prompt}
            if kind == "video":
                options["negative_prompt"] = "no Gore"
            rec = await world.slash(kind, options)
            callback = await world.fake.wait_for_callback(rec)
            assert callback.ephemeral and "does not allow" in callback.content
            assert "monkey" not in callback.content.lower() and "gore" not in callback.content
        assert await charged_nothing(bot)

        # word boundaries: "gorey" and "purple monkeys" are other words
        rec = await world.slash(
            "image", {"prompt": "gorey purple monkeys", "model": "sandbox:sandbox-image"}
        )
        assert not (await world.fake.wait_for_callback(rec)).ephemeral
        await world.idle(bot)

        removed = await settings(world, "blocklist remove", {"phrase": "GORE"})
        assert "1 phrase left" in removed.content
        again = await settings(world, "blocklist remove", {"phrase": "gore"})
        assert "not on the blocklist" in again.content

        shown = await settings(world, "show", user=ALICE)
        text = str(shown.data)
        assert "1 phrase" in text and "purple" not in text
