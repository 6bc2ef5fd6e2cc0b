"""/status: how each enabled provider is doing (recent errors, latency, paused or not) and the
jobs queued and running there; moderators also see the bot's provider-account balances."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from presentation.permissions import is_moderator
from presentation.status import status_embed

if TYPE_CHECKING:
    from bot import BananaBot


class StatusCog(commands.Cog):
    def __init__(self, bot: BananaBot) -> None:
        self.bot = bot

    @app_commands.command(name="status", description="How the generation providers are doing")
    @app_commands.guild_only()
    async def status(self, interaction: discord.Interaction) -> None:
        moderator = await is_moderator(
            interaction, self.bot.moderation, self.bot.settings.moderator_role_ids
        )
        accounts = self.bot.balances.cached() if moderator else None
        deferred = moderator and accounts is None
        if deferred:  # balances not all cached: asked for behind an ephemeral deferral
            await interaction.response.defer(ephemeral=True, thinking=True)
            accounts = await self.bot.balances.fetch()
        embed = status_embed(self.bot.provider_status.report(), accounts)
        if deferred:
            await interaction.followup.send(embed=embed, ephemeral=True)
        else:
            await interaction.response.send_message(embed=embed, ephemeral=True)


async def setup(bot: BananaBot) -> None:
    await bot.add_cog(StatusCog(bot))
