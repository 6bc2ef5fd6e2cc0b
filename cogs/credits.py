"""/credits: where a member stands. Moderators may look at someone else, and also see each
enabled provider's account balance.

Nothing here waits on a provider before answering (Discord allows 3 s): prices come from the
price hints' cache, and provider balances from a short-lived cache. When a moderator's balances
are not all cached the reply is deferred (ephemerally) first and then fetched, each with a
bounded wait; a provider that does not answer in time shows as unavailable.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from jobs.errors import NotAllowed
from jobs.models import COMMANDS
from jobs.ttlcache import TTLCache
from presentation.discord_limits import fit_embed
from presentation.embeds import balance_embed, running_jobs_text
from presentation.permissions import is_moderator
from providers.base import Provider
from quota.server_settings import GuildPolicy

if TYPE_CHECKING:
    from bot import BananaBot

log = logging.getLogger(__name__)

BALANCE_CACHE_SECONDS = 60.0  # balances move with every job; a minute old is fine for a glance
BALANCE_TIMEOUT = 5.0  # a moderator aid, fetched after the deferral: not worth a longer wait
BALANCE_FAILURE_SECONDS = 30.0  # a failed balance is not asked again before this: the account's
# request budget belongs to submits and status reads
UNAVAILABLE = "unavailable right now"
NO_PRICE = "price not known yet"


class CreditsCog(commands.Cog):
    def __init__(self, bot: BananaBot) -> None:
        self.bot = bot
        # provider id -> its account balance (None: the API offers none)
        self._balances: TTLCache[str, float | str | None] = TTLCache(
            max(1, len(bot.registry.providers)), BALANCE_CACHE_SECONDS
        )

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
            raise NotAllowed("Only moderators can look at someone else's credits.")
        balances = self._cached_balances() if moderator else None
        deferred = moderator and balances is None
        if deferred:
            await interaction.response.defer(ephemeral=True, thinking=True)
            balances = await self._fetch_balances()
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

    def _accounts(self) -> dict[str, Provider]:
        """The providers whose account balance is shown (the built-in sandbox has none)."""
        return {pid: p for pid, p in self.bot.registry.providers.items() if pid != "sandbox"}

    def _cached_balances(self) -> str | None:
        """The balances text when every account's balance is cached and fresh, else None."""
        if not all(pid in self._balances for pid in self._accounts()):
            return None
        return _balance_lines((pid, self._balances.get(pid)) for pid in self._accounts())

    async def _fetch_balances(self) -> str:
        """Every account's balance, from the cache or asked for, at most BALANCE_TIMEOUT."""

        async def one(provider_id: str, provider: Provider) -> tuple[str, float | str | None]:
            if provider_id in self._balances:
                return provider_id, self._balances.get(provider_id)
            try:
                value = await asyncio.wait_for(provider.balance(), BALANCE_TIMEOUT)
            except Exception as exc:  # a moderator aid; never fail the command for it
                log.warning("balance check failed provider=%s: %r", provider_id, exc)
                self._balances.set(provider_id, UNAVAILABLE, ttl=BALANCE_FAILURE_SECONDS)
                return provider_id, UNAVAILABLE
            self._balances.set(provider_id, value)
            return provider_id, value

        results = await asyncio.gather(*(one(pid, p) for pid, p in self._accounts().items()))
        return _balance_lines(results)


def _balance_lines(balances) -> str:
    """One line per account; accounts whose API offers no balance are left out."""
    lines = []
    for provider_id, value in balances:
        if isinstance(value, str):
            lines.append(f"{provider_id}: {value}")
        elif value is not None:
            lines.append(f"{provider_id}: {value:g} provider credits")
    return "\n".join(lines)


async def setup(bot: BananaBot) -> None:
    await bot.add_cog(CreditsCog(bot))
