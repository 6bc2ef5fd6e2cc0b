"""/history and /show: a member's own jobs in this server, and one of them posted again.

/history answers ephemerally, ten jobs a page, with Previous / Next buttons whose custom ids
(``bb:history:<member>:<page>``) carry everything a press needs, so they work after a restart
and only for the member who asked. /show re-posts a finished job with working Re-roll /
Animate / Edit buttons: only to the member by default, in the channel with ``public``.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from jobs.records import Job, JobState
from presentation.bot_permissions import require_channel_permissions
from presentation.delivery import post_parts
from presentation.discord_limits import CHOICES_MAX, DEFAULT_UPLOAD_LIMIT
from presentation.history import (
    history_embed,
    job_choice_name,
    jump_url,
    no_history_text,
    posted_text,
    show_headline,
)
from presentation.launch import admit
from presentation.permissions import is_moderator
from presentation.refusals import (
    HistoryOfAnotherMember,
    HistoryPageMissing,
    JobFailedNothingToShow,
    JobFilesGone,
    JobNotFinished,
    JobNotFoundHere,
    JobOfAnotherMember,
)
from presentation.results import Result, Shape, build
from presentation.tunables import PAGE_MAX
from providers.base import Media

if TYPE_CHECKING:
    from bot import BananaBot

log = logging.getLogger(__name__)

JOB_ID = re.compile(r"^[0-9a-f]{4,32}$")


class HistoryPageButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"bb:history:(?P<user>[0-9]{1,20}):(?P<page>[0-9]{1,6})",
):
    """Previous or Next: turns the asker's ephemeral /history message to ``page``."""

    def __init__(self, user_id: int, page: int, *, label: str = "Page", disabled=False) -> None:
        super().__init__(
            discord.ui.Button(
                label=label,
                style=discord.ButtonStyle.secondary,
                custom_id=f"bb:history:{user_id}:{page}",
                disabled=disabled,
            )
        )
        self.user_id = user_id
        self.page = page

    @classmethod
    async def from_custom_id(cls, interaction, item, match):
        return cls(int(match["user"]), int(match["page"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        bot: BananaBot = interaction.client  # type: ignore[assignment]
        try:
            if interaction.user.id != self.user_id:
                raise HistoryOfAnotherMember()
            page = await bot.jobs.member_page(interaction.guild_id or 0, self.user_id, self.page)
            if page.total == 0:
                await interaction.response.edit_message(content=no_history_text(), embed=None)
                return
            if not page.exists:  # jobs come and go between presses: the last page there is
                page = await bot.jobs.member_page(
                    interaction.guild_id or 0, self.user_id, page.pages
                )
            await interaction.response.edit_message(
                embed=history_embed(page), view=history_view(self.user_id, page.number, page.pages)
            )
        except Exception as exc:
            await bot.report_error(interaction, exc)


def history_view(user_id: int, number: int, pages: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(HistoryPageButton(user_id, number - 1, label="◀ Previous", disabled=number <= 1))
    view.add_item(HistoryPageButton(user_id, number + 1, label="Next ▶", disabled=number >= pages))
    return view


class HistoryCog(commands.Cog):
    def __init__(self, bot: BananaBot) -> None:
        self.bot = bot

    @app_commands.command(name="history", description="Your recent jobs in this server")
    @app_commands.guild_only()
    @app_commands.describe(page="Which page, 10 jobs a page, newest first (default 1)")
    async def history(
        self, interaction: discord.Interaction, page: app_commands.Range[int, 1, PAGE_MAX] = 1
    ) -> None:
        user_id = interaction.user.id
        found = await self.bot.jobs.member_page(interaction.guild_id or 0, user_id, page)
        if found.total == 0:
            await interaction.response.send_message(no_history_text(), ephemeral=True)
            return
        if not found.exists:
            raise HistoryPageMissing(page=page, pages=found.pages)
        await interaction.response.send_message(
            embed=history_embed(found),
            view=history_view(user_id, found.number, found.pages),
            ephemeral=True,
        )

    async def job_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        jobs = await self.bot.jobs.member_finished(
            interaction.guild_id or 0, interaction.user.id, current, limit=CHOICES_MAX
        )
        return [app_commands.Choice(name=job_choice_name(job), value=job.id) for job in jobs]

    @app_commands.command(name="show", description="Post one of your finished jobs again")
    @app_commands.guild_only()
    @app_commands.describe(
        job="The job's id (autocompletes from your finished jobs)",
        public="Post it in the channel for everyone (default: only you see it)",
    )
    @app_commands.autocomplete(job=job_autocomplete)
    async def show(
        self,
        interaction: discord.Interaction,
        job: app_commands.Range[str, 1, 100],
        public: bool = False,
    ) -> None:
        found = await self._showable(interaction, job.strip().lower())
        if public:  # the channel's rules, as for a new post of this prompt
            require_channel_permissions(interaction)
            await admit(self.bot, interaction, found.request.prompt, found.request.negative_prompt)
        await interaction.response.defer(ephemeral=True, thinking=True)
        # a bot message is bound by the server's limit; a followup by the interaction's own
        limit = _server_upload_limit(interaction) if public else interaction.filesize_limit
        fetched = await self.bot.jobs.fetch_again(found, await self._delivered_media(found), limit)
        try:
            if not fetched.files and not fetched.links:
                raise JobFilesGone(job_id=found.id)
            end = found.finished_at or found.updated_at
            result = Result(
                found,
                max(0.0, end - found.created_at),
                fetched.files,
                fetched.links,
                None,
                fetched.oversized,
                fetched.unfetched,
            )
            headline = show_headline(found, interaction.user.id, public=public)
            if public:
                send = interaction.channel.send  # type: ignore[union-attr]
            else:

                async def send(**kwargs):
                    return await interaction.followup.send(ephemeral=True, wait=True, **kwargs)

            posted = await self._post_fitting(result, headline, found, send)
            if public:
                url = jump_url(found.guild_id, posted.channel.id, posted.id)
                await interaction.followup.send(posted_text(url), ephemeral=True)
        finally:
            fetched.discard()
        log.info("job=%s shown by user=%s public=%s", found.id, interaction.user.id, public)

    async def _showable(self, interaction: discord.Interaction, job_id: str) -> Job:
        """The job, when this member may show it; otherwise a refusal saying why."""
        found = await self.bot.jobs.get(job_id) if JOB_ID.match(job_id) else None
        if found is None or found.guild_id != interaction.guild_id:
            raise JobNotFoundHere()
        if found.user_id != interaction.user.id and not await is_moderator(
            interaction, self.bot.moderation, self.bot.settings.moderator_role_ids
        ):
            raise JobOfAnotherMember(job_id=found.id)
        if found.state is JobState.FAILED:
            raise JobFailedNothingToShow(job_id=found.id)
        if found.state is not JobState.COMPLETED:
            raise JobNotFinished(job_id=found.id)
        return found

    async def _delivered_media(self, job: Job) -> list[Media]:
        """The files of the job's result message as Discord has them now (fresh links), or
        nothing when the message is gone or cannot be read."""
        if not job.result_message_id:
            return []
        try:
            channel = self.bot.get_channel(job.channel_id) or await self.bot.fetch_channel(
                job.channel_id
            )
            message = await channel.fetch_message(job.result_message_id)  # type: ignore[union-attr]
        except (discord.HTTPException, AttributeError) as exc:
            log.info("job=%s result message not readable: %s", job.id, exc)
            return []
        return [Media(url=a.url, content_type=a.content_type) for a in message.attachments]

    async def _post_fitting(self, result: Result, headline: str, job: Job, send) -> discord.Message:
        """Post ``result`` whole; if Discord refuses the message (400, or 413 for the upload),
        again smaller, as a delivery does: links only, then plain text."""
        for shape in Shape:
            try:
                return await post_parts(
                    job.id,
                    build(result, shape, headline=headline),
                    send,
                    mentions=discord.AllowedMentions.none(),
                    view=lambda: self.bot.result_view(job),  # type: ignore[attr-defined]
                    uploads=self.bot.notifier.uploads,  # type: ignore[attr-defined]
                )
            except discord.HTTPException as exc:
                if exc.status not in (400, 413) or shape is Shape.PLAIN:
                    raise
                log.warning(
                    "job=%s shown as %s refused status=%s code=%s",
                    job.id,
                    shape.value,
                    exc.status,
                    exc.code,
                )
        raise AssertionError("unreachable: the plain shape raises or returns")


def _server_upload_limit(interaction: discord.Interaction) -> int:
    guild = interaction.guild
    return guild.filesize_limit if guild is not None else DEFAULT_UPLOAD_LIMIT


async def setup(bot: BananaBot) -> None:
    bot.add_dynamic_items(HistoryPageButton)
    await bot.add_cog(HistoryCog(bot))
