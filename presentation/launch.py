"""Starting a generation from an interaction: price, reserve, acknowledge, enqueue.

Shared by /image (and the later /video, /animate and result buttons). Everything that can be
refused is refused before the interaction is answered, so refusals are ephemeral and nothing is
charged; once the public acknowledgement is sent the job is in the engine's hands.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from typing import TYPE_CHECKING

import discord

from db.jobs import Job, JobState
from jobs.engine import bot_credits
from jobs.errors import InvalidRequest
from presentation.embeds import job_card
from providers.base import GenerationRequest, ModelSpec
from providers.errors import ProviderError

if TYPE_CHECKING:
    from bot import BananaBot

log = logging.getLogger(__name__)

PRICE_TIMEOUT = 2.0  # the interaction must be answered within 3 s
TOKEN_LIFETIME = 15 * 60.0
TOKEN_MARGIN = 30.0  # stop editing a little before Discord would refuse
PRICE_CACHE_SECONDS = 600.0


def new_job_id() -> str:
    return secrets.token_hex(4)


async def price(bot: BananaBot, spec: ModelSpec, request: GenerationRequest) -> int:
    """Bot credits for ``request``; refuses (InvalidRequest) when the price is unknowable."""
    provider = bot.registry.get(spec.provider)
    if provider is None:
        raise InvalidRequest(f"The provider {spec.provider} is not enabled.")
    try:
        cost = await asyncio.wait_for(provider.estimate_cost(request), PRICE_TIMEOUT)
    except (ProviderError, TimeoutError) as exc:
        log.warning("price check failed provider=%s model=%s: %s", spec.provider, spec.id, exc)
        raise InvalidRequest(
            f"Could not get a price from {spec.provider} right now, so nothing was started. "
            "Please try again in a minute."
        ) from None
    return bot_credits(cost, bot.settings.credit_rate(spec.provider))


class PriceHints:
    """What each model costs with default options, for autocomplete labels and /credits.

    Cached per bot for PRICE_CACHE_SECONDS. Autocomplete must answer within 3 s, so it asks
    with ``wait=False``: a price not cached yet is fetched in the background for the next
    keystroke (``warm`` fetches them all at start).
    """

    def __init__(self, bot: BananaBot) -> None:
        self.bot = bot
        self._cache: dict[tuple[str, str], tuple[float, int]] = {}
        self._fetching: dict[tuple[str, str], asyncio.Task[int | None]] = {}

    async def get(self, spec: ModelSpec, *, wait: bool = True) -> int | None:
        key = (spec.provider, spec.id)
        cached = self._cache.get(key)
        if cached and time.monotonic() - cached[0] < PRICE_CACHE_SECONDS:
            return cached[1]
        task = self._fetching.get(key)
        if task is None or task.done():
            task = asyncio.ensure_future(self._fetch(spec))
            self._fetching[key] = task
        if not wait:
            return cached[1] if cached else None
        return await asyncio.shield(task)

    async def warm(self) -> None:
        specs = [m for p in self.bot.registry.providers.values() for m in p.models()]
        await asyncio.gather(*(self.get(spec) for spec in specs))

    async def _fetch(self, spec: ModelSpec) -> int | None:
        request = GenerationRequest(
            kind=spec.kind,
            model=spec.id,
            prompt="price",
            aspect_ratio=spec.default_aspect_ratio,
            resolution=spec.default_resolution,
            duration=spec.default_duration,
            reference_urls=("https://example.invalid/x.png",) if spec.requires_image else (),
        )
        try:
            value = await price(self.bot, spec, request)
        except InvalidRequest:
            return None
        self._cache[(spec.provider, spec.id)] = (time.monotonic(), value)
        return value


def member_role_ids(interaction: discord.Interaction) -> list[int]:
    user = interaction.user
    return [r.id for r in getattr(user, "roles", [])]


async def start_generation(
    bot: BananaBot,
    interaction: discord.Interaction,
    spec: ModelSpec,
    request: GenerationRequest,
    *,
    command: str,
) -> Job:
    """Reserve and acknowledge; raises UserFacingError (nothing charged) on refusal."""
    if not bot.engine.accepting:
        raise InvalidRequest("The bot is restarting; please try again in a minute.")
    cost = await price(bot, spec, request)
    now = bot.timebase.now()
    deadline = (
        bot.engine.policy.video_deadline
        if spec.kind.value == "video"
        else bot.engine.policy.image_deadline
    )
    job = Job(
        id=new_job_id(),
        guild_id=interaction.guild_id or 0,
        channel_id=interaction.channel_id or 0,
        user_id=interaction.user.id,
        command=command,
        kind=spec.kind.value,
        provider=spec.provider,
        model=spec.id,
        request=request,
        state=JobState.QUEUED,
        cost=cost,
        created_at=now,
        deadline_at=now + bot.engine.policy.queue_wait_max + deadline,
        updated_at=now,
        application_id=interaction.application_id,
        interaction_token=interaction.token,
        ack_expires_at=None,  # no progress edits until the acknowledgement exists
        upload_limit=getattr(interaction, "filesize_limit", None),
    )
    await bot.quota.reserve_job(job, member_role_ids(interaction))
    log.info(
        "job=%s reserved user=%s guild=%s provider=%s model=%s cost=%d",
        job.id,
        job.user_id,
        job.guild_id,
        job.provider,
        job.model,
        cost,
    )
    bot.engine.enqueue(job)
    try:
        await interaction.response.send_message(
            embed=job_card(job, bot.engine.queue_position(job)),
            allowed_mentions=discord.AllowedMentions.none(),
        )
    except discord.HTTPException as exc:
        # The job is stored and running; its result still arrives as a channel message.
        log.warning("job=%s acknowledgement failed status=%s", job.id, exc.status)
        return job
    await bot.engine.jobs.update(job, ack_expires_at=now + TOKEN_LIFETIME - TOKEN_MARGIN)
    return job
