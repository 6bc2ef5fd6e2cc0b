"""One real bot process for tests/e2e/test_processes.py: ``python -m tests.e2e.bot_process``.

The bot as ``bananabot run`` builds it from the environment, pointed at the test's Discord
emulator (FAKE_DISCORD_API, FAKE_DISCORD_GATEWAY), with engine time running FAST_TIME_FACTOR
times faster from the shared FAST_TIME_EPOCH, so every process agrees on the time (leases
compare it), and leases of LEASE_SECONDS. Runs until SIGTERM (a clean stop) or SIGKILL.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time

import discord
import yarl
from discord.gateway import DiscordWebSocket

import bot as bot_module
from jobs.engine import EnginePolicy
from jobs.timebase import FastTimebase
from settings import load_settings


def shared_timebase() -> FastTimebase:
    epoch, factor = float(os.environ["FAST_TIME_EPOCH"]), float(os.environ["FAST_TIME_FACTOR"])
    return FastTimebase(factor, start=epoch + (time.time() - epoch) * factor)


async def main() -> None:
    settings = load_settings()
    bot_module.configure_logging(settings)
    discord.http.Route.BASE = os.environ["FAKE_DISCORD_API"]
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(os.environ["FAKE_DISCORD_GATEWAY"])
    lease = float(os.environ["LEASE_SECONDS"])
    timebase = shared_timebase()
    policy = EnginePolicy(
        poll_min=1.0,
        progress_interval=EnginePolicy.progress_interval * timebase.factor,  # 5 real seconds:
        # cards move as often as in production, not hundreds of edits a second
        backoff_base=0.5,
        lease_seconds=lease,
        lease_renew=lease / 4,
    )
    bot = bot_module.make_bot(settings, timebase=timebase, engine_policy=policy)
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    async with bot:
        bot._connection.guild_ready_timeout = 0.05
        runner = asyncio.create_task(bot.start(settings.require_token()))
        stopper = asyncio.create_task(stopping.wait())
        await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
        await bot.close()
        await asyncio.gather(runner, return_exceptions=True)


if __name__ == "__main__":
    with bot_module.event_loop_runner() as runner:  # the loop ``bananabot run`` uses
        runner.run(main())
