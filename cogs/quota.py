"""/quota: moderators run members' credit quotas. Every subcommand checks the caller itself;
the Manage Server default only hides the group from others. Who moderates (modrole) and where
actions are recorded (logchannel) take Manage Server itself. Every change is posted to the log
channel: who did it, whom it concerns, how much and why."""

from __future__ import annotations

import asyncio
import contextlib
import io
import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from presentation import charts
from presentation.discord_limits import CONTENT_MAX, DEFAULT_UPLOAD_LIMIT, clip, fit_embed
from presentation.embeds import balance_embed, plural
from presentation.permissions import check_moderator_role, is_moderator, manages_server
from presentation.refusals import AmountOutOfRange, AmountZero, ModeratorOnly, ServerManagersOnly
from presentation.tunables import HISTORY_PAGE, MAX_AMOUNT, NAMES_TIMEOUT
from quota.usage import day_range, parse_day

if TYPE_CHECKING:
    from bot import BananaBot


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class QuotaCog(commands.GroupCog, group_name="quota", group_description="Manage members' credits"):
    def __init__(self, bot: BananaBot) -> None:
        self.bot = bot
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if not await is_moderator(
            interaction, self.bot.moderation, self.bot.settings.moderator_role_ids
        ):
            raise ModeratorOnly(command="quota")
        return True

    async def _done(
        self, interaction: discord.Interaction, text: str, *, also_to: int | None = None
    ) -> None:
        """Answer the moderator ephemerally and record the action in the log channel (and in
        ``also_to``, the channel that was the log channel until now). Pings nobody."""
        await interaction.response.send_message(
            clip(text, CONTENT_MAX), ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
        )
        line = f"🛡️ <@{interaction.user.id}> {text}"
        guild_id = interaction.guild_id or 0
        await self.bot.audit.record(guild_id, line)
        if also_to is not None:
            await self.bot.audit.record(guild_id, line, channel_id=also_to)

    @staticmethod
    def _require_manage_server(interaction: discord.Interaction) -> None:
        if not manages_server(interaction):
            raise ServerManagersOnly()

    @staticmethod
    def _amount(amount: int, *, allow_negative: bool = False) -> int:
        low = -MAX_AMOUNT if allow_negative else 0
        if not low <= amount <= MAX_AMOUNT:
            raise AmountOutOfRange(low=low, high=MAX_AMOUNT)
        return amount

    @app_commands.command(name="show", description="Show a member's credits")
    @app_commands.describe(user="The member")
    async def show(self, interaction: discord.Interaction, user: discord.Member) -> None:
        balance = await self.bot.quota.balance(
            interaction.guild_id or 0, user.id, [r.id for r in user.roles]
        )
        await interaction.response.send_message(
            content=f"{balance.left} / {balance.allowance}",
            embed=balance_embed(user, balance, own=False),
            ephemeral=True,
        )

    @app_commands.command(name="set", description="Set a member's allowance per period")
    @app_commands.describe(
        user="The member", amount="Credits per period", reason="Why (shown in history)"
    )
    async def set_(
        self,
        interaction: discord.Interaction,
        user: discord.Member,
        amount: int,
        reason: app_commands.Range[str, 1, 200] | None = None,
    ) -> None:
        await self.bot.quota.set_allowance(
            interaction.guild_id or 0,
            user.id,
            self._amount(amount),
            actor_id=interaction.user.id,
            reason=reason,
        )
        await self._done(
            interaction,
            f"set <@{user.id}>'s allowance to {plural(amount, 'credit')} per period"
            f"{_because(reason)}.",
        )

    @app_commands.command(name="grant", description="Give (or take away) bonus credits")
    @app_commands.describe(
        user="The member",
        amount="Bonus credits; negative takes away",
        reason="Why (shown in history)",
    )
    async def grant(
        self,
        interaction: discord.Interaction,
        user: discord.Member,
        amount: int,
        reason: app_commands.Range[str, 1, 200] | None = None,
    ) -> None:
        if amount == 0:
            raise AmountZero()
        applied = await self.bot.quota.grant(
            interaction.guild_id or 0,
            user.id,
            self._amount(amount, allow_negative=True),
            actor_id=interaction.user.id,
            reason=reason,
        )
        why = _because(reason)
        if applied >= 0:
            text = f"granted <@{user.id}> {plural(applied, 'bonus credit')}{why}."
        else:
            text = f"took {plural(-applied, 'bonus credit')} from <@{user.id}>{why}."
            if -applied < -amount:
                text += f" (They had only {-applied} bonus credits to take.)"
        await self._done(interaction, text)

    @app_commands.command(name="reset", description="Clear a member's usage for this period")
    @app_commands.describe(user="The member", reason="Why (shown in history)")
    async def reset(
        self,
        interaction: discord.Interaction,
        user: discord.Member,
        reason: app_commands.Range[str, 1, 200] | None = None,
    ) -> None:
        cleared = await self.bot.quota.reset(
            interaction.guild_id or 0, user.id, actor_id=interaction.user.id, reason=reason
        )
        await self._done(
            interaction,
            f"reset <@{user.id}>'s usage for this period, {plural(cleared, 'credit')} back"
            f"{_because(reason)}.",
        )

    @app_commands.command(name="default", description="Set the server's default allowance")
    @app_commands.describe(amount="Credits per period for members without their own or a role's")
    async def default(self, interaction: discord.Interaction, amount: int) -> None:
        await self.bot.quota.set_default_allowance(
            interaction.guild_id or 0, self._amount(amount), actor_id=interaction.user.id
        )
        await self._done(
            interaction, f"set the server's default allowance to {plural(amount, 'credit')}."
        )

    @app_commands.command(name="role", description="Set the allowance for holders of a role")
    @app_commands.describe(role="The role", amount="Credits per period (members get their highest)")
    async def role(self, interaction: discord.Interaction, role: discord.Role, amount: int) -> None:
        await self.bot.quota.set_role_allowance(
            interaction.guild_id or 0, role.id, self._amount(amount), actor_id=interaction.user.id
        )
        await self._done(
            interaction, f"set the allowance for <@&{role.id}> to {plural(amount, 'credit')}."
        )

    @app_commands.command(name="history", description="A member's recent credit history")
    @app_commands.describe(user="The member", page="Page (1 = most recent)")
    async def history(
        self,
        interaction: discord.Interaction,
        user: discord.Member,
        page: app_commands.Range[int, 1, 1000] = 1,
    ) -> None:
        rows = await self.bot.quota.history(
            interaction.guild_id or 0,
            user.id,
            limit=HISTORY_PAGE + 1,
            offset=(page - 1) * HISTORY_PAGE,
        )
        more = len(rows) > HISTORY_PAGE
        rows = rows[:HISTORY_PAGE]
        if not rows:
            await interaction.response.send_message(
                f"No history for <@{user.id}>" + (f" on page {page}." if page > 1 else "."),
                ephemeral=True,
                allowed_mentions=discord.AllowedMentions.none(),
            )
            return
        lines = [_history_line(row) for row in rows]
        embed = discord.Embed(
            title=f"{user.display_name}'s credit history", description="\n".join(lines)
        )
        embed.set_footer(text=f"page {page}" + (f" · more on page {page + 1}" if more else ""))
        await interaction.response.send_message(embed=fit_embed(embed), ephemeral=True)

    @app_commands.command(name="usage", description="Chart of credits spent, top members and jobs")
    @app_commands.describe(
        period="today (by hour), the last 7 days or the last 30 days (by day)",
        user="Only this member",
    )
    async def usage(
        self,
        interaction: discord.Interaction,
        period: Literal["day", "week", "month"] = "week",
        user: discord.Member | None = None,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        report = await self.bot.usage.report(
            interaction.guild_id or 0, period, user.id if user else None
        )
        names = await _member_names(interaction, [uid for uid, _ in report.top_members], known=user)
        png = await asyncio.to_thread(charts.render_png, report, names)  # off the event loop
        embed = discord.Embed(
            title=clip(charts.title(report, names), 256),
            description=charts.summary(report, names),
            colour=discord.Colour.blurple(),
        )
        limit = getattr(interaction, "filesize_limit", None) or DEFAULT_UPLOAD_LIMIT
        if len(png) > limit:  # cannot happen by construction (charts.WORST_PNG_BYTES)
            await interaction.followup.send(embed=fit_embed(embed), ephemeral=True)
            return
        file = discord.File(
            io.BytesIO(png), filename="usage.png", description=charts.alt_text(report, names)
        )
        embed.set_image(url="attachment://usage.png")
        await interaction.followup.send(embed=fit_embed(embed), file=file, ephemeral=True)

    @app_commands.command(name="export", description="The server's credit ledger as a CSV file")
    @app_commands.describe(
        since="First day, YYYY-MM-DD in UTC (default: the first entry)",
        until="Last day, YYYY-MM-DD in UTC (default: today)",
    )
    async def export(
        self,
        interaction: discord.Interaction,
        since: app_commands.Range[str, 1, 20] | None = None,
        until: app_commands.Range[str, 1, 20] | None = None,
    ) -> None:
        first, last = parse_day(since, "since"), parse_day(until, "until")
        start, end = day_range(first, last)  # refusals before anything is read
        await interaction.response.defer(ephemeral=True, thinking=True)
        limit = getattr(interaction, "filesize_limit", None) or DEFAULT_UPLOAD_LIMIT
        export = await self.bot.usage.export_csv(
            interaction.guild_id or 0, start, end, max_bytes=limit
        )
        span = f"{first.isoformat() if first else 'the first entry'} to "
        span += last.isoformat() if last else "today"
        entries = "ledger entry" if export.rows == 1 else "ledger entries"
        text = f"{export.rows} {entries} of this server, {span} (UTC)."
        if export.stopped_at is not None:
            day = datetime.fromtimestamp(export.stopped_at, UTC).date().isoformat()
            text += (
                f" The file reached Discord's upload limit, so it stops before an entry of "
                f"{day}: export again with `since:{day}` for the rest (that day's earlier "
                "entries come again)."
            )
        name = f"ledger-{first.isoformat() if first else 'start'}-to-"
        name += f"{last.isoformat() if last else 'today'}.csv"
        await interaction.followup.send(
            clip(text, CONTENT_MAX),
            file=discord.File(io.BytesIO(export.data), filename=name),
            ephemeral=True,
        )

    @app_commands.command(name="modrole", description="Set the role whose holders may use /quota")
    @app_commands.describe(role="The moderator role (not @everyone, not a bot's or integration's)")
    async def modrole(self, interaction: discord.Interaction, role: discord.Role) -> None:
        self._require_manage_server(interaction)
        check_moderator_role(role)
        before = await self.bot.moderation.set_mod_role(interaction.guild_id or 0, role.id)
        await self._done(
            interaction, f"set the moderator role to <@&{role.id}>{_was(before, '<@&{}>')}."
        )

    @app_commands.command(
        name="logchannel", description="Where moderator actions and generations are recorded"
    )
    @app_commands.describe(channel="The log channel")
    async def logchannel(
        self, interaction: discord.Interaction, channel: discord.TextChannel
    ) -> None:
        self._require_manage_server(interaction)
        before = await self.bot.moderation.set_log_channel(interaction.guild_id or 0, channel.id)
        await self._done(
            interaction,
            f"set the log channel to <#{channel.id}>{_was(before, '<#{}>')}.",
            also_to=before if before != channel.id else None,
        )


async def _member_names(
    interaction: discord.Interaction, ids: list[int], *, known: discord.Member | None
) -> dict[int, str]:
    """Display names for the chart: from the cache, else asked of Discord (bounded by
    NAMES_TIMEOUT; a name not found in time shows as the end of the member's id)."""
    guild = interaction.guild
    names: dict[int, str] = {known.id: known.display_name} if known else {}
    missing = []
    for uid in dict.fromkeys(ids):
        member = guild.get_member(uid) if guild else None
        if member is not None:
            names[uid] = member.display_name
        elif uid not in names:
            missing.append(uid)

    async def fetch(uid: int) -> None:
        with contextlib.suppress(discord.HTTPException):
            names[uid] = (await guild.fetch_member(uid)).display_name  # type: ignore[union-attr]

    if guild is not None and missing:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(NAMES_TIMEOUT):
                await asyncio.gather(*(fetch(uid) for uid in missing))
    return names


def _because(reason: str | None) -> str:
    return f" (reason: {reason})" if reason else ""


def _was(before: int | None, mention: str) -> str:
    return f" (was {mention.format(before)})" if before is not None else " (was not set)"


_KIND_WORDS = {
    "reserve": "reserved",
    "settle": "charged",
    "refund": "refunded",
    "grant": "bonus",
    "set": "allowance set to",
    "reset": "usage cleared:",
}


def _history_line(row) -> str:
    if row.kind == "grant":
        amount = f"{row.bonus_delta:+d}"
    elif row.kind == "reset":
        amount = f"{row.allowance_delta} credits back"
    else:
        amount = str(row.amount)
    parts = [f"<t:{math.floor(row.created_at)}:R>", f"**{_KIND_WORDS[row.kind]} {amount}**"]
    if row.job_id:
        parts.append(f"job `{row.job_id}`")
    if row.actor_id and row.kind in ("grant", "set", "reset"):
        parts.append(f"by <@{row.actor_id}>")
    if row.reason:
        parts.append(f"— {row.reason[:80]}")
    return " ".join(parts)


async def setup(bot: BananaBot) -> None:
    await bot.add_cog(QuotaCog(bot))
