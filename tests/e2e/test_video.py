"""/video and /animate end to end: both video providers, attachments and URLs, long jobs."""

from __future__ import annotations

from db.ledger import consistency_problems
from tests.e2e.conftest import ALICE, CHANNEL, GUILD

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def test_video_on_nanobananavideo(world):
    async with world.bot() as bot:
        rec = await world.slash(
            "video",
            {
                "prompt": "a banana surfing",
                "model": "nanobananavideo:nanobanana-video",
                "duration": 10,
                "resolution": "1080p",
            },
        )
        callback = await world.fake.wait_for_callback(rec)
        assert not callback.ephemeral
        result = await world.result_message()
        (name,) = result.files
        assert name.endswith(".mp4")
        await world.idle(bot)
        # documented formula: 5 + 2 (1080p) + 5 (seconds over 5)
        assert (await bot.quota.balance(GUILD, ALICE)).used == 12
        assert len(world.nanobananavideo.videos) == 1


async def test_video_on_nanobanana(world):
    async with world.bot() as bot:
        rec = await world.slash(
            "video",
            {
                "prompt": "a banana dancing",
                "model": "nanobanana:veo-3.1-fast",
                "duration": 8,
                "audio": True,
            },
        )
        await world.fake.wait_for_callback(rec)
        result = await world.result_message()
        assert next(iter(result.files)).endswith(".mp4")
        await world.idle(bot)
        assert (await bot.quota.balance(GUILD, ALICE)).used == 30  # 720p, 8 s, audio
        assert await consistency_problems(bot.db) == []


async def test_duration_the_model_lacks_lists_the_allowed_ones(world):
    async with world.bot():
        rec = await world.slash(
            "video", {"prompt": "x", "model": "nanobanana:veo-3.1-fast", "duration": 5}
        )
        callback = await world.fake.wait_for_callback(rec)
        assert callback.ephemeral
        assert "4s, 6s, 8s" in callback.content
        assert world.nanobanana.tasks == {}


async def test_animate_with_attachment_and_with_url(world):
    async with world.bot() as bot:
        rec = await world.slash(
            "animate",
            {"model": "nanobananavideo:seedance2", "motion": "high"},
            attachments=[{"filename": "cat.png", "data": PNG, "content_type": "image/png"}],
        )
        await world.fake.wait_for_callback(rec)
        await world.result_message()
        rec = await world.slash(
            "animate",
            {
                "image_url": "https://images.example/cat.png",
                "model": "nanobananavideo:sora2",
                "duration": 15,
            },
        )
        await world.fake.wait_for_callback(rec)
        await world.result_message(skip=1)
        await world.idle(bot)
        bodies = [
            b
            for (_m, path, b) in world.nanobananavideo.requests
            if path.endswith("image-to-video.php")
        ]
        assert bodies[0]["video_model"] == "seedance2" and bodies[0]["motion_intensity"] == "high"
        assert bodies[0]["image_url"].startswith("https://cdn.discordapp.test/attachments/")
        assert bodies[1]["image_url"] == "https://images.example/cat.png"
        assert bodies[1]["video_model"] == "sora2" and bodies[1]["duration"] == 15


async def test_animate_needs_exactly_one_image(world):
    async with world.bot():
        rec = await world.slash("animate", {"prompt": "move"})
        callback = await world.fake.wait_for_callback(rec)
        assert callback.ephemeral and "exactly one image" in callback.content
        rec = await world.slash("animate", {"image_url": "http://insecure.example/x.png"})
        callback = await world.fake.wait_for_callback(rec)
        assert callback.ephemeral and "https" in callback.content
        assert world.nanobananavideo.videos == {} and world.nanobanana.tasks == {}


async def test_oversized_video_is_posted_as_a_link_with_thumbnail(world):
    world.nanobananavideo.large_results = True  # ~12 MB, over the server's 10 MiB limit
    async with world.bot() as bot:
        rec = await world.slash(
            "video", {"prompt": "big banana", "model": "nanobananavideo:nanobanana-video"}
        )
        await world.fake.wait_for_callback(rec)
        result = await world.result_message()
        assert result.files == {}
        download = next(f for f in result.embeds[0]["fields"] if f["name"] == "Download")
        assert (
            "too large" in download["value"] and world.nanobananavideo.base_url in download["value"]
        )
        assert result.embeds[0]["image"]["url"].endswith(".png")  # the provider's thumbnail
        await world.idle(bot)


async def test_job_longer_than_the_interaction_token_is_delivered_in_the_channel(world):
    world.nanobananavideo.task_seconds = 2.5  # at speed 600: 25 minutes of bot time
    async with world.bot(speed=600, VIDEO_DEADLINE_MINUTES="60") as bot:
        rec = await world.slash(
            "video", {"prompt": "a long banana saga", "model": "nanobananavideo:nanobanana-video"}
        )
        await world.fake.wait_for_callback(rec)
        started = bot.timebase.now()
        await world.fake.wait_until(
            lambda: bot.timebase.now() > started + 15 * 60, what="15 minutes of bot time"
        )
        world.fake.clock.advance(15 * 60)  # Discord now refuses the interaction token
        result = await world.result_message()
        assert result.files and result.pings()["users"] == {ALICE}
        await world.idle(bot)
        refused = [e for e in world.fake.webhook_edits if e.status and e.status >= 400]
        assert refused == []  # the bot stopped editing before the token expired
        assert (await bot.quota.balance(GUILD, ALICE)).used == 5


async def test_animate_on_nanobanana_with_attachment_and_with_url(world):
    async with world.bot() as bot:
        rec = await world.slash(
            "animate",
            {"model": "nanobanana:veo-3.1-fast", "prompt": "slow zoom", "duration": 6},
            attachments=[{"filename": "pear.png", "data": PNG, "content_type": "image/png"}],
        )
        await world.fake.wait_for_callback(rec)
        await world.result_message()
        rec = await world.slash(
            "animate", {"image_url": "https://images.example/pear.png", "model": "seedance-1.5"}
        )
        await world.fake.wait_for_callback(rec)
        second = await world.result_message(skip=1)
        assert next(iter(second.files)).endswith(".mp4")
        await world.idle(bot)
        bodies = [
            b for (_m, path, b) in world.nanobanana.requests if path == "/api/v1/videos/generate"
        ]
        assert bodies[0]["model_id"] == "veo-3.1-fast" and bodies[0]["duration"] == 6
        assert bodies[0]["image_url"].startswith("https://cdn.discordapp.test/attachments/")
        assert bodies[1]["model_id"] == "seedance-1.5"
        assert bodies[1]["image_url"] == "https://images.example/pear.png"
        balance = await bot.quota.balance(GUILD, ALICE)
        assert balance.reserved == 0 and balance.used > 0
        assert await consistency_problems(bot.db) == []


async def test_animate_refuses_a_model_without_image_input(world):
    async with world.bot():
        rec = await world.slash(
            "animate", {"image_url": "https://images.example/x.png", "model": "sandbox-image"}
        )
        callback = await world.fake.wait_for_callback(rec)
        assert callback.ephemeral and "sandbox-image" in callback.content


ONLY_NANOBANANAVIDEO = {
    "NANOBANANA_API_KEY": "",
    "AIVIDEOAPI_API_KEY": "",
    "NANANOBANANA_API_KEY": "",
    "SANDBOX_PROVIDER": "0",
}


def image_to_video_bodies(world) -> list[dict]:
    return [
        body
        for (_method, path, body) in world.nanobananavideo.requests
        if path.endswith("image-to-video.php")
    ]


async def test_animate_without_a_model_on_nanobananavideo_is_seedance2_with_motion(world):
    async with world.bot(**ONLY_NANOBANANAVIDEO) as bot:
        assert list(bot.registry.providers) == ["nanobananavideo"]
        rec = await world.slash(
            "animate", {"image_url": "https://images.example/cat.png", "motion": "high"}
        )
        callback = await world.fake.wait_for_callback(rec)
        assert not callback.ephemeral  # accepted, not refused
        await world.result_message()
        rec = await world.slash(
            "animate",
            {"image_url": "https://images.example/dog.png", "motion": "low", "duration": 6},
        )
        await world.fake.wait_for_callback(rec)
        await world.result_message(skip=1)
        await world.idle(bot)
    first, second = image_to_video_bodies(world)
    assert first["video_model"] == "seedance2" and first["motion_intensity"] == "high"
    assert "image_urls" not in first  # 002's body, not 000's
    assert second["video_model"] == "seedance2" and second["motion_intensity"] == "low"
    assert second["duration"] == 6


async def test_animate_with_motion_and_no_model_goes_to_a_model_that_takes_motion(world):
    async with world.bot() as bot:  # every provider: nanobanana's video models come first
        rec = await world.slash(
            "animate", {"image_url": "https://images.example/cat.png", "motion": "low"}
        )
        callback = await world.fake.wait_for_callback(rec)
        assert not callback.ephemeral, callback.content
        await world.result_message()
        await world.idle(bot)
        (job,) = await bot.db.fetchall("SELECT provider, model FROM jobs")
        assert (job["provider"], job["model"]) == ("nanobananavideo", "seedance2")
    (body,) = image_to_video_bodies(world)
    assert body["motion_intensity"] == "low"
    assert world.nanobanana.tasks == {}


async def test_animate_offers_motion_values_without_a_model_chosen(world):
    async with world.bot():
        choices = await world.fake.invoke_autocomplete(
            GUILD, CHANNEL, ALICE, "animate", {"motion": ""}, focused="motion"
        )
        assert [c["value"] for c in choices] == ["low", "medium", "high"]
