"""Buttons on delivered images: Re-roll, Animate and Edit (cogs/edit.py).

They are DynamicItems with stable custom ids (``bb:reroll:<job>``, ``bb:animate:<job>``,
``bb:edit:<job>``), so they keep working after a restart: the job id leads back to the stored
request. Whoever presses a button starts a new job charged to them, under the same quota rules
as the commands.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from cogs.edit import EditButton
from cogs.options import result_job, source_image
from jobs.records import Job
from presentation.launch import admit, start_generation
from presentation.refusals import NoImageToAnimate
from providers.base import Kind

if TYPE_CHECKING:
    from bot import BananaBot

log = logging.getLogger(__name__)


async def _run(interaction: discord.Interaction, action) -> None:
    bot: BananaBot = interaction.client  # type: ignore[assignment]
    try:
        await action(bot)
    except Exception as exc:  # refusals and surprises alike get an ephemeral answer
        await bot.report_error(interaction, exc)


class RerollButton(
    discord.ui.DynamicItem[discord.ui.Button], template=r"bb:reroll:(?P<job>[0-9a-f]{4,32})"
):
    def __init__(self, job_id: str) -> None:
        super().__init__(
            discord.ui.Button(
                label="Re-roll",
                emoji="🎲",
                style=discord.ButtonStyle.secondary,
                custom_id=f"bb:reroll:{job_id}",
            )
        )
        self.job_id = job_id

    @classmethod
    async def from_custom_id(cls, interaction, item, match):
        return cls(match["job"])

    async def callback(self, interaction: discord.Interaction) -> None:
        async def reroll(bot: BananaBot) -> None:
            job = await result_job(bot.jobs, self.job_id)
            policy = await admit(bot, interaction, job.request.prompt, job.request.negative_prompt)
            spec = bot.registry.resolve(
                f"{job.provider}:{job.model}", Kind(job.kind), allowed=policy.allows
            )
            await start_generation(
                bot, interaction, spec, job.request, command="reroll", policy=policy
            )

        await _run(interaction, reroll)


class AnimateButton(
    discord.ui.DynamicItem[discord.ui.Button], template=r"bb:animate:(?P<job>[0-9a-f]{4,32})"
):
    def __init__(self, job_id: str) -> None:
        super().__init__(
            discord.ui.Button(
                label="Animate",
                emoji="🎬",
                style=discord.ButtonStyle.primary,
                custom_id=f"bb:animate:{job_id}",
            )
        )
        self.job_id = job_id

    @classmethod
    async def from_custom_id(cls, interaction, item, match):
        return cls(match["job"])

    async def callback(self, interaction: discord.Interaction) -> None:
        from cogs.video import animate_image

        async def animate(bot: BananaBot) -> None:
            job = await result_job(bot.jobs, self.job_id)
            source = source_image(interaction.message, job)
            if source is None:
                raise NoImageToAnimate()
            await animate_image(
                bot, interaction, ("image", source), prompt=job.request.prompt, command="animate"
            )

        await _run(interaction, animate)


def result_view(job: Job) -> discord.ui.View | None:
    if job.kind != Kind.IMAGE.value:
        return None
    view = discord.ui.View(timeout=None)
    view.add_item(RerollButton(job.id))
    view.add_item(AnimateButton(job.id))
    view.add_item(EditButton(job.id))
    return view


async def setup(bot: BananaBot) -> None:
    """No commands here: the extension registers the persistent buttons."""
    bot.add_dynamic_items(RerollButton, AnimateButton)  # Edit: cogs/edit.py
    bot.result_view = result_view  # type: ignore[attr-defined]
