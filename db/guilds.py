"""Per-server settings set by moderators: the moderator role and the log channel."""

from __future__ import annotations

from dataclasses import dataclass

from db.database import Database


@dataclass(frozen=True)
class GuildSettings:
    mod_role_id: int | None = None
    log_channel_id: int | None = None


async def get(db: Database, guild_id: int) -> GuildSettings:
    row = await db.fetchone(
        "SELECT mod_role_id, log_channel_id FROM guild_settings WHERE guild_id = ?", (guild_id,)
    )
    return GuildSettings(row[0], row[1]) if row else GuildSettings()


async def _set(db: Database, guild_id: int, column: str, value: int | None, now: float) -> None:
    assert column in ("mod_role_id", "log_channel_id")
    async with db.transaction() as conn:
        await conn.execute(
            f"INSERT INTO guild_settings (guild_id, {column}, updated_at) VALUES (?, ?, ?) "
            f"ON CONFLICT (guild_id) DO UPDATE SET {column} = excluded.{column}, "
            "updated_at = excluded.updated_at",
            (guild_id, value, now),
        )


async def set_mod_role(db: Database, guild_id: int, role_id: int | None, now: float) -> None:
    await _set(db, guild_id, "mod_role_id", role_id, now)


async def set_log_channel(db: Database, guild_id: int, channel_id: int | None, now: float) -> None:
    await _set(db, guild_id, "log_channel_id", channel_id, now)
