"""The server's log channel (/quota logchannel): moderator actions and generations, recorded
as one line each. Pings nobody; failures to post are logged, never raised."""

from __future__ import annotations

import logging

import discord

from presentation.discord_limits import CONTENT_MAX, clip
from quota.moderation import ModerationSettings

log = logging.getLogger(__name__)


class AuditLog:
    def __init__(self, client: discord.Client, moderation: ModerationSettings) -> None:
        self.client = client
        self.moderation = moderation  # where each server's log channel is

    async def record(self, guild_id: int, text: str, *, channel_id: int | None = None) -> None:
        """Post ``text`` in the server's log channel (or in ``channel_id``), if there is one."""
        if channel_id is None:
            channel_id = (await self.moderation.get(guild_id)).log_channel_id
        if channel_id is None:
            return
        client = self.client
        try:
            channel = client.get_channel(channel_id) or await client.fetch_channel(channel_id)
            await channel.send(
                clip(text, CONTENT_MAX), allowed_mentions=discord.AllowedMentions.none()
            )  # type: ignore[union-attr]
        except discord.HTTPException as exc:
            log.warning("log channel post failed guild=%s status=%s", guild_id, exc.status)
