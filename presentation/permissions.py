"""Who counts as a moderator. Checked in code on every call: Discord's default_permissions only
hides a command, and server admins can re-enable it for anyone."""

from __future__ import annotations

import discord

from db import guilds
from db.database import Database


async def is_moderator(
    interaction: discord.Interaction, db: Database, configured_roles: frozenset[int]
) -> bool:
    """Manage Server (or Administrator), a role in MODERATOR_ROLE_IDS, or the /quota modrole."""
    member = interaction.user
    if not isinstance(member, discord.Member):
        return False
    if member.guild_permissions.manage_guild or member.guild_permissions.administrator:
        return True
    role_ids = {r.id for r in member.roles}
    if role_ids & configured_roles:
        return True
    mod_role = (await guilds.get(db, interaction.guild_id or 0)).mod_role_id
    return mod_role is not None and mod_role in role_ids
