"""Builders for the JSON objects Discord sends: users, guilds, READY, interactions.

Kept apart from the transports so the exact shapes discord.py parses (``state.py``,
``interactions.py``, ``app_commands/namespace.py``) can be read in one place. Interaction
options are typed from the command payloads the bot itself synced, so a test written as
``{"count": 3}`` reaches the bot exactly as Discord would deliver the bot's own declaration,
and a test that passes something the Discord client would refuse fails loudly here.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .model import (
    AttachmentRecord,
    Channel,
    Guild,
    InteractionRecord,
    Member,
    MessageRecord,
    Role,
    User,
    iso_timestamp,
)

if TYPE_CHECKING:
    from .server import FakeDiscord

# Application command option types.
SUB_COMMAND = 1
SUB_COMMAND_GROUP = 2
STRING = 3
INTEGER = 4
BOOLEAN = 5
USER = 6
CHANNEL = 7
ROLE = 8
MENTIONABLE = 9
NUMBER = 10
ATTACHMENT = 11

# Interaction types.
PING = 1
APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
AUTOCOMPLETE = 4
MODAL_SUBMIT = 5

INTERACTION_TOKEN_LIFETIME = 15 * 60


def user_payload(user: User) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": str(user.id),
        "username": user.username,
        "discriminator": user.discriminator,
        "global_name": user.global_name,
        "avatar": user.avatar,
        "public_flags": 0,
    }
    if user.bot:
        payload["bot"] = True
    return payload


def role_payload(role: Role) -> dict[str, Any]:
    return {
        "id": str(role.id),
        "name": role.name,
        "permissions": str(role.permissions),
        "position": role.position,
        "color": role.color,
        "colors": {"primary_color": role.color, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "icon": None,
        "unicode_emoji": None,
        "managed": role.managed,
        "mentionable": role.mentionable,
        "flags": 0,
    }


def channel_payload(channel: Channel, world: FakeDiscord) -> dict[str, Any]:
    if channel.guild_id is None:
        return {
            "id": str(channel.id),
            "type": channel.type,
            "last_message_id": None,
            "flags": 0,
            "recipients": [user_payload(world.users[uid]) for uid in channel.recipient_ids],
        }
    return {
        "id": str(channel.id),
        "type": channel.type,
        "guild_id": str(channel.guild_id),
        "name": channel.name,
        "position": channel.position,
        "permission_overwrites": channel.overwrites,
        "parent_id": str(channel.parent_id) if channel.parent_id else None,
        "topic": channel.topic,
        "nsfw": channel.nsfw,
        "rate_limit_per_user": 0,
        "last_message_id": None,
        "flags": 0,
    }


def member_payload(
    world: FakeDiscord, guild: Guild, member: Member, *, channel: Channel | None = None
) -> dict[str, Any]:
    """A guild member with its user; with ``channel`` it also carries the member's computed
    ``permissions`` there, as interaction payloads do."""
    payload: dict[str, Any] = {
        "user": user_payload(world.users[member.user_id]),
        "roles": [str(r) for r in member.roles],
        "nick": member.nick,
        "avatar": None,
        "joined_at": iso_timestamp(member.joined_at),
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "pending": False,
        "flags": 0,
    }
    if channel is not None:
        payload["permissions"] = str(guild.permissions_in(channel, member.user_id))
    return payload


def guild_payload(world: FakeDiscord, guild: Guild, *, gateway: bool) -> dict[str, Any]:
    """The guild object: the GUILD_CREATE form (channels, members, ...) when ``gateway``."""
    payload: dict[str, Any] = {
        "id": str(guild.id),
        "name": guild.name,
        "icon": None,
        "splash": None,
        "discovery_splash": None,
        "banner": None,
        "description": None,
        "owner_id": str(guild.owner_id),
        "afk_channel_id": None,
        "afk_timeout": 300,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "roles": [role_payload(r) for r in guild.roles.values()],
        "emojis": [],
        "stickers": [],
        "features": list(guild.features),
        "mfa_level": 0,
        "application_id": None,
        "system_channel_id": None,
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "vanity_url_code": None,
        "premium_tier": guild.premium_tier,
        "premium_subscription_count": [0, 2, 7, 14][guild.premium_tier],
        "preferred_locale": guild.locale,
        "public_updates_channel_id": None,
        "nsfw_level": 0,
        "premium_progress_bar_enabled": False,
    }
    if gateway:
        payload.update(
            {
                "joined_at": iso_timestamp(world.clock()),
                "large": False,
                "unavailable": False,
                "member_count": len(guild.members),
                "voice_states": [],
                "members": [member_payload(world, guild, m) for m in guild.members.values()],
                "channels": [channel_payload(c, world) for c in guild.channels.values()],
                "threads": [],
                "presences": [],
                "stage_instances": [],
                "guild_scheduled_events": [],
                "soundboard_sounds": [],
            }
        )
    return payload


def ready_payload(
    world: FakeDiscord, *, session_id: str, resume_url: str, shard: list[int] | None
) -> dict[str, Any]:
    me = user_payload(world.bot_user)
    me.update({"verified": True, "mfa_enabled": False, "flags": 0, "email": None})
    payload: dict[str, Any] = {
        "v": 10,
        "user": me,
        "guilds": [
            {"id": str(g), "unavailable": True}
            for g in world.guilds
            if shard is None or (g >> 22) % int(shard[1]) == int(shard[0])
        ],
        "session_id": session_id,
        "session_type": "normal",
        "resume_gateway_url": resume_url,
        "application": {"id": str(world.app_id), "flags": world.app_flags},
        "private_channels": [],
        "relationships": [],
        "presences": [],
        "guild_join_requests": [],
        "user_settings": {},
        "geo_ordered_rtc_regions": ["local"],
    }
    if shard is not None:
        payload["shard"] = shard
    return payload


# ---------------------------------------------------------------------------------------------
# Interactions


def interaction_payload(
    world: FakeDiscord,
    *,
    type: int,
    guild_id: int | None,
    channel_id: int,
    user_id: int,
    data: dict[str, Any] | None,
    app_permissions: int | None = None,
    locale: str = "en-US",
    message: MessageRecord | None = None,
) -> dict[str, Any]:
    """A full INTERACTION_CREATE payload (minus nothing discord.py 2.7 reads)."""
    interaction_id = world.snowflake()
    channel = world.channels[channel_id]
    payload: dict[str, Any] = {
        "id": str(interaction_id),
        "application_id": str(world.app_id),
        "type": type,
        "token": "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48),
        "version": 1,
        "channel_id": str(channel_id),
        "channel": channel_payload(channel, world),
        "locale": locale,
        "entitlements": [],
        "entitlement_sku_ids": [],
    }
    if data is not None:
        payload["data"] = data
    if message is not None:
        payload["message"] = message.to_payload()
    if guild_id is not None:
        guild = world.guilds[guild_id]
        member = guild.members[user_id]
        bot_perms = guild.permissions_in(channel, world.bot_user.id)
        payload.update(
            {
                "guild_id": str(guild_id),
                "guild": {"id": str(guild_id), "locale": guild.locale, "features": guild.features},
                "guild_locale": guild.locale,
                "member": member_payload(world, guild, member, channel=channel),
                "app_permissions": str(bot_perms if app_permissions is None else app_permissions),
                "authorizing_integration_owners": {"0": str(guild_id)},
                "context": 0,
                "attachment_size_limit": attachment_size_limit(world, user_id, guild.upload_limit),
            }
        )
        payload["channel"]["permissions"] = payload["member"]["permissions"]
    else:
        payload.update(
            {
                "user": user_payload(world.users[user_id]),
                "app_permissions": str(app_permissions if app_permissions is not None else 0),
                "authorizing_integration_owners": {"0": "0"},
                "context": 1,
                "attachment_size_limit": attachment_size_limit(
                    world, user_id, world.dm_upload_limit
                ),
            }
        )
    return payload


def attachment_size_limit(world: FakeDiscord, user_id: int, server_limit: int) -> int:
    """What an interaction reports: the larger of the server's and the user's own (Nitro)
    limit, as reference#uploading-files says. Channel messages get only the server's."""
    return max(server_limit, world.users[user_id].upload_limit or 0)


def new_interaction_record(
    payload: dict[str, Any], name: str, now: float, lifetime: float = INTERACTION_TOKEN_LIFETIME
) -> InteractionRecord:
    user = payload["member"]["user"] if "member" in payload else payload["user"]
    return InteractionRecord(
        id=int(payload["id"]),
        token=payload["token"],
        type=payload["type"],
        name=name,
        guild_id=int(payload["guild_id"]) if "guild_id" in payload else None,
        channel_id=int(payload["channel_id"]),
        user_id=int(user["id"]),
        payload=payload,
        created_at=now,
        expires_at=now + lifetime,
    )


def find_command(world: FakeDiscord, name: str, guild_id: int | None, type: int = 1):
    """The synced command a user would pick: guild commands shadow global ones."""
    if guild_id is not None:
        for cmd in world.guild_commands.get(guild_id, []):
            if cmd["name"] == name and cmd.get("type", 1) == type:
                return cmd
    for cmd in world.global_commands:
        if cmd["name"] == name and cmd.get("type", 1) == type:
            return cmd
    synced = [c["name"] for c in world.global_commands]
    if guild_id is not None:
        synced += [c["name"] for c in world.guild_commands.get(guild_id, [])]
    raise LookupError(f"no synced command {name!r} (type {type}); synced: {sorted(synced)}")


def command_data(
    world: FakeDiscord,
    command: dict[str, Any],
    *,
    guild_id: int | None,
    channel_id: int,
    options: Mapping[str, Any] | Sequence[dict[str, Any]] | None,
    subcommand: str | None,
    attachments: Sequence[Any] | None,
    focused: str | None = None,
) -> dict[str, Any]:
    """``data`` of an APPLICATION_COMMAND (or, with ``focused``, AUTOCOMPLETE) interaction."""
    data: dict[str, Any] = {"id": command["id"], "name": command["name"], "type": 1}
    if command.get("guild_id"):
        data["guild_id"] = command["guild_id"]

    declared = command.get("options", [])
    path: list[dict[str, Any]] = []  # chosen subcommand group / subcommand declarations
    for part in (subcommand or "").split():
        match = next((o for o in declared if o["name"] == part and o["type"] in (1, 2)), None)
        if match is None:
            names = [o["name"] for o in declared if o["type"] in (1, 2)]
            raise ValueError(f"/{command['name']} has no subcommand {part!r}; has {names}")
        path.append(match)
        declared = match.get("options", [])
    if any(o["type"] in (1, 2) for o in declared):
        raise ValueError(f"/{command['name']} needs a subcommand (pass subcommand=...)")

    resolved: dict[str, dict[str, Any]] = {}
    if isinstance(options, Sequence) and not isinstance(options, str | bytes):
        leaf = [dict(o) for o in options]  # raw options, sent verbatim
    else:
        builder = _OptionBuilder(world, guild_id, channel_id, command["name"], resolved, focused)
        leaf = builder.build(declared, dict(options or {}), list(attachments or []))

    for decl in reversed(path):
        leaf = [{"type": decl["type"], "name": decl["name"], "options": leaf}]
    if leaf:
        data["options"] = leaf
    if resolved and focused is None:
        data["resolved"] = resolved
    return data


class _OptionBuilder:
    """Types and validates test-supplied option values against the bot's declaration."""

    def __init__(
        self,
        world: FakeDiscord,
        guild_id: int | None,
        channel_id: int,
        command_name: str,
        resolved: dict[str, dict[str, Any]],
        focused: str | None,
    ) -> None:
        self.world = world
        self.guild = world.guilds.get(guild_id) if guild_id is not None else None
        self.channel_id = channel_id
        self.command_name = command_name
        self.resolved = resolved
        self.focused = focused

    def build(
        self, declared: list[dict[str, Any]], values: dict[str, Any], uploads: list[Any]
    ) -> list[dict[str, Any]]:
        by_name = {o["name"]: o for o in declared}
        unknown = set(values) - set(by_name)
        if unknown:
            raise ValueError(
                f"/{self.command_name} has no option(s) {sorted(unknown)}; has {list(by_name)}"
            )
        if self.focused is not None and self.focused not in by_name:
            raise ValueError(f"/{self.command_name} has no option {self.focused!r} to focus")
        out = []
        for decl in declared:
            name = decl["name"]
            if self.focused is not None:  # autocomplete: raw values, focused one as typed
                if name == self.focused:
                    value = str(values.get(name, ""))
                    out.append(
                        {"type": decl["type"], "name": name, "value": value, "focused": True}
                    )
                elif name in values:
                    out.append({"type": decl["type"], "name": name, "value": values[name]})
                continue
            if name not in values and decl["type"] == ATTACHMENT and uploads:
                values[name] = uploads.pop(0)
            if name not in values:
                if decl.get("required"):
                    raise ValueError(f"/{self.command_name}: required option {name!r} missing")
                continue
            out.append(
                {"type": decl["type"], "name": name, "value": self.value(decl, values[name])}
            )
        return out

    def value(self, decl: dict[str, Any], raw: Any) -> Any:
        kind, name = decl["type"], decl["name"]
        where = f"/{self.command_name} option {name!r}"
        if kind == STRING:
            if not isinstance(raw, str):
                raise ValueError(f"{where} is a string; got {raw!r}")
            if len(raw) < decl.get("min_length", 0) or len(raw) > decl.get("max_length", 6000):
                raise ValueError(f"{where}: length {len(raw)} outside declared bounds")
            self._check_choice(decl, raw, where)
            return raw
        if kind in (INTEGER, NUMBER):
            if isinstance(raw, bool) or not isinstance(raw, int | float):
                raise ValueError(f"{where} is numeric; got {raw!r}")
            if kind == INTEGER and not isinstance(raw, int):
                raise ValueError(f"{where} is an integer; got {raw!r}")
            low, high = decl.get("min_value"), decl.get("max_value")
            if (low is not None and raw < low) or (high is not None and raw > high):
                raise ValueError(f"{where}: {raw} outside [{low}, {high}]")
            self._check_choice(decl, raw, where)
            return raw if kind == INTEGER else float(raw)
        if kind == BOOLEAN:
            if not isinstance(raw, bool):
                raise ValueError(f"{where} is a boolean; got {raw!r}")
            return raw
        if kind == USER:
            return self._resolve_user(int(raw), where)
        if kind == ROLE:
            return self._resolve_role(int(raw), where)
        if kind == MENTIONABLE:
            if self.guild is not None and int(raw) in self.guild.roles:
                return self._resolve_role(int(raw), where)
            return self._resolve_user(int(raw), where)
        if kind == CHANNEL:
            return self._resolve_channel(decl, int(raw), where)
        if kind == ATTACHMENT:
            return self._resolve_attachment(raw)
        raise ValueError(f"{where}: unsupported option type {kind}")

    @staticmethod
    def _check_choice(decl: dict[str, Any], raw: Any, where: str) -> None:
        choices = decl.get("choices")
        if choices and raw not in [c["value"] for c in choices]:
            raise ValueError(f"{where}: {raw!r} is not one of the declared choices")

    def _resolve_user(self, user_id: int, where: str) -> str:
        if user_id not in self.world.users:
            raise ValueError(f"{where}: unknown user {user_id}")
        user = user_payload(self.world.users[user_id])
        self.resolved.setdefault("users", {})[str(user_id)] = user
        if self.guild is not None and user_id in self.guild.members:
            member = member_payload(
                self.world,
                self.guild,
                self.guild.members[user_id],
                channel=self.world.channels[self.channel_id],
            )
            del member["user"]
            self.resolved.setdefault("members", {})[str(user_id)] = member
        return str(user_id)

    def _resolve_role(self, role_id: int, where: str) -> str:
        if self.guild is None or role_id not in self.guild.roles:
            raise ValueError(f"{where}: unknown role {role_id}")
        self.resolved.setdefault("roles", {})[str(role_id)] = role_payload(
            self.guild.roles[role_id]
        )
        return str(role_id)

    def _resolve_channel(self, decl: dict[str, Any], channel_id: int, where: str) -> str:
        channel = self.world.channels.get(channel_id)
        if channel is None:
            raise ValueError(f"{where}: unknown channel {channel_id}")
        allowed = decl.get("channel_types")
        if allowed and channel.type not in allowed:
            raise ValueError(f"{where}: channel type {channel.type} not in {allowed}")
        payload = channel_payload(channel, self.world)
        if self.guild is not None:
            payload["permissions"] = str(self.guild.permissions_in(channel, self.world.bot_user.id))
        self.resolved.setdefault("channels", {})[str(channel_id)] = payload
        return str(channel_id)

    def _resolve_attachment(self, raw: Any) -> str:
        record = self.world.upload_attachment(self.channel_id, raw, ephemeral=True)
        self.resolved.setdefault("attachments", {})[str(record.id)] = record.to_payload()
        return str(record.id)


def attachment_spec(raw: Any) -> dict[str, Any]:
    """Normalise what a test passes as an uploaded file.

    Accepts ``bytes`` (named ``file.bin``), an :class:`AttachmentRecord`, or a dict with
    ``filename`` and ``data`` plus optional ``content_type``, ``size`` (claimed size, to test
    limits without big buffers), ``width``, ``height``, ``description``.
    """
    if isinstance(raw, bytes | bytearray):
        return {"filename": "file.bin", "data": bytes(raw)}
    if isinstance(raw, AttachmentRecord):
        return {
            "filename": raw.filename,
            "data": raw.data,
            "content_type": raw.content_type,
            "width": raw.width,
            "height": raw.height,
        }
    if isinstance(raw, Mapping) and "data" in raw:
        return dict(raw)
    raise ValueError(f"cannot use {raw!r} as an attachment; pass bytes or a dict with data")


def component_data(
    custom_id: str, component_type: int, values: Sequence[str] | None
) -> dict[str, Any]:
    data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
    if component_type != 2:
        data["values"] = list(values or [])
    return data


def find_component(components: list[dict[str, Any]], custom_id: str) -> dict[str, Any] | None:
    """Depth-first search of a message's component tree (rows, containers, sections)."""
    for comp in components:
        if comp.get("custom_id") == custom_id:
            return comp
        children = list(comp.get("components") or [])
        for key in ("component", "accessory"):
            if isinstance(comp.get(key), dict):
                children.append(comp[key])
        found = find_component(children, custom_id)
        if found is not None:
            return found
    return None


def modal_submit_data(modal: dict[str, Any], values: Mapping[str, str]) -> dict[str, Any]:
    """MODAL_SUBMIT ``data``: the modal's own layout with each text input's value filled in."""
    missing = set(values)

    def fill(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for comp in components:
            if comp["type"] == 1:
                out.append({"type": 1, "components": fill(comp.get("components", []))})
            elif comp["type"] == 18:
                inner = fill([comp["component"]])
                if inner:
                    out.append({"type": 18, "component": inner[0]})
            elif comp.get("custom_id") is not None:
                cid = comp["custom_id"]
                missing.discard(cid)
                if comp["type"] == 4:
                    out.append({"type": 4, "custom_id": cid, "value": values.get(cid, "")})
                else:
                    out.append(
                        {"type": comp["type"], "custom_id": cid, "values": values.get(cid, [])}
                    )
        return out

    components = fill(modal.get("components", []))
    if missing:
        raise ValueError(f"modal {modal.get('custom_id')!r} has no inputs {sorted(missing)}")
    return {"custom_id": modal["custom_id"], "components": components}
