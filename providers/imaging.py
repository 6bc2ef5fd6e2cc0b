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


def _lzw(indices: bytes, min_code_size: int = 8) -> bytes:
    """GIF's variable-width LZW, emitting a clear code whenever the table fills."""
    clear, end = 1 << min_code_size, (1 << min_code_size) + 1
    table = {bytes([i]): i for i in range(clear)}
    next_code, width = end + 1, min_code_size + 1
    bits, nbits, out = 0, 0, bytearray()

    def emit(code: int) -> None:
        nonlocal bits, nbits
        bits |= code << nbits
        nbits += width
        while nbits >= 8:
            out.append(bits & 0xFF)
            bits >>= 8
            nbits -= 8

    emit(clear)
    current = b""
    for value in indices:
        candidate = current + bytes([value])
        if candidate in table:
            current = candidate
            continue
        emit(table[current])
        if next_code < 4096:
            table[candidate] = next_code
            next_code += 1
            if next_code > (1 << width) and width < 12:
                width += 1
        else:
            emit(clear)
            table = {bytes([i]): i for i in range(clear)}
            next_code, width = end + 1, min_code_size + 1
        current = bytes([value])
    if current:
        emit(table[current])
    emit(end)
    if nbits:
        out.append(bits & 0xFF)
    return bytes(out)


def make_gif(width: int, height: int, frames: int, seed: str = "", fps: int = 10) -> bytes:
    """A looping animated GIF: a band of colour sweeping across a seeded gradient. The sandbox's
    "video": a real animation Discord plays inline, made without any codec library."""
    digest = hashlib.sha256(seed.encode()).digest()
    palette = bytearray()
    for i in range(256):  # a seeded gradient palette, brighter towards the top
        palette += bytes(
            ((digest[0] + i) & 0xFF, (digest[1] + i // 2) & 0xFF, (digest[2] + 255 - i) & 0xFF)
        )
    delay = max(2, round(100 / fps))
    parts = [
        b"GIF89a",
        struct.pack("<HHBBB", width, height, 0xF7, 0, 0),
        bytes(palette),
        b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00",  # loop forever
    ]
    for f in range(frames):
        band = int((f / max(frames, 1)) * width)
        rows = bytearray()
        for y in range(height):
            base = (y * 200) // max(height - 1, 1)
            for x in range(width):
                value = base + (55 if abs(x - band) < width // 10 else (x * 40) // width)
                rows.append(min(value, 255))
        data = _lzw(bytes(rows))
        parts.append(b"\x21\xf9\x04\x04" + struct.pack("<H", delay) + b"\x00\x00")
        parts.append(b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x08")
        for start in range(0, len(data), 255):
            block = data[start : start + 255]
            parts.append(bytes([len(block)]) + block)
        parts.append(b"\x00")
    parts.append(b"\x3b")
    return b"".join(parts)
