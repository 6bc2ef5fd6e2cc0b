"""/credits: where a member stands. Moderators may look at someone else, and also see each
enabled provider's account balance.

Nothing here waits on a provider before answering (Discord allows 3 s): prices come from the
price hints' cache, and provider balances from a short-lived cache (jobs/balances.py, shared
with /status). When a moderator's balances are not all cached the reply is deferred
(ephemerally) first and then fetched, each with a bounded wait; a provider that does not answer
in time shows as unavailable.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from jobs.models import COMMANDS
from presentation.discord_limits import fit_embed
from presentation.embeds import balance_embed, balance_lines, running_jobs_text
from presentation.permissions import is_moderator
from presentation.refusals import OthersCreditsModeratorsOnly
from quota.server_settings import GuildPolicy

if TYPE_CHECKING:
    from bot import BananaBot

log = logging.getLogger(__name__)

NO_PRICE = "price not known yet"


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
        moderator = await is_moderator(
            interaction, self.bot.moderation, self.bot.settings.moderator_role_ids
        )
        if not own and not moderator:
            raise OthersCreditsModeratorsOnly()
        accounts = self.bot.balances.cached() if moderator else None
        deferred = moderator and accounts is None
        if deferred:
            await interaction.response.defer(ephemeral=True, thinking=True)
            accounts = await self.bot.balances.fetch()
        balances = balance_lines(accounts or [])
        guild_id = interaction.guild_id or 0
        roles = [r.id for r in getattr(target, "roles", [])]
        balance = await self.bot.quota.balance(guild_id, target.id, roles)
        embed = balance_embed(target, balance, own=own)
        running = await self.bot.jobs.running_for_member(guild_id, target.id)
        if running:
            embed.add_field(name="Running now", value=running_jobs_text(running), inline=False)
        policy = await self.bot.server_settings.policy(guild_id)
        embed.add_field(name="Prices (default options)", value=self._prices(policy), inline=False)
        if balances:
            embed.add_field(name="Provider accounts", value=balances, inline=False)
        content = f"{balance.left} / {balance.allowance}"
        embed = fit_embed(embed)  # running jobs and long model ids can outgrow a field
        if deferred:  # replaces the (ephemeral) "thinking…" message
            await interaction.followup.send(content=content, embed=embed, ephemeral=True)
        else:
            await interaction.response.send_message(content=content, embed=embed, ephemeral=True)

    def _prices(self, policy: GuildPolicy) -> str:
        """Each command's default model in this server and its price with default options,
        from the cache."""
        lines = []
        for command_kind in COMMANDS:
            command = f"/{command_kind}"
            try:
                spec = self.bot.models.choose(command_kind, policy)
            except LookupError:
                continue
            cost = self.bot.price_hints.get(spec)
            shown = NO_PRICE if cost is None else f"{cost} credit{'s' if cost != 1 else ''}"
            lines.append(f"{command}: {shown} (`{spec.id}`)")
        return "\n".join(lines) or "No generation model is enabled."


async def setup(bot: BananaBot) -> None:
    await bot.add_cog(CreditsCog(bot))
