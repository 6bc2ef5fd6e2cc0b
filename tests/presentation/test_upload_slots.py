"""Uploads are slow and large: posts with files share a few slots, so they never hold every
connection to Discord that replies (3 s or lost) need; posts without files never wait."""

from __future__ import annotations

import asyncio

import discord

from jobs.media import MediaFile
from presentation.delivery import post_parts
from presentation.results import Outgoing


def with_file(name: str) -> list[Outgoing]:
    return [Outgoing(content=name, files=[MediaFile(f"{name}.png", data=b"\x89PNG" * 4)])]


async def test_posts_with_files_wait_for_a_slot_and_posts_without_do_not():
    slots = asyncio.Semaphore(1)
    release = asyncio.Event()
    sending: list[str] = []

    async def send(**kwargs):
        sending.append(kwargs["content"])
        if kwargs["content"] == "first":
            await release.wait()
        return kwargs["content"]

    def post(messages):
        return asyncio.create_task(
            post_parts(
                "job",
                messages,
                send,
                mentions=discord.AllowedMentions.none(),
                view=lambda: None,
                uploads=slots,
            )
        )

    first, second = post(with_file("first")), post(with_file("second"))
    text_only = post([Outgoing(content="text only")])
    await asyncio.sleep(0.05)
    assert sending == ["first", "text only"]  # the second upload waits for the slot
    assert await text_only == "text only"
    release.set()
    assert await first == "first" and await second == "second"
    assert sending == ["first", "text only", "second"]
    assert not slots.locked()  # every slot given back
