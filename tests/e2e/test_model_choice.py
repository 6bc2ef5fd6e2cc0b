"""Which model a command uses is one answer: the options' autocomplete describes the model
/video then runs, and /credits prices that same model, whichever default decides it."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ALICE, CHANNEL, GUILD, MOD


async def _video_model_everywhere(world, bot) -> tuple[list[int], str, tuple[str, str]]:
    """(durations autocomplete offers, the model /credits prices for /video, the model
    a /video with only a prompt runs), as a member sees them."""
    durations = await world.fake.invoke_autocomplete(
        GUILD, CHANNEL, ALICE, "video", {"duration": ""}, focused="duration"
    )
    rec = await world.slash("credits")
    credits = await world.fake.wait_for_callback(rec)
    fields = {f["name"]: f["value"] for f in credits.data["embeds"][0]["fields"]}
    (priced,) = [
        line for line in fields["Prices (default options)"].splitlines() if "/video" in line
    ]

    rec = await world.slash("video", {"prompt": "a banana on a skateboard"})
    callback = await world.fake.wait_for_callback(rec)
    assert not callback.ephemeral, callback.content
    await world.result_message()
    await world.idle(bot)
    (job,) = await bot.db.fetchall("SELECT provider, model FROM jobs")
    return [c["value"] for c in durations], priced, (job["provider"], job["model"])


@pytest.mark.parametrize(
    ("operator_default", "server_default", "expected"),
    [
        (None, None, "nanobanana:veo-3.1-fast"),  # the first enabled video model
        ("nanobanana:grok-video", None, "nanobanana:grok-video"),  # DEFAULT_VIDEO_MODEL
        (  # the server's /settings default comes before the operator's
            "nanobanana:grok-video",
            "nanobananavideo:nanobanana-video",
            "nanobananavideo:nanobanana-video",
        ),
    ],
)
async def test_autocomplete_video_and_credits_name_the_same_model(
    world, operator_default, server_default, expected
):
    overrides = {"DEFAULT_VIDEO_MODEL": operator_default} if operator_default else {}
    async with world.bot(**overrides) as bot:
        if server_default:
            rec = await world.slash(
                "settings",
                {"kind": "video", "model": server_default},
                subcommand="default",
                user=MOD,
            )
            assert not (await world.fake.wait_for_callback(rec)).content.startswith("Only")
        provider, _, model = expected.partition(":")
        spec = bot.registry.get(provider).model(model)

        durations, priced, ran = await _video_model_everywhere(world, bot)

    assert durations == list(spec.durations)
    assert priced.endswith(f"(`{model}`)"), priced
    assert ran == (provider, model)


async def test_the_three_cases_tell_the_models_apart(world):
    """The test above could not pass by accident: each case's model offers other durations."""
    async with world.bot() as bot:
        durations = {
            qualified: bot.registry.get(qualified.split(":")[0]).model(qualified.split(":")[1])
            for qualified in (
                "nanobanana:veo-3.1-fast",
                "nanobanana:grok-video",
                "nanobananavideo:nanobanana-video",
            )
        }
    assert len({spec.durations for spec in durations.values()}) == 3
