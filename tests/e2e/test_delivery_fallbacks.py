"""A finished result always reaches the member, whatever Discord refuses.

Each test injects one refusal on the result's post and checks what the member sees, the
credits, the provider tasks created and the messages posted.
"""

from __future__ import annotations

from db.ledger import consistency_problems
from jobs.download import Fetched, MediaFetcher
from jobs.records import JobState
from tests.e2e.conftest import ALICE, CHANNEL, GUILD
from tests.fakediscord import MessageRecord

MODEL = "nananobanana:nano-banana"  # 1 credit, one task per job
CHANNEL_POST = rf"/channels/{CHANNEL}/messages$"
FOLLOWUP = r"/webhooks/\d+/[^/]+$"
TOO_LARGE = {"code": 40005, "message": "Request entity too large"}
INVALID_FORM = {
    "code": 50035,
    "message": "Invalid Form Body",
    "errors": {"embeds": {"0": {"_errors": [{"code": "X", "message": "injected"}]}}},
}
MISSING_ACCESS = {"code": 50001, "message": "Missing Access"}
UNKNOWN_CHANNEL = {"code": 10003, "message": "Unknown Channel"}
INVALID_TOKEN = {"code": 50027, "message": "Invalid Webhook Token"}
CANNOT_DM = {"code": 50007, "message": "Cannot send messages to this user"}


def results_in(world, channel_id: int) -> list[MessageRecord]:
    return [
        m
        for m in world.fake.channel_messages(channel_id)
        if (m.content or "").startswith(f"<@{ALICE}> your")
    ]


async def only_result(world, channel_id: int) -> MessageRecord:
    await world.fake.wait_until(lambda: results_in(world, channel_id), what="a result")
    (result,) = results_in(world, channel_id)
    return result


async def assert_charged_once(world, bot, *, charged: bool = True) -> None:
    balance = await bot.quota.balance(GUILD, ALICE)
    assert (balance.used, balance.reserved) == ((1 if charged else 0), 0)
    assert len(world.nananobanana.records) == 1  # one provider task, never a second
    assert await consistency_problems(bot.db) == []


async def test_an_upload_discord_refuses_is_posted_as_links(world):
    world.fake.fail_next("POST", CHANNEL_POST, 413, TOO_LARGE)
    async with world.bot() as bot:
        await world.slash("image", {"prompt": "a pear", "model": MODEL})
        result = await world.result_message()
        await world.idle(bot)

        assert "Discord would not take the file upload here" in result.content
        assert result.files == {}
        download = next(f for f in result.embeds[0]["fields"] if f["name"] == "Download")
        assert "http://127.0.0.1" in download["value"]
        assert result.pings()["users"] == {ALICE}
        assert len(results_in(world, CHANNEL)) == 1
        await assert_charged_once(world, bot)


async def test_a_message_discord_refuses_twice_arrives_as_plain_text(world):
    world.fake.fail_next("POST", CHANNEL_POST, 400, INVALID_FORM, times=2)
    async with world.bot() as bot:
        await world.slash("image", {"prompt": "a pear", "model": MODEL})
        result = await only_result(world, CHANNEL)
        await world.idle(bot)

        assert "sent as plain text" in result.content
        assert result.embeds == [] and result.files == {} and result.components == []
        assert "<http://127.0.0.1" in result.content and "a pear" in result.content
        assert len(results_in(world, CHANNEL)) == 1
        await assert_charged_once(world, bot)


async def test_no_access_to_the_channel_delivers_as_the_interactions_followup(world):
    world.fake.fail_next("POST", CHANNEL_POST, 403, MISSING_ACCESS, times=3)
    async with world.bot() as bot:
        rec = await world.slash("image", {"prompt": "a pear", "model": MODEL})
        await world.fake.wait_until(lambda: rec.followups, what="a followup")
        await world.idle(bot)

        (followup,) = rec.followups
        assert followup.content.startswith(f"<@{ALICE}> your image is ready!")
        assert f"I could not post in <#{CHANNEL}>" in followup.content
        ((name, data),) = followup.files.items()
        assert name.endswith(".png") and data
        assert not followup.ephemeral
        assert [m for m in results_in(world, CHANNEL) if m.interaction_id is None] == []
        await assert_charged_once(world, bot)


async def test_a_gone_channel_and_an_expired_token_deliver_by_dm(world):
    world.fake.fail_next("POST", CHANNEL_POST, 404, UNKNOWN_CHANNEL, times=3)
    world.fake.fail_next("POST", FOLLOWUP, 401, INVALID_TOKEN, times=3)
    async with world.bot() as bot:
        await world.slash("image", {"prompt": "a pear", "model": MODEL})
        result = await only_result(world, world.fake.dm_channel(ALICE).id)
        await world.idle(bot)

        assert (
            "I could not post in" in result.content and "so your result is here" in result.content
        )
        assert len(result.files) == 1
        assert result.components == []  # the buttons start jobs in a server, not in a DM
        await assert_charged_once(world, bot)


async def test_a_result_refused_everywhere_is_refunded_and_kept_with_the_job(world):
    world.fake.fail_next("POST", CHANNEL_POST, 403, MISSING_ACCESS, times=3)
    world.fake.fail_next("POST", FOLLOWUP, 401, INVALID_TOKEN, times=3)
    world.fake.fail_next("POST", r"/users/@me/channels$", 403, CANNOT_DM, times=3)
    async with world.bot() as bot:
        rec = await world.slash("image", {"prompt": "a pear", "model": MODEL})
        await world.fake.wait_until(lambda: world.nananobanana.records, what="a task")
        await world.idle(bot)

        card = rec.original.embeds[0]
        assert card["title"] == "Could not make your image"
        assert "not in the channel" in card["description"] and "DMs" in card["description"]
        assert "returned" in card["description"]
        job = await bot.engine.jobs.get(card["footer"]["text"].removeprefix("job "))
        assert job.state is JobState.FAILED and job.media  # what was made is kept
        await assert_charged_once(world, bot, charged=False)


async def test_a_rate_limited_post_waits_for_retry_after_and_posts_once(world):
    world.fake.fail_next("POST", CHANNEL_POST, 429, {"retry_after": 0.2})
    async with world.bot() as bot:
        await world.slash("image", {"prompt": "a pear", "model": MODEL})
        result = await world.result_message()
        await world.idle(bot)

        assert len(result.files) == 1 and "Discord" not in result.content
        posts = [
            r
            for r in world.fake.requests
            if r.method == "POST" and r.path.endswith(f"/channels/{CHANNEL}/messages")
        ]
        assert [r.status for r in posts] == [429, 200]
        assert len(results_in(world, CHANNEL)) == 1
        await assert_charged_once(world, bot)


async def test_files_are_sized_for_the_server_not_for_the_members_nitro(world):
    """The interaction's attachment limit counts the member's Nitro, but the result is a bot
    message in the channel, bound by the server's limit (10 MiB without boosts)."""
    nitro = 900_000_000_000_000_050
    world.fake.add_member(GUILD, nitro, "nitro", upload_limit=500 * 1024 * 1024)
    world.nananobanana.pad_results_to = 11 * 1024 * 1024  # the server allows 10 MiB
    async with world.bot() as bot:
        rec = await world.slash("image", {"prompt": "a pear", "model": MODEL}, user=nitro)
        assert rec.payload["attachment_size_limit"] == 500 * 1024 * 1024
        result = await world.result_message(user=nitro)
        await world.idle(bot)

        assert result.files == {}
        download = next(f for f in result.embeds[0]["fields"] if f["name"] == "Download")
        assert "too large to upload in this server" in download["value"]
        assert all(r.status != 413 for r in world.fake.requests)  # never tried past the limit


async def test_a_discord_server_error_is_retried_and_the_result_posted_once(world):
    world.fake.fail_next("POST", CHANNEL_POST, 502, {"code": 0, "message": "Bad Gateway"})
    async with world.bot() as bot:
        await world.slash("image", {"prompt": "a pear", "model": MODEL})
        result = await world.result_message()
        await world.idle(bot)

        assert len(result.files) == 1 and "Discord" not in result.content
        posts = [
            r.status
            for r in world.fake.requests
            if r.method == "POST" and r.path.endswith(f"/channels/{CHANNEL}/messages")
        ]
        assert posts == [502, 200]
        assert len(results_in(world, CHANNEL)) == 1
        await assert_charged_once(world, bot)


class RecordingFetcher(MediaFetcher):
    """The bot's fetcher, noting where each downloaded file was kept."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.kept: list[tuple[bool, int]] = []  # (in a temporary file, size)

    async def fetch_all(self, *args, **kwargs) -> Fetched:
        fetched = await super().fetch_all(*args, **kwargs)
        self.kept += [(f.on_disk, f.size) for f in fetched.files]
        return fetched


async def test_a_large_result_spooled_to_disk_is_posted_intact_after_a_refusal(world, tmp_path):
    spool = tmp_path / "spool"
    spool.mkdir()
    world.nananobanana.large_results = True  # ~3 MB PNG
    fetcher = RecordingFetcher(
        trusted_origins=world.settings().media_trusted_origins,
        spool_over=256 * 1024,
        spool_dir=str(spool),
    )
    world.fake.fail_next("POST", CHANNEL_POST, 403, MISSING_ACCESS, times=3)
    async with world.bot(fetcher=fetcher) as bot:
        rec = await world.slash("image", {"prompt": "a pear", "model": MODEL})
        await world.fake.wait_until(lambda: rec.followups, what="a followup")
        await world.idle(bot)

        ((name, data),) = rec.followups[0].files.items()
        (record,) = world.nananobanana.records.values()
        served = next(body for body, _type in world.nananobanana.files.values())
        assert name.endswith(".png") and data == served  # read again from the start
        assert fetcher.kept == [(True, len(served))] and len(served) > 1024 * 1024
        assert list(spool.iterdir()) == []  # removed when the delivery ended
        assert record  # one provider task
        await assert_charged_once(world, bot)


async def test_a_result_that_may_not_be_fetched_is_named_not_linked(world):
    world.nananobanana.redirect_file = lambda name: "http://10.0.0.1/internal.png"
    async with world.bot() as bot:
        rec = await world.slash("image", {"prompt": "a pear", "model": MODEL})
        await world.fake.wait_until(lambda: world.nananobanana.records, what="a task")
        await world.idle(bot)

        card = rec.original.embeds[0]
        assert card["title"] == "Could not make your image"
        assert "could not be fetched safely" in card["description"]
        assert "10.0.0.1" not in str(world.fake.messages) + str(rec.original)
        await assert_charged_once(world, bot, charged=False)


async def test_a_result_partly_refused_says_so_in_the_result_message(world):
    world.nanobanana.redirect_file = lambda name: (
        "https://169.254.169.254/latest/meta-data" if name.endswith("-1.png") else None
    )
    async with world.bot() as bot:
        await world.slash(
            "image", {"prompt": "two pears", "model": "nanobanana:nano-banana", "count": 2}
        )
        result = await world.result_message()
        await world.idle(bot)

        assert "1 file of this result could not be fetched safely" in result.content
        assert len(result.files) == 1
        assert "169.254" not in str(result)
        assert len(world.nanobanana.tasks) == 1
