"""/settings: how this server uses the bot. Everyone may look (`show`); changing anything
takes a moderator (Manage Server, a MODERATOR_ROLE_IDS role or the /quota modrole), checked
here on every call. Every change is stored, answered ephemerally and posted to the log
channel, pinging nobody. The cost-preview threshold is stored and shown; the confirmation
flow that uses it is not part of this cog."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from jobs.models import COMMANDS
from presentation.discord_limits import (
    CHOICE_NAME_MAX,
    CHOICE_VALUE_MAX,
    CHOICES_MAX,
    CONTENT_MAX,
    EMBED_DESCRIPTION_MAX,
    clip,
    fit_embed,
)
from presentation.embeds import plural
from presentation.permissions import is_moderator
from presentation.refusals import ModeratorOnly, PhraseNotBlocked
from providers.base import Kind, ModelSpec
from quota.server_settings import COST_PREVIEW_MAX, PHRASE_MAX, GuildPolicy

if TYPE_CHECKING:
    from bot import BananaBot

CLEAR = "none"  # the `model` value that clears a server default
CommandKind = Literal["image", "video", "animate"]


def _label(spec: ModelSpec, suffix: str = "") -> str:
    text = f"{spec.name} — {spec.provider}" + (f" — {suffix}" if suffix else "")
    return clip(text, CHOICE_NAME_MAX)


async def _default_model_choices(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    """Enabled models of the kind chosen, that this server allows, and `none`."""
    bot: BananaBot = interaction.client  # type: ignore[assignment]
    policy = await bot.server_settings.policy(interaction.guild_id or 0)
    command = getattr(interaction.namespace, "kind", None) or "image"
    needle = current.strip().lower()
    choices = [app_commands.Choice(name="none — use the bot's default", value=CLEAR)]
    if needle and needle not in CLEAR:
        choices = []
    for spec in bot.models.offered(command, policy, images=False):
        if len(spec.qualified_id) > CHOICE_VALUE_MAX:
            continue
        if needle and needle not in f"{spec.qualified_id} {spec.name}".lower():
            continue
        choices.append(app_commands.Choice(name=_label(spec), value=spec.qualified_id))
    return choices[:CHOICES_MAX]


async def _any_model_choices(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    """Every enabled model, by id (all its providers) and by provider:model, with whether
    this server allows it."""
    bot: BananaBot = interaction.client  # type: ignore[assignment]
    policy = await bot.server_settings.policy(interaction.guild_id or 0)
    needle = current.strip().lower()
    specs = [*bot.registry.models(Kind.IMAGE), *bot.registry.models(Kind.VIDEO)]
    choices: list[app_commands.Choice[str]] = []
    seen: set[str] = set()
    for spec in specs:
        for value, label in (
            (spec.id, f"{spec.name} — every provider"),
            (spec.qualified_id, f"{spec.name} — {spec.provider}"),
        ):
            if value.lower() in seen or len(value) > CHOICE_VALUE_MAX:
                continue
            if needle and needle not in f"{value} {spec.name}".lower():
                continue
            seen.add(value.lower())
            state = "allowed" if policy.allows(spec) else "not allowed"
            choices.append(
                app_commands.Choice(name=clip(f"{label} ({state})", CHOICE_NAME_MAX), value=value)
            )
    return choices[:CHOICES_MAX]


@app_commands.guild_only()
class SettingsCog(
    commands.GroupCog, group_name="settings", group_description="How this server uses the bot"
):
    blocklist = app_commands.Group(
        name="blocklist", description="Words and phrases refused in prompts (moderators)"
    )

    def __init__(self, bot: BananaBot) -> None:
        self.bot = bot
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Everything but `show` takes a moderator; checked here, on every call."""
        command = interaction.command
        if command is not None and command.qualified_name == "settings show":
            return True
        if not await is_moderator(
            interaction, self.bot.moderation, self.bot.settings.moderator_role_ids
        ):
            raise ModeratorOnly(command="settings")  # a CheckFailure: reaches the error handler
        return True

    async def _done(self, interaction: discord.Interaction, text: str, note: str = "") -> None:
        """Answer the moderator and record the change in the log channel (pings nobody)."""
        answer = f"Done: you {text}" + (f"\n{note}" if note else "")
        await interaction.response.send_message(
            clip(answer, CONTENT_MAX),
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )
        line = f"⚙️ <@{interaction.user.id}> {text}"
        await self.bot.audit.record(interaction.guild_id or 0, line)

    def _policy(self, interaction: discord.Interaction):
        return self.bot.server_settings.policy(interaction.guild_id or 0)

    # --- show -----------------------------------------------------------------------------

    @app_commands.command(name="show", description="Show this server's bot settings")
    async def show(self, interaction: discord.Interaction) -> None:
        guild_id = interaction.guild_id or 0
        policy = await self._policy(interaction)
        moderation = await self.bot.moderation.get(guild_id)
        embed = discord.Embed(title="Bot settings for this server", colour=discord.Colour.blurple())
        embed.add_field(name="Default models", value=self._defaults_text(policy), inline=False)
        embed.add_field(name="Models", value=_models_text(policy), inline=False)
        embed.add_field(name="Channels", value=_channels_text(policy), inline=False)
        embed.add_field(
            name="Blocked words and phrases",
            value=(
                f"{plural(len(policy.phrases), 'phrase')} (moderators: /settings blocklist list)"
                if policy.phrases
                else "none"
            ),
            inline=True,
        )
        embed.add_field(
            name="Cost preview",
            value=(
                f"jobs of {plural(policy.cost_preview, 'credit')} or more"
                if policy.cost_preview
                else "off"
            ),
            inline=True,
        )
        embed.add_field(
            name="Log channel",
            value=f"<#{moderation.log_channel_id}>" if moderation.log_channel_id else "not set",
            inline=True,
        )
        embed.set_footer(text="Moderators change these with /settings.")
        await interaction.response.send_message(embed=fit_embed(embed), ephemeral=True)

    def _defaults_text(self, policy: GuildPolicy) -> str:
        lines = []
        for command_kind in COMMANDS:
            try:
                spec = self.bot.models.choose(command_kind, policy)
                used = f"`{spec.qualified_id}`"
            except LookupError:
                used = "no model allowed"
            mine = policy.default_for(command_kind)
            if mine:
                source = "this server's default"
                if not spec_matches(mine, used):
                    source = f"this server's default `{mine}` cannot be used, so"
                line = f"/{command_kind}: {used} ({source})"
            else:
                bots = self.bot.models.operator_default(command_kind)
                line = f"/{command_kind}: {used} (bot default{'' if bots else ': first allowed'})"
            lines.append(line)
        return "\n".join(lines)

    # --- default --------------------------------------------------------------------------

    @app_commands.command(name="default", description="Set the model a command uses by default")
    @app_commands.describe(
        kind="Which command: image, video or animate",
        model="Model id or provider:model; none uses the bot's default",
    )
    @app_commands.autocomplete(model=_default_model_choices)
    async def default(
        self,
        interaction: discord.Interaction,
        kind: CommandKind,
        model: app_commands.Range[str, 1, 100],
    ) -> None:
        guild_id = interaction.guild_id or 0
        policy = await self._policy(interaction)
        wanted = model.strip()
        if wanted.lower() == CLEAR:
            before = await self.bot.server_settings.set_default(guild_id, kind, None)
            await self._done(
                interaction,
                f"cleared this server's default /{kind} model{_was(before)}; the bot's default "
                "applies.",
            )
            return
        # refuses unknown and disallowed models, naming them
        spec = self.bot.models.choose(kind, policy, named=wanted)
        before = await self.bot.server_settings.set_default(guild_id, kind, wanted)
        await self._done(
            interaction,
            f"set this server's default /{kind} model to `{wanted}` ({spec.name}){_was(before)}.",
            note="A command given options this model does not take uses a model that does.",
        )

    # --- model ----------------------------------------------------------------------------

    @app_commands.command(name="model", description="Allow or refuse a model in this server")
    @app_commands.describe(
        model="Model id (every provider's) or provider:model (one provider's)",
        enabled="true allows it, false refuses it",
    )
    @app_commands.autocomplete(model=_any_model_choices)
    async def model(
        self,
        interaction: discord.Interaction,
        model: app_commands.Range[str, 1, 100],
        enabled: bool,
    ) -> None:
        guild_id = interaction.guild_id or 0
        known = [*self.bot.registry.models(Kind.IMAGE), *self.bot.registry.models(Kind.VIDEO)]
        change = await self.bot.server_settings.set_model(
            guild_id, model, enabled, actor_id=interaction.user.id, known=known
        )
        policy = await self._policy(interaction)
        text = (
            f"allowed `{change.key}` in this server."
            if enabled
            else f"refused `{change.key}` in this server: /image, /video and /animate no "
            "longer use it."
        )
        empty = [
            f"/{command_kind}"
            for command_kind in COMMANDS
            if not self.bot.models.offered(command_kind, policy, images=False)
        ]
        note = (
            f"No model is allowed for {', '.join(empty)} now, so members cannot use "
            f"{'it' if len(empty) == 1 else 'them'} until one is allowed again."
            if empty
            else ""
        )
        await self._done(interaction, text, note=note)

    # --- channel --------------------------------------------------------------------------

    @app_commands.command(name="channel", description="Allow or stop generation in a channel")
    @app_commands.describe(
        channel="The channel",
        allowed="true adds it to the allowed channels; with none listed, every channel is",
    )
    async def channel(
        self, interaction: discord.Interaction, channel: discord.TextChannel, allowed: bool
    ) -> None:
        channels = await self.bot.server_settings.set_channel(
            interaction.guild_id or 0, channel.id, allowed, actor_id=interaction.user.id
        )
        where = (
            "generation is now allowed in every channel"
            if not channels
            else f"generation is now allowed only in {_mentions(channels)}"
        )
        verb = "allowed generation in" if allowed else "removed generation from"
        await self._done(interaction, f"{verb} <#{channel.id}>; {where}.")

    # --- blocklist ------------------------------------------------------------------------

    @blocklist.command(name="add", description="Refuse prompts containing a word or phrase")
    @app_commands.describe(phrase="Matched as whole words, in any case")
    async def blocklist_add(
        self, interaction: discord.Interaction, phrase: app_commands.Range[str, 1, PHRASE_MAX]
    ) -> None:
        _, added = await self.bot.server_settings.add_phrase(
            interaction.guild_id or 0, phrase, actor_id=interaction.user.id
        )
        count = len((await self._policy(interaction)).phrases)
        if not added:
            await interaction.response.send_message(
                "That phrase is already blocked; nothing changed.", ephemeral=True
            )
            return
        # The log names no phrase: a log channel may be read by more people than moderators.
        await self._done(
            interaction, f"added a phrase to the prompt blocklist ({plural(count, 'phrase')} now)."
        )

    @blocklist.command(name="remove", description="Stop refusing a word or phrase")
    @app_commands.describe(phrase="The phrase as it was added (any case)")
    async def blocklist_remove(
        self, interaction: discord.Interaction, phrase: app_commands.Range[str, 1, PHRASE_MAX]
    ) -> None:
        _, removed = await self.bot.server_settings.remove_phrase(interaction.guild_id or 0, phrase)
        if not removed:
            raise PhraseNotBlocked()
        count = len((await self._policy(interaction)).phrases)
        await self._done(
            interaction,
            f"removed a phrase from the prompt blocklist ({plural(count, 'phrase')} left).",
        )

    @blocklist.command(name="list", description="Show the blocked words and phrases")
    async def blocklist_list(self, interaction: discord.Interaction) -> None:
        policy = await self._policy(interaction)
        if not policy.phrases:
            await interaction.response.send_message("No phrase is blocked.", ephemeral=True)
            return
        lines, used = [], 0
        for phrase in policy.phrases:
            line = f"• {discord.utils.escape_markdown(phrase)}"
            if used + len(line) + 1 > EMBED_DESCRIPTION_MAX - 40:
                lines.append(f"… and {len(policy.phrases) - len(lines)} more")
                break
            lines.append(line)
            used += len(line) + 1
        embed = discord.Embed(
            title=f"Blocked in prompts ({len(policy.phrases)})", description="\n".join(lines)
        )
        embed.set_footer(text="Matched as whole words, in any case.")
        await interaction.response.send_message(embed=fit_embed(embed), ephemeral=True)

    # --- cost preview ---------------------------------------------------------------------

    @app_commands.command(
        name="cost_preview", description="Ask members to confirm jobs costing this much (0 = off)"
    )
    @app_commands.describe(credits="Credits at or above which a job is confirmed first; 0 = off")
    async def cost_preview(
        self,
        interaction: discord.Interaction,
        credits: app_commands.Range[int, 0, COST_PREVIEW_MAX],
    ) -> None:
        before = await self.bot.server_settings.set_cost_preview(interaction.guild_id or 0, credits)
        now = f"{plural(credits, 'credit')} or more" if credits else "off"
        was = f"{plural(before, 'credit')} or more" if before else "off"
        await self._done(interaction, f"set the cost preview to {now} (was {was}).")


def spec_matches(wanted: str, used: str) -> bool:
    """Whether the model in use (```provider:model```) is the one a default names."""
    used = used.strip("`").lower()
    wanted = wanted.lower()
    return used == wanted or used.rpartition(":")[2] == wanted


def _was(before: str | None) -> str:
    return f" (was `{before}`)" if before else " (was the bot's default)"


def _mentions(channels) -> str:
    shown = sorted(channels)
    text = ", ".join(f"<#{c}>" for c in shown[:20])
    return text + (f" and {len(shown) - 20} more" if len(shown) > 20 else "")


def _models_text(policy: GuildPolicy) -> str:
    refused = sorted(m for m, ok in policy.model_rules.items() if not ok)
    excepted = sorted(m for m, ok in policy.model_rules.items() if ok)
    if not refused:
        return "every enabled model is allowed"
    text = "not allowed: " + ", ".join(f"`{m}`" for m in refused)
    if excepted:
        text += "\nallowed all the same: " + ", ".join(f"`{m}`" for m in excepted)
    return text


def _channels_text(policy: GuildPolicy) -> str:
    if not policy.channels:
        return "generation is allowed in every channel"
    return f"generation is allowed only in {_mentions(policy.channels)}"


async def setup(bot: BananaBot) -> None:
    await bot.add_cog(SettingsCog(bot))
