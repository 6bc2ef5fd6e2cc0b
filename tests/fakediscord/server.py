"""``FakeDiscord``: the emulator's state, its lifecycle, and the records tests inspect.

Tests build a world (guilds, channels, roles, members), start the server, run a real bot
against it (``harness.run_bot``), inject what users do (``actions.UserActions``), then wait
(``waiting.Waiting``) and inspect the records of what the bot did. The transports live in
``rest.py``, ``webhooks.py`` and ``gateway.py``; payload shapes in ``payloads.py``.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from aiohttp import web

from . import payloads
from .actions import UserActions
from .gateway import DIRECT_MESSAGES, GUILD_MESSAGES, Gateway
from .messages import json_response
from .model import (
    DEFAULT_EVERYONE_PERMISSIONS,
    UPLOAD_LIMIT_BY_TIER,
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
    Snowflakes,
    User,
    WebhookEditRecord,
)
from .waiting import Waiting


@dataclass
class _Fault:
    method: str
    path: re.Pattern[str]
    status: int
    body: Any
    remaining: int
    headers: dict[str, str]


class FakeDiscord(UserActions, Waiting):
    """A local Discord: REST v10 under ``/api/v10``, gateway at ``/gateway``, CDN files.

    ``app_id`` defaults to the bot user's id (as for every modern Discord application);
    ``bot_user`` may be a :class:`User`, a mapping with ``id``/``username``, or None.
    The bot must log in with ``token``.
    """

    def __init__(
        self,
        app_id: int | None = None,
        bot_user: User | Mapping[str, Any] | None = None,
        *,
        token: str = "test-token",
        heartbeat_interval_ms: int = 41250,
    ) -> None:
        self.clock = Clock()
        self.snowflake = Snowflakes(self.clock)
        if isinstance(bot_user, Mapping):
            bot_user = User(
                id=int(bot_user["id"]),
                username=bot_user.get("username", "bananabot"),
                global_name=bot_user.get("global_name"),
                bot=True,
            )
        if bot_user is None:
            bot_user = User(id=app_id or self.snowflake(), username="bananabot", bot=True)
        self.bot_user: User = bot_user
        self.app_id: int = app_id or bot_user.id
        self.app_flags = 1 << 19  # GATEWAY_MESSAGE_CONTENT_LIMITED, like an unverified bot
        self.token = token
        #: Seconds after an interaction within which the first callback is accepted.
        self.callback_deadline = 3.0
        #: Seconds of emulator time an interaction's webhook token stays valid.
        self.token_lifetime = float(payloads.INTERACTION_TOKEN_LIFETIME)
        # Attachment URLs as the bot sees them. None: served here over http. Set it to an
        # https origin (like Discord's CDN) when the bot only passes URLs on, never fetches.
        self.cdn_base: str | None = None
        #: Upload limit outside guilds (DMs).
        self.dm_upload_limit = UPLOAD_LIMIT_BY_TIER[0]

        self.users: dict[int, User] = {bot_user.id: bot_user}
        owner = User(id=self.snowflake(), username="app-owner")
        self.users[owner.id] = owner
        self.app_owner_id = owner.id
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}

        self.global_commands: list[dict[str, Any]] = []
        self.guild_commands: dict[int, list[dict[str, Any]]] = {}
        self.command_syncs: list[CommandSync] = []

        self.messages: defaultdict[int, list[MessageRecord]] = defaultdict(list)
        self.message_index: dict[int, MessageRecord] = {}
        self.attachments: dict[int, AttachmentRecord] = {}
        self.interactions: list[InteractionRecord] = []
        self.interactions_by_id: dict[int, InteractionRecord] = {}
        self.interactions_by_token: dict[str, InteractionRecord] = {}
        self.callbacks: list[CallbackRecord] = []
        self.webhook_edits: list[WebhookEditRecord] = []
        self.requests: list[RequestRecord] = []
        self.unknown_routes: list[tuple[str, str]] = []
        #: Messages created with a nonce, by (channel id, nonce), for ``enforce_nonce``.
        self.nonces: dict[tuple[int, str], MessageRecord] = {}
        #: Creates answered with an earlier message because its nonce repeated.
        self.nonce_repeats = 0
        #: ERROR log lines from discord.py while ``run_bot`` ran (unhandled bot exceptions).
        self.bot_errors: list[str] = []
        self._faults: list[_Fault] = []

        self.gateway = Gateway(self, heartbeat_interval_ms)
        self.base_url = ""
        self._runner: web.AppRunner | None = None
        self._changed = asyncio.Event()

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def api_base(self) -> str:
        """What ``discord.http.Route.BASE`` must be set to."""
        return f"{self.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        return self.gateway.url

    @property
    def running(self) -> bool:
        return self._runner is not None

    async def start(self) -> FakeDiscord:
        """Serve on 127.0.0.1 with a free port; sets ``base_url``."""
        from .rest import build_app

        self._runner = web.AppRunner(build_app(self), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self.gateway.close_all()
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- building the world ---------------------------------------------------------------------

    def add_user(
        self,
        id: int,
        username: str,
        *,
        global_name: str | None = None,
        bot: bool = False,
        upload_limit: int | None = None,
    ) -> User:
        """A user (kept if it exists). ``upload_limit`` is a personal per-file limit such as
        Nitro's: it raises the ``attachment_size_limit`` of the user's interactions, never the
        limit of the bot's own channel messages."""
        user = self.users.get(id)
        if user is None:
            user = self.users[id] = User(id, username, global_name=global_name, bot=bot)
        if upload_limit is not None:
            user.upload_limit = upload_limit
        return user

    def add_guild(
        self,
        id: int,
        name: str,
        premium_tier: int = 0,
        owner_id: int | None = None,
        *,
        upload_limit: int | None = None,
        locale: str = "en-US",
        features: Sequence[str] = (),
        everyone_permissions: int = DEFAULT_EVERYONE_PERMISSIONS,
    ) -> Guild:
        """A guild with its @everyone role (id == guild id), the bot and the owner as members.

        ``upload_limit`` (bytes per file) defaults from ``premium_tier`` the way discord.py's
        ``Guild.filesize_limit`` does, and is what interactions report as
        ``attachment_size_limit``.
        """
        if owner_id is None:
            owner_id = self.add_user(self.snowflake(), f"{name}-owner").id
        guild = Guild(
            id=id,
            name=name,
            owner_id=owner_id,
            premium_tier=premium_tier,
            upload_limit=upload_limit or UPLOAD_LIMIT_BY_TIER[premium_tier],
            locale=locale,
            features=list(features),
        )
        self.guilds[id] = guild
        guild.roles[id] = Role(id, id, "@everyone", everyone_permissions, position=0)
        self.add_member(id, self.bot_user.id)
        if owner_id in self.users:
            self.add_member(id, owner_id)
        return guild

    def add_channel(
        self,
        guild_id: int,
        id: int,
        name: str,
        *,
        type: int = 0,
        topic: str | None = None,
        overwrites: Sequence[Mapping[str, Any]] = (),
        parent_id: int | None = None,
        nsfw: bool = False,
    ) -> Channel:
        """A guild channel (``type`` 0 text by default).

        ``overwrites`` are Discord payloads {"id", "type" (0 role, 1 member), "allow", "deny"};
        they reach discord.py in GUILD_CREATE and the emulator applies them to permissions.
        """
        guild = self.guilds[guild_id]
        channel = Channel(
            id=id,
            guild_id=guild_id,
            name=name,
            type=type,
            position=len(guild.channels),
            topic=topic,
            nsfw=nsfw,
            parent_id=parent_id,
            overwrites=[
                {
                    "id": str(o["id"]),
                    "type": int(o["type"]),
                    "allow": str(o.get("allow", 0)),
                    "deny": str(o.get("deny", 0)),
                }
                for o in overwrites
            ],
        )
        guild.channels[id] = channel
        self.channels[id] = channel
        return channel

    def add_role(
        self, guild_id: int, id: int, name: str, permissions: int = 0, *, position: int = 1
    ) -> Role:
        role = Role(id, guild_id, name, permissions, position=position)
        self.guilds[guild_id].roles[id] = role
        return role

    def add_member(
        self,
        guild_id: int,
        user_id: int,
        username: str | None = None,
        roles: Sequence[int] = (),
        permissions: int | None = None,
        *,
        nick: str | None = None,
        global_name: str | None = None,
        bot: bool = False,
        upload_limit: int | None = None,
    ) -> Member:
        """Add (or replace) a member; creates the user if ``username`` is given and it's new.

        ``permissions`` overrides the computed channel permissions reported for the member.
        ``upload_limit`` gives the user a personal (Nitro) upload limit, see ``add_user``.
        """
        if user_id not in self.users:
            if username is None:
                raise ValueError(f"user {user_id} is unknown; pass a username")
            self.add_user(user_id, username, global_name=global_name, bot=bot)
        if upload_limit is not None:
            self.users[user_id].upload_limit = upload_limit
        guild = self.guilds[guild_id]
        unknown = [r for r in roles if r not in guild.roles]
        if unknown:
            raise ValueError(f"roles {unknown} are not in guild {guild_id}")
        member = Member(guild_id, user_id, list(roles), nick, permissions, self.clock())
        guild.members[user_id] = member
        return member

    async def update_guild(
        self,
        guild_id: int,
        *,
        name: str | None = None,
        premium_tier: int | None = None,
        upload_limit: int | None = None,
    ) -> Guild:
        """Change a guild while the bot runs and tell it (GUILD_UPDATE).

        A new ``premium_tier`` also resets ``upload_limit`` to that tier's unless given.
        """
        guild = self.guilds[guild_id]
        if name is not None:
            guild.name = name
        if premium_tier is not None:
            guild.premium_tier = premium_tier
            guild.upload_limit = UPLOAD_LIMIT_BY_TIER[premium_tier]
        if upload_limit is not None:
            guild.upload_limit = upload_limit
        if self.gateway.sessions:
            await self.gateway.dispatch(
                "GUILD_UPDATE", payloads.guild_payload(self, guild, gateway=False)
            )
        return guild

    def dm_channel(self, user_id: int) -> Channel:
        """The DM channel between the bot and ``user_id`` (created on first use)."""
        for channel in self.channels.values():
            if channel.guild_id is None and channel.recipient_ids == [user_id]:
                return channel
        channel = Channel(self.snowflake(), None, "", type=1, recipient_ids=[user_id])
        self.channels[channel.id] = channel
        return channel

    # -- shared by the routes -------------------------------------------------------------------

    def notify(self) -> None:
        """Wake everything waiting in ``wait_until``: some record changed."""
        self._changed.set()
        self._changed = asyncio.Event()

    def new_message(self, channel_id: int, *, author: int) -> MessageRecord:
        channel = self.channels[channel_id]
        message = MessageRecord(
            id=self.snowflake(),
            channel_id=channel_id,
            guild_id=channel.guild_id,
            author=payloads.user_payload(self.users[author]),
            created_at=self.clock(),
        )
        self.messages[channel_id].append(message)
        self.message_index[message.id] = message
        return message

    async def publish_message(self, message: MessageRecord, event: str = "MESSAGE_CREATE") -> None:
        """Tell waiters, and the bot over the gateway unless the message is ephemeral.

        Every create/edit goes through here, so it also refreshes ``message.mentions``.
        """
        message.mentions = [
            payloads.user_payload(self.users[u])
            for u in sorted(message.pings()["users"])
            if u in self.users
        ]
        self.notify()
        if message.ephemeral:
            return
        intent = GUILD_MESSAGES if message.guild_id is not None else DIRECT_MESSAGES
        if event == "MESSAGE_DELETE":
            data: dict[str, Any] = {"id": str(message.id), "channel_id": str(message.channel_id)}
            if message.guild_id is not None:
                data["guild_id"] = str(message.guild_id)
        else:
            data = message.to_payload()
            guild = self.guilds.get(message.guild_id or 0)
            member = guild.members.get(message.author_id) if guild else None
            if guild is not None and member is not None:
                data["member"] = payloads.member_payload(self, guild, member)
                del data["member"]["user"]
        from_bot = message.author_id == self.bot_user.id
        await self.gateway.dispatch(event, data, intent=intent, content_gated=not from_bot)

    def store_attachment(
        self,
        channel_id: int,
        filename: str,
        data: bytes,
        *,
        content_type: str | None = None,
        description: str | None = None,
        ephemeral: bool = False,
        width: int | None = None,
        height: int | None = None,
        size: int | None = None,
    ) -> AttachmentRecord:
        """Keep a file and serve it from the emulator's CDN route."""
        attachment_id = self.snowflake()
        record = AttachmentRecord(
            id=attachment_id,
            filename=filename,
            data=data,
            content_type=content_type or _guess_type(filename),
            description=description,
            url=f"{self.cdn_base or self.base_url}/attachments/{channel_id}/{attachment_id}/"
            f"{quote(filename)}",
            ephemeral=ephemeral,
            width=width,
            height=height,
            size=-1 if size is None else size,
        )
        self.attachments[attachment_id] = record
        return record

    def upload_attachment(self, channel_id: int, raw: Any, *, ephemeral: bool) -> AttachmentRecord:
        """Store a test-supplied file (see ``payloads.attachment_spec`` for accepted forms)."""
        spec = payloads.attachment_spec(raw)
        return self.store_attachment(
            channel_id,
            spec["filename"],
            spec["data"],
            content_type=spec.get("content_type"),
            description=spec.get("description"),
            ephemeral=ephemeral,
            width=spec.get("width"),
            height=spec.get("height"),
            size=spec.get("size"),
        )

    def upload_limit_for(self, channel: Channel) -> int:
        if channel.guild_id is None:
            return self.dm_upload_limit
        return self.guilds[channel.guild_id].upload_limit

    def upload_limit_for_interaction(self, rec: InteractionRecord) -> int:
        return int(rec.payload["attachment_size_limit"])

    def fail_next(
        self,
        method: str,
        path: str,
        status: int = 500,
        body: Any = None,
        *,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` requests matching ``method`` and the ``path`` regex
        (searched in the full path, e.g. ``r"/channels/\\d+/messages$"``) with ``status``.

        429 is answered as by ``rate_limit_next`` (``retry_after`` 0.05 s unless ``body``
        says otherwise).
        """
        if status == 429:
            retry_after = float((body or {}).get("retry_after", 0.05))
            self.rate_limit_next(method, path, retry_after, times=times)
            return
        if body is None:
            body = {"message": f"{status}: injected failure", "code": 0}
        self._faults.append(_Fault(method.upper(), re.compile(path), status, body, times, {}))

    def rate_limit_next(
        self,
        method: str,
        path: str,
        retry_after: float = 0.05,
        *,
        scope: str = "user",
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` matching requests with Discord's 429.

        Body and headers as ``topics/rate-limits#exceeding-a-rate-limit`` shows them:
        ``{"message", "retry_after", "global"}``, ``Retry-After``, ``X-RateLimit-*`` with
        ``X-RateLimit-Scope`` (``user``, ``global`` or ``shared``), plus the ``Via`` header
        without which discord.py takes a 429 for a Cloudflare ban and gives up.
        """
        if scope not in ("user", "global", "shared"):
            raise ValueError(f"scope must be user, global or shared, not {scope!r}")
        is_global = scope == "global"
        body = {
            "message": "You are being rate limited."
            if scope != "shared"
            else "The resource is being rate limited.",
            "retry_after": retry_after,
            "global": is_global,
        }
        headers = {
            "Via": "1.1 google",
            "Retry-After": str(max(1, math.ceil(retry_after))),
            "X-RateLimit-Scope": scope,
        }
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        else:
            headers.update(
                {
                    "X-RateLimit-Limit": "5",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": f"{self.clock() + retry_after:.3f}",
                    "X-RateLimit-Reset-After": f"{retry_after:.3f}",
                    "X-RateLimit-Bucket": "fakediscord-" + re.sub(r"\W+", "-", path).strip("-"),
                }
            )
        self._faults.append(_Fault(method.upper(), re.compile(path), 429, body, times, headers))

    def take_fault(self, method: str, path: str) -> web.Response | None:
        for fault in self._faults:
            if fault.method == method and fault.path.search(path) and fault.remaining > 0:
                fault.remaining -= 1
                response = json_response(fault.body, fault.status)
                response.headers.update(fault.headers)
                return response
        return None

    # -- queries --------------------------------------------------------------------------------

    def message(self, message_id: int) -> MessageRecord:
        return self.message_index[message_id]

    def channel_messages(
        self, channel_id: int, *, include_ephemeral: bool = True, include_deleted: bool = False
    ) -> list[MessageRecord]:
        return [
            m
            for m in self.messages.get(channel_id, [])
            if (include_ephemeral or not m.ephemeral) and (include_deleted or not m.deleted)
        ]

    def get_command(self, name: str, guild_id: int | None = None, type: int = 1) -> dict[str, Any]:
        """The synced command payload (with ids) a user in ``guild_id`` would invoke."""
        return payloads.find_command(self, name, guild_id, type)

    @property
    def last_interaction(self) -> InteractionRecord | None:
        return self.interactions[-1] if self.interactions else None


def _guess_type(filename: str) -> str | None:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return {
        "png": "image/png",
        "jpg": "image/jpeg",
        "jpeg": "image/jpeg",
        "gif": "image/gif",
        "webp": "image/webp",
        "mp4": "video/mp4",
        "txt": "text/plain; charset=utf-8",
        "json": "application/json; charset=utf-8",
    }.get(ext)
