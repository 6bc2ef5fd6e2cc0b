"""Who counts as a moderator, who may change that, and which roles may be moderator roles
(the refusals are presentation/refusals.py's). Checked in code on every call: Discord's
default_permissions only hides a command, and server admins can re-enable it for anyone."""

from __future__ import annotations

import discord

from presentation.refusals import ModeratorRoleUnsuitable
from quota.moderation import ModerationSettings


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


def check_moderator_role(role: discord.Role) -> None:
    """Raise ModeratorRoleUnsuitable when ``role`` cannot be the moderator role."""
    if role.is_default():
        raise ModeratorRoleUnsuitable(role_id=role.id, reason="everyone")
    if role.managed:
        raise ModeratorRoleUnsuitable(role_id=role.id, reason="managed")
