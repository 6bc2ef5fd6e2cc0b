"""The contract end to end: the real bot, worst-case inputs, and the strict Discord emulator.

The emulator refuses every payload Discord would (tests/fakediscord/validation.py), so any
refused request in these runs is a payload the bot should not have built.
"""

from __future__ import annotations

from tests.e2e.conftest import ALICE, GUILD, LOG_CHANNEL, MOD

LONG_PROMPT = ("a banana in a tuxedo " * 300)[:6000]
LONG_MODEL = "nano-banana-" + "x" * 140  # longer than an autocomplete value may be
LONG_NAME_MODEL = "nano-banana-long"


def refused(world) -> list[str]:
    return [f"{r.method} {r.path} -> {r.status}" for r in world.fake.requests if r.status >= 400]


async def test_worst_case_inputs_pass_discords_validation_everywhere(world):
    world.nananobanana.models += [
        {"name": LONG_MODEL, "displayName": "L" * 300, "creditsCost": 1},
        {"name": LONG_NAME_MODEL, "displayName": "N" * 300, "creditsCost": 1},
    ]
    world.aivideoapi.task_seconds = 2.0  # still running while /credits looks
    async with world.bot() as bot:
        rec = await world.slash(
            "quota", {"channel": LOG_CHANNEL}, subcommand="logchannel", user=MOD
        )
        await world.fake.wait_for_callback(rec)

        # the longest prompt Discord lets a member type, on a model that takes it
        rec = await world.slash(
            "image", {"prompt": LONG_PROMPT, "model": "aivideoapi:nano-banana-2", "count": 1}
        )
        card = await world.fake.wait_for_callback(rec)
        assert not card.ephemeral and card.data["embeds"]

        # a moderator's /credits while the member has a job running
        rec = await world.slash("credits", {"user": ALICE}, user=MOD)
        await world.fake.wait_until(lambda: rec.responded and (rec.followups or rec.original))

        # a refusal that echoes 6000 typed characters
        rec = await world.slash(
            "image",
            {"prompt": "x", "model": "nananobanana:nano-banana", "aspect_ratio": "r" * 6000},
        )
        refusal = await world.fake.wait_for_callback(rec)
        assert refusal.ephemeral and len(refusal.content) <= 2000

        # autocomplete over a model list with ids and names past Discord's 100 characters
        choices = await world.fake.invoke_autocomplete(
            GUILD, rec.channel_id, ALICE, "image", {"prompt": "x", "model": "nano"}, focused="model"
        )
        values = [c["value"] for c in choices]
        assert f"nananobanana:{LONG_NAME_MODEL}" in values
        assert all(len(c["name"]) <= 100 and len(c["value"]) <= 100 for c in choices)

        # a moderator action with the longest reason, recorded in the log channel
        rec = await world.slash(
            "quota",
            {"user": ALICE, "amount": 1_000_000, "reason": "r" * 200},
            subcommand="grant",
            user=MOD,
        )
        await world.fake.wait_for_callback(rec)

        result = await world.result_message()
        assert LONG_PROMPT[:100] in result.embeds[0]["description"]
        await world.idle(bot)

    assert world.fake.channel_messages(LOG_CHANNEL)  # log posts went through
    assert refused(world) == []
    assert world.fake.bot_errors == []
