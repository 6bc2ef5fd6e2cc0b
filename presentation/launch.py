"""Starting a generation from an interaction: price, acknowledge, reserve, enqueue.

Shared by /image, /video, /animate and the result buttons. Discord drops an interaction not
answered within 3 s, and in a burst every await before the reply costs a turn of a busy
event loop, so only cheap checks come before the answer. Prices come from the pricer's cache
or a table at once; a cost preview the provider is slow to give gets PRICE_DEFER_AFTER, then
the interaction is deferred publicly ("thinking…") and the command waits for the price behind
it. Everything refused before the reply is refused ephemerally. Then the job card is sent, and
the reservation follows once no other reply is being prepared (JobService.after_replies),
shared with the other commands of the moment in one transaction: a
refusal there (credits, running jobs) turns the card into "did not start" and the member
alone reads why. After a deferral the reservation comes before the card, and a refusal
replaces the "thinking" message in public (Discord keeps the deferral's visibility). Either
way nothing is charged until the reservation, and once it is made the job is in the engine's
hands; no job starts while replies are being prepared (JobService.replying).

A job the member must confirm first (quota.preview) is refused by the reservation with
PreviewNeeded, before anything is written, and shown as a cost preview (presentation/preview.py)
to the member alone. A job at or above the server's cost_preview threshold is known to need it
before any answer, so it is reserved (and so previewed) before the reply; a job above half of
what the member has left is known only in the reservation after the card, so that card is
taken back and the preview follows. Confirm runs the same checks and reservation again, on the
provider, price and routes the preview showed, and the preview message becomes the job card.
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
from presentation.preview import PreviewBook
from presentation.preview import offer as offer_preview
from presentation.tunables import PRICE_DEFER_AFTER, TOKEN_MARGIN
from providers.base import GenerationRequest, ModelSpec
from providers.registry import ModelRefusedHere, ProviderRegistry
from quota.preview import PreviewNeeded
from quota.server_settings import GuildPolicy, ServerSettings
from quota.service import QuotaService

log = logging.getLogger(__name__)

TOKEN_LIFETIME = 15 * 60.0  # Discord's interaction tokens work this long for edits


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
    previews: PreviewBook


class Reply(Protocol):
    """A command's reply being prepared (JobService.replying): ``sent()`` once it is out."""

    def sent(self) -> None: ...


class Plan(Protocol):
    """Where a job goes and at what price (what JobService.plan answers)."""

    spec: ModelSpec
    request: GenerationRequest
    cost: int
    routes: tuple


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


async def _check_admission(
    bot: Services,
    interaction: discord.Interaction,
    spec: ModelSpec,
    request: GenerationRequest,
    policy: GuildPolicy | None,
) -> GuildPolicy:
    """Everything that refuses a job before it is priced, whatever path led here (a command,
    a button, a preview's Confirm): the bot's permissions in the channel, the server's rules
    (channel, prompt, the model allowed), and a restart under way."""
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
    return policy


def _new_job(
    bot: Services,
    interaction: discord.Interaction,
    chosen: Plan,
    *,
    job_id: str,
    command: str,
    received: float,
) -> Job:
    """The job as it is stored with its reservation; ``interaction`` is the one whose token
    edits its card (the command's, or a preview's Confirm press)."""
    now = bot.timebase.now()
    spec = chosen.spec
    return Job(
        id=job_id,
        guild_id=interaction.guild_id or 0,
        channel_id=interaction.channel_id or 0,
        user_id=interaction.user.id,
        command=command,
        kind=spec.kind.value,
        provider=spec.provider,
        model=spec.id,
        request=chosen.request,
        state=JobState.QUEUED,
        reserved=chosen.cost,
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


async def start_generation(
    bot: Services,
    interaction: discord.Interaction,
    spec: ModelSpec,
    request: GenerationRequest,
    *,
    command: str,
    policy: GuildPolicy | None = None,
    named: str | None = None,
) -> Job | None:
    """Acknowledge and reserve; raises UserFacingError (nothing charged) on refusal.

    The server's rules are checked again here, whatever path led here (a command, a button),
    before anything is priced: the channel, the prompt, and that the model is allowed.
    ``named``: the ``model`` option as the member gave it (``provider:model`` pins one
    provider; otherwise a model several providers offer is routed: JobService.plan).
    A job the member must confirm first (quota.preview) is shown as a cost preview instead
    and returns None: it starts only on Confirm (presentation.preview)."""
    with bot.jobs.replying() as reply:  # no job starts while this reply is prepared
        return await _reply_and_reserve(
            bot, interaction, spec, request, command, policy, named, reply
        )


async def _reply_and_reserve(
    bot: Services,
    interaction: discord.Interaction,
    spec: ModelSpec,
    request: GenerationRequest,
    command: str,
    policy: GuildPolicy | None,
    named: str | None,
    reply: Reply,
) -> Job | None:
    policy = await _check_admission(bot, interaction, spec, request, policy)
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
    if not bot.jobs.accepting:  # it may have begun stopping while the price was awaited
        raise Restarting()
    job = _new_job(
        bot, interaction, chosen, job_id=new_job_id(), command=command, received=received
    )
    threshold = policy.cost_preview

    async def preview(needed: PreviewNeeded, how: str) -> None:
        async def confirmed(pressed: discord.Interaction) -> Job:
            return await _start_confirmed(bot, pressed, chosen, job_id=job.id, command=command)

        await offer_preview(
            bot.previews,
            interaction,
            job,
            needed,
            threshold=threshold,
            typical=chosen.spec.typical_seconds,
            how=how,
            token_expires_at=received + TOKEN_LIFETIME - TOKEN_MARGIN,
            start=confirmed,
        )

    position = bot.jobs.join_queue(job)
    if deferred or (threshold and job.reserved >= threshold):
        # Reserve before any answer: the member already waited behind "thinking…" (a refusal
        # or a preview then replaces that message), or the server asks to confirm a job this
        # dear (the preview is the first answer, and the member alone sees it).
        try:
            await _reserve(bot, interaction, job, preview_threshold=threshold)
        except PreviewNeeded as needed:
            await preview(needed, "edit" if deferred else "send")
            return None
        how = "edit" if deferred else "send"
        if not await _show_card(interaction, job, position, how=how):
            await bot.jobs.acknowledgement_failed(job)  # stored: it runs without its card
    else:
        # The reply first: what remains (a transaction shared with the other commands of the
        # moment) cannot delay it. A refusal then turns the card into "did not start", and the
        # member alone is told why (the error handler's ephemeral followup). A job above half
        # of what the member has left takes its card back and asks the member alone first.
        shown = await _show_card(interaction, job, position, how="send")
        if not shown:
            job.ack_expires_at = None  # no card to edit: the result still reaches the channel
        reply.sent()
        await bot.jobs.after_replies()  # then reserved with the others of the burst
        try:
            await _reserve(bot, interaction, job, preview_threshold=threshold)
        except PreviewNeeded as needed:
            if shown:
                await _take_card_back(interaction)
            await preview(needed, "followup")
            return None
        except UserFacingError as refusal:
            if shown:
                await _edit_card(interaction, not_started_card(job, refusal))
            raise
    bot.jobs.enqueue(job)
    return job


async def _start_confirmed(
    bot: Services, interaction: discord.Interaction, chosen: Plan, *, job_id: str, command: str
) -> Job:
    """Confirm was pressed on a preview: check again what may have changed in the meantime,
    then reserve (quota and running jobs are checked there) on the provider and at the cost
    shown, and turn the preview message into the job card."""
    with bot.jobs.replying():  # no job starts while this reply is prepared
        await _check_admission(bot, interaction, chosen.spec, chosen.request, None)
        job = _new_job(
            bot, interaction, chosen, job_id=job_id, command=command, received=bot.timebase.now()
        )
        position = bot.jobs.join_queue(job)
        await _reserve(bot, interaction, job)
        if not await _show_card(interaction, job, position, how="update"):
            await bot.jobs.acknowledgement_failed(job)  # stored: it runs without its card
        bot.jobs.enqueue(job)
    return job


async def _reserve(
    bot: Services,
    interaction: discord.Interaction,
    job: Job,
    *,
    preview_threshold: int | None = None,
) -> None:
    """Store the job and hold its credits, or raise (nothing charged, its queue place left):
    PreviewNeeded too, with ``preview_threshold``, when the member must confirm it first."""
    try:
        await bot.quota.reserve_job(
            job, member_role_ids(interaction), preview_threshold=preview_threshold
        )
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
    interaction: discord.Interaction, job: Job, position: int | None, *, how: str
) -> bool:
    """Answer with the job card: ``how`` is "send" (the first answer), "edit" (it replaces
    the "thinking…" message of a deferral) or "update" (it replaces the preview whose
    Confirm was pressed). False when Discord refused it (the job still runs, and its result
    still arrives as a channel message)."""
    card = job_card(job, position)
    none = discord.AllowedMentions.none()
    try:
        if how == "edit":
            await interaction.edit_original_response(embed=card, allowed_mentions=none)
        elif how == "update":
            await interaction.response.edit_message(
                content=None, embed=card, view=None, allowed_mentions=none
            )
        else:
            await interaction.response.send_message(embed=card, allowed_mentions=none)
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


async def _take_card_back(interaction: discord.Interaction) -> None:
    """The public card of a job that must be confirmed first: the preview goes to the member
    alone instead (its balance is theirs), and nothing of the job stays in the channel."""
    try:
        await interaction.delete_original_response()
    except discord.HTTPException as exc:
        log.warning("job card could not be taken back status=%s", exc.status)
