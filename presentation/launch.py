"""Starting a generation from an interaction: price, reserve, acknowledge, enqueue.

Shared by /image, /video, /animate and the result buttons. Discord drops an interaction not
answered within 3 s, so nothing slow may stand before the answer. Prices come from the
pricer's cache or a table at once; a cost preview the provider is slow to give gets
PRICE_DEFER_AFTER, then the interaction is deferred publicly ("thinking…") and the command
waits for the price behind it. Everything refused before that point is refused ephemerally;
after a deferral Discord keeps the deferral's visibility, so a refusal replaces the "thinking"
message in public. Either way nothing is charged until the reservation, and once the job card
is shown the job is in the engine's hands.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING

import discord

from db.jobs import Job, JobState
from jobs.errors import InvalidRequest, UserFacingError
from presentation.bot_permissions import require_channel_permissions
from presentation.embeds import job_card, not_started_card
from providers.base import GenerationRequest, Kind, ModelSpec
from providers.registry import ModelNotAllowed
from quota.server_settings import GuildPolicy

if TYPE_CHECKING:
    from bot import BananaBot

log = logging.getLogger(__name__)

PRICE_DEFER_AFTER = 1.0  # a price not known by then is awaited behind a deferral (3 s in all)
TOKEN_LIFETIME = 15 * 60.0  # Discord's interaction tokens work this long for edits
TOKEN_MARGIN = 30.0  # stop editing a little before Discord would refuse
RESTARTING = (
    "The bot is restarting, so nothing was started and nothing was charged. "
    "Please try again in a minute."
)


def new_job_id() -> str:
    return secrets.token_hex(4)


async def price(
    bot: BananaBot, interaction: discord.Interaction, spec: ModelSpec, request: GenerationRequest
) -> tuple[int, bool]:
    """Bot credits for ``request``, and whether the interaction had to be deferred to wait
    for them. Raises PriceUnavailable or InvalidRequest (nothing charged) on refusal."""
    if bot.registry.get(spec.provider) is None:
        raise InvalidRequest(f"The provider {spec.provider} is not enabled.")
    known = bot.pricer.cached(spec.provider, request)
    if known is not None:  # the usual case: no task, no timer
        return known, False
    lookup = asyncio.ensure_future(bot.pricer.price(spec.provider, request))
    done, _ = await asyncio.wait({lookup}, timeout=PRICE_DEFER_AFTER)
    if done:
        return lookup.result(), False
    log.info("price pending provider=%s model=%s: deferring", spec.provider, spec.id)
    try:
        await interaction.response.defer(thinking=True)
    except BaseException:
        lookup.cancel()  # the pricer's own lookup goes on and fills its cache
        raise
    return await lookup, True


def bot_default(bot: BananaBot, command_kind: str) -> str | None:
    """The operator's default model for a command kind (DEFAULT_*_MODEL)."""
    settings = bot.settings
    return {
        "image": settings.default_image_model,
        "video": settings.default_video_model,
        "animate": settings.default_animate_model,
    }[command_kind]


def _parent_channel(interaction: discord.Interaction) -> int | None:
    """A thread's parent channel: a thread of an allowed channel is allowed too."""
    return getattr(interaction.channel, "parent_id", None)


async def admit(
    bot: BananaBot, interaction: discord.Interaction, *texts: str | None
) -> GuildPolicy:
    """The server's rules that come before anything else (/settings channel, blocklist):
    raises UserFacingError, nothing chosen, priced or charged. Returns the server's policy
    for choosing the model."""
    policy = await bot.server_settings.policy(interaction.guild_id or 0)
    policy.check_channel(interaction.channel_id, _parent_channel(interaction))
    policy.check_prompt(*texts)
    return policy


def choose_model(
    bot: BananaBot,
    policy: GuildPolicy,
    name: str | None,
    kind: Kind,
    *,
    command_kind: str,
    image_input: bool | None,
    accepts: Callable[[ModelSpec], bool] | None = None,
) -> ModelSpec:
    """The model a command runs: the one named, else the server's /settings default, else
    the operator's DEFAULT_*_MODEL, else the first allowed model that takes the options;
    models the server does not allow are never picked and refused when named."""
    return bot.registry.resolve(
        name,
        kind,
        default=bot_default(bot, command_kind),
        server_default=policy.default_for(command_kind),
        image_input=image_input,
        accepts=accepts,
        allowed=policy.allows,
    )


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
    policy: GuildPolicy | None = None,
) -> Job:
    """Reserve and acknowledge; raises UserFacingError (nothing charged) on refusal.

    The server's rules are checked again here, whatever path led here (a command, a button),
    before anything is priced: the channel, the prompt, and that the model is allowed."""
    with bot.engine.replies.replying():  # no job starts while this reply is prepared
        job = await _reserve_and_reply(bot, interaction, spec, request, command, policy)
    return job


async def _reserve_and_reply(
    bot: BananaBot,
    interaction: discord.Interaction,
    spec: ModelSpec,
    request: GenerationRequest,
    command: str,
    policy: GuildPolicy | None,
) -> Job:
    require_channel_permissions(interaction)  # a result the bot cannot post is not paid for
    if policy is None:
        policy = await admit(bot, interaction, request.prompt, request.negative_prompt)
    else:
        policy.check_channel(interaction.channel_id, _parent_channel(interaction))
        policy.check_prompt(request.prompt, request.negative_prompt)
    if not policy.allows(spec):
        raise ModelNotAllowed(f"`{spec.id}` is not allowed in this server.")
    if not bot.engine.accepting:
        raise InvalidRequest(RESTARTING)
    received = bot.timebase.now()  # the token's 15 minutes run from (about) here
    cost, deferred = await price(bot, interaction, spec, request)
    if not bot.engine.accepting:  # it may have begun stopping while the price was awaited
        raise InvalidRequest(RESTARTING)
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
        # the card's progress edits may start once it exists (the job starts after it)
        ack_expires_at=received + TOKEN_LIFETIME - TOKEN_MARGIN,
        upload_limit=getattr(interaction, "filesize_limit", None),
    )
    position = bot.engine.join_queue(job)
    if deferred:
        # The member already waited behind "thinking…": reserve first, as a refusal then
        # simply replaces the deferral's message, then turn that message into the card.
        await _reserve(bot, interaction, job)
        if not await _show_card(interaction, job, position, deferred=True):
            await bot.engine.jobs.update(job, ack_expires_at=None)  # stored: runs without it
    else:
        # The reply first: what remains (a transaction shared with the other commands of the
        # moment) cannot delay it. A refusal then turns the card into "not started", and the
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
    bot.engine.enqueue(job)
    return job


async def _reserve(bot: BananaBot, interaction: discord.Interaction, job: Job) -> None:
    """Store the job and hold its credits, or raise (nothing charged, its queue place left)."""
    try:
        await bot.quota.reserve_job(job, member_role_ids(interaction))
    except BaseException:
        await bot.engine.leave_queue(job)
        raise
    log.info(
        "job=%s reserved user=%s guild=%s provider=%s model=%s cost=%d",
        job.id,
        job.user_id,
        job.guild_id,
        job.provider,
        job.model,
        job.cost,
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
