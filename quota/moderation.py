"""Who moderates a server and where moderator actions are recorded: the /quota modrole and
/quota logchannel settings, for the cogs (which never touch the database themselves).

Deciding whether a change is allowed (Manage Server, which roles qualify) is the caller's
business; this service stores it and says what it replaced, so the log can name both.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from db import guilds
from db.database import Database
from db.guilds import GuildSettings


class ModerationSettings:
    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.clock = clock

    async def get(self, guild_id: int) -> GuildSettings:
        return await guilds.get(self.db, guild_id)

    async def set_mod_role(self, guild_id: int, role_id: int | None) -> int | None:
        """Store the server's moderator role; returns the one it replaced (None if unset)."""
        before = (await self.get(guild_id)).mod_role_id
        await guilds.set_mod_role(self.db, guild_id, role_id, self.clock())
        return before

    async def set_log_channel(self, guild_id: int, channel_id: int | None) -> int | None:
        """Store the server's log channel; returns the one it replaced (None if unset)."""
        before = (await self.get(guild_id)).log_channel_id
        await guilds.set_log_channel(self.db, guild_id, channel_id, self.clock())
        return before
