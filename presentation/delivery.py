"""The engine's Notifier, speaking Discord.

Progress goes to the interaction's original response while its token lives (15 minutes).
Results and late failures go to the channel as new messages, which do not depend on the token
and so work after the token expired or the bot restarted. Only the requester is ever pinged.

A finished result is never thrown away. When Discord refuses the result message for its form
(400, 413) it is sent again smaller (links only, then plain text); when it refuses the place
(403, 404: no access, channel gone) the result goes to the interaction's followup while its
token lives, else to the member's DMs. Each fallback tells the member why. 429 and 5xx are
waited out by discord.py (Retry-After) and then retried by the engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import discord

from jobs.media import MediaFile
from jobs.notifier import Undeliverable
from jobs.records import Job, JobState
from presentation.audit import AuditLog
from presentation.discord_limits import DEFAULT_UPLOAD_LIMIT
from presentation.embeds import job_card
from presentation.results import Outgoing, Result, Shape, build
from presentation.tunables import READY_WAIT, UPLOADS_AT_ONCE
from providers.base import Media
from providers.registry import ProviderRegistry

log = logging.getLogger(__name__)


Posted = discord.Message | discord.WebhookMessage


def mention_only(user_id: int) -> discord.AllowedMentions:
    return discord.AllowedMentions(
        everyone=False, roles=False, users=[discord.Object(user_id)], replied_user=False
    )


class DiscordNotifier:
    def __init__(
        self,
        bot: discord.Client,
        *,
        now: Callable[[], float] = time.time,
        audit: AuditLog | None = None,
        registry: ProviderRegistry | None = None,
    ) -> None:
        self.bot = bot
        self._clock = now
        self.audit = audit  # the log channel, told of each result
        self.registry = registry  # the models' typical times, shown on the card
        self._shown: dict[str, dict] = {}  # the card each job's acknowledgement shows now
        self._card_gone: set[str] = set()  # jobs whose card Discord no longer lets us edit
        self._posted_in: dict[str, str] = {}  # where each job's result went, until result_posted()
        self.uploads = asyncio.Semaphore(UPLOADS_AT_ONCE)  # /show's posts share it

    def _token_valid(self, job: Job) -> bool:
        return bool(
            job.interaction_token
            and job.application_id
            and job.ack_expires_at
            and self._clock() < job.ack_expires_at
            and job.id not in self._card_gone
        )

    async def _edit_ack(self, job: Job, embed: discord.Embed) -> bool:
        if not self._token_valid(job):
            return False
        card = embed.to_dict()
        if self._shown.get(job.id) == card:
            return True  # nothing new to show; spare Discord's rate limits
        self._shown[job.id] = card
        webhook = discord.Webhook.partial(
            job.application_id,
            job.interaction_token,
            client=self.bot,  # type: ignore[arg-type]
        )
        try:
            await webhook.edit_message("@original", embed=embed)  # type: ignore[arg-type]
            return True
        except discord.HTTPException as exc:
            log.info("job=%s acknowledgement edit failed status=%s", job.id, exc.status)
            if exc.status in (401, 403, 404):  # token expired, or the card was deleted
                self._card_gone.add(job.id)  # no more edits; results go to the channel
            return False

    async def _channel(self, job: Job) -> discord.abc.Messageable:
        channel = self.bot.get_channel(job.channel_id)
        if channel is None:
            channel = await self.bot.fetch_channel(job.channel_id)
        return channel  # type: ignore[return-value]

    async def progress(self, job: Job, queue_position: int | None) -> None:
        provider = self.registry.get(job.provider) if self.registry is not None else None
        spec = provider.model(job.model) if provider is not None else None
        card = job_card(
            job,
            queue_position,
            now=self._clock(),
            typical=spec.typical_seconds if spec is not None else None,
        )
        await self._edit_ack(job, card)

    async def upload_limit(self, job: Job) -> int:
        """The server's limit: the result is a bot message in the channel, which the
        member's Nitro (counted in the interaction's own limit) does not raise."""
        try:
            await asyncio.wait_for(self.bot.wait_until_ready(), READY_WAIT)
        except TimeoutError:
            pass
        guild = self.bot.get_guild(job.guild_id)
        if guild is not None:
            return guild.filesize_limit
        return DEFAULT_UPLOAD_LIMIT

    async def deliver(
        self,
        job: Job,
        files: list[MediaFile],
        links: list[Media],
        link_ttl: timedelta | None,
        *,
        oversized: bool = False,
        unfetched: int = 0,
    ) -> int:
        """Post the result; on a refusal, post it smaller or elsewhere (see module docstring).
        Raises Undeliverable when every way was refused; other errors (429 and 5xx after
        discord.py's own retries, connection errors) propagate for the engine to retry."""
        elapsed = self._clock() - job.created_at
        result = Result(job, elapsed, files, links, link_ttl, oversized, unfetched)
        destinations = [("channel", self._post_in_channel)]
        if self._token_valid(job):
            destinations.append(("interaction", self._post_as_followup))
        destinations.append(("dm", self._post_in_dm))
        moved = ""  # why the result is not in the channel, once it is not
        refusals: list[str] = []
        for where, post in destinations:
            resized = ""
            for shape in Shape:
                note = " ".join(part for part in (moved, resized) if part)
                messages = build(result, shape, note=note)
                try:
                    message = await post(job, messages, shape)
                except discord.HTTPException as exc:
                    refusals.append(f"{where}/{shape.value}: {exc.status} {exc.code}")
                    log.warning(
                        "job=%s delivery refused where=%s shape=%s status=%s code=%s",
                        job.id,
                        where,
                        shape.value,
                        exc.status,
                        exc.code,
                    )
                    if exc.status in (400, 413):
                        resized = _resized_note(exc, shape)
                        continue
                    if exc.status in (401, 403, 404):
                        moved = _moved_note(job, where)
                        break
                    raise
                self._posted_in[job.id] = where
                return message.id
        raise Undeliverable("; ".join(refusals))

    async def _post_in_channel(self, job: Job, messages: list[Outgoing], shape: Shape) -> Posted:
        channel = await self._channel(job)
        return await self._post_all(job, messages, shape, channel.send, nonce_of="c")

    async def _post_as_followup(self, job: Job, messages: list[Outgoing], shape: Shape) -> Posted:
        webhook = discord.Webhook.partial(
            job.application_id,  # type: ignore[arg-type]
            job.interaction_token,  # type: ignore[arg-type]
            client=self.bot,  # type: ignore[arg-type]
        )

        async def send(**kwargs):
            kwargs.pop("nonce", None)  # webhooks take no nonce
            return await webhook.send(wait=True, **kwargs)

        return await self._post_all(job, messages, shape, send, nonce_of=None)

    async def _post_in_dm(self, job: Job, messages: list[Outgoing], shape: Shape) -> Posted:
        user = self.bot.get_user(job.user_id) or await self.bot.fetch_user(job.user_id)
        for message in messages:
            message.buttons = False  # the buttons start jobs in a server, not in a DM
        return await self._post_all(job, messages, shape, user.send, nonce_of="d")

    async def _post_all(
        self, job: Job, messages: list[Outgoing], shape: Shape, send, *, nonce_of: str | None
    ) -> Posted:
        nonce = None
        if nonce_of is not None:
            # Discord drops a repeat with the same nonce, so a retried post is posted once.
            def nonce(part: int) -> str:
                return f"{job.id}{nonce_of}{list(Shape).index(shape)}{part}"

        return await post_parts(
            job.id,
            messages,
            send,
            mentions=mention_only(job.user_id),
            view=lambda: self._result_view(job),
            nonce=nonce,
            uploads=self.uploads,
        )

    async def result_posted(self, job: Job, message_id: int) -> None:
        """Cosmetic steps once the result is out and its id stored: the card shows a link to
        it, and the log channel records it. A followup sits in the channel like a post."""
        where = self._posted_in.pop(job.id, "channel")
        jump = (
            None
            if where == "dm"
            else f"https://discord.com/channels/{job.guild_id}/{job.channel_id}/{message_id}"
        )
        done = dataclasses.replace(job, state=JobState.COMPLETED)  # settled right after this
        await self._edit_ack(job, job_card(done, result_url=jump))
        self._shown.pop(job.id, None)
        self._card_gone.discard(job.id)
        if self.audit is not None:
            await self.audit.record(
                job.guild_id,
                f"🍌 <@{job.user_id}> /{job.command} `{job.provider}:{job.model}` "
                f"({job.reserved} credits reserved) → {jump or 'sent by DM'}",
            )

    def _result_view(self, job: Job) -> discord.ui.View | None:
        factory = getattr(self.bot, "result_view", None)
        return factory(job) if factory else None

    async def failed(self, job: Job) -> None:
        edited = await self._edit_ack(job, job_card(job))
        self._shown.pop(job.id, None)
        self._card_gone.discard(job.id)
        if edited:
            return
        channel = await self._channel(job)
        await channel.send(
            content=f"<@{job.user_id}>",
            embed=job_card(job),
            allowed_mentions=mention_only(job.user_id),
        )


async def post_parts(
    job_id: str,
    messages: list[Outgoing],
    send: Callable[..., Awaitable[Posted]],
    *,
    mentions: discord.AllowedMentions,
    view: Callable[[], discord.ui.View | None],
    nonce: Callable[[int], str] | None = None,
    uploads: asyncio.Semaphore | None = None,
) -> Posted:
    """Post the main message (errors propagate), then the follow-ups (best effort: the
    result is out, a lost extra link is logged). Each post reads its files from fresh
    readers, closed afterwards: the same file may be posted again, smaller or elsewhere.
    A post with files holds one of ``uploads`` meanwhile, so uploads never take every
    connection to Discord from the replies. Shared by delivery and /show."""
    first: Posted | None = None
    for part, outgoing in enumerate(messages):
        kwargs: dict[str, Any] = dict(
            content=outgoing.content or None, embeds=outgoing.embeds, allowed_mentions=mentions
        )
        if nonce is not None:
            kwargs["nonce"] = nonce(part)
        buttons = view() if outgoing.buttons else None
        if buttons is not None:
            kwargs["view"] = buttons
        try:
            async with contextlib.AsyncExitStack() as readers:
                if outgoing.files and uploads is not None:
                    await readers.enter_async_context(uploads)
                kwargs["files"] = [_attach(readers, f) for f in outgoing.files]
                message = await send(**kwargs)
        except Exception:
            if first is None:
                raise
            log.warning("job=%s follow-up %d of the result not posted", job_id, part, exc_info=True)
            continue
        if first is None:
            first = message
    assert first is not None
    return first


def _attach(readers: contextlib.AsyncExitStack, media: MediaFile) -> discord.File:
    """An upload reading ``media`` from the start; the reader is closed when ``readers``
    closes. discord.File hides its reader's close() until File.close(), so that runs first."""
    file = discord.File(readers.enter_context(media.open()), filename=media.filename)
    readers.callback(file.close)
    return file


def _resized_note(exc: discord.HTTPException, shape: Shape) -> str:
    """Why the result is smaller than usual, in the member's words."""
    if exc.status == 413:
        return "(Discord would not take the file upload here, so your result is linked instead.)"
    if shape is Shape.FULL:
        return "(Discord refused the full result message, so your result is linked instead.)"
    return "(Discord refused the result's embed, so it is sent as plain text.)"


def _moved_note(job: Job, where: str) -> str:
    """Why the result is not where the member asked for it."""
    if where == "channel":
        return f"(I could not post in <#{job.channel_id}>, so your result is here.)"
    return f"(I could not post in <#{job.channel_id}> or answer there, so your result is here.)"
