"""Part a: acknowledgement latency of /image bursts, with the real bot.

The real BananaBot runs against the Discord emulator (REST and gateway over loopback) and the
four provider emulators, on a fresh SQLite file per burst, in real time. A burst is ``size``
``/image`` commands from distinct members dispatched at once; each latency is the time from
the emulator creating the interaction to the emulator accepting the bot's first callback.
Everything runs in this one process, so the emulators' own work is inside the figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import time

from bench.common import summary
from bot import BananaBot
from jobs.engine import EnginePolicy
from settings import load_settings
from tests.emulators.aivideoapi import AIVideoAPIEmulator
from tests.emulators.base import serve
from tests.emulators.nananobanana import NanaNoBananaEmulator
from tests.emulators.nanobanana import NanoBananaEmulator
from tests.emulators.nanobananavideo import NanoBananaVideoEmulator
from tests.fakediscord import run_bot
from tests.fakediscord.server import FakeDiscord

GUILD = 910_000_000_000_000_001
CHANNEL = 910_000_000_000_000_002
FIRST_MEMBER = 910_000_000_000_001_000
TOKEN = "bench-bot-token"
CALLBACK_WAIT = 10.0  # real seconds to wait for the last callback of a burst


async def run(bursts: list[int]) -> list[dict[str, object]]:
    results = []
    for size in bursts:
        results.append(await _burst(size))
    return results


async def _burst(size: int) -> dict[str, object]:
    emulators = (
        NanoBananaEmulator(),
        AIVideoAPIEmulator(task_seconds=5.0),
        NanaNoBananaEmulator(),
        NanoBananaVideoEmulator(),
    )
    for emulator in emulators:
        emulator.task_seconds = 5.0
    quiet = logging.getLogger()
    level = quiet.level
    quiet.setLevel(logging.WARNING)  # one INFO line per job would measure the terminal
    try:
        with tempfile.TemporaryDirectory(prefix="bench-ack-") as tmp:
            async with contextlib.AsyncExitStack() as stack:
                for emulator in emulators:
                    await stack.enter_async_context(serve(emulator))
                fake = FakeDiscord(token=TOKEN)
                await fake.start()
                stack.push_async_callback(fake.close)
                fake.cdn_base = "https://cdn.discordapp.test"
                fake.add_guild(GUILD, "Bench", premium_tier=0)
                fake.add_channel(GUILD, CHANNEL, "general")
                members = [FIRST_MEMBER + i for i in range(size)]
                for user in members:
                    fake.add_member(GUILD, user, f"member{user - FIRST_MEMBER}")
                nb, aiv, nnb, nbv = emulators
                settings = load_settings(
                    {
                        "DISCORD_TOKEN": TOKEN,
                        "DATABASE_URL": f"sqlite:///{tmp}/bananabot.db",
                        "NANOBANANA_API_KEY": nb.api_key,
                        "NANOBANANA_BASE_URL": nb.base_url,
                        "AIVIDEOAPI_API_KEY": aiv.api_key,
                        "AIVIDEOAPI_BASE_URL": aiv.base_url,
                        "NANANOBANANA_API_KEY": nnb.api_key,
                        "NANANOBANANA_BASE_URL": nnb.base_url,
                        "NANOBANANAVIDEO_API_KEY": nbv.api_key,
                        "NANOBANANAVIDEO_BASE_URL": nbv.base_url,
                        "QUOTA_DEFAULT_CREDITS": "100",
                    }
                )
                bot = BananaBot(settings, engine_policy=EnginePolicy(stop_grace=0.5))
                async with run_bot(bot, fake, token=TOKEN):
                    await asyncio.sleep(0.5)  # let start-up work (price hints) settle
                    started = time.perf_counter()
                    records = await asyncio.gather(
                        *(
                            fake.invoke_slash(GUILD, CHANNEL, user, "image", {"prompt": "a banana"})
                            for user in members
                        )
                    )
                    dispatched = time.perf_counter() - started
                    with contextlib.suppress(TimeoutError):
                        await fake.wait_until(
                            lambda: all(r.callback is not None for r in records),
                            CALLBACK_WAIT,
                            "every callback",
                        )
                    latencies = [
                        r.callback.at - r.created_at for r in records if r.callback is not None
                    ]
                    cards = sum(
                        1 for r in records if r.callback is not None and not r.callback.ephemeral
                    )
                    await _until_settled(bot, cards)
    finally:
        quiet.setLevel(level)
    return {
        "commands": size,
        "answered": len(latencies),
        "job_cards": cards,
        "dispatch_seconds": dispatched,
        "latency": summary(latencies),
    }


async def _until_settled(bot: BananaBot, cards: int) -> None:
    """Wait until every answered command has finished its own work (it stores the card's
    token after answering), so closing the bot cuts no command short."""
    for _ in range(int(CALLBACK_WAIT / 0.05)):
        row = await bot.db.fetchone("SELECT COUNT(*) FROM jobs WHERE ack_expires_at IS NOT NULL")
        if row[0] >= cards:
            return
        await asyncio.sleep(0.05)
