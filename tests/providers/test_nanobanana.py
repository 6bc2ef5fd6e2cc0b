"""Nano Banana adapter against its emulator (document 001), over real HTTP on loopback."""

from __future__ import annotations

import httpx
import pytest

from providers.base import GenerationRequest, Kind, ProviderConfig, TaskState
from providers.errors import (
    AuthError,
    BadRequest,
    ContentFiltered,
    NotFound,
    OutOfProviderCredits,
    RateLimited,
    UpstreamError,
)
from providers.nanobanana import (
    MAX_PROMPT_CHARS,
    NanoBananaProvider,
    _failure,
    _media_urls,
    _progress,
)
from tests.emulators.base import fetch_file, serve
from tests.emulators.nanobanana import NanoBananaEmulator

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
REFERENCE = "https://cdn.example.com/cat.png"


@pytest.fixture
async def emulator():
    emu = NanoBananaEmulator()
    async with serve(emu):
        yield emu


def make_provider(emulator: NanoBananaEmulator, key: str | None = None) -> NanoBananaProvider:
    config = ProviderConfig(api_key=key or emulator.api_key, base_url=emulator.base_url)
    return NanoBananaProvider(config)


@pytest.fixture
async def provider(emulator):
    adapter = make_provider(emulator)
    yield adapter
    await adapter.aclose()


def image(model: str = "nano-banana", prompt: str = "a cat on a windowsill", **options):
    return GenerationRequest(kind=Kind.IMAGE, model=model, prompt=prompt, **options)


def video(model: str = "veo-3.1-fast", prompt: str = "a cat walking in a garden", **options):
    return GenerationRequest(kind=Kind.VIDEO, model=model, prompt=prompt, **options)


def bodies(emulator: NanoBananaEmulator, path: str) -> list[dict]:
    return [body for method, p, body in emulator.requests if p == path and method == "POST"]


async def finish(provider, emulator, task_id, request):
    emulator.clock.advance(emulator.task_seconds + 0.01)
    return await provider.status(task_id, request)


# -- models --------------------------------------------------------------------------------


def test_model_table_follows_the_document(provider):
    ids = [m.id for m in provider.models()]
    assert ids[:4] == ["nano-banana", "nano-banana-pro", "nano-banana-2", "seedream4"]
    assert len(ids) == 15 and "grok-video" in ids and "sora-2-pro" in ids
    banana, pro, seedream = (
        provider.model(i) for i in ("nano-banana", "nano-banana-pro", "seedream4")
    )
    assert banana.resolutions == () and seedream.resolutions == ()
    assert pro.resolutions == ("1K", "2K", "4K") and "21:9" in pro.aspect_ratios
    assert "21:9" not in banana.aspect_ratios and banana.max_count == 4
    assert banana.max_references == 1 and banana.formats == ("png", "jpeg")
    assert provider.model("nano-banana-2").note == "subscription required"
    assert seedream.note == "subscription required" and pro.note == ""
    seedance2, wan, sora = (provider.model(i) for i in ("seedance-2.0", "wan-2.5", "sora-2"))
    assert seedance2.durations == (5, 10, 15) and seedance2.resolutions == ("480p", "720p")
    assert seedance2.aspect_ratios == ("16:9", "9:16", "1:1", "4:3")
    assert (provider.model("veo-3.1").audio, wan.audio, sora.audio) == ("optional", "no", "always")
    assert sora.resolutions == ("720p",) and wan.resolutions == ("480p", "720p", "1080p")
    for spec in provider.models():
        assert spec.max_references == 1 and spec.max_prompt_chars == MAX_PROMPT_CHARS
        if spec.kind is Kind.VIDEO:
            assert spec.negative_prompt and spec.default_duration in spec.durations
            assert 60 <= spec.typical_seconds <= 180
        else:
            assert 15 <= spec.typical_seconds <= 30


async def test_refresh_keeps_only_models_the_account_lists(emulator, provider):
    emulator.subscribed = False
    await provider.refresh_models()
    ids = {m.id for m in provider.models()}
    assert "nano-banana-2" not in ids and "seedream4" not in ids
    assert {"nano-banana", "nano-banana-pro", "veo-3.1-fast", "grok-video"} <= ids
    assert ("GET", "/api/v1/models", None) in emulator.requests


async def test_refresh_failure_raises_and_keeps_the_table(emulator, provider):
    emulator.fail_next_request = (500, "INTERNAL_ERROR")
    with pytest.raises(UpstreamError):
        await provider.refresh_models()
    assert len(provider.models()) == 15


def test_base_url_is_required():
    with pytest.raises(ValueError, match="NANOBANANA_BASE_URL"):
        NanoBananaProvider(ProviderConfig(api_key="k", base_url=""))


# -- prices --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "options", "expected"),
    [
        ("nano-banana", {}, 1),
        ("nano-banana", {"reference_urls": (REFERENCE,)}, 2),
        ("nano-banana", {"quality": "hd", "count": 3}, 9),  # (1 + 2) x 3
        ("nano-banana-pro", {"resolution": "1K"}, 6),
        ("nano-banana-pro", {"resolution": "2K", "count": 2}, 12),  # table: no 2K extra
        ("nano-banana-pro", {"resolution": "4K"}, 20),
        ("nano-banana-pro", {"resolution": "4K", "quality": "hd", "count": 4}, 88),
        ("nano-banana-2", {"resolution": "2K"}, 8),
        ("nano-banana-2", {"resolution": "4K", "reference_urls": (REFERENCE,)}, 22),
        ("nano-banana-2", {"resolution": "2K", "quality": "hd", "count": 2,
                           "reference_urls": (REFERENCE,)}, 28),  # (8 + 4 + 2) x 2
        ("seedream4", {"count": 4}, 16),
    ],
)  # fmt: skip
async def test_image_price_matches_table_and_what_the_api_charges(
    emulator, provider, model, options, expected
):
    request = image(model, **options)
    assert await provider.estimate_cost(request) == expected
    assert bodies(emulator, "/api/v1/account/calculate-cost") == []  # priced locally
    submission = await provider.submit(request)
    assert submission.cost == expected
    assert emulator.credits == 500 - expected


async def test_video_price_comes_from_calculate_cost(emulator, provider):
    request = video("veo-3.1-fast", duration=8, resolution="720p", audio=True)
    assert await provider.estimate_cost(request) == 30
    [body] = bodies(emulator, "/api/v1/account/calculate-cost")
    assert body["type"] == "video" and body["model_id"] == body["model"] == "veo-3.1-fast"
    assert (body["duration"], body["resolution"], body["generate_audio"]) == (8, "720p", True)
    wan = video("wan-2.5", duration=10, resolution="1080p")
    estimate = await provider.estimate_cost(wan)
    assert estimate == 30  # the emulator's own rate: 2 x 10 s x 1.5
    assert (await provider.submit(wan)).cost == estimate


async def test_video_defaults_are_sent_so_estimate_and_charge_agree(emulator, provider):
    request = video("seedance-2.0")
    estimate = await provider.estimate_cost(request)
    submission = await provider.submit(request)
    assert submission.cost == estimate
    [body] = bodies(emulator, "/api/v1/videos/generate")
    assert (body["duration"], body["resolution"], body["aspect_ratio"]) == (5, "720p", "16:9")
    assert body["generate_audio"] is False


async def test_veo_fast_falls_back_to_the_printed_table(emulator, provider):
    emulator.fail_next_request = (500, "INTERNAL_ERROR")
    request = video("veo-3.1-fast", duration=6, resolution="1080p", audio=True)
    assert await provider.estimate_cost(request) == 25


async def test_table_cost_covers_images_and_the_printed_video_table_only(emulator, provider):
    assert provider.table_cost(image("nano-banana-2", resolution="2K")) == 8
    assert provider.table_cost(video("veo-3.1-fast", duration=6, resolution="1080p")) == 20
    assert provider.table_cost(video("wan-2.5", duration=10)) is None
    assert provider.table_cost(image("veo-3.1-fast")) is None
    assert emulator.requests == []  # never a request


async def test_other_video_models_raise_when_calculate_cost_fails(emulator, provider):
    emulator.fail_next_request = (503, "INTERNAL_ERROR")
    with pytest.raises(UpstreamError):
        await provider.estimate_cost(video("kling-o3-pro", duration=5))


async def test_unknown_model_is_rejected_before_any_request(emulator, provider):
    with pytest.raises(BadRequest):
        await provider.estimate_cost(image("veo-3.1-fast"))
    with pytest.raises(BadRequest):
        await provider.submit(video("nano-banana-9"))
    assert emulator.requests == []


# -- images and videos end to end ----------------------------------------------------------


async def test_image_lifecycle_pending_processing_completed(emulator, provider):
    emulator.task_seconds = 10.0
    request = image("nano-banana-pro", aspect_ratio="21:9", resolution="2K", count=2)
    submission = await provider.submit(request)
    assert submission.task_id.startswith("clx") and submission.cost == 12

    queued = await provider.status(submission.task_id, request)
    assert queued.state is TaskState.QUEUED and queued.progress == 0
    emulator.clock.advance(5.0)
    running = await provider.status(submission.task_id, request)
    assert running.state is TaskState.RUNNING and 40 <= running.progress <= 60
    done = await finish(provider, emulator, submission.task_id, request)
    assert done.state is TaskState.SUCCEEDED and done.progress == 100
    assert len(done.media) == 2 and done.media[0].content_type == "image/png"
    data = await fetch_file(done.media[1].url)
    assert data.startswith(PNG_SIGNATURE)


async def test_image_body_maps_every_option(emulator, provider):
    request = image(
        "nano-banana-2", aspect_ratio="4:5", resolution="4K", count=3, quality="hd",
        output_format="jpeg", reference_urls=(REFERENCE, "https://cdn.example.com/b.png"),
    )  # fmt: skip
    await provider.submit(request)
    [body] = bodies(emulator, "/api/v1/images/generate")
    assert body == {
        "prompt": "a cat on a windowsill", "mode": "image", "model": "nano-banana-2",
        "image_url": REFERENCE, "aspect_ratio": "4:5", "resolution": "4K", "num_images": 3,
        "quality": "hd", "output_format": "jpeg",
    }  # fmt: skip


async def test_text_mode_sends_no_image_url_and_no_resolution_where_none_exists(emulator, provider):
    await provider.submit(image("seedream4"))
    [body] = bodies(emulator, "/api/v1/images/generate")
    assert body["mode"] == "text" and "image_url" not in body and "resolution" not in body


async def test_video_lifecycle_succeeded_with_mp4(emulator, provider):
    request = video(
        "veo-3.1", duration=6, resolution="1080p", aspect_ratio="9:16", audio=True,
        negative_prompt="blurry", reference_urls=(REFERENCE,),
    )  # fmt: skip
    submission = await provider.submit(request)
    [body] = bodies(emulator, "/api/v1/videos/generate")
    assert body == {
        "prompt": "a cat walking in a garden", "model_id": "veo-3.1", "aspect_ratio": "9:16",
        "duration": 6, "resolution": "1080p", "image_url": REFERENCE, "generate_audio": True,
        "negative_prompt": "blurry",
    }  # fmt: skip
    emulator.clock.advance(emulator.task_seconds * 0.5)
    assert (await provider.status(submission.task_id, request)).state is TaskState.RUNNING
    done = await finish(provider, emulator, submission.task_id, request)
    assert done.state is TaskState.SUCCEEDED and done.media[0].content_type == "video/mp4"
    data = await fetch_file(done.media[0].url)
    assert data[4:8] == b"ftyp" and len(data) > 4000
    assert ("GET", "/api/v1/videos/status", None) in emulator.requests


async def test_audio_flags_follow_the_model(emulator, provider):
    await provider.submit(video("sora-2", duration=4))
    await provider.submit(video("grok-video", duration=6))
    sora, grok = bodies(emulator, "/api/v1/videos/generate")
    assert sora["generate_audio"] is True and "generate_audio" not in grok


async def test_failed_task_reports_the_providers_reason(emulator, provider):
    emulator.fail_next_task = "upstream model crashed"
    request = image()
    submission = await provider.submit(request)
    failed = await finish(provider, emulator, submission.task_id, request)
    assert failed.state is TaskState.FAILED and failed.error == "upstream model crashed"
    assert failed.error_type is None
    again = await provider.submit(request)  # the knob is used up
    assert (await finish(provider, emulator, again.task_id, request)).state is TaskState.SUCCEEDED


async def test_failed_task_that_reads_like_a_safety_refusal_is_content_filtered(emulator, provider):
    emulator.fail_next_task = "Output blocked by safety system"
    request = video()
    submission = await provider.submit(request)
    failed = await finish(provider, emulator, submission.task_id, request)
    assert failed.state is TaskState.FAILED and failed.error_type is ContentFiltered


@pytest.mark.parametrize("style", ["lists", "objects"])
async def test_result_urls_are_read_from_variant_fields(emulator, provider, style):
    emulator.result_fields = style
    for request in (image(count=3), video()):
        submission = await provider.submit(request)
        done = await finish(provider, emulator, submission.task_id, request)
        assert len(done.media) == (3 if request.kind is Kind.IMAGE else 1)
        assert all(m.url.startswith(emulator.base_url + "/files/") for m in done.media)


def test_status_fields_the_document_does_not_show_are_still_read():
    nested = {"result": {"videos": [{"url": "https://cdn/a.mp4"}, "https://cdn/b.mp4"]}}
    assert _media_urls(nested, Kind.VIDEO) == ["https://cdn/a.mp4", "https://cdn/b.mp4"]
    assert _media_urls({"output": "https://cdn/x.png"}, Kind.IMAGE) == ["https://cdn/x.png"]
    assert _media_urls({"video_url": "https://cdn/v.mp4"}, Kind.IMAGE) == []
    assert [_progress(v) for v in ("45%", 62.6, None, 140)] == [45, 63, None, 100]
    reason = {"error": {"code": "CONTENT_FILTERED", "message": "rejected"}}
    assert _failure(reason) == ("rejected", ContentFiltered)
    assert _failure({"fail_reason": "GPU out of memory"}) == ("GPU out of memory", None)


async def test_documented_single_url_and_list_are_not_doubled(emulator, provider):
    request = image(count=2)  # documented style: image_url plus image_urls
    submission = await provider.submit(request)
    done = await finish(provider, emulator, submission.task_id, request)
    assert len({m.url for m in done.media}) == len(done.media) == 2


async def test_large_results_are_real_multi_megabyte_pngs(emulator, provider):
    emulator.large_results = True
    request = image()
    submission = await provider.submit(request)
    done = await finish(provider, emulator, submission.task_id, request)
    data = await fetch_file(done.media[0].url)
    assert data.startswith(PNG_SIGNATURE) and len(data) > 2_500_000


async def test_balance_reads_account_credits(emulator, provider):
    emulator.credits = 148
    assert await provider.balance() == 148.0
    await provider.submit(image())
    assert await provider.balance() == 147.0


# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "error_class"),
    [
        (400, "INVALID_PROMPT", BadRequest),
        (400, "INVALID_MODEL", BadRequest),
        (401, "UNAUTHORIZED", AuthError),
        (402, "INSUFFICIENT_CREDITS", OutOfProviderCredits),
        (403, "FORBIDDEN", AuthError),
        (404, "TASK_NOT_FOUND", NotFound),
        (429, "RATE_LIMIT_EXCEEDED", RateLimited),
        (451, "CONTENT_FILTERED", ContentFiltered),
        (500, "INTERNAL_ERROR", UpstreamError),
        (200, "CONTENT_FILTERED", ContentFiltered),  # success: false in a 200 is an error too
        (200, "INTERNAL_ERROR", UpstreamError),
    ],
)
async def test_error_table_maps_to_the_hierarchy(emulator, provider, status, code, error_class):
    emulator.fail_next_request = (status, code)
    with pytest.raises(error_class) as caught:
        await provider.submit(image())
    assert (caught.value.status, caught.value.code) == (status, code)
    assert caught.value.provider == "nanobanana"
    assert emulator.tasks == {}


async def test_real_validation_errors_from_the_api(emulator, provider):
    with pytest.raises(BadRequest) as caught:
        await provider.submit(image(prompt="   "))
    assert caught.value.code == "INVALID_PROMPT"
    with pytest.raises(BadRequest) as caught:  # a ratio nano-banana does not offer
        await provider.submit(image(aspect_ratio="21:9"))
    assert caught.value.status == 400
    with pytest.raises(NotFound):
        await provider.status("clx-missing", image())
    emulator.subscribed = False
    with pytest.raises(AuthError) as caught:
        await provider.submit(image("nano-banana-2"))
    assert caught.value.code == "FORBIDDEN"


async def test_insufficient_credits_creates_no_task(emulator, provider):
    emulator.credits = 5
    with pytest.raises(OutOfProviderCredits):
        await provider.submit(image("nano-banana-pro"))
    assert emulator.tasks == {} and emulator.credits == 5


async def test_content_filter_on_submit(emulator, provider):
    emulator.filter_next_task = True
    with pytest.raises(ContentFiltered):
        await provider.submit(image())
    assert emulator.tasks == {}
    await provider.submit(image())
    assert len(emulator.tasks) == 1


async def test_rate_limit_returns_retry_after(emulator, provider):
    emulator.rate_limit_per_minute = 2
    await provider.balance()
    emulator.clock.advance(15)
    await provider.balance()
    with pytest.raises(RateLimited) as caught:
        await provider.balance()
    assert caught.value.code == "RATE_LIMIT_EXCEEDED"
    assert caught.value.retry_after == 45.0  # the first request leaves the window in 45 s
    assert caught.value.retryable


async def test_adapter_paces_itself_at_sixty_per_minute(provider):
    assert provider.limits.requests_per_minute == 60
    assert provider._http.pacer is not None and provider._http.pacer.limit == 60


async def test_bearer_key_is_sent_and_never_leaks_into_errors(emulator):
    secret = "nb_sk_live_do_not_print_me"
    wrong = make_provider(emulator, key=secret)
    try:
        with pytest.raises(AuthError) as caught:
            await wrong.balance()
    finally:
        await wrong.aclose()
    assert caught.value.status == 401 and caught.value.code == "UNAUTHORIZED"
    assert "redacted" in caught.value.message  # the emulator echoed the key; it was cut out
    for text in (str(caught.value), repr(caught.value), caught.value.message):
        assert secret not in text
    right = make_provider(emulator)
    try:
        assert await right.balance() == 500.0
    finally:
        await right.aclose()


async def test_emulator_rejects_a_request_without_bearer_auth(emulator):
    async with httpx.AsyncClient(base_url=emulator.base_url) as client:
        response = await client.get("/api/v1/account/credits")
        bad_model = await client.post(
            "/api/v1/images/generate",
            json={"prompt": "x", "model": "nope"},
            headers={"Authorization": f"Bearer {emulator.api_key}"},
        )
    assert response.status_code == 401
    assert response.json() == {
        "success": False,
        "error": {"code": "UNAUTHORIZED", "message": "Missing or invalid API key ''"},
    }
    assert bad_model.status_code == 400 and bad_model.json()["error"]["code"] == "INVALID_MODEL"


@pytest.mark.parametrize(
    ("status", "code", "error_class"),
    [
        (502, "BAD_GATEWAY", UpstreamError),
        (409, "CONFLICT", BadRequest),
        (200, None, UpstreamError),
    ],
)
async def test_codes_outside_the_table_fall_back_to_the_http_status(
    emulator, provider, status, code, error_class
):
    emulator.fail_next_request = (status, code)
    with pytest.raises(error_class) as caught:
        await provider.status("clx1", video())
    assert type(caught.value) is error_class and caught.value.status == status
