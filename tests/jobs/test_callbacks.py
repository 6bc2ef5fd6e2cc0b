"""The callback listener over real HTTP: only a correctly signed POST wakes a job; everything
else gets 403, never a 500 or a traceback."""

from __future__ import annotations

import logging

import httpx
import pytest

from jobs.callbacks import CallbackServer
from settings import load_settings

SECRET = b"callback-secret-for-tests-0123456789"


@pytest.fixture
async def listener():
    woken: list[tuple[str, str]] = []

    def on_callback(provider_id: str, job_id: str) -> bool:
        woken.append((provider_id, job_id))
        return True

    server = CallbackServer(
        public_url="https://bot.example",
        host="127.0.0.1",
        port=0,
        secret=SECRET,
        on_callback=on_callback,
    )
    await server.start()
    server.woken = woken  # type: ignore[attr-defined]
    yield server
    await server.stop()


def local(server: CallbackServer, url: str) -> str:
    return url.replace("https://bot.example", f"http://127.0.0.1:{server.port}")


async def test_a_signed_callback_wakes_its_job(listener):
    url = local(listener, listener.url_for("aivideoapi", "job1"))
    async with httpx.AsyncClient() as client:
        response = await client.post(url, json={"status": "completed"})
    assert response.status_code == 200
    assert listener.woken == [("aivideoapi", "job1")]


@pytest.mark.parametrize(
    "tail",
    [
        "aivideoapi/job1/" + "0" * 32,  # well formed, wrong
        "aivideoapi/job2/{sig}",  # another job's signature
        "nanobanana/job1/{sig}",  # another provider's
        "aivideoapi/job1/{sig}0",  # too long
        "aivideoapi/job1/{short}",  # too short
        "aivideoapi/job1/" + "Z" * 32,  # not hex
        "aivideoapi/job1/" + "%C3%A9" * 32,  # not ASCII (compare_digest would raise on str)
        "aivideoapi/job1/" + "%00" * 32,  # control characters
        "aivideoapi/job1/",  # empty
        "aivideoapi/job1",  # missing
        "aivideoapi/job1/{sig}/extra",  # more path
    ],
)
async def test_a_wrong_or_malformed_signature_gets_403(listener, tail, caplog):
    good = listener.url_for("aivideoapi", "job1").rsplit("/", 1)[1]
    path = "/callbacks/" + tail.format(sig=good, short=good[:31])
    with caplog.at_level(logging.DEBUG):
        async with httpx.AsyncClient() as client:
            response = await client.post(f"http://127.0.0.1:{listener.port}{path}", json={})
    assert response.status_code == 403
    assert listener.woken == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    server_side = [r.getMessage() for r in caplog.records if r.name.startswith(("jobs", "aiohttp"))]
    assert server_side and not [line for line in server_side if good in line]


@pytest.mark.parametrize(("method", "path"), [("GET", "{signed}"), ("POST", "/"), ("GET", "/x")])
async def test_other_methods_and_paths_get_403(listener, method, path):
    signed = listener.url_for("aivideoapi", "job1").replace("https://bot.example", "")
    async with httpx.AsyncClient() as client:
        response = await client.request(
            method, f"http://127.0.0.1:{listener.port}{path.format(signed=signed)}"
        )
    assert response.status_code == 403
    assert listener.woken == []


async def test_the_key_is_the_callback_secret_alone():
    def server(secret: bytes) -> CallbackServer:
        return CallbackServer(
            public_url="https://bot.example",
            host="127.0.0.1",
            port=0,
            secret=secret,
            on_callback=lambda p, j: True,
        )

    assert server(SECRET).url_for("a", "j") == server(SECRET).url_for("a", "j")
    assert server(SECRET).url_for("a", "j") != server(SECRET + b"x").url_for("a", "j")


def test_the_listener_binds_loopback_unless_told_otherwise():
    settings = load_settings({})
    assert (settings.callback_host, settings.callback_port) == ("127.0.0.1", 8080)
    settings = load_settings({"CALLBACK_LISTEN": "0.0.0.0:9000"})
    assert (settings.callback_host, settings.callback_port) == ("0.0.0.0", 9000)
