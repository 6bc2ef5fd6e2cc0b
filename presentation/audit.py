"""The server's log channel (/quota logchannel): moderator actions and generations, recorded
as one line each. Pings nobody; failures to post are logged, never raised."""

from __future__ import annotations

import logging

import discord

from db import guilds
from db.database import Database
from presentation.discord_limits import CONTENT_MAX, clip

log = logging.getLogger(__name__)


async def record(
    bot: discord.Client, db: Database, guild_id: int, text: str, *, channel_id: int | None = None
) -> None:
    """Post ``text`` in the server's log channel (or in ``channel_id``), if there is one."""
    if channel_id is None:
        channel_id = (await guilds.get(db, guild_id)).log_channel_id
    if channel_id is None:
        return
    try:
        channel = bot.get_channel(channel_id) or await bot.fetch_channel(channel_id)
        await channel.send(clip(text, CONTENT_MAX), allowed_mentions=discord.AllowedMentions.none())  # type: ignore[union-attr]
    except discord.HTTPException as exc:
        log.warning("log channel post failed guild=%s status=%s", guild_id, exc.status)
