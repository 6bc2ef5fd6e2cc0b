"""The built-in sandbox: real files, realistic delays, stateless across restarts."""

from __future__ import annotations

import struct
import zlib

import pytest

from providers.base import GenerationRequest, Kind, TaskState
from providers.errors import ContentFiltered
from providers.imaging import make_gif, make_png
from providers.sandbox import IMAGE_SECONDS, SandboxProvider


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    # every chunk's CRC is right and the pixel data inflates to the declared size
    offset, raw = 8, b""
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert zlib.crc32(kind + body) & 0xFFFFFFFF == crc
        if kind == b"IDAT":
            raw += body
        offset += 12 + length
    assert len(zlib.decompress(raw)) == height * (1 + 3 * width)
    return width, height


def gif_frames(data: bytes) -> tuple[int, int, list[bytes]]:
    """A small GIF decoder (LZW included): proves the file is a real, decodable animation."""
    assert data[:6] == b"GIF89a" and data[-1:] == b";"
    width, height, flags = struct.unpack("<HHB", data[6:11])
    pos = 13 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)
    frames = []
    while data[pos] != 0x3B:
        if data[pos] == 0x21:  # extension: skip its sub-blocks
            pos += 2
            while data[pos]:
                pos += data[pos] + 1
            pos += 1
            continue
        assert data[pos] == 0x2C
        pos += 10
        min_size = data[pos]
        pos += 1
        stream = b""
        while data[pos]:
            stream += data[pos + 1 : pos + 1 + data[pos]]
            pos += data[pos] + 1
        pos += 1
        frames.append(_lzw_decode(stream, min_size))
    return width, height, frames


def _lzw_decode(stream: bytes, min_size: int) -> bytes:
    clear, end = 1 << min_size, (1 << min_size) + 1
    bits = int.from_bytes(stream, "little")
    pos, width, out, table, previous = 0, min_size + 1, bytearray(), None, None
    while True:
        code = (bits >> pos) & ((1 << width) - 1)
        pos += width
        if code == clear:
            table = [bytes([i]) for i in range(clear)] + [b"", b""]
            width, previous = min_size + 1, None
            continue
        if code == end:
            return bytes(out)
        if code < len(table):
            entry = table[code]
            if previous is not None:
                table.append(previous + entry[:1])
        else:
            entry = previous + previous[:1]
            table.append(entry)
        out += entry
        previous = entry
        if len(table) == 1 << width and width < 12:
            width += 1


def test_png_is_valid_and_sized():
    assert png_size(make_png(40, 30, "seed")) == (40, 30)


def test_gif_is_a_decodable_animation():
    width, height, frames = gif_frames(make_gif(48, 27, 6, "seed"))
    assert (width, height, len(frames)) == (48, 27, 6)
    assert all(len(frame) == 48 * 27 for frame in frames)
    assert frames[0] != frames[3]  # it moves


async def test_image_task_takes_realistic_time_and_survives_a_restart():
    clock = Clock()
    request = GenerationRequest(
        kind=Kind.IMAGE, model="sandbox-image", prompt="a pear", count=2, aspect_ratio="16:9"
    )
    submission = await SandboxProvider(clock=clock).submit(request)
    clock.now += IMAGE_SECONDS / 2
    halfway = await SandboxProvider(clock=clock).status(submission.task_id, request)
    assert halfway.state is TaskState.RUNNING and 40 <= halfway.progress <= 60
    clock.now += IMAGE_SECONDS
    restarted = SandboxProvider(clock=clock)  # no memory of the task: the id carries it
    done = await restarted.status(submission.task_id, request)
    assert done.state is TaskState.SUCCEEDED and len(done.media) == 2
    data = b"".join([chunk async for chunk in restarted.open_media(done.media[0].url)])
    width, height = png_size(data)
    assert width > height  # 16:9


async def test_video_is_a_gif_with_frames_for_its_duration():
    clock = Clock()
    request = GenerationRequest(kind=Kind.VIDEO, model="sandbox-video", prompt="x", duration=4)
    provider = SandboxProvider(clock=clock)
    submission = await provider.submit(request)
    clock.now += 60
    status = await provider.status(submission.task_id, request)
    data = b"".join([chunk async for chunk in provider.open_media(status.media[0].url)])
    width, height, frames = gif_frames(data)
    assert len(frames) == 4 * 8  # 4 seconds at 8 frames per second
    assert all(len(frame) == width * height for frame in frames)  # every frame decodes whole


async def test_failure_words_in_the_prompt():
    provider = SandboxProvider(clock=Clock())
    with pytest.raises(ContentFiltered):
        await provider.submit(
            GenerationRequest(kind=Kind.IMAGE, model="sandbox-image", prompt="[filter]")
        )
    request = GenerationRequest(kind=Kind.IMAGE, model="sandbox-image", prompt="a [fail]")
    clock = Clock()
    provider = SandboxProvider(clock=clock)
    submission = await provider.submit(request)
    clock.now += 60
    assert (await provider.status(submission.task_id, request)).state is TaskState.FAILED
