"""NanaNoBanana adapter against its emulator (document 004), over real HTTP on loopback."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from providers.base import GenerationRequest, Kind, ProviderConfig, TaskState
from providers.errors import (
    AuthError,
    BadRequest,
    ContentFiltered,
    NotFound,
    OutcomeUnknown,
    OutOfProviderCredits,
    RateLimited,
    UpstreamError,
)
from providers.nananobanana import NanaNoBananaProvider
from tests.emulators.base import fetch_file, serve
from tests.emulators.nananobanana import NanaNoBananaEmulator

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
async def emulator():
    emu = NanaNoBananaEmulator()
    async with serve(emu):
        yield emu


def make_provider(emulator: NanaNoBananaEmulator, key: str | None = None) -> NanaNoBananaProvider:
    config = ProviderConfig(api_key=key or emulator.api_key, base_url=emulator.base_url)
    return NanaNoBananaProvider(config)


@pytest.fixture
async def provider(emulator):
    adapter = make_provider(emulator)
    yield adapter
    await adapter.aclose()


def image(prompt: str = "a cat on a windowsill", **options) -> GenerationRequest:
    return GenerationRequest(kind=Kind.IMAGE, model="nano-banana", prompt=prompt, **options)


def generate_bodies(emulator: NanaNoBananaEmulator) -> list[dict]:
    return [
        body
        for method, path, body in emulator.requests
        if (method, path) == ("POST", "/api/v1/generate")
    ]


# -- models and prices ---------------------------------------------------------------------


def test_documented_model_is_offered_before_any_refresh():
    adapter = NanaNoBananaProvider(ProviderConfig(api_key="nb_x", base_url="http://127.0.0.1:9"))
    (spec,) = adapter.models()
    assert spec.qualified_id == "nananobanana:nano-banana"
    assert spec.kind is Kind.IMAGE
    assert spec.max_count == 4
    assert spec.image_input and spec.max_references == 4
    assert "default" in spec.aspect_ratios and "16:9" in spec.aspect_ratios
    assert spec.resolutions == spec.qualities == spec.formats == ()
    assert spec.media_ttl == timedelta(days=15)
    assert NanaNoBananaProvider.limits.max_concurrency == 1


async def test_refresh_models_reads_the_live_list_without_a_key(emulator):
    emulator.models.append(
        {
            "name": "nano-banana-pro",
            "displayName": "Nano Banana Pro",
            "creditsCost": 4,
            "supportsImageInput": False,
            "supportsAspectRatio": False,
            "requiresPro": True,
        }
    )
    adapter = make_provider(emulator, key="nb_wrong_key")  # /models needs no auth
    try:
        await adapter.refresh_models()
        pro = adapter.model("nano-banana-pro")
        assert [m.id for m in adapter.models()] == ["nano-banana", "nano-banana-pro"]
        assert pro.name == "Nano Banana Pro" and pro.note == "Pro required"
        assert pro.max_references == 0 and pro.aspect_ratios == ()
        pro_request = GenerationRequest(
            kind=Kind.IMAGE, model="nano-banana-pro", prompt="x", count=2
        )
        assert await adapter.estimate_cost(pro_request) == 8
    finally:
        await adapter.aclose()


@pytest.mark.parametrize("models", ["fail", "empty"])
async def test_refresh_failure_keeps_the_documented_model(emulator, provider, models):
    if models == "fail":
        emulator.fail_next_request = (500, "database down")
    else:
        emulator.models = [{"displayName": "no name, no price"}]
    with pytest.raises(UpstreamError):
        await provider.refresh_models()
    assert [m.id for m in provider.models()] == ["nano-banana"]
    assert await provider.estimate_cost(image()) == 1


@pytest.mark.parametrize(
    ("references", "count", "expected"),
    [
        (0, 1, 1),  # text-to-image: the model's creditsCost
        (0, 4, 4),  # credits scale with quantity
        (1, 1, 1),  # the first reference image is free: it is what makes it image-to-image
        (3, 1, 3),  # two additional references, one credit each
        (3, 2, 6),  # extra-image fees are part of the unit cost, so they scale too
        (0, 9, 4),  # quantity is clamped to 4, as the API does
    ],
)
async def test_estimate_matches_what_the_account_is_charged(
    emulator, provider, references, count, expected
):
    refs = tuple(f"https://example.com/ref{i}.png" for i in range(references))
    request = image(count=count, reference_urls=refs)
    assert await provider.estimate_cost(request) == expected

    before = await provider.balance()
    submission = await provider.submit(request)
    assert submission.cost == expected
    assert await provider.balance() == before - expected
    assert emulator.records[submission.task_id]["creditsUsed"] == expected


async def test_unknown_model_cannot_be_priced(provider):
    with pytest.raises(BadRequest):
        await provider.estimate_cost(GenerationRequest(kind=Kind.IMAGE, model="nope", prompt="x"))


# -- submit and follow ---------------------------------------------------------------------


async def test_submit_follow_and_download(emulator, provider):
    submission = await provider.submit(image(count=2))
    assert submission.task_id in emulator.records
    assert submission.status is None
    assert generate_bodies(emulator) == [
        {
            "prompt": "a cat on a windowsill",
            "selectedModel": "nano-banana",
            "quantity": 2,
            "mode": "async",
        }
    ]

    running = await provider.status(submission.task_id, image(count=2))
    assert running.state is TaskState.RUNNING and running.media == ()

    emulator.clock.advance(emulator.task_seconds)
    done = await provider.status(submission.task_id, image(count=2))
    assert done.state is TaskState.SUCCEEDED
    assert len(done.media) == 2
    assert done.cost == 2
    data = await fetch_file(done.media[0].url)
    assert data.startswith(PNG_SIGNATURE)


async def test_references_and_aspect_ratio_are_sent_only_when_given(emulator, provider):
    refs = ("https://example.com/a.png", "https://example.com/b.png")
    await provider.submit(image(aspect_ratio="16:9", reference_urls=refs))
    (body,) = generate_bodies(emulator)
    assert body["referenceImageUrls"] == list(refs)
    assert body["aspectRatio"] == "16:9"
    assert body["mode"] == "async"


@pytest.mark.parametrize("shape", ["data", "flat", "record_id"])
async def test_record_id_is_read_from_any_async_answer_shape(emulator, provider, shape):
    emulator.async_response = shape
    submission = await provider.submit(image())
    assert list(emulator.records) == [submission.task_id]
    emulator.clock.advance(1)
    assert (await provider.status(submission.task_id, image())).state is TaskState.SUCCEEDED


async def test_a_record_finished_at_once_comes_back_with_the_submission(emulator, provider):
    emulator.task_seconds = 0
    submission = await provider.submit(image())
    assert submission.status is not None
    assert submission.status.state is TaskState.SUCCEEDED
    assert len(submission.status.media) == 1


async def test_an_answer_without_a_record_id_is_an_unknown_outcome():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"success": True, "message": "queued"})

    config = ProviderConfig(api_key="nb_k", base_url="http://nananobanana.test")
    adapter = NanaNoBananaProvider(config, transport=httpx.MockTransport(handler))
    with pytest.raises(OutcomeUnknown) as caught:
        await adapter.submit(image())
    assert not caught.value.retryable  # a resubmit could pay for a second record
    await adapter.aclose()


@pytest.mark.parametrize(
    ("message", "error_type"),
    [("Upstream model timed out", None), ("Blocked by safety policy", ContentFiltered)],
)
async def test_failed_record(emulator, provider, message, error_type):
    emulator.fail_next_task = message
    submission = await provider.submit(image())
    emulator.clock.advance(1)
    status = await provider.status(submission.task_id, image())
    assert status.state is TaskState.FAILED
    assert status.error == message
    assert status.error_type is error_type
    assert status.cost == 0
    assert await provider.balance() == 1000  # the emulator refunds failed records


async def test_image_urls_alias_and_completed_without_images(emulator, provider):
    submission = await provider.submit(image())
    record = emulator.records[submission.task_id]
    record.update(processingStatus="completed", outputImageUrls=[], imageUrls=["https://cdn/x.png"])
    status = await provider.status(submission.task_id, image())
    assert status.state is TaskState.SUCCEEDED
    assert [m.url for m in status.media] == ["https://cdn/x.png"]

    record.pop("imageUrls")
    status = await provider.status(submission.task_id, image())
    assert status.state is TaskState.FAILED  # nothing to deliver, and nothing will come


async def test_unknown_record_is_not_found(provider):
    with pytest.raises(NotFound):
        await provider.status("cl_does_not_exist", image())


async def test_balance(provider):
    assert await provider.balance() == 1000


# -- limits and errors ---------------------------------------------------------------------


async def test_second_generation_while_one_runs_is_rate_limited(emulator, provider):
    emulator.retry_after_seconds = 2
    first = await provider.submit(image())
    with pytest.raises(RateLimited) as caught:
        await provider.submit(image())
    error = caught.value
    assert error.retry_after == 2.0
    assert error.status == 429 and error.code == "concurrency_limit"
    assert "limit 1, active 1" in str(error)
    assert list(emulator.records) == [first.task_id]  # nothing created, nothing charged
    assert await provider.balance() == 999

    emulator.clock.advance(emulator.task_seconds)
    second = await provider.submit(image())
    assert second.task_id != first.task_id


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, BadRequest),
        (401, AuthError),
        (402, OutOfProviderCredits),
        (403, AuthError),
        (404, NotFound),
        (500, UpstreamError),
        (503, UpstreamError),
    ],
)
async def test_error_table(emulator, provider, status, error_class):
    emulator.fail_next_request = (status, f"scripted {status}")
    with pytest.raises(error_class) as caught:
        await provider.balance()
    assert caught.value.status == status
    assert f"scripted {status}" in str(caught.value)


@pytest.mark.parametrize(("status", "error_class"), [(500, OutcomeUnknown), (503, UpstreamError)])
async def test_submit_5xx_says_whether_a_retry_could_pay_twice(
    emulator, provider, status, error_class
):
    emulator.fail_next_request = (status, "trouble")
    with pytest.raises(error_class) as caught:
        await provider.submit(image())
    assert type(caught.value) is error_class
    assert caught.value.retryable is (status == 503)


async def test_errors_the_emulator_raises_on_its_own(emulator, provider):
    emulator.api_enabled = False
    with pytest.raises(AuthError, match="not enabled"):
        await provider.submit(image())
    emulator.api_enabled = True

    emulator.credits = 0
    with pytest.raises(OutOfProviderCredits):
        await provider.submit(image())
    emulator.credits = 1000

    with pytest.raises(BadRequest, match="Unknown model"):
        await provider.submit(GenerationRequest(kind=Kind.IMAGE, model="nope", prompt="x"))
    assert emulator.records == {}

    wrong = make_provider(emulator, key="nb_not_this_one")
    with pytest.raises(AuthError) as caught:
        await wrong.balance()
    assert caught.value.status == 401
    await wrong.aclose()


async def test_the_key_never_appears_in_an_error(emulator, provider):
    emulator.fail_next_request = (401, f"Invalid API key {emulator.api_key}")
    with pytest.raises(AuthError) as caught:
        await provider.balance()
    assert emulator.api_key not in str(caught.value)
    assert emulator.api_key not in repr(caught.value)
    assert "[redacted]" in str(caught.value)


async def test_error_object_bodies_are_read_too():
    def handler(request: httpx.Request) -> httpx.Response:
        body = {"error": {"message": "prompt too long", "type": "invalid_request"}}
        return httpx.Response(400, json=body)

    config = ProviderConfig(api_key="nb_k", base_url="http://nananobanana.test")
    adapter = NanaNoBananaProvider(config, transport=httpx.MockTransport(handler))
    with pytest.raises(BadRequest) as caught:
        await adapter.submit(image())
    assert caught.value.message == "prompt too long"
    assert caught.value.code == "invalid_request"
    await adapter.aclose()


# -- the emulator itself (the job-engine tests lean on it) ---------------------------------


async def test_emulator_validates_and_clamps_as_documented(emulator):
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    async with httpx.AsyncClient(base_url=emulator.base_url, headers=headers) as client:
        for body in (
            {"selectedModel": "nano-banana"},
            {"prompt": "x", "mode": "batch"},
            {"prompt": "x", "selectedModel": "nope"},
        ):
            assert (await client.post("/api/v1/generate", json=body)).status_code == 400
        assert emulator.records == {}

        emulator.task_seconds = 0.05
        answer = await client.post(
            "/api/v1/generate", json={"prompt": "x", "quantity": 9}
        )  # sync by default
        record = answer.json()["data"]
        assert record["processingStatus"] == "completed"
        assert len(record["outputImageUrls"]) == 4
        assert emulator.credits == 996

        unauthenticated = await client.get(
            "/api/v1/credits", headers={"Authorization": "Bearer sk_other"}
        )
        assert unauthenticated.status_code == 401
        assert (
            await client.get("/api/v1/models", headers={"Authorization": ""})
        ).status_code == 200


async def test_emulator_concurrency_headers_and_large_results(emulator):
    emulator.large_results = True
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    async with httpx.AsyncClient(base_url=emulator.base_url, headers=headers) as client:
        assert (
            await client.post("/api/v1/generate", json={"prompt": "x", "mode": "async"})
        ).status_code == 200
        busy = await client.post("/api/v1/generate", json={"prompt": "y", "mode": "async"})
        assert busy.status_code == 429
        assert busy.json() == {
            "error": "Too many concurrent API requests for this account",
            "type": "concurrency_limit",
            "limit": 1,
            "active": 1,
        }
        assert busy.headers["Retry-After"] == "1"
        assert busy.headers["X-RateLimit-Limit"] == "1"
        assert busy.headers["X-RateLimit-Active"] == "1"

        emulator.clock.advance(1)
        (record_id,) = emulator.records
        record = (await client.get("/api/v1/generate", params={"id": record_id})).json()["data"]
        png = await client.get(record["outputImageUrls"][0])
        assert png.content.startswith(PNG_SIGNATURE)
        assert len(png.content) > 2_500_000
