"""Starting a generation from an interaction: price, acknowledge, reserve, enqueue.

Shared by /image, /video, /animate and the result buttons. Discord drops an interaction not
answered within 3 s, and in a burst every await before the reply costs a turn of a busy
event loop, so only cheap checks come before the answer. Prices come from the pricer's cache
or a table at once; a cost preview the provider is slow to give gets PRICE_DEFER_AFTER, then
the interaction is deferred publicly ("thinking…") and the command waits for the price behind
it. Everything refused before the reply is refused ephemerally. Then the job card is sent, and
the reservation follows, shared with the other commands of the moment in one transaction: a
refusal there (credits, running jobs) turns the card into "did not start" and the member
alone reads why. After a deferral the reservation comes before the card, and a refusal
replaces the "thinking" message in public (Discord keeps the deferral's visibility). Either
way nothing is charged until the reservation, and once it is made the job is in the engine's
hands; no job starts while replies are being prepared (JobService.replying).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

import discord

from jobs.errors import ProviderNotEnabled, Restarting, UserFacingError
from jobs.models import ModelChooser
from jobs.pricing import Pricer
from jobs.records import Job, JobState
from jobs.service import JobService
from presentation.bot_permissions import require_channel_permissions
from presentation.embeds import job_card, not_started_card
from providers.base import GenerationRequest, ModelSpec
from providers.registry import ModelRefusedHere, ProviderRegistry
from quota.server_settings import GuildPolicy, ServerSettings
from quota.service import QuotaService

log = logging.getLogger(__name__)

PRICE_DEFER_AFTER = 1.0  # a price not known by then is awaited behind a deferral (3 s in all)
TOKEN_LIFETIME = 15 * 60.0  # Discord's interaction tokens work this long for edits
TOKEN_MARGIN = 30.0  # stop editing a little before Discord would refuse


T = TypeVar("T")


class Clock(Protocol):
    def now(self) -> float: ...


class Services(Protocol):
    """What starting a job needs of the bot (bot.BananaBot has it all); a protocol, so this
    module does not import the bot that imports it."""

    registry: ProviderRegistry
    models: ModelChooser
    pricer: Pricer
    server_settings: ServerSettings
    quota: QuotaService
    jobs: JobService
    timebase: Clock


def new_job_id() -> str:
    return secrets.token_hex(4)


async def price(
    bot: Services, interaction: discord.Interaction, spec: ModelSpec, request: GenerationRequest
) -> tuple[int, bool]:
    """Bot credits for ``request``, and whether the interaction had to be deferred to wait
    for them. Raises PriceUnavailable or ProviderNotEnabled (nothing charged) on refusal."""
    if bot.registry.get(spec.provider) is None:
        raise ProviderNotEnabled(provider=spec.provider)
    return await _behind_deferral(
        interaction, lambda: bot.pricer.price(spec.provider, request), spec
    )


async def _behind_deferral(
    interaction: discord.Interaction, pricing: Callable[[], Awaitable[T]], spec: ModelSpec
) -> tuple[T, bool]:
    """What ``pricing()`` gives, deferring the interaction publicly first when it takes
    longer than PRICE_DEFER_AFTER; and whether it was deferred. Awaited in place (no task of
    its own: a price already known then costs no turn of the event loop); past the delay it
    is cancelled and asked again behind the deferral, where the pricer's lookups, which a
    cancelled caller never stops, are still on their way."""
    waiting = asyncio.timeout(PRICE_DEFER_AFTER)
    try:
        async with waiting:
            return await pricing(), False
    except TimeoutError:
        if not waiting.expired():
            raise
    log.info("price pending provider=%s model=%s: deferring", spec.provider, spec.id)
    await interaction.response.defer(thinking=True)
    return await pricing(), True


def _parent_channel(interaction: discord.Interaction) -> int | None:
    """A thread's parent channel: a thread of an allowed channel is allowed too."""
    return getattr(interaction.channel, "parent_id", None)


async def admit(bot: Services, interaction: discord.Interaction, *texts: str | None) -> GuildPolicy:
    """The server's rules that come before anything else (/settings channel, blocklist):
    raises UserFacingError, nothing chosen, priced or charged. Returns the server's policy
    for choosing the model."""
    policy = await bot.server_settings.policy(interaction.guild_id or 0)
    policy.check_channel(interaction.channel_id, _parent_channel(interaction))
    policy.check_prompt(*texts)
    return policy


def member_role_ids(interaction: discord.Interaction) -> list[int]:
    user = interaction.user
    return [r.id for r in getattr(user, "roles", [])]


async def start_generation(
    bot: Services,
    interaction: discord.Interaction,
    spec: ModelSpec,
    request: GenerationRequest,
    *,
    command: str,
    policy: GuildPolicy | None = None,
    named: str | None = None,
) -> Job:
    """Acknowledge and reserve; raises UserFacingError (nothing charged) on refusal.

    The server's rules are checked again here, whatever path led here (a command, a button),
    before anything is priced: the channel, the prompt, and that the model is allowed.
    ``named``: the ``model`` option as the member gave it (``provider:model`` pins one
    provider; otherwise a model several providers offer is routed: JobService.plan)."""
    with bot.jobs.replying():  # no job starts while this reply is prepared
        return await _reply_and_reserve(bot, interaction, spec, request, command, policy, named)


async def _reply_and_reserve(
    bot: Services,
    interaction: discord.Interaction,
    spec: ModelSpec,
    request: GenerationRequest,
    command: str,
    policy: GuildPolicy | None,
    named: str | None,
) -> Job:
    require_channel_permissions(interaction)  # a result the bot cannot post is not paid for
    if policy is None:
        policy = await admit(bot, interaction, request.prompt, request.negative_prompt)
    else:
        policy.check_channel(interaction.channel_id, _parent_channel(interaction))
        policy.check_prompt(request.prompt, request.negative_prompt)
    if not policy.allows(spec):
        raise ModelRefusedHere(name=spec.id)
    if not bot.jobs.accepting:
        raise Restarting()
    received = bot.timebase.now()  # the token's 15 minutes run from (about) here
    if bot.registry.get(spec.provider) is None:
        raise ProviderNotEnabled(provider=spec.provider)
    rules = policy  # for the closure: the type checker cannot narrow ``policy`` in it

    def planning():  # -> Awaitable[Plan], the facade's answer
        return bot.jobs.plan(
            spec,
            request,
            command=command,
            named=named,
            defaults=(rules.default_for(command), bot.models.operator_default(command)),
            allowed=rules.allows,
        )

    chosen, deferred = await _behind_deferral(interaction, planning, spec)
    spec, request, cost = chosen.spec, chosen.request, chosen.cost
    if not bot.jobs.accepting:  # it may have begun stopping while the price was awaited
        raise Restarting()
    now = bot.timebase.now()
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
        reserved=cost,
        created_at=now,
        deadline_at=bot.jobs.deadline_at(spec.kind.value, now),
        updated_at=now,
        application_id=interaction.application_id,
        interaction_token=interaction.token,
        # the card's progress edits may start once it exists (the job starts after it)
        ack_expires_at=received + TOKEN_LIFETIME - TOKEN_MARGIN,
        upload_limit=getattr(interaction, "filesize_limit", None),
        routes=chosen.routes,
    )
    position = bot.jobs.join_queue(job)
    if deferred:
        # The member already waited behind "thinking…": reserve first, as a refusal then
        # simply replaces the deferral's message, then turn that message into the card.
        await _reserve(bot, interaction, job)
        if not await _show_card(interaction, job, position, deferred=True):
            await bot.jobs.acknowledgement_failed(job)  # stored: it runs without its card
    else:
        # The reply first: what remains (a transaction shared with the other commands of the
        # moment) cannot delay it. A refusal then turns the card into "did not start", and the
        # member alone is told why (the error handler's ephemeral followup).
        shown = await _show_card(interaction, job, position, deferred=False)
        if not shown:
            job.ack_expires_at = None  # no card to edit: the result still reaches the channel
        try:
            await _reserve(bot, interaction, job)
        except UserFacingError as refusal:
            if shown:
                await _edit_card(interaction, not_started_card(job, refusal))
            raise
    bot.jobs.enqueue(job)
    return job


async def _reserve(bot: Services, interaction: discord.Interaction, job: Job) -> None:
    """Store the job and hold its credits, or raise (nothing charged, its queue place left)."""
    try:
        await bot.quota.reserve_job(job, member_role_ids(interaction))
    except BaseException:
        await bot.jobs.leave_queue(job)
        raise
    log.info(
        "job=%s reserved user=%s guild=%s provider=%s model=%s cost=%d routes=%s",
        job.id,
        job.user_id,
        job.guild_id,
        job.provider,
        job.model,
        job.reserved,
        ",".join(r.provider for r in job.routes) or "-",
    )


async def _show_card(
    interaction: discord.Interaction, job: Job, position: int | None, *, deferred: bool
) -> bool:
    """Answer with the job card; False when Discord refused it (the job still runs, and its
    result still arrives as a channel message)."""
    card = job_card(job, position)
    try:
        if deferred:  # the "thinking…" message becomes the job card
            await interaction.edit_original_response(
                embed=card, allowed_mentions=discord.AllowedMentions.none()
            )
        else:
            await interaction.response.send_message(
                embed=card, allowed_mentions=discord.AllowedMentions.none()
            )
    except discord.HTTPException as exc:
        log.warning("job=%s acknowledgement failed status=%s", job.id, exc.status)
        return False
    return True


async def _edit_card(interaction: discord.Interaction, card: discord.Embed) -> None:
    try:
        await interaction.edit_original_response(
            embed=card, allowed_mentions=discord.AllowedMentions.none()
        )
    except discord.HTTPException as exc:
        log.warning("job card could not be edited status=%s", exc.status)
