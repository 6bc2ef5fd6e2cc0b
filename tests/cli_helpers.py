"""Running the ``bananabot`` command line in tests: a clean environment (no .env, no setting
from the developer's shell), main() off the test's event loop, and the real console script
in a subprocess."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import cli

ROOT = Path(__file__).resolve().parent.parent
SETTING_SUFFIXES = ("_API_KEY", "_BASE_URL", "_CREDIT_RATE", "_MAX_CONCURRENCY", "_TOKEN")
SETTINGS = (
    "DATABASE_URL",
    "SANDBOX_PROVIDER",
    "DEV_GUILD_ID",
    "QUOTA_PERIOD",
    "QUOTA_DEFAULT_CREDITS",
    "CALLBACK_URL",
    "CALLBACK_SECRET",
    "MEDIA_TRUSTED_ORIGINS",
)


def clean_env(monkeypatch, where: Path, **settings: str) -> None:
    """Run in ``where`` (no .env there) with exactly ``settings`` among the bot's variables."""
    monkeypatch.chdir(where)
    for name in list(os.environ):
        if name in SETTINGS or name.endswith(SETTING_SUFFIXES):
            monkeypatch.delenv(name)
    for name, value in settings.items():
        monkeypatch.setenv(name, value)


async def main_off_loop(*argv: str) -> int:
    """main() runs its own event loop (asyncio.run), so it cannot run on the test's."""
    return await asyncio.to_thread(cli.main, list(argv))


def console(*argv: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``python bot.py ARGV`` as the README runs it, with only ``env`` among the settings."""
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in SETTINGS and not k.endswith(SETTING_SUFFIXES)
    }
    return subprocess.run(
        [sys.executable, str(ROOT / "bot.py"), *argv],
        cwd=cwd,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
