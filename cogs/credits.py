"""/credits: where a member stands. Moderators may look at someone else, and also see each
enabled provider's account balance."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from jobs.errors import NotAllowed
from presentation.embeds import balance_embed, running_jobs_text
from presentation.permissions import is_moderator
from providers.base import Kind

if TYPE_CHECKING:
    from bot import BananaBot

log = logging.getLogger(__name__)

BALANCE_CACHE_SECONDS = 60.0
BALANCE_TIMEOUT = 2.0  # the reply must go out within Discord's 3 s


class CreditsCog(commands.Cog):
    def __init__(self, bot: BananaBot) -> None:
        self.bot = bot
        self._provider_balances: dict[str, tuple[float, float | None]] = {}

    @app_commands.command(name="credits", description="Show how many credits you have left")
    @app_commands.guild_only()
    @app_commands.describe(user="Someone else's balance (moderators only)")
    async def credits(
        self, interaction: discord.Interaction, user: discord.Member | None = None
    ) -> None:
        target = user or interaction.user
        own = target.id == interaction.user.id
        moderator = await is_moderator(
            interaction, self.bot.db, self.bot.settings.moderator_role_ids
        )
        if not own and not moderator:
            raise NotAllowed("Only moderators can look at someone else's credits.")
        guild_id = interaction.guild_id or 0
        roles = [r.id for r in getattr(target, "roles", [])]
        balance = await self.bot.quota.balance(guild_id, target.id, roles)
        embed = balance_embed(target, balance, own=own)
        running = await self.bot.engine.jobs.running_for_member(guild_id, target.id)
        if running:
            embed.add_field(name="Running now", value=running_jobs_text(running), inline=False)
        embed.add_field(name="Prices (default options)", value=await self._prices(), inline=False)
        if moderator:
            balances = await self._balances()
            if balances:
                embed.add_field(name="Provider accounts", value=balances, inline=False)
        await interaction.response.send_message(
            content=f"{balance.left} / {balance.allowance}", embed=embed, ephemeral=True
        )

    async def _prices(self) -> str:
        specs = []
        for command, kind, image_input, default in (
            ("/image", Kind.IMAGE, None, self.bot.settings.default_image_model),
            ("/video", Kind.VIDEO, False, self.bot.settings.default_video_model),
            ("/animate", Kind.VIDEO, True, self.bot.settings.default_animate_model),
        ):
            try:
                spec = self.bot.registry.resolve(
                    None, kind, default=default, image_input=image_input
                )
            except LookupError:
                continue
            specs.append((command, spec))
        costs = await asyncio.gather(*(self.bot.price_hints.get(spec) for _c, spec in specs))
        lines = []
        for (command, spec), cost in zip(specs, costs, strict=True):
            shown = (
                "price unavailable" if cost is None else f"{cost} credit{'s' if cost != 1 else ''}"
            )
            lines.append(f"{command}: {shown} (`{spec.id}`)")
        return "\n".join(lines) or "No generation model is enabled."

    async def _balances(self) -> str:
        async def one(provider_id: str, provider) -> str | None:
            cached = self._provider_balances.get(provider_id)
            if cached and time.monotonic() - cached[0] < BALANCE_CACHE_SECONDS:
                value = cached[1]
            else:
                try:
                    value = await asyncio.wait_for(provider.balance(), BALANCE_TIMEOUT)
                except Exception as exc:  # a moderator aid; never fail the command for it
                    log.warning("balance check failed provider=%s: %s", provider_id, exc)
                    return f"{provider_id}: unavailable right now"
                self._provider_balances[provider_id] = (time.monotonic(), value)
            return None if value is None else f"{provider_id}: {value:g} provider credits"

        results = await asyncio.gather(
            *(one(pid, p) for pid, p in self.bot.registry.providers.items() if pid != "sandbox")
        )
        return "\n".join(r for r in results if r)


async def setup(bot: BananaBot) -> None:
    await bot.add_cog(CreditsCog(bot))
