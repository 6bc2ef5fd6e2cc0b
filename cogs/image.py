"""/image: pictures from a prompt, optionally guided by up to three reference images."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from cogs.options import attachment_input, model_autocomplete, option_autocomplete
from jobs.validation import build_request, fits
from presentation.bot_permissions import bot_can_post
from presentation.discord_limits import OPTION_LENGTH_MAX
from presentation.launch import admit, start_generation

if TYPE_CHECKING:
    from bot import BananaBot


class ImageCog(commands.Cog):
    def __init__(self, bot: BananaBot) -> None:
        self.bot = bot

    @app_commands.command(name="image", description="Make an image from a prompt")
    @app_commands.guild_only()
    @bot_can_post()
    @app_commands.describe(
        prompt="What to draw",
        model="Model id, or provider:model (default: the server's image model)",
        aspect_ratio="Shape of the image, e.g. 1:1 or 16:9 (depends on the model)",
        resolution="1K, 2K or 4K where the model offers it",
        count="How many images (1-4, where the model allows)",
        quality="standard or hd, where the model offers it",
        format="File format, where the model offers a choice",
        reference="An image to edit or use as reference",
        reference2="A second reference image",
        reference3="A third reference image",
    )
    @app_commands.autocomplete(
        model=model_autocomplete("image"),
        aspect_ratio=option_autocomplete("image", "aspect_ratios"),
        resolution=option_autocomplete("image", "resolutions"),
        quality=option_autocomplete("image", "qualities"),
        format=option_autocomplete("image", "formats"),
    )
    async def image(
        self,
        interaction: discord.Interaction,
        prompt: app_commands.Range[str, 1, OPTION_LENGTH_MAX],
        model: str | None = None,
        aspect_ratio: str | None = None,
        resolution: str | None = None,
        count: app_commands.Range[int, 1, 4] | None = None,
        quality: str | None = None,
        format: str | None = None,
        reference: discord.Attachment | None = None,
        reference2: discord.Attachment | None = None,
        reference3: discord.Attachment | None = None,
    ) -> None:
        policy = await admit(self.bot, interaction, prompt)
        images = [
            (label, attachment_input(attachment))
            for label, attachment in (
                ("reference", reference),
                ("reference2", reference2),
                ("reference3", reference3),
            )
            if attachment is not None
        ]
        options = dict(
            prompt=prompt,
            aspect_ratio=aspect_ratio,
            resolution=resolution,
            count=count,
            quality=quality,
            output_format=format,
            images=images,
        )
        spec = self.bot.models.choose(
            "image", policy, named=model, images=bool(images), accepts=fits(**options)
        )
        request = build_request(spec, **options)
        await start_generation(
            self.bot, interaction, spec, request, command="image", policy=policy, named=model
        )


async def setup(bot: BananaBot) -> None:
    await bot.add_cog(ImageCog(bot))
