"""Every command definition and every message the bot can send, built from worst-case inputs
and run through the Discord emulator's validators: what passes here, Discord takes.

Worst cases: a 6000-character prompt (Discord's most for a string option), 100-character model
ids and names, four results with 2000-character URLs, twelve files, a 10 kB provider error.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import discord
import pytest

from bot import EXTENSIONS, BananaBot
from jobs.media import MediaFile
from jobs.records import Failure, Job, JobState
from presentation.delivery import mention_only
from presentation.discord_limits import CONTENT_MAX, clip, fit_embed
from presentation.embeds import balance_embed, job_card, running_jobs_text
from presentation.results import Result, Shape, build
from providers.base import GenerationRequest, Kind, Media
from quota.service import Balance
from settings import load_settings
from tests.fakediscord.validation import check_autocomplete, check_command, check_message

LONG_URL = "https://media.example.com/" + "a" * (2000 - len("https://media.example.com/"))
LONG_MODEL = "m" * 100
LONG_PROMPT = "word " * 1200  # 6000 characters
ERROR_10K = "the provider said: " + "x" * 10_000
UPLOAD_LIMIT = 10 * 1024 * 1024


def worst_job(**changes) -> Job:
    job = Job(
        id="0123456789",
        guild_id=1,
        channel_id=2,
        user_id=3,
        command="image",
        kind="image",
        provider="nananobanana",
        model=LONG_MODEL,
        request=GenerationRequest(kind=Kind.IMAGE, model=LONG_MODEL, prompt=LONG_PROMPT, count=4),
        state=JobState.RUNNING,
        reserved=999_999,
        created_at=0.0,
        deadline_at=1.0,
        updated_at=0.0,
        progress=57,
        failure=Failure.from_stored(ERROR_10K),  # a row from before failures were facts
    )
    return dataclasses.replace(job, **changes)


def body_of(content: str | None, embeds, *, view=None, mention: int | None = None) -> dict:
    """The JSON body discord.py sends for these arguments."""
    body: dict = {"embeds": [e.to_dict() for e in embeds]}
    if content is not None:
        body["content"] = content
    if view is not None:
        body["components"] = view.to_components()
    if mention is not None:
        body["allowed_mentions"] = mention_only(mention).to_dict()
    return body


def assert_taken(body: dict, files=(), *, creating: bool = True) -> None:
    refusal = check_message(body, list(files), creating=creating, upload_limit=UPLOAD_LIMIT)
    assert refusal is None, str(refusal)


@pytest.fixture
async def commands_bot(tmp_path):
    settings = load_settings(
        {
            "DISCORD_TOKEN": "x",
            "SANDBOX_PROVIDER": "1",
            "DATABASE_URL": f"sqlite:///{tmp_path}/bot.db",
        }
    )
    bot = BananaBot(settings)
    for extension in EXTENSIONS:
        await bot.load_extension(extension)
    yield bot
    await bot.registry.aclose()


async def test_every_command_definition_is_taken(commands_bot):
    payloads = [command.to_dict(commands_bot.tree) for command in commands_bot.tree.get_commands()]
    assert {p["name"] for p in payloads} >= {"image", "video", "animate", "credits", "quota"}
    for payload in payloads:
        refusal = check_command(payload)
        assert refusal is None, f"/{payload['name']}: {refusal}"


@pytest.mark.parametrize("state", list(JobState))
def test_the_job_card_in_every_state_is_taken(state):
    card = job_card(worst_job(state=state), queue_position=123_456, result_url=LONG_URL)
    assert_taken(body_of(None, [card]), creating=False)  # edits of the acknowledgement
    assert_taken(body_of(None, [card]))  # the first answer


def test_the_failure_notice_in_the_channel_is_taken():
    job = worst_job(state=JobState.FAILED)
    assert_taken(body_of(f"<@{job.user_id}>", [job_card(job)], mention=job.user_id))


def result_with(files: int, links: int, *, kind: str = "image") -> Result:
    job = worst_job(state=JobState.DELIVERING, kind=kind, charged=12)
    return Result(
        job=job,
        elapsed=12345.6,
        files=[
            MediaFile(f"bananabot-{job.id}-{i}.png", data=b"\x89PNG" * 10, source_url=LONG_URL)
            for i in range(files)
        ],
        links=[Media(LONG_URL, thumbnail_url=LONG_URL + "t") for _ in range(links)],
        link_ttl=timedelta(days=15),
        oversized=True,
    )


@pytest.mark.parametrize("shape", list(Shape))
@pytest.mark.parametrize(("files", "links"), [(4, 0), (0, 4), (2, 2), (12, 0), (0, 25)])
def test_every_result_message_is_taken(shape, files, links):
    result = result_with(files, links)
    note = "(" + "n" * 3000 + ")"
    messages = build(result, shape, note=note)
    shown = []
    for outgoing in messages:
        view = discord.ui.View()
        if outgoing.buttons:
            from cogs.results import result_view

            view = result_view(result.job) or view
        uploads = [_upload(f) for f in outgoing.files]
        assert_taken(body_of(outgoing.content or None, outgoing.embeds, view=view), uploads)
        shown.append(outgoing)
    # every file and link made it into some message, as an upload or a link
    carried = sum(len(o.files) for o in shown)
    linked = sum(
        (o.content or "").count(LONG_URL) + sum(str(e.to_dict()).count(LONG_URL) for e in o.embeds)
        for o in shown
    )
    if shape is Shape.FULL:
        assert carried == files and linked >= links
    elif shape is Shape.LINKS:
        assert carried == 0 and linked >= files + links
    else:  # 2000-character URLs do not fit plain content; the member is told
        assert carried == 0
        assert linked + sum("too long for Discord" in (o.content or "") for o in shown) >= 1


def _upload(media_file: MediaFile):
    from tests.fakediscord.messages import UploadedFile

    return UploadedFile("files[0]", media_file.filename, media_file.read(), "image/png")


def test_balances_and_running_jobs_are_taken():
    balance = Balance(
        allowance=10**9,
        used=10**9,
        reserved=10**9,
        bonus=10**9,
        left=10**9,
        allowance_left=10**9,
        resets_at=datetime(2030, 1, 1, tzinfo=UTC),
        running_jobs=50,
    )
    member = discord.Object(1)
    member.display_name = "n" * 100  # type: ignore[attr-defined]
    embed = balance_embed(member, balance, own=False)  # type: ignore[arg-type]
    embed.add_field(name="Running now", value=running_jobs_text([worst_job()] * 10))
    from presentation.discord_limits import fit_embed

    assert_taken(body_of(f"{balance.left} / {balance.allowance}", [fit_embed(embed)]))


def test_refusals_that_echo_what_was_typed_are_taken():
    from jobs.errors import InvalidRequest
    from jobs.validation import build_request
    from presentation.sentences import for_member
    from providers.sandbox import SandboxProvider

    spec = next(m for m in SandboxProvider().models() if m.kind is Kind.IMAGE)
    with pytest.raises(InvalidRequest) as refused:
        build_request(spec, prompt="x", aspect_ratio="r" * 6000)
    assert_taken(body_of(clip(for_member(refused.value), CONTENT_MAX), []))


def test_autocomplete_answers_are_taken():
    choices = [
        discord.app_commands.Choice(name=clip("n" * 300, 100), value="v" * 100).to_dict()
        for _ in range(25)
    ]
    assert check_autocomplete({"choices": choices}) is None


def test_the_usage_chart_message_is_taken_whatever_the_report():
    from presentation import charts
    from quota.usage import OTHER, UsageReport

    models = {f"{i}{'m' * 99}": tuple([999_999] * 30) for i in range(8)}
    report = UsageReport(
        period="month",
        since=0.0,
        until=30 * 86_400.0,
        bucket_seconds=86_400.0,
        by_model={**models, OTHER: tuple([5] * 30)},
        top_members=tuple((10**18 + i, 999_999_999) for i in range(10)),
        outcomes={"completed": 10**9, "failed": 10**9, "running": 10**9},
        user_id=10**18,
    )
    names = {10**18 + i: "n" * 32 for i in range(10)}
    png = charts.render_png(report, names)
    assert len(png) <= charts.WORST_PNG_BYTES
    embed = discord.Embed(
        title=clip(charts.title(report, names), 256), description=charts.summary(report, names)
    )
    embed.set_image(url="attachment://usage.png")
    body = body_of(None, [fit_embed(embed)])
    body["attachments"] = [
        {"id": 0, "filename": "usage.png", "description": charts.alt_text(report, names)}
    ]
    assert_taken(body, [png])
