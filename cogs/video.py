"""/video and /animate: clips from a prompt, or from an image brought to life."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from cogs.options import attachment_input, model_autocomplete, option_autocomplete
from jobs.validation import InputImage, build_request, fits
from presentation.bot_permissions import bot_can_post
from presentation.launch import admit, start_generation
from presentation.refusals import OneImageToAnimate

if TYPE_CHECKING:
    from bot import BananaBot

ANIMATE_DEFAULT_PROMPT = "Bring this image to life with natural, gentle motion"


class VideoCog(commands.Cog):
    def __init__(self, bot: BananaBot) -> None:
        self.bot = bot

    @app_commands.command(name="video", description="Make a video from a prompt")
    @app_commands.guild_only()
    @bot_can_post()
    @app_commands.describe(
        prompt="What should happen in the video",
        model="Model id, or provider:model (default: the server's video model)",
        duration="Length in seconds (depends on the model)",
        resolution="e.g. 480p, 720p, 1080p (depends on the model)",
        aspect_ratio="e.g. 16:9 or 9:16 (depends on the model)",
        audio="Generate sound, where the model can",
        negative_prompt="What the video should avoid",
        image="An image to use as the first frame / reference",
    )
    @app_commands.autocomplete(
        model=model_autocomplete("video"),
        duration=option_autocomplete("video", "durations"),
        resolution=option_autocomplete("video", "resolutions"),
        aspect_ratio=option_autocomplete("video", "aspect_ratios"),
    )
    async def video(
        self,
        interaction: discord.Interaction,
        prompt: app_commands.Range[str, 1, 4000],
        model: str | None = None,
        duration: app_commands.Range[int, 1, 60] | None = None,
        resolution: str | None = None,
        aspect_ratio: str | None = None,
        audio: bool | None = None,
        negative_prompt: app_commands.Range[str, 1, 1000] | None = None,
        image: discord.Attachment | None = None,
    ) -> None:
        policy = await admit(self.bot, interaction, prompt, negative_prompt)
        images = [("image", attachment_input(image))] if image else []
        options = dict(
            prompt=prompt,
            duration=duration,
            resolution=resolution,
            aspect_ratio=aspect_ratio,
            audio=audio,
            negative_prompt=negative_prompt,
            images=images,
        )
        spec = self.bot.models.choose(
            "video", policy, named=model, images=bool(images), accepts=fits(**options)
        )
        request = build_request(spec, **options)
        await start_generation(
            self.bot, interaction, spec, request, command="video", policy=policy, named=model
        )

    @app_commands.command(name="animate", description="Turn an image into a short video")
    @app_commands.guild_only()
    @bot_can_post()
    @app_commands.describe(
        image="The image to animate (or give image_url)",
        image_url="An https link to the image to animate (or attach image)",
        prompt="How it should move (optional)",
        model="Model id, or provider:model (default: the server's animate model)",
        duration="Length in seconds (depends on the model)",
        resolution="e.g. 480p, 720p, 1080p (depends on the model)",
        aspect_ratio="e.g. 16:9 (depends on the model)",
        motion="How much movement: low, medium or high (where the model offers it)",
    )
    @app_commands.autocomplete(
        model=model_autocomplete("animate"),
        duration=option_autocomplete("animate", "durations"),
        resolution=option_autocomplete("animate", "resolutions"),
        aspect_ratio=option_autocomplete("animate", "aspect_ratios"),
        motion=option_autocomplete("animate", "motions"),
    )
    async def animate(
        self,
        interaction: discord.Interaction,
        image: discord.Attachment | None = None,
        image_url: str | None = None,
        prompt: app_commands.Range[str, 1, 4000] | None = None,
        model: str | None = None,
        duration: app_commands.Range[int, 1, 60] | None = None,
        resolution: str | None = None,
        aspect_ratio: str | None = None,
        motion: str | None = None,
    ) -> None:
        if (image is None) == (not image_url):
            raise OneImageToAnimate()
        source = (
            ("image", attachment_input(image))
            if image is not None
            else ("image_url", InputImage(url=(image_url or "").strip()))
        )
        await animate_image(
            self.bot,
            interaction,
            source,
            prompt=prompt,
            model=model,
            duration=duration,
            resolution=resolution,
            aspect_ratio=aspect_ratio,
            motion=motion,
            command="animate",
        )


async def animate_image(
    bot: BananaBot,
    interaction: discord.Interaction,
    source: tuple[str, InputImage],
    *,
    prompt: str | None = None,
    model: str | None = None,
    duration: int | None = None,
    resolution: str | None = None,
    aspect_ratio: str | None = None,
    motion: str | None = None,
    command: str,
) -> None:
    """Shared by /animate and the Animate button on image results. Without ``model`` the
    default is a model that takes every option given (on nanobananavideo: seedance2)."""
    policy = await admit(bot, interaction, prompt)
    options = dict(
        prompt=prompt or ANIMATE_DEFAULT_PROMPT,
        duration=duration,
        resolution=resolution,
        aspect_ratio=aspect_ratio,
        motion=motion,
        images=[source],
    )
    spec = bot.models.choose("animate", policy, named=model, images=True, accepts=fits(**options))
    request = build_request(spec, **options)
    await start_generation(
        bot, interaction, spec, request, command=command, policy=policy, named=model
    )


async def setup(bot: BananaBot) -> None:
    await bot.add_cog(VideoCog(bot))
