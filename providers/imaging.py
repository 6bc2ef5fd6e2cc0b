"""Small real image files without an imaging library: used by the sandbox provider and by the
test emulators, so every "generated" picture is a valid PNG a Discord client can show."""

from __future__ import annotations

import hashlib
import struct
import zlib


def _chunk(kind: bytes, payload: bytes) -> bytes:
    body = kind + payload
    return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def make_png(width: int, height: int, seed: str = "", *, text_noise: int = 0) -> bytes:
    """A deterministic RGB gradient PNG whose colours follow ``seed``.

    ``text_noise`` > 0 mixes pseudo-random bytes in so the file does not compress well; tests
    use it to make results larger than an upload limit.
    """
    digest = hashlib.sha256(seed.encode()).digest()
    r0, g0, b0, r1, g1, b1 = digest[:6]
    rows = []
    noise = hashlib.shake_256(seed.encode()).digest(width * 3) if text_noise else b""
    for y in range(height):
        t = y / max(height - 1, 1)
        row = bytearray([0])  # filter type: none
        for x in range(width):
            s = x / max(width - 1, 1)
            mix = (t + s) / 2
            row += bytes(
                (
                    int(r0 + (r1 - r0) * mix) & 0xFF,
                    int(g0 + (g1 - g0) * mix) & 0xFF,
                    int(b0 + (b1 - b0) * t) & 0xFF,
                )
            )
        if noise:
            offset = (y * 7919) % len(noise)
            rotated = noise[offset:] + noise[:offset]
            row[1:] = bytes(a ^ b for a, b in zip(row[1:], rotated, strict=False))
        rows.append(bytes(row))
    raw = b"".join(rows)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 6))
        + _chunk(b"IEND", b"")
    )


def dimensions_for(aspect_ratio: str | None, long_side: int) -> tuple[int, int]:
    """Width and height for an aspect ratio like "16:9" ("auto"/None: square)."""
    try:
        w, h = (int(p) for p in (aspect_ratio or "1:1").split(":"))
    except ValueError:
        w, h = 1, 1
    if w >= h:
        return long_side, max(1, round(long_side * h / w))
    return max(1, round(long_side * w / h)), long_side
