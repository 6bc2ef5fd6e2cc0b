"""/show: one finished job posted again, to the member alone or in the channel, with working
buttons; other members' jobs for moderators only; the job option autocompletes."""

from __future__ import annotations

import json

import httpx

from db.ledger import consistency_problems
from jobs.download import MediaFetcher
from tests.e2e.conftest import ALICE, BOB, CHANNEL, GUILD, LOG_CHANNEL, MOD
from tests.e2e.stored import store_history

CDN = "https://cdn.discordapp.test"
MODEL = "nananobanana:nano-banana"


class CdnRoute(httpx.AsyncBaseTransport):
    """Sends requests for the emulated Discord CDN's host to the Discord emulator (which
    serves the attachments it was sent); everything else goes out as it is."""

    def __init__(self, fake) -> None:
        self.real = httpx.AsyncHTTPTransport()
        self.base = httpx.URL(fake.base_url)
        self.fetched: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == httpx.URL(CDN).host:
            self.fetched.append(str(request.url))
            request.url = request.url.copy_with(
                scheme=self.base.scheme, host=self.base.host, port=self.base.port
            )
        return await self.real.handle_async_request(request)

    async def aclose(self) -> None:
        await self.real.aclose()


def cdn_fetcher(world) -> tuple[MediaFetcher, CdnRoute]:
    route = CdnRoute(world.fake)
    trusted = [*world.settings().media_trusted_origins, CDN]
    return MediaFetcher(trusted_origins=trusted, transport=route), route


async def first_followup(world, rec):
    return await world.fake.wait_until(
        lambda: rec.followups and rec.followups[0], timeout=15, what="the followup"
    )


def button(message, prefix: str) -> str:
    ids = [c["custom_id"] for row in message.components for c in row["components"]]
    return next(i for i in ids if i.startswith(prefix))


async def made(world, bot, prompt: str = "a banana in a hat"):
    """Alice's finished /image job: (its id, the delivered message)."""
    await world.slash("image", {"prompt": prompt, "model": MODEL})
    result = await world.result_message()
    await world.idle(bot)
    (row,) = await bot.db.fetchall("SELECT id FROM jobs WHERE result_message_id = ?", (result.id,))
    return row["id"], result


async def test_show_reposts_an_own_job_to_the_member_with_working_buttons(world):
    fetcher, route = cdn_fetcher(world)
    async with world.bot(fetcher=fetcher) as bot:
        job_id, result = await made(world, bot)
        ((_, original),) = result.files.items()
        provider_reads = len(world.nananobanana.file_headers)

        rec = await world.slash("show", {"job": job_id})
        deferral = await world.fake.wait_for_callback(rec)
        assert deferral.type == 5 and deferral.ephemeral  # nothing public until it is ready
        shown = await first_followup(world, rec)
        assert shown.ephemeral and shown.pings()["users"] == set()
        assert shown.content.startswith(f"Job `{job_id}`, made <t:")
        ((_, data),) = shown.files.items()
        assert data == original  # the delivered file, fetched again from Discord
        assert len(route.fetched) == 1  # the delivered file, asked of the (emulated) CDN
        assert len(world.nananobanana.file_headers) == provider_reads  # not from the provider
        assert "a banana in a hat" in shown.embeds[0]["description"]
        assert button(shown, "bb:animate:") and button(shown, "bb:edit:")

        press = await world.fake.press_button(
            GUILD, CHANNEL, ALICE, shown.id, button(shown, "bb:reroll:")
        )
        card = await world.fake.wait_for_callback(press)
        assert card.type == 4 and not card.ephemeral
        await world.result_message(skip=1)
        await world.idle(bot)
        assert len(world.nananobanana.records) == 2
        assert (await bot.quota.balance(GUILD, ALICE)).used == 2
        assert await consistency_problems(bot.db) == []


async def test_show_public_posts_in_the_channel_and_its_edit_button_works(world):
    fetcher, _ = cdn_fetcher(world)
    async with world.bot(fetcher=fetcher) as bot:
        job_id, result = await made(world, bot)

        rec = await world.slash("show", {"job": job_id, "public": True})
        await world.fake.wait_for_callback(rec)
        posted = await world.fake.wait_for_message(
            CHANNEL, lambda m: (m.content or "").startswith(f"<@{ALICE}> shows their job")
        )
        assert not posted.ephemeral and posted.interaction_id is None  # a channel message
        assert posted.pings() == {"users": set(), "roles": set(), "everyone": False}
        assert posted.files and posted.id != result.id
        note = await first_followup(world, rec)
        assert note.ephemeral
        assert f"https://discord.com/channels/{GUILD}/{CHANNEL}/{posted.id}" in note.content

        press = await world.fake.press_button(
            GUILD, CHANNEL, BOB, posted.id, button(posted, "bb:edit:")
        )
        await world.fake.wait_for_callback(press)
        submitted = await world.fake.submit_modal(press, {"instruction": "give it a scarf"})
        await world.fake.wait_for_callback(submitted)
        await world.result_message(user=BOB)
        await world.idle(bot)
        (job,) = await bot.db.fetchall("SELECT * FROM jobs WHERE user_id = ?", (BOB,))
        assert job["command"] == "edit"
        assert json.loads(job["request"])["reference_urls"] == [posted.attachments[0].url]
        assert len(world.nananobanana.records) == 2
        assert (await bot.quota.balance(GUILD, BOB)).used == job["charged"]


async def test_another_members_job_is_refused_to_a_member_and_shown_to_a_moderator(world):
    fetcher, _ = cdn_fetcher(world)
    async with world.bot(fetcher=fetcher) as bot:
        job_id, _ = await made(world, bot)

        rec = await world.slash("show", {"job": job_id, "public": True}, user=BOB)
        refusal = await world.fake.wait_for_callback(rec)
        assert refusal.ephemeral
        assert refusal.content == (
            f"Job `{job_id}` belongs to another member; only moderators can show other "
            "members' jobs."
        )

        rec = await world.slash("show", {"job": job_id}, user=MOD)
        await world.fake.wait_for_callback(rec)
        shown = await first_followup(world, rec)
        assert shown.ephemeral and shown.files and button(shown, "bb:reroll:")
        assert len(world.nananobanana.records) == 1
        assert (await bot.quota.balance(GUILD, MOD)).used == 0


async def test_unknown_and_unfinished_jobs_are_refused_saying_why(world):
    async with world.bot() as bot:
        (first, failed, running) = await store_history(bot, 3, before=bot.timebase.now())
        for job_id, expected in (
            ("deadbeef", "There is no job with that id in this server."),
            ("not a job", "There is no job with that id in this server."),
            (failed.id, f"Job `{failed.id}` failed, so there is nothing to show"),
            (running.id, f"Job `{running.id}` has not finished yet"),
        ):
            rec = await world.slash("show", {"job": job_id})
            refusal = await world.fake.wait_for_callback(rec)
            assert refusal.ephemeral and refusal.content.startswith(expected), refusal.content
        # a completed job whose message is gone and whose stored link no longer answers
        rec = await world.slash("show", {"job": first.id})
        await world.fake.wait_for_callback(rec)
        said = await first_followup(world, rec)
        assert said.ephemeral and not said.files
        assert said.content.startswith(f"The files of job `{first.id}` can no longer be fetched")


async def test_a_deleted_result_is_shown_from_the_stored_media_until_that_is_gone(world):
    async with world.bot() as bot:
        job_id, result = await made(world, bot)
        result.deleted = True  # someone deleted the result message
        reads = len(world.nananobanana.file_headers)

        rec = await world.slash("show", {"job": job_id})
        await world.fake.wait_for_callback(rec)
        shown = await first_followup(world, rec)
        assert shown.files and button(shown, "bb:edit:")
        assert len(world.nananobanana.file_headers) == reads + 1  # the provider's link

        world.nananobanana.files.clear()  # and now the provider's link has expired
        rec = await world.slash("show", {"job": job_id})
        await world.fake.wait_for_callback(rec)
        said = await first_followup(world, rec)
        assert said.ephemeral and not said.files
        assert "the result message is gone and the provider's links have expired" in said.content


async def test_the_job_option_offers_the_members_own_finished_jobs_newest_first(world):
    async with world.bot() as bot:
        job_id, _ = await made(world, bot, "the newest banana " + "very long " * 20)
        (first,) = await bot.db.fetchall("SELECT MIN(created_at) FROM jobs")
        older = await store_history(bot, 80, before=first[0])
        rec = await world.slash("image", {"prompt": "bob's", "model": MODEL}, user=BOB)
        await world.fake.wait_for_callback(rec)
        await world.idle(bot)

        choices = await world.fake.invoke_autocomplete(
            GUILD, CHANNEL, ALICE, "show", {"job": ""}, focused="job"
        )
        finished = [job.id for job in older if job.state.value == "completed"]
        assert [c["value"] for c in choices] == [job_id, *finished[:24]]
        assert all(len(c["name"]) <= 100 for c in choices)
        assert choices[0]["name"].startswith(f"{job_id} · the newest banana very long")
        assert choices[0]["name"].endswith(" · nano-banana")
        assert choices[1]["name"] == f"{finished[0]} · old 0 · nano-banana"

        typed = await world.fake.invoke_autocomplete(
            GUILD, CHANNEL, ALICE, "show", {"job": "OLD 3"}, focused="job"
        )
        assert [c["value"] for c in typed] == [
            job.id
            for job in older
            if job.state.value == "completed" and job.request.prompt.startswith("old 3")
        ]
        bobs = await world.fake.invoke_autocomplete(
            GUILD, CHANNEL, BOB, "show", {"job": ""}, focused="job"
        )
        assert len(bobs) == 1 and bobs[0]["value"] != job_id


async def test_a_public_show_keeps_to_the_channels_settings(world):
    fetcher, _ = cdn_fetcher(world)
    async with world.bot(fetcher=fetcher) as bot:
        job_id, _ = await made(world, bot)
        rec = await world.slash(
            "settings", {"channel": LOG_CHANNEL, "allowed": True}, subcommand="channel", user=MOD
        )
        await world.fake.wait_for_callback(rec)  # generation now belongs in the log channel

        rec = await world.slash("show", {"job": job_id, "public": True})
        refusal = await world.fake.wait_for_callback(rec)
        assert refusal.ephemeral and "can't be made in this channel" in refusal.content
        assert f"<#{LOG_CHANNEL}>" in refusal.content
        posted = [m for m in world.fake.channel_messages(CHANNEL) if m.interaction_id is None]
        assert len(posted) == 1  # the original result only

        rec = await world.slash("show", {"job": job_id})  # to herself: nothing is posted here
        await world.fake.wait_for_callback(rec)
        shown = await first_followup(world, rec)
        assert shown.ephemeral and shown.files


async def test_a_public_show_discord_refuses_is_posted_again_as_links(world):
    fetcher, _ = cdn_fetcher(world)
    async with world.bot(fetcher=fetcher) as bot:
        job_id, _ = await made(world, bot)
        world.fake.fail_next(
            "POST",
            rf"/channels/{CHANNEL}/messages$",
            413,
            {"code": 40005, "message": "Request entity too large"},
        )
        rec = await world.slash("show", {"job": job_id, "public": True})
        await world.fake.wait_for_callback(rec)
        note = await first_followup(world, rec)
        posted = [
            m
            for m in world.fake.channel_messages(CHANNEL)
            if (m.content or "").startswith(f"<@{ALICE}> shows their job")
        ]
        assert len(posted) == 1 and not posted[0].files  # once, smaller: the file as a link
        fields = {f["name"]: f["value"] for f in posted[0].embeds[0]["fields"]}
        assert "/attachments/" in fields["Download"]
        assert button(posted[0], "bb:edit:") and str(posted[0].id) in note.content
