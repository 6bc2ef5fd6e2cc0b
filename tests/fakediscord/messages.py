"""Message bodies as Discord accepts them: JSON or multipart, create and edit.

Channel messages, interaction responses and webhook followups all carry the same message
body, so parsing (``payload_json`` + ``files[n]``) and the edit semantics of the
``attachments`` array live here once and every route shares them. What Discord refuses is
decided in ``validation.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .model import FLAG_EPHEMERAL, FLAG_LOADING, AttachmentRecord, MessageRecord

if TYPE_CHECKING:
    from .server import FakeDiscord

#: Where the routes find their ``FakeDiscord``.
WORLD: web.AppKey[FakeDiscord] = web.AppKey("world")

MESSAGE_FIELDS = (
    "content",
    "embeds",
    "components",
    "allowed_mentions",
    "flags",
    "tts",
    "poll",
    "message_reference",
)


@dataclass
class UploadedFile:
    field: str  # "files[0]"
    filename: str
    data: bytes
    content_type: str | None


def json_response(body: Any, status: int = 200) -> web.Response:
    """JSON exactly as discord.py's ``json_or_text`` wants it: ``application/json``, no charset."""
    return web.Response(
        status=status,
        body=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )


def error(status: int, code: int, message: str, errors: dict | None = None) -> web.Response:
    """A Discord error body for the non-validation answers (404 Unknown ..., 403, 401)."""
    body: dict[str, Any] = {"message": message, "code": code}
    if errors:
        body["errors"] = errors
    return json_response(body, status)


def form_error(field: str, code: str, message: str) -> web.Response:
    """Discord's 50035 "Invalid Form Body" with the nested ``errors`` tree."""
    return error(
        400, 50035, "Invalid Form Body", {field: {"_errors": [{"code": code, "message": message}]}}
    )


async def read_body(request: web.Request) -> tuple[dict[str, Any], list[UploadedFile]]:
    """The JSON payload and uploaded files of a request, whichever encoding discord.py used."""
    ctype = request.headers.get("Content-Type", "")
    if ctype.startswith("multipart/"):
        payload: dict[str, Any] = {}
        files: list[UploadedFile] = []
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            data = await part.read(decode=False)  # type: ignore[union-attr]
            name = part.name or ""  # type: ignore[union-attr]
            if name == "payload_json":
                payload = json.loads(data)
            elif part.filename is not None:  # type: ignore[union-attr]
                files.append(
                    UploadedFile(
                        name,
                        part.filename,  # type: ignore[union-attr]
                        bytes(data),
                        part.headers.get("Content-Type"),  # type: ignore[union-attr]
                    )
                )
        return payload, files
    raw = await request.read()
    if not raw:
        return {}, []
    return json.loads(raw), []


def store_uploads(
    world: FakeDiscord, channel_id: int, body: dict[str, Any], files: list[UploadedFile]
) -> list[AttachmentRecord]:
    """Store uploaded files, taking filename/description from the ``attachments`` array."""
    meta = {}
    for entry in body.get("attachments") or []:
        meta[str(entry.get("id"))] = entry
    records = []
    for index, f in enumerate(files):
        key = f.field[len("files[") : -1] if f.field.startswith("files[") else str(index)
        info = meta.get(key, {})
        records.append(
            world.store_attachment(
                channel_id,
                info.get("filename") or f.filename,
                f.data,
                content_type=f.content_type
                if f.content_type != "application/octet-stream"
                else None,
                description=info.get("description"),
            )
        )
    return records


def apply_body(
    world: FakeDiscord,
    message: MessageRecord,
    body: dict[str, Any],
    files: list[UploadedFile],
    *,
    creating: bool,
) -> list[AttachmentRecord]:
    """Write a create/edit body into ``message``; returns the newly stored attachments.

    On edit, an ``attachments`` array is the full list to keep: existing attachments are
    named by id, new uploads by their ``files[n]`` index; absent means keep all and append.
    """
    for key in MESSAGE_FIELDS:
        if key not in body:
            continue
        value = body[key]
        if key == "flags":
            # Ephemerality is fixed at creation; the loading flag is never client-settable.
            value = int(value or 0) & ~FLAG_LOADING
            if creating:
                message.flags |= value
            else:
                message.flags = (message.flags & FLAG_EPHEMERAL) | (value & ~FLAG_EPHEMERAL)
        elif key in ("embeds", "components"):
            setattr(message, key, list(value or []))
        elif key == "content":
            message.content = "" if value is None else str(value)
        else:
            setattr(message, key, value)
    if not creating:
        message.flags &= ~FLAG_LOADING
    new = store_uploads(world, message.channel_id, body, files)
    if "attachments" in body and not creating:
        keep_ids = {str(a.get("id")) for a in body["attachments"] or []}
        message.attachments = [a for a in message.attachments if str(a.id) in keep_ids]
    message.attachments.extend(new)
    if creating:
        message.raw = body
    else:
        message.edits.append(body)
        message.edited_at = world.clock()
    return new
