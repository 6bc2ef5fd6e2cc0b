"""The process the bot runs in: its event loop and its garbage collector's tuning."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

import bot

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(sys.platform == "win32", reason="uvloop has no Windows build")
def test_the_bot_runs_on_uvloop():
    async def loop_module() -> str:
        return type(asyncio.get_running_loop()).__module__

    with bot.event_loop_runner() as runner:
        assert runner.run(loop_module()).startswith("uvloop")


def test_the_collector_is_tuned_once_per_process():
    script = (
        "import gc, bot\n"
        "before = gc.get_threshold()[0]\n"
        "bot._tune_gc_once()\n"
        "tuned = gc.get_threshold()[0]\n"
        "frozen = gc.get_freeze_count()\n"
        "gc.set_threshold(700)\n"
        "bot._tune_gc_once()\n"  # a second READY (a reconnect) changes nothing
        "print(before, tuned, frozen > 1000, gc.get_freeze_count() == frozen,"
        " gc.get_threshold()[0])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["700", str(bot.GC_YOUNG_THRESHOLD), "True", "True", "700"]
