"""Who counts as a moderator. Checked in code on every call: Discord's default_permissions only
hides a command, and server admins can re-enable it for anyone."""

from __future__ import annotations

import discord

from db.database import Database


async def guild_mod_role(db: Database, guild_id: int) -> int | None:
    row = await db.fetchone(
        "SELECT mod_role_id FROM guild_settings WHERE guild_id = ?", (guild_id,)
    )
    return row[0] if row and row[0] else None


async def is_moderator(
    interaction: discord.Interaction, db: Database, configured_roles: frozenset[int]
) -> bool:
    member = interaction.user
    if not isinstance(member, discord.Member):
        return False
    if member.guild_permissions.manage_guild or member.guild_permissions.administrator:
        return True
    role_ids = {r.id for r in member.roles}
    if role_ids & configured_roles:
        return True
    mod_role = await guild_mod_role(db, interaction.guild_id or 0)
    return mod_role is not None and mod_role in role_ids
