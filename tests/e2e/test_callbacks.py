"""Provider callbacks (aivideoapi) wake a job at once instead of waiting for the next poll."""

from __future__ import annotations

import socket
import time

import httpx

from tests.e2e.conftest import ALICE, GUILD

CALLBACK_SECRET = "e2e-callback-secret-0123456789abcdef"


def callbacks_on(port: int) -> dict[str, str]:
    return {
        "CALLBACK_URL": f"http://127.0.0.1:{port}",
        "CALLBACK_LISTEN": f"127.0.0.1:{port}",
        "CALLBACK_SECRET": CALLBACK_SECRET,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_callback_delivers_long_before_the_first_poll(world):
    port = free_port()
    world.aivideoapi.task_seconds = 0.5
    # Real time (speed 1): without the callback the first read comes at 3 s (a fifth of 15 s).
    async with world.bot(speed=1, **callbacks_on(port)) as bot:
        started = time.monotonic()
        rec = await world.slash("image", {"prompt": "quick", "model": "aivideoapi:nano-banana-2"})
        await world.fake.wait_for_callback(rec)
        await world.result_message()
        assert time.monotonic() - started < 6
        (task,) = world.aivideoapi.tasks.values()
        assert task["callback_url"].startswith(f"http://127.0.0.1:{port}/callbacks/aivideoapi/")
        await world.fake.wait_until(lambda: world.aivideoapi.callbacks_sent, what="callback")
        assert world.aivideoapi.callbacks_sent[0]["status"] == 200
        await world.idle(bot)
        assert (await bot.quota.balance(GUILD, ALICE)).used == 16


async def test_callback_with_a_forged_signature_is_refused(world):
    port = free_port()
    async with world.bot(**callbacks_on(port)):
        async with httpx.AsyncClient() as client:
            response = await client.post(
                f"http://127.0.0.1:{port}/callbacks/aivideoapi/deadbeef/{'0' * 32}", json={}
            )
        assert response.status_code == 403
