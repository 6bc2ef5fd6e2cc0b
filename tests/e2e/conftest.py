"""End-to-end world: the real BananaBot against the local Discord emulator and the provider
emulators, with a real SQLite file. Engine time runs fast (FastTimebase), so polls and
deadlines take fractions of a second; the emulators' tasks finish in a fraction of a second.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot import BananaBot, make_bot
from jobs.download import MediaFetcher
from jobs.engine import EnginePolicy
from jobs.timebase import FastTimebase
from settings import Settings, load_settings
from tests.emulators.aivideoapi import AIVideoAPIEmulator
from tests.emulators.all import serve_providers
from tests.emulators.nananobanana import NanaNoBananaEmulator
from tests.emulators.nanobanana import NanoBananaEmulator
from tests.emulators.nanobananavideo import NanoBananaVideoEmulator
from tests.fakediscord import MessageRecord, run_bot
from tests.fakediscord.server import FakeDiscord

GUILD = 900_000_000_000_000_001
CHANNEL = 900_000_000_000_000_002
LOG_CHANNEL = 900_000_000_000_000_003
ALICE = 900_000_000_000_000_010
BOB = 900_000_000_000_000_011
MOD = 900_000_000_000_000_012
HELPER = 900_000_000_000_000_013  # holds only MOD_ROLE: a moderator without Manage Server
MOD_ROLE = 900_000_000_000_000_020
VIP_ROLE = 900_000_000_000_000_021
ADMIN_ROLE = 900_000_000_000_000_022
TOKEN = "bot-token-e2e-SECRET"
SPEED = 60.0  # engine seconds per real second
MANAGE_GUILD = 1 << 5


@dataclass
class World:
    tmp: Path
    fake: FakeDiscord
    nanobanana: NanoBananaEmulator
    aivideoapi: AIVideoAPIEmulator
    nananobanana: NanaNoBananaEmulator
    nanobananavideo: NanoBananaVideoEmulator
    env: dict[str, str] = field(default_factory=dict)

    def settings(self, **overrides: str) -> Settings:
        return load_settings({**self.env, **overrides})

    @contextlib.asynccontextmanager
    async def bot(
        self,
        *,
        speed: float = SPEED,
        stop_grace: float = 5.0,
        fetcher: MediaFetcher | None = None,
        **overrides: str,
    ) -> AsyncIterator[BananaBot]:
        """A fresh bot process (same database file): use twice to simulate a restart."""
        policy = EnginePolicy(
            poll_min=1.0, progress_interval=2.0, backoff_base=0.5, stop_grace=stop_grace
        )
        bot = make_bot(
            self.settings(**overrides),
            timebase=FastTimebase(speed),
            engine_policy=policy,
            fetcher=fetcher,
        )
        async with run_bot(bot, self.fake, token=TOKEN):
            yield bot

    async def slash(self, name: str, options: dict | None = None, *, user: int = ALICE, **kwargs):
        return await self.fake.invoke_slash(GUILD, CHANNEL, user, name, options or {}, **kwargs)

    async def result_message(self, *, user: int = ALICE, skip: int = 0) -> MessageRecord:
        """The (skip+1)-th channel message that delivers a result to ``user``."""

        def delivered() -> list[MessageRecord]:
            return [
                m
                for m in self.fake.messages.get(CHANNEL, [])
                if m.interaction_id is None
                and (m.content or "").startswith(f"<@{user}> your")
                and m.embeds
            ]

        await self.fake.wait_until(lambda: len(delivered()) > skip, timeout=15, what="a result")
        return delivered()[skip]

    async def idle(self, bot: BananaBot) -> None:
        """Wait until the bot's engine has no job running, nor a command still between its
        reply and its job's start (the reservation follows the reply)."""
        await self.fake.wait_until(
            lambda: not bot.engine._tasks and not bot.engine.replies.open,
            timeout=15,
            what="jobs done",
        )


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with contextlib.AsyncExitStack() as stack:
        providers = await stack.enter_async_context(serve_providers(0.2))
        fake = FakeDiscord(token=TOKEN)
        await fake.start()
        stack.push_async_callback(fake.close)
        fake.cdn_base = "https://cdn.discordapp.test"  # attachments are passed on, not fetched
        fake.add_guild(GUILD, "Banana Club", premium_tier=0)
        fake.add_channel(GUILD, CHANNEL, "general")
        fake.add_channel(GUILD, LOG_CHANNEL, "bot-log")
        fake.add_role(GUILD, MOD_ROLE, "Moderators", 0)
        fake.add_role(GUILD, VIP_ROLE, "VIP", 0)
        fake.add_member(GUILD, ALICE, "alice")
        fake.add_member(GUILD, BOB, "bob")
        fake.add_role(GUILD, ADMIN_ROLE, "Admins", MANAGE_GUILD)
        fake.add_member(GUILD, MOD, "mod", roles=[ADMIN_ROLE])
        fake.add_member(GUILD, HELPER, "helper", roles=[MOD_ROLE])
        nb, aiv, nnb, nbv = providers
        world = World(
            tmp=tmp_path,
            fake=fake,
            nanobanana=nb,
            aivideoapi=aiv,
            nananobanana=nnb,
            nanobananavideo=nbv,
            env={
                "DISCORD_TOKEN": TOKEN,
                "DATABASE_URL": f"sqlite:///{tmp_path}/bananabot.db",
                **providers.env(),
                "SANDBOX_PROVIDER": "1",
                "QUOTA_DEFAULT_CREDITS": "100",
            },
        )
        yield world
