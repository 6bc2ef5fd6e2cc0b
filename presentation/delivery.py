"""The engine's Notifier, speaking Discord.

Progress goes to the interaction's original response while its token lives (15 minutes).
Results and late failures go to the channel as new messages, which do not depend on the token
and so work after the token expired or the bot restarted. Only the requester is ever pinged.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import logging
import time
from collections.abc import Callable
from datetime import timedelta

import discord

from db.jobs import Job, JobState
from jobs.media import MediaFile
from presentation import audit
from presentation.embeds import job_card, result_message
from providers.base import Media

log = logging.getLogger(__name__)

READY_WAIT = 30.0  # how long delivery waits for the gateway cache after a restart


def mention_only(user_id: int) -> discord.AllowedMentions:
    return discord.AllowedMentions(
        everyone=False, roles=False, users=[discord.Object(user_id)], replied_user=False
    )


class DiscordNotifier:
    def __init__(self, bot: discord.Client, *, now: Callable[[], float] = time.time) -> None:
        self.bot = bot
        self._clock = now
        self._shown: dict[str, dict] = {}  # the card each job's acknowledgement shows now

    def _token_valid(self, job: Job) -> bool:
        return bool(
            job.interaction_token
            and job.application_id
            and job.ack_expires_at
            and self._clock() < job.ack_expires_at
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
            return False

    async def _channel(self, job: Job) -> discord.abc.Messageable:
        channel = self.bot.get_channel(job.channel_id)
        if channel is None:
            channel = await self.bot.fetch_channel(job.channel_id)
        return channel  # type: ignore[return-value]

    async def progress(self, job: Job, queue_position: int | None) -> None:
        await self._edit_ack(job, job_card(job, queue_position))

    async def upload_limit(self, job: Job) -> int:
        if job.upload_limit:
            return job.upload_limit  # what Discord said for this interaction
        try:
            await asyncio.wait_for(self.bot.wait_until_ready(), READY_WAIT)
        except TimeoutError:
            pass
        guild = self.bot.get_guild(job.guild_id)
        if guild is not None:
            return guild.filesize_limit
        return discord.utils.DEFAULT_FILE_SIZE_LIMIT_BYTES

    async def deliver(
        self,
        job: Job,
        files: list[MediaFile],
        links: list[Media],
        link_ttl: timedelta | None,
        *,
        oversized: bool = False,
    ) -> int:
        channel = await self._channel(job)
        content, embed = result_message(
            job,
            elapsed=self._clock() - job.created_at,
            links=[m.url for m in links],
            link_ttl=link_ttl,
            too_large=oversized,
        )
        thumbnail = next((m.thumbnail_url for m in links if m.thumbnail_url), None)
        if thumbnail:
            embed.set_image(url=thumbnail)
        elif (
            files
            and not links
            and files[0].filename.endswith((".png", ".jpg", ".jpeg", ".webp", ".gif"))
        ):
            embed.set_image(url=f"attachment://{files[0].filename}")
        message = await channel.send(
            content=content,
            embed=embed,
            files=[discord.File(io.BytesIO(f.data), filename=f.filename) for f in files],
            allowed_mentions=mention_only(job.user_id),
            view=self._result_view(job),
        )
        done = dataclasses.replace(job, state=JobState.COMPLETED)  # settled right after this
        await self._edit_ack(job, job_card(done, result_url=message.jump_url))
        self._shown.pop(job.id, None)
        db = getattr(self.bot, "db", None)
        if db is not None:
            await audit.record(
                self.bot,
                db,
                job.guild_id,
                f"🍌 <@{job.user_id}> /{job.command} `{job.provider}:{job.model}` "
                f"({job.cost} credits reserved) → {message.jump_url}",
            )
        return message.id

    def _result_view(self, job: Job) -> discord.ui.View | None:
        factory = getattr(self.bot, "result_view", None)
        return factory(job) if factory else None

    async def failed(self, job: Job) -> None:
        edited = await self._edit_ack(job, job_card(job))
        self._shown.pop(job.id, None)
        if edited:
            return
        channel = await self._channel(job)
        await channel.send(
            content=f"<@{job.user_id}>",
            embed=job_card(job),
            allowed_mentions=mention_only(job.user_id),
        )
