"""A local emulator of Discord's API (REST v10 + gateway) for end-to-end bot tests.

The real discord.py client talks to it over real sockets, so tests exercise the bot's
actual wire behaviour: command sync, interaction callbacks, webhook followups and edits,
uploads and their limits, token expiry.

    fake = FakeDiscord()
    fake.add_guild(G, "guild", premium_tier=2)
    fake.add_channel(G, C, "general")
    fake.add_member(G, U, "alice")
    async with run_bot(bot, fake):
        rec = await fake.invoke_slash(G, C, U, "imagine", {"prompt": "a banana"})
        callback = await fake.wait_for_callback(rec)

Every payload the bot sends is checked as Discord checks it (``validation``): a payload
Discord would refuse gets Discord's status, error code and ``errors`` tree. A member with
Nitro is ``add_member(..., upload_limit=...)``; ``fake.rate_limit_next(method, path_regex,
retry_after)`` answers the next matching request with Discord's 429.

Modules: ``model`` (data + records), ``payloads`` (JSON shapes), ``messages`` (message
bodies), ``validation`` (Discord's rules, as pure functions), ``rest`` / ``webhooks`` /
``gateway`` (transports), ``server`` (``FakeDiscord``), ``harness`` (``run_bot``).
"""

from .harness import following_clock, pointed_at, run_bot
from .model import (
    ADMINISTRATOR,
    ATTACH_FILES,
    DEFAULT_EVERYONE_PERMISSIONS,
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    SEND_MESSAGES,
    UPLOAD_LIMIT_BY_TIER,
    VIEW_CHANNEL,
    AttachmentRecord,
    CallbackRecord,
    Channel,
    Clock,
    CommandSync,
    Guild,
    InteractionRecord,
    Member,
    MessageRecord,
    RequestRecord,
    Role,
    User,
    WebhookEditRecord,
    make_snowflake,
    snowflake_time,
)
from .server import FakeDiscord

__all__ = [
    "ADMINISTRATOR",
    "ATTACH_FILES",
    "DEFAULT_EVERYONE_PERMISSIONS",
    "FLAG_EPHEMERAL",
    "FLAG_LOADING",
    "SEND_MESSAGES",
    "UPLOAD_LIMIT_BY_TIER",
    "VIEW_CHANNEL",
    "AttachmentRecord",
    "CallbackRecord",
    "Channel",
    "Clock",
    "CommandSync",
    "FakeDiscord",
    "Guild",
    "InteractionRecord",
    "Member",
    "MessageRecord",
    "RequestRecord",
    "Role",
    "User",
    "WebhookEditRecord",
    "following_clock",
    "make_snowflake",
    "pointed_at",
    "run_bot",
    "snowflake_time",
]
