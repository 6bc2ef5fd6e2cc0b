"""Downloaded results as the rest of the bot sees them, and the rules for their types.

A ``MediaFile`` is a finished download: small files stay in memory, files over the spool size
(a few MiB) live in a temporary file, so a job with four 10 MiB videos never holds 40 MiB of
RAM. Either way ``open()`` gives a fresh reader from the first byte: Discord may be sent the
same file several times (discord.py's own retries, the engine's, a refused channel post sent
again as a followup), and each post needs its own reader. ``discard()`` deletes the temporary
file; the engine calls it when the job's delivery ends, whatever happened.

Types: the file's type comes from the response's ``Content-Type``, never from the URL, and so
does its extension. ``application/octet-stream`` (or no type at all) is accepted only when the
first bytes are a known image or video format (``sniff``); anything else not image/* (or, for
videos, video/* or image/gif) is refused.
"""

from __future__ import annotations

import contextlib
import io
import mimetypes
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

MIB = 1024 * 1024
SPOOL_OVER = 4 * MIB  # files larger than this go to a temporary file while downloading
SNIFF_BYTES = 16  # enough of the start of a file to recognise every format below

EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "image/avif": ".avif",
    "video/mp4": ".mp4",
    "video/webm": ".webm",
    "video/quicktime": ".mov",
}
UNTYPED = ("", "application/octet-stream", "binary/octet-stream")  # sniffed, see sniff()


def sniff(head: bytes) -> str | None:
    """The media type the first bytes of a file show, for the formats results come in."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand.startswith((b"avif", b"avis")):
            return "image/avif"
        return "video/quicktime" if brand == b"qt  " else "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    return None


def bare_type(header: str | None) -> str:
    """``image/png`` from ``image/PNG; charset=binary``; "" when absent."""
    return (header or "").split(";", 1)[0].strip().lower()


def fits_kind(content_type: str, kind: str) -> bool:
    """Whether a file of ``content_type`` is a result of a job of ``kind``: images for image
    jobs; videos, or an animated GIF (the sandbox's videos), for video jobs."""
    if kind == "video":
        return content_type.startswith("video/") or content_type == "image/gif"
    return content_type.startswith("image/")


def extension_for(content_type: str) -> str:
    return EXTENSIONS.get(content_type) or mimetypes.guess_extension(content_type) or ".bin"


def filename_for(job_id: str, index: int, content_type: str) -> str:
    suffix = f"-{index + 1}" if index else ""
    return f"bananabot-{job_id}{suffix}{extension_for(content_type)}"


class MediaFile:
    """One downloaded result file: in memory, or (when large) in a temporary file."""

    def __init__(
        self,
        filename: str,
        *,
        data: bytes | None = None,
        path: Path | None = None,
        size: int | None = None,
        content_type: str = "",
        source_url: str = "",
    ) -> None:
        if (data is None) == (path is None):
            raise ValueError("a MediaFile has either data or a path")
        self.filename = filename
        self.content_type = content_type
        self.source_url = source_url  # linked instead when Discord refuses the upload
        self._data = data
        self.path = path  # the temporary file, for large files; None when in memory
        self.size = len(data) if data is not None else (size if size is not None else 0)

    @property
    def on_disk(self) -> bool:
        return self.path is not None

    def open(self) -> BinaryIO:
        """A new reader positioned at the first byte; the caller closes it."""
        if self._data is not None:
            return io.BytesIO(self._data)
        if self.path is None:
            raise ValueError(f"{self.filename} was discarded")
        return self.path.open("rb")

    def read(self) -> bytes:
        with self.open() as reader:
            return reader.read()

    def discard(self) -> None:
        """Delete the temporary file (if any). The file cannot be opened afterwards."""
        if self.path is not None:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            self.path = None
        self._data = None

    def __repr__(self) -> str:
        where = f"path={str(self.path)!r}" if self.path else "in memory"
        return f"MediaFile({self.filename!r}, size={self.size}, {where})"


class MediaWriter:
    """Collects a download's chunks: bounded by ``limit`` bytes, moved to a temporary file
    once past ``spool_over``. ``write`` refuses (returns False) the chunk that would pass the
    limit, so the caller stops reading there."""

    def __init__(
        self, limit: int, *, spool_over: int = SPOOL_OVER, spool_dir: str | None = None
    ) -> None:
        self.limit = limit
        self.size = 0
        self._spool_over = spool_over
        self._spool_dir = spool_dir
        self._buffer = bytearray()
        self._file: BinaryIO | None = None
        self._path: Path | None = None

    def write(self, chunk: bytes) -> bool:
        if self.size + len(chunk) > self.limit:
            return False
        if self._file is None and self.size + len(chunk) > self._spool_over:
            fd, name = tempfile.mkstemp(prefix="bananabot-", suffix=".part", dir=self._spool_dir)
            self._path = Path(name)
            self._file = os.fdopen(fd, "wb")
            self._file.write(self._buffer)
            self._buffer = bytearray()
        if self._file is not None:
            self._file.write(chunk)
        else:
            self._buffer += chunk
        self.size += len(chunk)
        return True

    def finish(self, filename: str, content_type: str, source_url: str) -> MediaFile:
        if self._file is None:
            return MediaFile(
                filename,
                data=bytes(self._buffer),
                content_type=content_type,
                source_url=source_url,
            )
        self._file.close()
        path, self._file, self._path = self._path, None, None
        return MediaFile(
            filename, path=path, size=self.size, content_type=content_type, source_url=source_url
        )

    def discard(self) -> None:
        """Throw away what was written (the download failed)."""
        self._buffer = bytearray()
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._path is not None:
            with contextlib.suppress(FileNotFoundError):
                self._path.unlink()
            self._path = None
