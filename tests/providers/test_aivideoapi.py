"""The aivideoapi adapter against its emulator over real HTTP on loopback (document 003)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from aiohttp import web

from providers.aivideoapi import AIVideoAPIProvider
from providers.base import GenerationRequest, Kind, ProviderConfig, TaskState, TaskStatus
from providers.errors import (
    AuthError,
    BadRequest,
    ContentFiltered,
    NotFound,
    OutcomeUnknown,
    OutOfProviderCredits,
    ProviderError,
    RateLimited,
    UpstreamError,
)
from tests.emulators.aivideoapi import AIVideoAPIEmulator
from tests.emulators.base import EmulatorBase, fetch_file, serve

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def image(prompt: str = "a cat", **options: Any) -> GenerationRequest:
    return GenerationRequest(kind=Kind.IMAGE, model="nano-banana-2", prompt=prompt, **options)


@pytest.fixture
async def emulator():
    emu = AIVideoAPIEmulator()
    async with serve(emu):
        yield emu


@pytest.fixture
async def provider(emulator):
    adapter = AIVideoAPIProvider(
        ProviderConfig(api_key=emulator.api_key, base_url=emulator.base_url)
    )
    yield adapter
    await adapter.aclose()


async def finished(provider, task_id: str, request: GenerationRequest) -> TaskStatus:
    for _ in range(100):
        status = await provider.status(task_id, request)
        if status.state.finished:
            return status
        await asyncio.sleep(0.05)
    raise AssertionError("task did not finish")


async def read_all(provider, url: str) -> bytes:
    return await fetch_file(url)


def sent_bodies(emulator, path: str) -> list[dict]:
    return [body for method, p, body in emulator.requests if method == "POST" and p == path]


# -- models and prices -------------------------------------------------------------------------


def test_model_spec_follows_the_document(provider):
    (spec,) = provider.models()
    assert spec.qualified_id == "aivideoapi:nano-banana-2"
    assert len(spec.aspect_ratios) == 15
    assert {"1:1", "21:9", "1:8", "8:1", "auto"} <= set(spec.aspect_ratios)
    assert spec.default_aspect_ratio == "auto"
    assert spec.resolutions == ("1K", "2K", "4K") and spec.default_resolution == "1K"
    assert spec.formats == ("jpg", "png")
    assert (spec.max_references, spec.max_count, spec.max_prompt_chars) == (14, 1, 20_000)
    assert spec.media_ttl is None


@pytest.mark.parametrize(("resolution", "price"), [(None, 16), ("1K", 16), ("2K", 24), ("4K", 36)])
async def test_price_matches_what_the_account_is_charged(provider, emulator, resolution, price):
    request = image(resolution=resolution)
    assert await provider.estimate_cost(request) == price
    before = emulator.credits
    await provider.submit(request)
    assert before - emulator.credits == price


async def test_unknown_resolution_is_refused_without_a_request(provider, emulator):
    with pytest.raises(BadRequest):
        await provider.estimate_cost(image(resolution="8K"))
    with pytest.raises(BadRequest):
        await provider.submit(image(resolution="8K"))
    assert emulator.requests == []


# -- submit ------------------------------------------------------------------------------------


async def test_submit_sends_the_documented_body(provider, emulator):
    submission = await provider.submit(image(resolution="2K", aspect_ratio="21:9"))
    assert submission.task_id in emulator.tasks
    assert submission.cost is None  # the response reports no cost
    (body,) = sent_bodies(emulator, "/v1/images/generations")
    assert body == {
        "model": "nano-banana-2",
        "input": {
            "prompt": "a cat",
            "resolution": "2K",
            "aspect_ratio": "21:9",
            "output_format": "jpg",
        },
    }


async def test_jpeg_is_sent_as_jpg(provider, emulator):
    await provider.submit(image(output_format="jpeg"))
    (body,) = sent_bodies(emulator, "/v1/images/generations")
    assert body["input"]["output_format"] == "jpg"


async def test_fourteen_references_are_sent_fifteen_are_refused(provider, emulator):
    urls = tuple(f"https://cdn.example/{i}.png" for i in range(14))
    await provider.submit(image(reference_urls=urls))
    (body,) = sent_bodies(emulator, "/v1/images/generations")
    assert body["input"]["image_urls"] == list(urls)
    with pytest.raises(BadRequest, match="14"):
        await provider.submit(image(reference_urls=(*urls, "https://cdn.example/15.png")))
    assert len(emulator.tasks) == 1


async def test_emulator_itself_refuses_fifteen_references(emulator):
    body = {
        "model": "nano-banana-2",
        "input": {"prompt": "x", "image_urls": [f"https://e.x/{i}.png" for i in range(15)]},
    }
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    async with httpx.AsyncClient(base_url=emulator.base_url) as client:
        reply = await client.post("/v1/images/generations", json=body, headers=headers)
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "invalid_request"
    assert emulator.tasks == {}


async def test_too_long_prompt_is_the_servers_bad_request(provider, emulator):
    with pytest.raises(BadRequest, match="20000") as caught:
        await provider.submit(image(prompt="x" * 20_001))
    assert caught.value.status == 400 and caught.value.code == "invalid_request"
    assert emulator.tasks == {}


async def test_callback_url_is_sent_only_when_given(provider, emulator):
    await provider.submit(image())
    await provider.submit(image(), callback_url="https://bot.example/cb")
    first, second = sent_bodies(emulator, "/v1/images/generations")
    assert "callback_url" not in first and "image_urls" not in first["input"]
    assert second["callback_url"] == "https://bot.example/cb"


# -- status ------------------------------------------------------------------------------------


async def test_status_walks_pending_processing_completed(provider, emulator):
    emulator.task_seconds = 30
    request = image(aspect_ratio="16:9")
    task_id = (await provider.submit(request)).task_id
    assert (await provider.status(task_id, request)).state is TaskState.QUEUED
    emulator.clock.advance(15)
    assert (await provider.status(task_id, request)).state is TaskState.RUNNING
    emulator.clock.advance(15)
    done = await provider.status(task_id, request)
    assert done.state is TaskState.SUCCEEDED
    assert done.cost is None and done.error is None
    (media,) = done.media
    assert media.content_type == "image/png"
    data = await read_all(provider, media.url)
    assert data.startswith(PNG_SIGNATURE)


async def test_failed_task_is_refunded_and_reported(provider, emulator):
    emulator.fail_next_task = "Image generation failed"
    request = image(resolution="4K")
    task_id = (await provider.submit(request)).task_id
    assert emulator.credits == 1000 - 36
    status = await finished(provider, task_id, request)
    assert status.state is TaskState.FAILED
    assert status.error_type is UpstreamError
    assert "Image generation failed" in status.error
    assert emulator.credits == 1000


async def test_prohibited_content_failure_is_content_filtered(provider, emulator):
    emulator.filter_next_task = True
    request = image()
    task_id = (await provider.submit(request)).task_id
    status = await finished(provider, task_id, request)
    assert status.state is TaskState.FAILED
    assert status.error_type is ContentFiltered
    assert "prohibited" in status.error
    # the knob is used once: the next task succeeds
    again = await finished(provider, (await provider.submit(request)).task_id, request)
    assert again.state is TaskState.SUCCEEDED


async def test_unknown_task_is_not_found(provider):
    with pytest.raises(NotFound) as caught:
        await provider.status("no-such-task", image())
    assert caught.value.code == "task_not_found"


async def test_large_results_stream_in_full(provider, emulator):
    emulator.large_results = True
    request = image()
    status = await finished(provider, (await provider.submit(request)).task_id, request)
    data = await read_all(provider, status.media[0].url)
    assert data.startswith(PNG_SIGNATURE) and len(data) > 2_500_000


# -- balance -----------------------------------------------------------------------------------


async def test_balance_follows_the_account(provider, emulator):
    assert await provider.balance() == 1000
    await provider.submit(image(resolution="2K"))
    assert await provider.balance() == 976


# -- errors ------------------------------------------------------------------------------------

ERROR_TABLE = [
    (400, "invalid_request", BadRequest),
    (401, "invalid_api_key", AuthError),
    (402, "insufficient_credits", OutOfProviderCredits),
    (403, "ip_not_allowed", AuthError),
    (404, "model_not_found", BadRequest),
    (404, "task_not_found", NotFound),
    (429, "rate_limit_exceeded", RateLimited),
    (429, "spend_limit_exceeded", OutOfProviderCredits),
    (500, "internal_error", UpstreamError),
    (503, "upstream_error", UpstreamError),
]


@pytest.mark.parametrize(("status", "code", "expected"), ERROR_TABLE)
@pytest.mark.parametrize("endpoint", ["submit", "status", "balance"])
async def test_every_documented_error_maps_to_its_class(
    provider, emulator, endpoint, status, code, expected
):
    emulator.fail_next_request = (status, code)
    calls = {
        "submit": lambda: provider.submit(image()),
        "status": lambda: provider.status("any", image()),
        "balance": provider.balance,
    }
    with pytest.raises(ProviderError) as caught:
        await calls[endpoint]()
    assert type(caught.value) is expected
    assert (caught.value.status, caught.value.code) == (status, code)
    assert emulator.tasks == {}


async def test_spend_limit_is_not_worth_waiting_for(provider, emulator):
    emulator.fail_next_request = (429, "spend_limit_exceeded")
    with pytest.raises(OutOfProviderCredits) as caught:
        await provider.submit(image())
    assert not caught.value.retryable


async def test_wrong_or_malformed_key_is_an_auth_error(emulator):
    for key in ("sk-wrong-key", "not-an-sk-key"):
        adapter = AIVideoAPIProvider(ProviderConfig(api_key=key, base_url=emulator.base_url))
        try:
            with pytest.raises(AuthError) as caught:
                await adapter.submit(image())
        finally:
            await adapter.aclose()
        assert key not in str(caught.value)
    assert emulator.tasks == {}


async def test_too_few_credits_creates_nothing(provider, emulator):
    emulator.credits = 20
    with pytest.raises(OutOfProviderCredits):
        await provider.submit(image(resolution="2K"))
    assert emulator.tasks == {} and emulator.credits == 20
    await provider.submit(image(resolution="1K"))  # 16 still fits
    assert emulator.credits == 4


async def test_rate_limit_gives_retry_after_and_lifts(provider, emulator):
    emulator.rate_limit_per_minute = 2
    await provider.balance()
    emulator.clock.advance(20)
    await provider.balance()
    with pytest.raises(RateLimited) as caught:
        await provider.balance()
    assert caught.value.retry_after == 40
    emulator.clock.advance(41)
    assert await provider.balance() == 1000


# -- callbacks ---------------------------------------------------------------------------------


class Receiver:
    """A tiny callback endpoint on 127.0.0.1, as the bot would run one."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.arrived = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.json())
        self.arrived.set()
        return web.json_response({"ok": True})

    async def __aenter__(self) -> str:
        app = web.Application()
        app.add_routes([web.post("/callback", self.handle)])
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/callback"

    async def __aexit__(self, *exc) -> None:
        await self.runner.cleanup()


@pytest.mark.parametrize("fail", [False, True])
async def test_callback_arrives_without_polling(provider, emulator, fail):
    """The callback only prompts the engine to read the task (its body is not signed)."""
    emulator.filter_next_task = fail
    receiver = Receiver()
    async with receiver as url:
        task_id = (await provider.submit(image(), callback_url=url)).task_id
        await asyncio.wait_for(receiver.arrived.wait(), timeout=5)
    assert not any(path.startswith("/v1/tasks") for _, path, _ in emulator.requests)
    (body,) = receiver.bodies
    assert task_id in str(body)  # the callback names the task the engine then reads
    assert emulator.callbacks_sent[0]["status"] == 200
    status = await provider.status(task_id, image())
    if fail:
        assert status.state is TaskState.FAILED and status.error_type is ContentFiltered
    else:
        assert status.state is TaskState.SUCCEEDED
        assert (await read_all(provider, status.media[0].url)).startswith(PNG_SIGNATURE)


# -- tolerant reading, and the key never leaking ------------------------------------------------

KEY = "sk-secret-0123456789"


class Canned(EmulatorBase):
    """Answers every path with a fixed (status, body); bodies that are str go out as text."""

    def __init__(self, answers: dict[str, tuple[int, Any]]) -> None:
        super().__init__()
        self.answers = answers

    def build_app(self) -> web.Application:
        app = web.Application()
        app.add_routes([web.route("*", "/{tail:.*}", self.answer)])
        return app

    async def answer(self, request: web.Request) -> web.Response:
        status, body = self.answers[request.path]
        if isinstance(body, str):
            return web.Response(status=status, text=body, headers={"Retry-After": "7"})
        return web.json_response(body, status=status, headers={"Retry-After": "7"})


async def answered(answers: dict[str, tuple[int, Any]], call):
    async with serve(Canned(answers)) as canned:
        adapter = AIVideoAPIProvider(ProviderConfig(api_key=KEY, base_url=canned.base_url))
        try:
            return await call(adapter)
        finally:
            await adapter.aclose()


CREATE = "/v1/images/generations"


@pytest.mark.parametrize(
    "body",
    [
        {"code": 200, "msg": "success", "data": {"taskId": "abc"}},
        {"code": 200, "data": {"task_id": "abc"}},
        {"data": {"id": "abc"}},
    ],
)
async def test_task_id_is_read_tolerantly(body):
    submission = await answered({CREATE: (200, body)}, lambda p: p.submit(image()))
    assert submission.task_id == "abc"


async def test_success_without_task_id_is_outcome_unknown():
    with pytest.raises(OutcomeUnknown):
        await answered({CREATE: (200, {"code": 200, "data": {}})}, lambda p: p.submit(image()))


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, {"code": 402, "msg": "Insufficient credits"}, OutOfProviderCredits),
        (200, {"code": 500, "msg": "busy"}, UpstreamError),
        (502, "<html>Bad Gateway</html>", UpstreamError),
        (401, {"error": f"Invalid key {KEY}"}, AuthError),
        (429, {"error": {"message": f"slow down, {KEY}"}}, RateLimited),
        (400, {"error": {"code": "invalid_request", "message": f"bad key {KEY[:-2]}"}}, BadRequest),
        (
            503,
            {"error": {"code": "upstream_error", "message": "Sensitive content"}},
            ContentFiltered,
        ),
        (403, {"message": f"Forbidden for {KEY}"}, AuthError),
    ],
)
async def test_error_variants_map_and_never_carry_the_key(status, body, expected):
    with pytest.raises(ProviderError) as caught:
        await answered({CREATE: (status, body)}, lambda p: p.submit(image()))
    assert type(caught.value) is expected
    for text in (str(caught.value), repr(caught.value), caught.value.message):
        assert "sk-secret" not in text
    if expected is RateLimited:
        assert caught.value.retry_after == 7


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"code": 200, "data": {"credits": 12}}, 12),
        ({"credits": "5"}, 5),
        ({"balance": 7.5}, 7.5),
        ({"code": 200, "data": {"balance": 3}}, 3),
        ({"code": 200, "data": {}}, None),
    ],
)
async def test_balance_is_read_tolerantly(body, expected):
    assert await answered({"/v1/credits": (200, body)}, lambda p: p.balance()) == expected


async def test_wrapped_task_body_is_read():
    task = {"id": "t1", "status": "completed", "output": {"urls": ["https://f.example/a.jpg"]}}
    answers = {"/v1/tasks/t1": (200, {"code": 200, "msg": "success", "data": task})}
    status = await answered(answers, lambda p: p.status("t1", image()))
    assert status.state is TaskState.SUCCEEDED
    assert status.media[0].content_type == "image/jpeg"


async def test_failed_task_message_never_carries_the_key():
    task = {"id": "t1", "status": "failed", "error": {"code": "internal_error", "message": KEY}}
    status = await answered({"/v1/tasks/t1": (200, task)}, lambda p: p.status("t1", image()))
    assert status.state is TaskState.FAILED and status.error_type is UpstreamError
    assert KEY not in status.error
