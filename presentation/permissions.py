"""Who counts as a moderator, who may change that, and which roles may be moderator roles,
with the sentences that say so. Checked in code on every call: Discord's default_permissions
only hides a command, and server admins can re-enable it for anyone."""

from __future__ import annotations

import discord

from quota.moderation import ModerationSettings

ONLY_MODERATORS = "Only moderators can use /quota (Manage Server permission or a moderator role)."
ONLY_SERVER_MANAGERS = (
    "Only members with the Manage Server permission can change who moderates or where "
    "moderator actions are recorded; a moderator role is not enough."
)


async def is_moderator(
    interaction: discord.Interaction,
    moderation: ModerationSettings,
    configured_roles: frozenset[int],
) -> bool:
    """Manage Server (or Administrator), a role in MODERATOR_ROLE_IDS, or the /quota modrole."""
    member = interaction.user
    if not isinstance(member, discord.Member):
        return False
    if manages_server(interaction):
        return True
    role_ids = {r.id for r in member.roles}
    if role_ids & configured_roles:
        return True
    mod_role = (await moderation.get(interaction.guild_id or 0)).mod_role_id
    return mod_role is not None and mod_role in role_ids


def manages_server(interaction: discord.Interaction) -> bool:
    """Manage Server itself (Administrator and the owner have it too): what it takes to
    decide who moderates, since a moderator could otherwise make anyone a moderator."""
    member = interaction.user
    if not isinstance(member, discord.Member):
        return False
    permissions = member.guild_permissions
    return permissions.manage_guild or permissions.administrator


def moderator_role_refusal(role: discord.Role) -> str | None:
    """Why ``role`` cannot be the moderator role, or None when it can."""
    if role.is_default():
        return (
            "@everyone cannot be the moderator role: every member has it, so everyone could "
            "change credits. Choose a role that only your moderators have."
        )
    if role.managed:
        return (
            f"{role.mention} cannot be the moderator role: it is managed by an integration "
            "(a bot, a server subscription or the booster role), so Discord, not your staff, "
            "decides who has it. Choose a role that you hand out yourself."
        )
    return None
