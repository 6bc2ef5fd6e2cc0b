"""The shared transport: job requests before lookups, and a status read that cannot hang."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiohttp import web

from providers import http
from providers.errors import OutcomeUnknown
from providers.http import ProviderHTTP, Purpose, RequestPacer


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.001)
        await asyncio.sleep(0)


async def test_lookups_use_at_most_their_share_of_the_window():
    t = FakeTime()
    pacer = RequestPacer(4, 60.0, clock=t.clock, sleep=t.sleep)
    for _ in range(2):
        await pacer.acquire(lookup=True)
    assert t.now == 0.0
    await pacer.acquire(lookup=True)  # the third lookup waits for the window to move
    assert t.now >= 60.0


async def test_job_requests_may_fill_the_whole_window():
    t = FakeTime()
    pacer = RequestPacer(4, 60.0, clock=t.clock, sleep=t.sleep)
    for _ in range(2):
        await pacer.acquire(lookup=True)
    for _ in range(2):
        await pacer.acquire()
    assert t.now == 0.0  # lookups' share left room for them


async def test_a_waiting_status_read_goes_before_a_waiting_lookup():
    pacer = RequestPacer(2, 0.3)  # real time, a short window
    await pacer.acquire()
    await pacer.acquire()
    order: list[str] = []

    async def take(name: str, lookup: bool) -> None:
        await pacer.acquire(lookup=lookup)
        order.append(name)

    lookup = asyncio.create_task(take("lookup", True))  # waits first...
    await asyncio.sleep(0.05)
    status = asyncio.create_task(take("status", False))  # ...but the status read goes first
    await asyncio.wait_for(asyncio.gather(lookup, status), 5)
    assert order == ["status", "lookup"]


@pytest.fixture
async def hanging_server():
    async def hang(request: web.Request) -> web.Response:
        await asyncio.sleep(30)
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/status", hang)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_a_hung_status_read_is_abandoned_at_its_deadline(hanging_server, monkeypatch):
    monkeypatch.setattr(http, "STATUS_DEADLINE", 0.3)
    client = ProviderHTTP("p", hanging_server, {"Authorization": "Bearer k"})
    try:
        started = time.monotonic()
        with pytest.raises(OutcomeUnknown, match=r"no answer within 0\.3s"):
            await client.request("GET", "/status", purpose=Purpose.STATUS)
        assert time.monotonic() - started < 5  # not the 60 s read timeout of a submit
    finally:
        await client.client.aclose()
