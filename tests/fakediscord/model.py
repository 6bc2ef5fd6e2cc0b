"""The emulator's world: clock, snowflakes, guild data and the records tests assert on.

Everything here is plain data. The REST side, the gateway and the payload builders read and
write these objects; tests read them to see what the bot did. Nothing in this module knows
about HTTP or websockets, so a reader can check the data model without the transport.
"""

from __future__ import annotations

import itertools
import re
import struct
import time
from dataclasses import dataclass, field
from typing import Any

DISCORD_EPOCH_MS = 1420070400000

# Permission bits the emulator itself reasons about (Discord's documented values).
CREATE_INSTANT_INVITE = 1 << 0
ADMINISTRATOR = 1 << 3
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
USE_EXTERNAL_EMOJIS = 1 << 18
CONNECT = 1 << 20
SPEAK = 1 << 21
CHANGE_NICKNAME = 1 << 26
USE_APPLICATION_COMMANDS = 1 << 31
SEND_MESSAGES_IN_THREADS = 1 << 38
ALL_PERMISSIONS = (1 << 53) - 1

#: What a fresh guild's @everyone role can do, roughly Discord's default.
DEFAULT_EVERYONE_PERMISSIONS = (
    CREATE_INSTANT_INVITE
    | ADD_REACTIONS
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_EXTERNAL_EMOJIS
    | CONNECT
    | SPEAK
    | CHANGE_NICKNAME
    | USE_APPLICATION_COMMANDS
    | SEND_MESSAGES_IN_THREADS
)

# Message flags.
FLAG_SUPPRESS_EMBEDS = 1 << 2
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7
FLAG_SUPPRESS_NOTIFICATIONS = 1 << 12
FLAG_COMPONENTS_V2 = 1 << 15

MiB = 1024 * 1024
#: Upload limit by boost tier, as discord.py's ``Guild.filesize_limit`` reports it.
UPLOAD_LIMIT_BY_TIER = {0: 10 * MiB, 1: 10 * MiB, 2: 50 * MiB, 3: 100 * MiB}


class Clock:
    """Emulator wall time: ``time.time()`` plus an offset tests can advance.

    Interaction token lifetimes and the 3-second callback deadline are judged against this
    clock, and snowflakes embed it, so advancing it ages interactions without sleeping.
    """

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds

    def iso(self) -> str:
        return iso_timestamp(self())


def iso_timestamp(at: float) -> str:
    """ISO 8601 timestamp of unix seconds ``at``, the form Discord uses in payloads."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at))
    return f"{stamp}.{int((at % 1) * 1_000_000):06d}+00:00"


class Snowflakes:
    """Discord-shaped ids whose timestamp part follows the emulator clock.

    discord.py derives ``created_at`` from ids, so ids must decode to plausible times.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._counter = itertools.count()

    def __call__(self) -> int:
        return make_snowflake(self._clock(), next(self._counter))


def make_snowflake(unix_seconds: float, increment: int = 0) -> int:
    millis = int(unix_seconds * 1000) - DISCORD_EPOCH_MS
    return (millis << 22) | (1 << 17) | (1 << 12) | (increment % 4096)


def snowflake_time(snowflake: int) -> float:
    """Unix seconds encoded in ``snowflake``."""
    return ((snowflake >> 22) + DISCORD_EPOCH_MS) / 1000


# ---------------------------------------------------------------------------------------------
# Guild data, configured by tests through FakeDiscord.add_* helpers.


@dataclass
class User:
    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    avatar: str | None = None
    discriminator: str = "0"
    #: Personal per-file upload limit (Nitro), in bytes; None: no more than the server's.
    upload_limit: int | None = None


@dataclass
class Role:
    id: int
    guild_id: int
    name: str
    permissions: int = 0
    position: int = 1
    color: int = 0
    managed: bool = False
    mentionable: bool = False


@dataclass
class Channel:
    """A guild text-like channel or a DM (``guild_id`` None, ``type`` 1)."""

    id: int
    guild_id: int | None
    name: str
    type: int = 0
    position: int = 0
    topic: str | None = None
    nsfw: bool = False
    parent_id: int | None = None
    #: Discord overwrite payloads: {"id", "type" (0 role, 1 member), "allow", "deny"}.
    overwrites: list[dict[str, Any]] = field(default_factory=list)
    recipient_ids: list[int] = field(default_factory=list)


@dataclass
class Member:
    guild_id: int
    user_id: int
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    #: When set, reported verbatim as the member's ``permissions`` instead of computed ones.
    permissions_override: int | None = None
    joined_at: float = 0.0


@dataclass
class Guild:
    id: int
    name: str
    owner_id: int
    premium_tier: int = 0
    #: Per-file upload limit in bytes; uploads above it get 413. Defaults from the tier.
    upload_limit: int = 10 * MiB
    locale: str = "en-US"
    features: list[str] = field(default_factory=list)
    channels: dict[int, Channel] = field(default_factory=dict)
    roles: dict[int, Role] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)
    #: False sends GUILD_CREATE with ``unavailable: true`` (an outage) instead of the guild.
    available: bool = True

    def base_permissions(self, user_id: int) -> int:
        """Guild-level permissions, as Discord computes them before channel overwrites."""
        if user_id == self.owner_id:
            return ALL_PERMISSIONS
        member = self.members.get(user_id)
        everyone = self.roles.get(self.id)
        perms = everyone.permissions if everyone else 0
        if member is not None:
            for role_id in member.roles:
                role = self.roles.get(role_id)
                if role is not None:
                    perms |= role.permissions
        if perms & ADMINISTRATOR:
            return ALL_PERMISSIONS
        return perms

    def permissions_in(self, channel: Channel | None, user_id: int) -> int:
        """Channel permissions: base, then @everyone, role and member overwrites in order."""
        member = self.members.get(user_id)
        if member is not None and member.permissions_override is not None:
            return member.permissions_override
        perms = self.base_permissions(user_id)
        if perms == ALL_PERMISSIONS or channel is None:
            return perms
        role_ids = set(member.roles) if member else set()
        by_id = {int(o["id"]): o for o in channel.overwrites}
        everyone = by_id.get(self.id)
        if everyone:
            perms = (perms & ~int(everyone["deny"])) | int(everyone["allow"])
        allow = deny = 0
        for ow in channel.overwrites:
            if int(ow["type"]) == 0 and int(ow["id"]) in role_ids:
                allow |= int(ow["allow"])
                deny |= int(ow["deny"])
        perms = (perms & ~deny) | allow
        own = by_id.get(user_id)
        if own and int(own["type"]) == 1:
            perms = (perms & ~int(own["deny"])) | int(own["allow"])
        return perms


# ---------------------------------------------------------------------------------------------
# Records of what the bot did.


@dataclass
class AttachmentRecord:
    """A file stored by the emulator and served from its CDN route at ``url``."""

    id: int
    filename: str
    data: bytes
    content_type: str | None = None
    description: str | None = None
    url: str = ""
    ephemeral: bool = False
    width: int | None = None
    height: int | None = None
    #: Reported size; normally ``len(data)`` but injected attachments may claim more.
    size: int = -1

    def __post_init__(self) -> None:
        if self.size < 0:
            self.size = len(self.data)
        if self.width is None and self.data[:8] == b"\x89PNG\r\n\x1a\n" and len(self.data) >= 24:
            self.width, self.height = struct.unpack(">II", self.data[16:24])

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": str(self.id),
            "filename": self.filename,
            "size": self.size,
            "url": self.url,
            "proxy_url": self.url,
        }
        if self.content_type:
            payload["content_type"] = self.content_type
        if self.description is not None:
            payload["description"] = self.description
        if self.width is not None:
            payload["width"], payload["height"] = self.width, self.height
        if self.ephemeral:
            payload["ephemeral"] = True
        return payload


_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")


@dataclass
class MessageRecord:
    """A message as the emulator stores it, updated in place by edits."""

    id: int
    channel_id: int
    guild_id: int | None
    author: dict[str, Any]
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    allowed_mentions: dict[str, Any] | None = None
    attachments: list[AttachmentRecord] = field(default_factory=list)
    flags: int = 0
    tts: bool = False
    type: int = 0
    webhook_id: int | None = None
    application_id: int | None = None
    interaction_id: int | None = None
    interaction_metadata: dict[str, Any] | None = None
    message_reference: dict[str, Any] | None = None
    poll: dict[str, Any] | None = None
    created_at: float = 0.0
    edited_at: float | None = None
    deleted: bool = False
    #: Request payload that created the message.
    raw: dict[str, Any] = field(default_factory=dict)
    #: Request payloads of each later edit, in order.
    edits: list[dict[str, Any]] = field(default_factory=list)
    #: Emoji strings the bot reacted with.
    reactions: list[str] = field(default_factory=list)
    #: User payloads of who the message pings; kept current by ``FakeDiscord``.
    mentions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def author_id(self) -> int:
        return int(self.author["id"])

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & FLAG_EPHEMERAL)

    @property
    def loading(self) -> bool:
        """True for the "Bot is thinking..." placeholder a type 5 callback creates."""
        return bool(self.flags & FLAG_LOADING)

    @property
    def files(self) -> dict[str, bytes]:
        """Attachment bytes by filename."""
        return {a.filename: a.data for a in self.attachments}

    def pings(self) -> dict[str, Any]:
        """Who this message actually notifies, applying ``allowed_mentions`` like Discord.

        Returns {"users": set[int], "roles": set[int], "everyone": bool}. With no
        ``allowed_mentions`` everything written in the content pings.
        """
        users = {int(u) for u in _USER_MENTION.findall(self.content)}
        roles = {int(r) for r in _ROLE_MENTION.findall(self.content)}
        everyone = "@everyone" in self.content or "@here" in self.content
        am = self.allowed_mentions
        if am is None:
            return {"users": users, "roles": roles, "everyone": everyone}
        parse = set(am.get("parse") or [])
        allowed_users = users if "users" in parse else users & {int(u) for u in am.get("users", [])}
        allowed_roles = roles if "roles" in parse else roles & {int(r) for r in am.get("roles", [])}
        return {
            "users": allowed_users,
            "roles": allowed_roles,
            "everyone": everyone and "everyone" in parse,
        }

    def to_payload(self) -> dict[str, Any]:
        """The message object Discord returns and dispatches."""
        pings = self.pings()
        payload: dict[str, Any] = {
            "id": str(self.id),
            "channel_id": str(self.channel_id),
            "author": self.author,
            "content": self.content,
            "timestamp": iso_timestamp(self.created_at),
            "edited_timestamp": iso_timestamp(self.edited_at) if self.edited_at else None,
            "tts": self.tts,
            "mention_everyone": pings["everyone"],
            "mentions": self.mentions,
            "mention_roles": [str(r) for r in sorted(pings["roles"])],
            "attachments": [a.to_payload() for a in self.attachments],
            "embeds": self.embeds,
            "components": self.components,
            "pinned": False,
            "type": self.type,
            "flags": self.flags,
            "reactions": [],
        }
        if self.guild_id is not None:
            payload["guild_id"] = str(self.guild_id)
        if self.webhook_id is not None:
            payload["webhook_id"] = str(self.webhook_id)
        if self.application_id is not None:
            payload["application_id"] = str(self.application_id)
        if self.interaction_metadata is not None:
            payload["interaction_metadata"] = self.interaction_metadata
        if self.message_reference is not None:
            payload["message_reference"] = self.message_reference
        if self.poll is not None:
            payload["poll"] = self.poll
        return payload


@dataclass
class CallbackRecord:
    """An accepted ``POST /interactions/{id}/{token}/callback``."""

    interaction_id: int
    type: int
    data: dict[str, Any]
    attachments: list[AttachmentRecord] = field(default_factory=list)
    at: float = 0.0

    @property
    def flags(self) -> int:
        return int(self.data.get("flags") or 0)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & FLAG_EPHEMERAL)

    @property
    def content(self) -> str | None:
        return self.data.get("content")

    @property
    def choices(self) -> list[dict[str, Any]]:
        """Autocomplete choices (type 8)."""
        return list(self.data.get("choices") or [])


@dataclass
class InteractionRecord:
    """One interaction the emulator dispatched, and everything the bot answered to it."""

    id: int
    token: str
    type: int
    name: str
    guild_id: int | None
    channel_id: int
    user_id: int
    payload: dict[str, Any]
    created_at: float
    expires_at: float
    #: When the INTERACTION_CREATE frame was written to the bot's gateway connection (None
    #: until then): with ``callback.at``, the bot's own share of the answer's time.
    dispatched_at: float | None = None
    callback: CallbackRecord | None = None
    #: The message the interaction's "@original" refers to, kept current through edits.
    original: MessageRecord | None = None
    followups: list[MessageRecord] = field(default_factory=list)
    #: For component interactions: the message whose component was used.
    source_message_id: int | None = None

    @property
    def responded(self) -> bool:
        return self.callback is not None

    @property
    def ephemeral(self) -> bool:
        return self.callback is not None and self.callback.ephemeral

    @property
    def choices(self) -> list[dict[str, Any]]:
        return self.callback.choices if self.callback else []

    @property
    def modal(self) -> dict[str, Any] | None:
        """The modal the bot opened (callback type 9 data), if any."""
        if self.callback is not None and self.callback.type == 9:
            return self.callback.data
        return None


@dataclass
class WebhookEditRecord:
    """A PATCH or DELETE on an interaction webhook message, accepted or refused."""

    interaction_id: int | None
    target: str  # "@original" or the message id as sent
    method: str
    data: dict[str, Any]
    status: int
    message_id: int | None = None
    attachments: list[AttachmentRecord] = field(default_factory=list)
    at: float = 0.0


@dataclass
class RequestRecord:
    """Every REST request the emulator saw."""

    method: str
    path: str
    status: int
    body: Any = None
    at: float = 0.0
    connection: int | None = None  # the client's port: requests on one kept-alive connection


@dataclass
class CommandSync:
    """One bulk overwrite (PUT) of application commands."""

    guild_id: int | None
    payload: list[dict[str, Any]]
    at: float = 0.0
