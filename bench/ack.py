"""Part a: acknowledgement latency of /image bursts, with the real bot in a process of its own.

The Discord emulator (REST and gateway over loopback) and the four provider emulators run in
the bench's process; the real BananaBot runs in a child process (``python -m bench.ack``) on
a fresh SQLite file per burst, in real time, as it would beside a Discord that runs
elsewhere. A burst is ``size`` ``/image`` commands from distinct members dispatched at once.
Each burst is answered twice: by bananabot, run as ``bananabot run`` runs it (on uvloop,
bot.event_loop_runner), then by a plain discord.py bot whose /image only replies with an
embed, run as any discord.py bot is (asyncio's loop, discord.py's default connection pool):
what a bot that does nothing but reply costs here, measured the same way.

Each latency is the bot's share of the answer: from the emulator writing the
INTERACTION_CREATE frame to the gateway connection to the emulator accepting the bot's first
callback (``dispatched_at`` → ``callback.at``). Discord's 3 s deadline counts from the
interaction's creation, a little earlier, and the emulator enforces it from there: "answered"
counts the callbacks it accepted. The CPU seconds of both processes over the burst show
which side did the work (an emulator near its wall time would be the bottleneck).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bench.common import summary

REPO = Path(__file__).resolve().parent.parent
GUILD = 910_000_000_000_000_001
CHANNEL = 910_000_000_000_000_002
FIRST_MEMBER = 910_000_000_000_001_000
TOKEN = "bench-bot-token"
CALLBACK_WAIT = 10.0  # real seconds to wait for the last callback of a burst
READY_WAIT = 30.0  # real seconds for the bot process to connect and sync its commands
SETTLE_PAUSE = 0.5  # real seconds after start-up before the burst (start-up work settles)


BANANABOT, PLAIN = "bananabot", "plain discord.py"


async def run(bursts: list[int]) -> list[dict[str, object]]:
    """Each burst twice: answered by bananabot, then by a plain discord.py bot whose /image
    only replies with an embed (the floor on this machine, measured the same way)."""
    results = []
    for size in bursts:
        for bot in (BANANABOT, PLAIN):
            results.append(await _burst(size, bot))
    return results


async def _burst(size: int, bot: str = BANANABOT) -> dict[str, object]:
    from tests.emulators.all import serve_providers
    from tests.fakediscord.server import FakeDiscord

    with tempfile.TemporaryDirectory(prefix="bench-ack-") as tmp:
        database = Path(tmp) / "bananabot.db"
        async with contextlib.AsyncExitStack() as stack:
            providers = await stack.enter_async_context(serve_providers(5.0))
            fake = FakeDiscord(token=TOKEN)
            await fake.start()
            stack.push_async_callback(fake.close)
            fake.cdn_base = "https://cdn.discordapp.test"
            fake.add_guild(GUILD, "Bench", premium_tier=0)
            fake.add_channel(GUILD, CHANNEL, "general")
            members = [FIRST_MEMBER + i for i in range(size)]
            for user in members:
                fake.add_member(GUILD, user, f"member{user - FIRST_MEMBER}")
            env = {
                **os.environ,
                "DISCORD_TOKEN": TOKEN,
                "DATABASE_URL": f"sqlite:///{database}",
                **providers.env(),
                "QUOTA_DEFAULT_CREDITS": "100",
            }
            child = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.ack",
                "--api-base",
                fake.api_base,
                "--gateway",
                fake.gateway_url,
                *(["--plain"] if bot == PLAIN else []),
                cwd=str(REPO),
                env=env,
            )
            stack.push_async_callback(_stop, child)
            await _until_commands_synced(fake, child)
            await asyncio.sleep(SETTLE_PAUSE)

            deadline = fake.callback_deadline  # Discord's 3 s
            bot_cpu, own_cpu = _process_cpu(child.pid), time.process_time()
            started = time.perf_counter()
            records = await asyncio.gather(
                *(
                    fake.invoke_slash(GUILD, CHANNEL, user, "image", {"prompt": "a banana"})
                    for user in members
                )
            )
            dispatched = time.perf_counter() - started
            with contextlib.suppress(TimeoutError):  # until no more callback can be accepted
                await fake.wait_until(
                    lambda: all(
                        r.callback is not None or fake.clock() > r.created_at + deadline
                        for r in records
                    ),
                    CALLBACK_WAIT,
                    "every callback",
                )
            answered = [r for r in records if r.callback is not None]
            last = max((r.callback.at for r in answered), default=fake.clock())
            wall = last - min(r.created_at for r in records)
            bot_cpu = _process_cpu(child.pid) - bot_cpu
            own_cpu = time.process_time() - own_cpu
            latencies = [r.callback.at - r.dispatched_at for r in answered]
            since_created = [r.callback.at - r.created_at for r in answered]
            cards = sum(1 for r in answered if not r.callback.ephemeral)
            if bot == BANANABOT:
                await _until_settled(database, cards)
    return {
        "bot": bot,
        "commands": size,
        "answered": len(answered),
        "job_cards": cards,
        "dispatch_seconds": dispatched,
        "latency": summary(latencies),
        "latency_from_creation": summary(since_created),
        "burst_seconds": wall,
        "bot_cpu_seconds": bot_cpu,
        "emulators_cpu_seconds": own_cpu,
    }


async def _until_commands_synced(fake: Any, child: asyncio.subprocess.Process) -> None:
    from tests.fakediscord import payloads

    for _ in range(int(READY_WAIT / 0.05)):
        if child.returncode is not None:
            raise RuntimeError(f"the bot process stopped with exit code {child.returncode}")
        with contextlib.suppress(LookupError):
            payloads.find_command(fake, "image", GUILD)
            if fake.gateway.live_sessions():
                return
        await asyncio.sleep(0.05)
    raise TimeoutError("the bot process did not connect and sync its commands in time")


async def _stop(child: asyncio.subprocess.Process) -> None:
    if child.returncode is None:
        child.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(child.wait(), 15.0)
        except TimeoutError:
            child.kill()
            await child.wait()


def _process_cpu(pid: int) -> float:
    """CPU seconds (user + system) another process has used, from /proc/PID/stat."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _until_settled(database: Path, cards: int) -> None:
    """Wait until every answered command has finished its own work (it stores the card's
    token after answering), so stopping the bot cuts no command short."""
    for _ in range(int(CALLBACK_WAIT / 0.05)):
        with contextlib.closing(sqlite3.connect(database, timeout=5.0)) as conn:
            (stored,) = conn.execute(
                "SELECT COUNT(*) FROM jobs WHERE ack_expires_at IS NOT NULL"
            ).fetchone()
        if stored >= cards:
            return
        await asyncio.sleep(0.05)


# --- the bot's process --------------------------------------------------------------------


def _plain_bot() -> Any:
    """The least a discord.py bot can do: /image answers with an embed at once."""
    import discord
    from discord import app_commands

    client = discord.Client(intents=discord.Intents.none())
    tree = app_commands.CommandTree(client)

    @tree.command(name="image", description="Make an image from a prompt")
    async def image(interaction: discord.Interaction, prompt: str) -> None:
        embed = discord.Embed(title="Queued", description=prompt)
        await interaction.response.send_message(embed=embed)

    async def setup_hook() -> None:
        await tree.sync()

    client.setup_hook = setup_hook  # type: ignore[method-assign]
    return client


async def _serve(api_base: str, gateway: str, *, plain: bool) -> None:
    """Run the real bot (or the plain one) against the emulator until SIGTERM."""
    from tests.fakediscord.harness import pointed_at

    if plain:
        bot = _plain_bot()
    else:
        from bot import BananaBot
        from jobs.engine import EnginePolicy
        from settings import load_settings

        settings = load_settings(dict(os.environ), dotenv=False)
        bot = BananaBot(settings, engine_policy=EnginePolicy(stop_grace=0.5))
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    with pointed_at(SimpleNamespace(api_base=api_base, gateway_url=gateway)):  # type: ignore[arg-type]
        async with bot:
            bot._connection.guild_ready_timeout = 0.05  # one guild: no need to wait for more
            runner = asyncio.create_task(bot.start(TOKEN))
            stopper = asyncio.create_task(stopping.wait())
            await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
            await bot.close()
            stopper.cancel()
            await asyncio.gather(runner, return_exceptions=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ack")
    parser.add_argument("--api-base", required=True)
    parser.add_argument("--gateway", required=True)
    parser.add_argument("--plain", action="store_true", help="the plain discord.py bot")
    args = parser.parse_args(argv)
    logging.disable(logging.ERROR)  # a log line per job would measure the terminal
    if args.plain:  # discord.py as anyone runs it
        asyncio.run(_serve(args.api_base, args.gateway, plain=True))
        return 0
    from bot import event_loop_runner

    with event_loop_runner() as runner:  # the event loop ``bananabot run`` uses
        runner.run(_serve(args.api_base, args.gateway, plain=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
