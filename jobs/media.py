"""Downloading results: streamed, and abandoned as soon as a file outgrows the upload limit."""

from __future__ import annotations

import mimetypes
import posixpath
from dataclasses import dataclass
from urllib.parse import urlsplit

from providers.base import Media, Provider

_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "video/mp4": ".mp4",
    "video/webm": ".webm",
}


@dataclass(frozen=True)
class MediaFile:
    filename: str
    data: bytes
    source_url: str = ""  # where it came from: linked instead if Discord refuses the upload


def filename_for(media: Media, job_id: str, index: int, kind: str) -> str:
    path = urlsplit(media.url).path
    ext = posixpath.splitext(path)[1].lower()
    if not ext or len(ext) > 5:
        ext = _EXTENSIONS.get(media.content_type or "", "") or (
            mimetypes.guess_extension(media.content_type or "")
            or (".png" if kind == "image" else ".mp4")
        )
    suffix = f"-{index + 1}" if index else ""
    return f"bananabot-{job_id}{suffix}{ext}"


async def download_bounded(provider: Provider, media: Media, limit: int) -> bytes | None:
    """The file's bytes, or None when it is larger than ``limit`` (the download stops there).
    Provider errors propagate: the caller then posts the link instead."""
    chunks: list[bytes] = []
    size = 0
    stream = provider.open_media(media.url)
    try:
        async for chunk in stream:
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
    finally:
        await stream.aclose()  # type: ignore[attr-defined]
    return b"".join(chunks)
