"""/credits: where a member stands. Moderators may look at someone else."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from jobs.errors import NotAllowed
from presentation.embeds import balance_embed
from presentation.permissions import is_moderator

if TYPE_CHECKING:
    from bot import BananaBot


class CreditsCog(commands.Cog):
    def __init__(self, bot: BananaBot) -> None:
        self.bot = bot

    @app_commands.command(name="credits", description="Show how many credits you have left")
    @app_commands.guild_only()
    @app_commands.describe(user="Someone else's balance (moderators only)")
    async def credits(
        self, interaction: discord.Interaction, user: discord.Member | None = None
    ) -> None:
        target = user or interaction.user
        own = target.id == interaction.user.id
        if not own and not await is_moderator(
            interaction, self.bot.db, self.bot.settings.moderator_role_ids
        ):
            raise NotAllowed("Only moderators can look at someone else's credits.")
        roles = [r.id for r in getattr(target, "roles", [])]
        balance = await self.bot.quota.balance(interaction.guild_id or 0, target.id, roles)
        embed = balance_embed(target, balance, own=own)
        await interaction.response.send_message(
            content=f"{balance.left} / {balance.allowance}",
            embed=embed,
            ephemeral=True,
        )


async def setup(bot: BananaBot) -> None:
    await bot.add_cog(CreditsCog(bot))
