"""REST API v10: login, application commands, channels, guilds, users, and the CDN.

The middleware does what every Discord route shares: ``Authorization: Bot <token>`` (401
otherwise, which discord.py turns into ``LoginFailure`` at login), error JSON for unknown
routes (logged in ``FakeDiscord.unknown_routes`` so a test can see what the emulator lacks),
a request log, and faults tests queue with ``FakeDiscord.fail_next``.

Interaction callbacks and webhook messages are in ``webhooks.py``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import webhooks
from .messages import WORLD, apply_body, error, form_error, json_response, read_body
from .model import (
    ATTACH_FILES,
    SEND_MESSAGES,
    VIEW_CHANNEL,
    Channel,
    CommandSync,
    MessageRecord,
    RequestRecord,
)
from .payloads import channel_payload, guild_payload, member_payload, role_payload, user_payload
from .validation import (
    R_BULK_UNIQUE,
    Refusal,
    check_command,
    check_command_count,
    check_commands,
    check_message,
)

if TYPE_CHECKING:
    from .server import FakeDiscord

API = "/api/v10"
#: How long Discord remembers a message nonce for ``enforce_nonce`` ("a few minutes").
NONCE_WINDOW = 5 * 60.0
_UNAUTHENTICATED = re.compile(rf"^{API}/(webhooks/\d+/[^/]+|interactions/\d+/[^/]+/callback)")


def build_app(world: FakeDiscord) -> web.Application:
    app = web.Application(middlewares=[_middleware(world)], client_max_size=256 * 1024 * 1024)
    app[WORLD] = world
    r = app.router
    r.add_get("/gateway", world.gateway.handle)
    r.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", _cdn)
    r.add_get(f"{API}/gateway", _gateway)
    r.add_get(f"{API}/gateway/bot", _gateway_bot)
    r.add_get(f"{API}/users/@me", _me)
    r.add_get(f"{API}/users/{{user_id}}", _get_user)
    r.add_post(f"{API}/users/@me/channels", _open_dm)
    r.add_get(f"{API}/oauth2/applications/@me", _application)
    r.add_get(f"{API}/applications/@me", _application)
    for prefix in (
        f"{API}/applications/{{app_id}}/commands",
        f"{API}/applications/{{app_id}}/guilds/{{guild_id}}/commands",
    ):
        r.add_get(prefix, _list_commands)
        r.add_put(prefix, _put_commands)
        r.add_post(prefix, _post_command)
        r.add_get(prefix + "/{command_id}", _get_command)
        r.add_patch(prefix + "/{command_id}", _patch_command)
        r.add_delete(prefix + "/{command_id}", _delete_command)
    r.add_get(f"{API}/applications/{{app_id}}/entitlements", _empty_list)
    r.add_get(f"{API}/applications/{{app_id}}/emojis", _empty_items)
    r.add_get(f"{API}/channels/{{channel_id}}", _get_channel)
    r.add_get(f"{API}/channels/{{channel_id}}/messages", _history)
    r.add_post(f"{API}/channels/{{channel_id}}/messages", _create_message)
    r.add_get(f"{API}/channels/{{channel_id}}/messages/{{message_id}}", _get_message)
    r.add_patch(f"{API}/channels/{{channel_id}}/messages/{{message_id}}", _edit_message)
    r.add_delete(f"{API}/channels/{{channel_id}}/messages/{{message_id}}", _delete_message)
    r.add_post(f"{API}/channels/{{channel_id}}/typing", _no_content)
    reaction = f"{API}/channels/{{channel_id}}/messages/{{message_id}}/reactions/{{emoji}}/@me"
    r.add_put(reaction, _add_reaction)
    r.add_delete(reaction, _no_content)
    r.add_get(f"{API}/guilds/{{guild_id}}", _get_guild)
    r.add_get(f"{API}/guilds/{{guild_id}}/channels", _guild_channels)
    r.add_get(f"{API}/guilds/{{guild_id}}/roles", _guild_roles)
    r.add_get(f"{API}/guilds/{{guild_id}}/members/{{user_id}}", _get_member)
    webhooks.add_routes(r, API)
    return app


def _world(request: web.Request) -> FakeDiscord:
    return request.app[WORLD]


def _middleware(world: FakeDiscord):
    @web.middleware
    async def middleware(request: web.Request, handler) -> web.StreamResponse:
        path = request.path
        if path == "/gateway":
            return await handler(request)
        peer = request.transport.get_extra_info("peername") if request.transport else None
        record = RequestRecord(
            request.method, path, 0, at=world.clock(), connection=peer[1] if peer else None
        )
        world.requests.append(record)
        response = world.take_fault(request.method, path)
        if response is None and path.startswith(API) and not _UNAUTHENTICATED.match(path):
            if request.headers.get("Authorization") != f"Bot {world.token}":
                response = error(401, 0, "401: Unauthorized")
        if response is None:
            try:
                response = await handler(request)
            except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
                world.unknown_routes.append((request.method, path))
                response = error(404, 0, "404: Not Found")
        record.status = response.status
        world.notify()
        return response

    return middleware


async def _no_content(request: web.Request) -> web.Response:
    return web.Response(status=204)


async def _empty_list(request: web.Request) -> web.Response:
    return json_response([])


async def _empty_items(request: web.Request) -> web.Response:
    return json_response({"items": []})


async def _cdn(request: web.Request) -> web.Response:
    record = _world(request).attachments.get(int(request.match_info["attachment_id"]))
    if record is None or record.filename != request.match_info["filename"]:
        return web.Response(status=404, text="Not Found")
    return web.Response(
        body=record.data, content_type=record.content_type or "application/octet-stream"
    )


# -- login and gateway ----------------------------------------------------------------------


async def _me(request: web.Request) -> web.Response:
    world = _world(request)
    me = user_payload(world.bot_user)
    me.update(
        {"verified": True, "mfa_enabled": False, "flags": 0, "email": None, "locale": "en-US"}
    )
    return json_response(me)


async def _get_user(request: web.Request) -> web.Response:
    user = _world(request).users.get(int(request.match_info["user_id"]))
    if user is None:
        return error(404, 10013, "Unknown User")
    return json_response(user_payload(user))


async def _application(request: web.Request) -> web.Response:
    world = _world(request)
    owner = world.users[world.app_owner_id]
    return json_response(
        {
            "id": str(world.app_id),
            "name": world.bot_user.username,
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "flags": world.app_flags,
            "owner": user_payload(owner),
            "team": None,
            "bot": user_payload(world.bot_user),
            "rpc_origins": [],
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "approximate_guild_count": len(world.guilds),
            "tags": [],
            "install_params": None,
            "integration_types_config": {"0": {}},
        }
    )


async def _gateway(request: web.Request) -> web.Response:
    return json_response({"url": _world(request).gateway.url})


async def _gateway_bot(request: web.Request) -> web.Response:
    limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
    return json_response(
        {"url": _world(request).gateway.url, "shards": 1, "session_start_limit": limit}
    )


# -- application commands -------------------------------------------------------------------


def _command_scope(request: web.Request) -> tuple[list[dict[str, Any]] | None, int | None]:
    """The stored command list a route addresses, or None for a foreign application."""
    world = _world(request)
    if int(request.match_info["app_id"]) != world.app_id:
        return None, None
    guild_id = request.match_info.get("guild_id")
    if guild_id is None:
        return world.global_commands, None
    return world.guild_commands.setdefault(int(guild_id), []), int(guild_id)


def _store_command(
    world: FakeDiscord, scope: list[dict[str, Any]], guild_id: int | None, cmd: dict[str, Any]
) -> dict[str, Any]:
    ctype = cmd.get("type", 1)
    existing = next((c for c in scope if c["name"] == cmd["name"] and c["type"] == ctype), None)
    stored = {
        "default_member_permissions": None,
        "nsfw": False,
        "description": "",
        "integration_types": [0],
        "contexts": None,
        **cmd,
        "type": ctype,
        "id": existing["id"] if existing else str(world.snowflake()),
        "application_id": str(world.app_id),
        "version": str(world.snowflake()),
    }
    if guild_id is not None:
        stored["guild_id"] = str(guild_id)
    return stored


async def _list_commands(request: web.Request) -> web.Response:
    scope, _ = _command_scope(request)
    if scope is None:
        return error(403, 50001, "Missing Access")
    return json_response(scope)


async def _put_commands(request: web.Request) -> web.Response:
    world = _world(request)
    scope, guild_id = _command_scope(request)
    if scope is None:
        return error(403, 50001, "Missing Access")
    payload, _ = await read_body(request)
    refusal = check_commands(payload)
    if refusal is not None:
        return refusal.response()
    world.command_syncs.append(CommandSync(guild_id, payload, world.clock()))
    stored = [_store_command(world, scope, guild_id, cmd) for cmd in payload]
    scope[:] = stored
    return json_response(stored)


async def _post_command(request: web.Request) -> web.Response:
    world = _world(request)
    scope, guild_id = _command_scope(request)
    if scope is None:
        return error(403, 50001, "Missing Access")
    cmd, _ = await read_body(request)
    refusal = check_command(cmd)
    if refusal is not None:
        return refusal.response()
    stored = _store_command(world, scope, guild_id, cmd)
    others = [c for c in scope if c["id"] != stored["id"]]
    refusal = check_command_count([*others, stored])
    if refusal is not None:
        return refusal.response()
    scope[:] = [*others, stored]
    return json_response(stored, 201)


#: What a PATCH cannot change: ids, type, scope.
_READ_ONLY_COMMAND_FIELDS = ("id", "application_id", "guild_id", "type", "version")


def _find_stored(request: web.Request) -> tuple[list[dict[str, Any]] | None, dict[str, Any] | None]:
    scope, _ = _command_scope(request)
    if scope is None:
        return None, None
    cid = request.match_info["command_id"]
    return scope, next((c for c in scope if c["id"] == cid), None)


async def _get_command(request: web.Request) -> web.Response:
    _, cmd = _find_stored(request)
    if cmd is None:
        return error(404, 10063, "Unknown application command")
    return json_response(cmd)


async def _patch_command(request: web.Request) -> web.Response:
    """Discord validates the command as it would be after the edit, not just the changes."""
    scope, cmd = _find_stored(request)
    if scope is None or cmd is None:
        return error(404, 10063, "Unknown application command")
    changes, _ = await read_body(request)
    changes = {k: v for k, v in changes.items() if k not in _READ_ONLY_COMMAND_FIELDS}
    merged = {**cmd, **changes}
    refusal = check_command(merged)
    if refusal is None and any(
        c is not cmd and c["name"] == merged["name"] and c["type"] == merged["type"] for c in scope
    ):
        refusal = Refusal(
            400, 40041, "An application command with that name already exists", rule=R_BULK_UNIQUE
        )
    if refusal is not None:
        return refusal.response()
    cmd.update(changes)
    cmd["version"] = str(_world(request).snowflake())
    return json_response(cmd)


async def _delete_command(request: web.Request) -> web.Response:
    scope, cmd = _find_stored(request)
    if scope is None or cmd is None:
        return error(404, 10063, "Unknown application command")
    scope.remove(cmd)
    return web.Response(status=204)


# -- channels and messages ------------------------------------------------------------------


def _channel(request: web.Request) -> Channel | None:
    return _world(request).channels.get(int(request.match_info["channel_id"]))


def _message(request: web.Request) -> MessageRecord | None:
    world = _world(request)
    message = world.message_index.get(int(request.match_info["message_id"]))
    if message is None or message.deleted:
        return None
    if message.channel_id != int(request.match_info["channel_id"]) or message.ephemeral:
        return None
    return message


def _bot_permissions(world: FakeDiscord, channel: Channel) -> int:
    if channel.guild_id is None:
        return VIEW_CHANNEL | SEND_MESSAGES | ATTACH_FILES
    return world.guilds[channel.guild_id].permissions_in(channel, world.bot_user.id)


async def _get_channel(request: web.Request) -> web.Response:
    channel = _channel(request)
    if channel is None:
        return error(404, 10003, "Unknown Channel")
    if not _bot_permissions(_world(request), channel) & VIEW_CHANNEL:
        return error(403, 50001, "Missing Access")
    return json_response(channel_payload(channel, _world(request)))


async def _history(request: web.Request) -> web.Response:
    world = _world(request)
    channel = _channel(request)
    if channel is None:
        return error(404, 10003, "Unknown Channel")
    limit = int(request.query.get("limit", 50))
    before = int(request.query.get("before", 1 << 63))
    after = int(request.query.get("after", 0))
    visible = [
        m
        for m in world.messages.get(channel.id, [])
        if not m.deleted and not m.ephemeral and after < m.id < before
    ]
    visible.sort(key=lambda m: m.id)
    # Discord returns newest first; with ``after`` it is the page right after that id.
    page = visible[:limit] if "after" in request.query else visible[-limit:]
    return json_response([m.to_payload() for m in reversed(page)])


async def _create_message(request: web.Request) -> web.Response:
    world = _world(request)
    channel = _channel(request)
    if channel is None:
        return error(404, 10003, "Unknown Channel")
    body, files = await read_body(request)
    perms = _bot_permissions(world, channel)
    if not perms & VIEW_CHANNEL:
        return error(403, 50001, "Missing Access")
    if not perms & SEND_MESSAGES or (files and not perms & ATTACH_FILES):
        return error(403, 50013, "Missing Permissions")
    refusal = check_message(
        body, files, creating=True, upload_limit=world.upload_limit_for(channel)
    )
    if refusal is not None:
        return refusal.response()
    ref = body.get("message_reference")
    if ref and ref.get("fail_if_not_exists", True):
        target = world.message_index.get(int(ref["message_id"]))
        if target is None or target.deleted:
            return form_error(
                "message_reference", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message"
            )
    nonce = body.get("nonce")
    key = (channel.id, str(nonce))
    if nonce is not None and body.get("enforce_nonce"):
        # Discord answers a repeat of a recent nonce with the message it already created.
        earlier = world.nonces.get(key)
        if earlier is not None and world.clock() - earlier.created_at < NONCE_WINDOW:
            world.nonce_repeats += 1
            return json_response(earlier.to_payload())
    message = world.new_message(channel.id, author=world.bot_user.id)
    apply_body(world, message, body, files, creating=True)
    if body.get("message_reference"):
        message.type = 19
    if nonce is not None:
        world.nonces[key] = message
    await world.publish_message(message)
    return json_response(message.to_payload())


async def _get_message(request: web.Request) -> web.Response:
    message = _message(request)
    if message is None:
        return error(404, 10008, "Unknown Message")
    return json_response(message.to_payload())


async def _edit_message(request: web.Request) -> web.Response:
    world = _world(request)
    message = _message(request)
    if message is None:
        return error(404, 10008, "Unknown Message")
    if message.author_id != world.bot_user.id:
        return error(403, 50005, "Cannot edit a message authored by another user")
    body, files = await read_body(request)
    channel = world.channels[message.channel_id]
    refusal = check_message(
        body, files, creating=False, upload_limit=world.upload_limit_for(channel)
    )
    if refusal is not None:
        return refusal.response()
    apply_body(world, message, body, files, creating=False)
    await world.publish_message(message, event="MESSAGE_UPDATE")
    return json_response(message.to_payload())


async def _delete_message(request: web.Request) -> web.Response:
    world = _world(request)
    message = _message(request)
    if message is None:
        return error(404, 10008, "Unknown Message")
    message.deleted = True
    await world.publish_message(message, event="MESSAGE_DELETE")
    return web.Response(status=204)


async def _add_reaction(request: web.Request) -> web.Response:
    message = _message(request)
    if message is None:
        return error(404, 10008, "Unknown Message")
    message.reactions.append(request.match_info["emoji"])
    return web.Response(status=204)


# -- guilds and users -----------------------------------------------------------------------


async def _get_guild(request: web.Request) -> web.Response:
    world = _world(request)
    guild = world.guilds.get(int(request.match_info["guild_id"]))
    if guild is None:
        return error(404, 10004, "Unknown Guild")
    return json_response(guild_payload(world, guild, gateway=False))


async def _guild_channels(request: web.Request) -> web.Response:
    world = _world(request)
    guild = world.guilds.get(int(request.match_info["guild_id"]))
    if guild is None:
        return error(404, 10004, "Unknown Guild")
    return json_response([channel_payload(c, world) for c in guild.channels.values()])


async def _guild_roles(request: web.Request) -> web.Response:
    guild = _world(request).guilds.get(int(request.match_info["guild_id"]))
    if guild is None:
        return error(404, 10004, "Unknown Guild")
    return json_response([role_payload(r) for r in guild.roles.values()])


async def _get_member(request: web.Request) -> web.Response:
    world = _world(request)
    guild = world.guilds.get(int(request.match_info["guild_id"]))
    if guild is None:
        return error(404, 10004, "Unknown Guild")
    member = guild.members.get(int(request.match_info["user_id"]))
    if member is None:
        return error(404, 10007, "Unknown Member")
    return json_response(member_payload(world, guild, member))


async def _open_dm(request: web.Request) -> web.Response:
    world = _world(request)
    body, _ = await read_body(request)
    user_id = int(body.get("recipient_id", 0))
    if user_id not in world.users:
        return error(400, 50007, "Cannot send messages to this user")
    return json_response(channel_payload(world.dm_channel(user_id), world))
