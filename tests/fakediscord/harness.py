"""Run a real ``discord.Client``/``commands.Bot`` against a ``FakeDiscord``.

discord.py has two hard-coded endpoints: ``discord.http.Route.BASE`` (REST, also used by the
interaction webhook adapter, which builds ``Route`` objects too) and
``DiscordWebSocket.DEFAULT_GATEWAY`` (a plain ``Client`` never asks ``/gateway/bot``; it
connects there directly and falls back there after INVALID_SESSION). Both are class
attributes, so ``run_bot`` swaps them for the emulator's and restores them afterwards; two
bots against two emulators at once in one process are therefore not supported.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
from collections.abc import AsyncIterator

import discord
import yarl
from discord.gateway import DiscordWebSocket

from .server import FakeDiscord


class _ErrorCollector(logging.Handler):
    """Copies discord.py's ERROR logs (swallowed command exceptions) into ``fake.bot_errors``."""

    def __init__(self, fake: FakeDiscord) -> None:
        super().__init__(logging.ERROR)
        self.fake = fake

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += f": {record.exc_info[1]!r}"
        self.fake.bot_errors.append(text)
        self.fake.notify()


@contextlib.contextmanager
def pointed_at(fake: FakeDiscord):
    """Point discord.py's REST base and default gateway at ``fake`` for the block."""
    old_base, old_gateway = discord.http.Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = fake.api_base
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)
    try:
        yield
    finally:
        discord.http.Route.BASE = old_base
        DiscordWebSocket.DEFAULT_GATEWAY = old_gateway


@contextlib.contextmanager
def following_clock(fake: FakeDiscord):
    """Make ``discord.utils.utcnow`` (behind ``Interaction.is_expired``, ``expires_at``
    checks, ``sleep_until``) return emulator time for the block."""
    real = discord.utils.utcnow
    discord.utils.utcnow = lambda: datetime.datetime.fromtimestamp(fake.clock(), datetime.UTC)
    try:
        yield
    finally:
        discord.utils.utcnow = real


@contextlib.asynccontextmanager
async def run_bot(
    bot: discord.Client,
    fake: FakeDiscord,
    token: str = "test-token",
    *,
    ready_timeout: float = 10.0,
    guild_ready_timeout: float | None = 0.05,
    sync_clock: bool = False,
) -> AsyncIterator[discord.Client]:
    """Start ``bot`` against ``fake`` (started here if it isn't), yield once it is ready,
    then close it.

    Login errors propagate: a token the emulator doesn't know raises ``discord.LoginFailure``.
    ``guild_ready_timeout`` shortens discord.py's wait for further GUILD_CREATEs before
    ``on_ready`` (2 s by default); None keeps the bot's own setting. ``sync_clock`` makes
    discord.py's ``utcnow`` follow ``fake.clock`` (see ``following_clock``), so the bot's own
    ``interaction.is_expired()`` agrees with the emulator after ``fake.clock.advance``.
    """
    owns_fake = not fake.running
    if owns_fake:
        await fake.start()
    collector = _ErrorCollector(fake)
    discord_log = logging.getLogger("discord")
    discord_log.addHandler(collector)
    try:
        clock = following_clock(fake) if sync_clock else contextlib.nullcontext()
        with pointed_at(fake), clock:
            async with bot:  # sets up the loop-bound state wait_until_ready needs
                if guild_ready_timeout is not None:
                    bot._connection.guild_ready_timeout = guild_ready_timeout
                runner = asyncio.create_task(bot.start(token), name="fakediscord-bot")
                try:
                    await _until_ready(bot, runner, fake, ready_timeout)
                    yield bot
                finally:
                    await bot.close()
                    await _finish(runner)
    finally:
        discord_log.removeHandler(collector)
        if owns_fake:
            await fake.close()


async def _until_ready(
    bot: discord.Client,
    runner: asyncio.Task,
    fake: FakeDiscord,
    timeout: float,  # noqa: ASYNC109
) -> None:
    ready = asyncio.create_task(bot.wait_until_ready())
    try:
        done, _ = await asyncio.wait(
            {ready, runner}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        ready.cancel()
    if runner in done:
        runner.result()  # raises LoginFailure and friends
        raise RuntimeError(fake.report("the bot stopped before it was ready"))
    if ready not in done:
        raise TimeoutError(fake.report(f"the bot was not ready within {timeout}s"))


async def _finish(runner: asyncio.Task) -> None:
    """Let ``bot.start`` return after ``close``; cancel it if it hangs."""
    try:
        await asyncio.wait_for(asyncio.shield(runner), 5.0)
    except TimeoutError:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
    except Exception:
        pass  # already surfaced by _until_ready, or irrelevant once closing
