"""Interaction callbacks and the interaction webhook (followups, ``@original`` edits).

These routes carry no ``Authorization`` header: the interaction token in the URL is the
credential, and it is what Discord rations. The emulator enforces the same rations so a bot's
timing bugs show up in tests:

* the initial callback must come within ``FakeDiscord.callback_deadline`` (3 s) of the
  interaction and only once (404 10062 "Unknown interaction" / 400 40060);
* the webhook token works for ``FakeDiscord.token_lifetime`` (15 min) of emulator time,
  then 401 50027 "Invalid Webhook Token";
* the first followup after a "thinking" defer (type 5) replaces the loading message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from .messages import WORLD, apply_body, error, form_error, json_response, read_body
from .model import (
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    CallbackRecord,
    InteractionRecord,
    MessageRecord,
    WebhookEditRecord,
)
from .payloads import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    MESSAGE_COMPONENT,
    MODAL_SUBMIT,
    user_payload,
)
from .validation import Refusal, check_autocomplete, check_message, check_modal

if TYPE_CHECKING:
    from .server import FakeDiscord

#: Callback types each interaction type accepts.
ALLOWED_CALLBACKS = {
    APPLICATION_COMMAND: {4, 5, 9},
    MESSAGE_COMPONENT: {4, 5, 6, 7, 9},
    AUTOCOMPLETE: {8},
    MODAL_SUBMIT: {4, 5, 6, 7},
}


def add_routes(r: web.UrlDispatcher, api: str) -> None:
    r.add_post(f"{api}/interactions/{{interaction_id}}/{{token}}/callback", _callback)
    hook = f"{api}/webhooks/{{app_id}}/{{token}}"
    r.add_post(hook, _followup)
    r.add_get(hook + "/messages/{message_id}", _get_webhook_message)
    r.add_patch(hook + "/messages/{message_id}", _edit_webhook_message)
    r.add_delete(hook + "/messages/{message_id}", _delete_webhook_message)


def _world(request: web.Request) -> FakeDiscord:
    return request.app[WORLD]


def _interaction_metadata(world: FakeDiscord, rec: InteractionRecord) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "id": str(rec.id),
        "type": rec.type,
        "user": user_payload(world.users[rec.user_id]),
        "authorizing_integration_owners": rec.payload.get("authorizing_integration_owners", {}),
    }
    if rec.type == APPLICATION_COMMAND:
        meta["name"] = rec.name
        meta["command_type"] = rec.payload["data"].get("type", 1)
    if rec.source_message_id is not None:
        meta["interacted_message_id"] = str(rec.source_message_id)
    return meta


def _interaction_message(world: FakeDiscord, rec: InteractionRecord, flags: int) -> MessageRecord:
    message = world.new_message(rec.channel_id, author=world.bot_user.id)
    message.flags = flags
    message.webhook_id = world.app_id
    message.application_id = world.app_id
    message.interaction_id = rec.id
    message.interaction_metadata = _interaction_metadata(world, rec)
    message.type = 20 if rec.type == APPLICATION_COMMAND else 0
    return message


async def _callback(request: web.Request) -> web.Response:
    world = _world(request)
    rec = world.interactions_by_id.get(int(request.match_info["interaction_id"]))
    if rec is None or rec.token != request.match_info["token"]:
        return error(404, 10062, "Unknown interaction")
    if rec.callback is not None:
        return error(400, 40060, "Interaction has already been acknowledged.")
    if world.clock() - rec.created_at > world.callback_deadline:
        return error(404, 10062, "Unknown interaction")
    body, files = await read_body(request)
    cb_type = body.get("type")
    data = body.get("data") or {}
    if cb_type not in ALLOWED_CALLBACKS.get(rec.type, set()):
        return form_error("type", "INTERACTION_CALLBACK_TYPE_INVALID", f"invalid for {rec.type}")
    if cb_type in (6, 7) and rec.source_message_id is None:
        return form_error("type", "INTERACTION_CALLBACK_TYPE_INVALID", "no message to update")
    refusal = _check_callback_data(world, rec, cb_type, data, files)
    if refusal is not None:
        return refusal.response()

    callback = CallbackRecord(rec.id, cb_type, data, at=world.clock())
    message: MessageRecord | None = None
    if cb_type == 4:
        message = _interaction_message(world, rec, 0)
        callback.attachments = apply_body(world, message, data, files, creating=True)
        rec.original = message
    elif cb_type == 5:
        message = _interaction_message(
            world, rec, FLAG_LOADING | (data.get("flags", 0) & FLAG_EPHEMERAL)
        )
        rec.original = message
    elif cb_type in (6, 7) and rec.source_message_id is not None:
        message = world.message_index[rec.source_message_id]
        if cb_type == 7:
            callback.attachments = apply_body(world, message, data, files, creating=False)
        rec.original = message
    rec.callback = callback
    world.callbacks.append(callback)
    if message is not None:
        await world.publish_message(
            message, event="MESSAGE_CREATE" if cb_type in (4, 5) else "MESSAGE_UPDATE"
        )
    world.notify()

    if request.query.get("with_response") not in ("1", "true", "True"):
        return web.Response(status=204)
    answer: dict[str, Any] = {
        "interaction": {
            "id": str(rec.id),
            "type": rec.type,
            "response_message_loading": cb_type == 5,
            "response_message_ephemeral": bool(message and message.ephemeral),
        }
    }
    if message is not None:
        answer["interaction"]["response_message_id"] = str(message.id)
        if cb_type in (4, 5, 7):
            answer["resource"] = {"type": cb_type, "message": message.to_payload()}
    return json_response(answer)


def _check_callback_data(
    world: FakeDiscord, rec: InteractionRecord, cb_type: int, data: dict[str, Any], files
) -> Refusal | None:
    """Discord's checks of a callback's ``data``; form errors are reported under ``data``."""
    if cb_type in (4, 7):
        refusal = check_message(
            data,
            files,
            creating=cb_type == 4,
            upload_limit=world.upload_limit_for_interaction(rec),
        )
    elif cb_type == 8:
        refusal = check_autocomplete(data, _focused_type(rec.payload.get("data") or {}))
    elif cb_type == 9:
        refusal = check_modal(data)
    else:
        return None
    return refusal.nested("data") if refusal is not None else None


def _focused_type(data: dict[str, Any]) -> int | None:
    """Type of the option the user is typing into, from an autocomplete interaction."""
    for opt in data.get("options") or []:
        if opt.get("focused"):
            return opt.get("type")
        inner = _focused_type(opt)
        if inner is not None:
            return inner
    return None


def _webhook_interaction(
    request: web.Request,
) -> tuple[InteractionRecord | None, web.Response | None]:
    """The interaction a webhook URL belongs to, or the error Discord would give."""
    world = _world(request)
    rec = world.interactions_by_token.get(request.match_info["token"])
    if rec is None or int(request.match_info["app_id"]) != world.app_id:
        return None, error(404, 10015, "Unknown Webhook")
    if world.clock() >= rec.expires_at:
        return None, error(401, 50027, "Invalid Webhook Token")
    if rec.callback is None:
        return None, error(404, 10015, "Unknown Webhook")
    return rec, None


def _target(rec: InteractionRecord, message_id: str) -> MessageRecord | None:
    if message_id == "@original":
        target = rec.original
    else:
        mid = int(message_id) if message_id.isdigit() else -1
        candidates = [rec.original, *rec.followups]
        target = next((m for m in candidates if m is not None and m.id == mid), None)
    return None if target is None or target.deleted else target


async def _followup(request: web.Request) -> web.Response:
    world = _world(request)
    rec, problem = _webhook_interaction(request)
    if rec is None:
        return problem  # type: ignore[return-value]
    body, files = await read_body(request)
    refusal = check_message(
        body, files, creating=True, upload_limit=world.upload_limit_for_interaction(rec)
    )
    if refusal is not None:
        return refusal.response()
    original = rec.original
    if original is not None and original.loading and rec.callback.type == 5:  # type: ignore[union-attr]
        # Discord turns the "thinking" placeholder into the first followup.
        message = original
        apply_body(
            world, message, {k: v for k, v in body.items() if k != "flags"}, files, creating=False
        )
        event = "MESSAGE_UPDATE"
    else:
        message = _interaction_message(world, rec, 0)
        apply_body(world, message, body, files, creating=True)
        event = "MESSAGE_CREATE"
    rec.followups.append(message)
    await world.publish_message(message, event=event)
    if request.query.get("wait") in ("1", "true", "True"):
        return json_response(message.to_payload())
    return web.Response(status=204)


async def _get_webhook_message(request: web.Request) -> web.Response:
    rec, problem = _webhook_interaction(request)
    if rec is None:
        return problem  # type: ignore[return-value]
    target = _target(rec, request.match_info["message_id"])
    if target is None:
        return error(404, 10008, "Unknown Message")
    return json_response(target.to_payload())


async def _edit_webhook_message(request: web.Request) -> web.Response:
    world = _world(request)
    body, files = await read_body(request)
    record = WebhookEditRecord(
        interaction_id=None,
        target=request.match_info["message_id"],
        method="PATCH",
        data=body,
        status=0,
        at=world.clock(),
    )
    world.webhook_edits.append(record)
    response = await _apply_edit(world, request, record, body, files)
    record.status = response.status
    world.notify()
    return response


async def _apply_edit(
    world: FakeDiscord, request: web.Request, record: WebhookEditRecord, body, files
) -> web.Response:
    known = world.interactions_by_token.get(request.match_info["token"])
    record.interaction_id = known.id if known else None
    rec, problem = _webhook_interaction(request)
    if rec is None:
        return problem  # type: ignore[return-value]
    target = _target(rec, record.target)
    if target is None:
        return error(404, 10008, "Unknown Message")
    refusal = check_message(
        body, files, creating=False, upload_limit=world.upload_limit_for_interaction(rec)
    )
    if refusal is not None:
        return refusal.response()
    record.message_id = target.id
    record.attachments = apply_body(world, target, body, files, creating=False)
    await world.publish_message(target, event="MESSAGE_UPDATE")
    return json_response(target.to_payload())


async def _delete_webhook_message(request: web.Request) -> web.Response:
    world = _world(request)
    known = world.interactions_by_token.get(request.match_info["token"])
    record = WebhookEditRecord(
        interaction_id=known.id if known else None,
        target=request.match_info["message_id"],
        method="DELETE",
        data={},
        status=0,
        at=world.clock(),
    )
    world.webhook_edits.append(record)
    rec, problem = _webhook_interaction(request)
    if rec is None:
        response = problem
    else:
        target = _target(rec, record.target)
        if target is None:
            response = error(404, 10008, "Unknown Message")
        else:
            target.deleted = True
            record.message_id = target.id
            await world.publish_message(target, event="MESSAGE_DELETE")
            response = web.Response(status=204)
    record.status = response.status  # type: ignore[union-attr]
    world.notify()
    return response  # type: ignore[return-value]
