"""METRICS_LISTEN end to end: /healthz follows the gateway, the database and the engine;
/metrics parses as Prometheus text and moves when jobs run; the Docker HEALTHCHECK command
reads /healthz as Docker would."""

from __future__ import annotations

import asyncio
import socket

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import ALICE
from tests.test_metrics import run_check


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def get(port: int, path: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=5) as client:
        return await client.get(f"http://127.0.0.1:{port}{path}")


async def until_status(world, port: int, status: int) -> httpx.Response:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while True:
        response = await get(port, "/healthz")
        if response.status_code == status:
            return response
        if loop.time() > deadline:
            raise AssertionError(f"/healthz never answered {status}; last: {response.text!r}")
        await asyncio.sleep(0.05)


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, frozenset(s.labels.items()))] = s.value
    return found


def value(found: dict, name: str, **labels) -> float:
    return sum(v for (n, ls), v in found.items() if n == name and set(labels.items()) <= ls)


async def test_healthz_is_503_while_the_gateway_is_cut_and_200_again_after(world):
    port = free_port()
    async with world.bot(METRICS_LISTEN=f"127.0.0.1:{port}") as bot:
        healthy = await until_status(world, port, 200)
        assert healthy.text == "ok\n"
        assert await asyncio.to_thread(run_check, {"METRICS_LISTEN": f"127.0.0.1:{port}"}) == 0
        assert (await get(port, "/anything")).status_code == 404

        gateway = world.fake.gateway
        release = asyncio.Event()
        identify, resume = gateway._identify, gateway._resume

        def held(handshake):
            async def wait_then(conn, d):
                await release.wait()
                await handshake(conn, d)

            return wait_then

        gateway._identify, gateway._resume = held(identify), held(resume)
        try:
            await gateway.close_all()  # the connection drops; the bot's reconnect is held
            cut = await until_status(world, port, 503)
            assert cut.text.startswith("unhealthy:") and "gateway" in cut.text
            assert await asyncio.to_thread(run_check, {"METRICS_LISTEN": f"0.0.0.0:{port}"}) != 0
            found = samples((await get(port, "/metrics")).text)
            assert value(found, "bananabot_gateway_connected") == 0
        finally:
            gateway._identify, gateway._resume = identify, resume
            release.set()
        await until_status(world, port, 200)

        bot.engine.begin_stop()  # the engine no longer takes jobs
        stopped = await until_status(world, port, 503)
        assert "job engine" in stopped.text and "gateway" not in stopped.text


async def test_metrics_parse_and_move_when_jobs_run(world):
    port = free_port()
    async with world.bot(METRICS_LISTEN=f"127.0.0.1:{port}") as bot:
        response = await get(port, "/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
        before = samples(response.text)
        assert value(before, "bananabot_jobs_finished_total") == 0
        assert value(before, "bananabot_queue_depth", provider="nananobanana") == 0

        world.fake.rate_limit_next("POST", r"/channels/\d+/messages$", retry_after=0.05)
        options = {"prompt": "a banana", "model": "nananobanana:nano-banana"}
        rec = await world.slash("image", options)
        await world.fake.wait_for_callback(rec)
        await world.result_message(user=ALICE)
        await world.idle(bot)

        after = samples((await get(port, "/metrics")).text)
        finished = "bananabot_jobs_finished_total"
        assert value(after, finished, provider="nananobanana", outcome="completed") == 1
        assert value(after, "bananabot_credits_total", kind="reserved") == 1
        assert value(after, "bananabot_credits_total", kind="charged") == 1
        assert value(after, "bananabot_credits_total", kind="refunded") == 0
        requests = "bananabot_provider_requests_total"
        assert value(after, requests, provider="nananobanana", status="200") >= 2  # submit, read
        latency = "bananabot_provider_request_seconds_count"
        assert value(after, latency, provider="nananobanana") >= 2
        assert value(after, "bananabot_status_reads_total", provider="nananobanana") >= 1
        reads = "bananabot_status_reads_per_job_count"
        assert value(after, reads, provider="nananobanana") == 1
        assert value(after, "bananabot_delivery_overhead_seconds_count") == 1
        assert value(after, "bananabot_discord_rate_limits_total", scope="user") == 1
        assert value(after, "bananabot_jobs") == 0  # nothing left in the engine
        assert value(after, "bananabot_gateway_connected") == 1
