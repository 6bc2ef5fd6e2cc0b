"""NanoBananaVideoProvider against its emulator over real HTTP on loopback.

The emulator's clock is advanced instead of sleeping, so task lifecycles are deterministic.
"""

from __future__ import annotations

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
from providers.nanobananavideo import NanoBananaVideoProvider
from tests.emulators.base import fetch_file, serve
from tests.emulators.nanobananavideo import IMAGE_PATH, STATUS_PATH, TEXT_PATH
from tests.emulators.nanobananavideo import NanoBananaVideoEmulator as Emulator

KEY = "nbv_test_key"
ALL_RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4", "21:9", "2:3")


@pytest.fixture
async def emulator():
    emu = Emulator()
    emu.task_seconds = 100.0
    async with serve(emu):
        emu.add_png("src.png", "source", (64, 64))
        yield emu


@pytest.fixture
async def provider(emulator):
    prov = NanoBananaVideoProvider(ProviderConfig(api_key=KEY, base_url=emulator.base_url))
    yield prov
    await prov.aclose()


def video(model: str = "nanobanana-video", prompt: str = "a banana surfing", **kw):
    return GenerationRequest(kind=Kind.VIDEO, model=model, prompt=prompt, **kw)


def animate(emulator, model: str, **kw):
    return video(model, reference_urls=(f"{emulator.base_url}/files/src.png",), **kw)


async def read_all(provider, url: str) -> bytes:
    return await fetch_file(url)


def mocked(response: httpx.Response) -> NanoBananaVideoProvider:
    """An adapter whose every request gets ``response``: for bodies the emulator never sends."""
    transport = httpx.MockTransport(lambda request: response)
    return NanoBananaVideoProvider(ProviderConfig(api_key=KEY, base_url=""), transport=transport)


# -- models and prices ----------------------------------------------------------------


def test_models_follow_the_documents():
    prov = NanoBananaVideoProvider(ProviderConfig(api_key=KEY, base_url=""))
    assert prov.base_url == "https://nanobananavideo.com"
    models = {m.id: m for m in prov.models()}
    # 002's image-to-video models first, its default (seedance2) leading: see MODELS
    assert list(models) == ["seedance2", "veo3", "sora2", "nanobanana-video"]
    assert all(m.kind is Kind.VIDEO and m.audio == "no" for m in models.values())
    assert all(m.resolutions == ("480p", "720p", "1080p") for m in models.values())
    assert all(m.max_prompt_chars == 500 and m.max_references == 1 for m in models.values())

    text = models["nanobanana-video"]
    assert not text.requires_image and text.text_input and text.motions == ()
    assert text.durations == tuple(range(3, 13)) and text.default_resolution == "720p"

    for model_id in ("seedance2", "veo3", "sora2"):
        spec = models[model_id]
        assert spec.requires_image and spec.text_input
        assert spec.motions == ("low", "medium", "high") and spec.default_resolution == "480p"
    assert models["seedance2"].durations == tuple(range(3, 13))
    assert models["seedance2"].aspect_ratios == ("16:9", "9:16", "1:1", "4:3", "3:4", "21:9")
    assert models["veo3"].durations == (8,) and models["veo3"].default_duration == 8
    assert models["sora2"].durations == (10, 15) and models["sora2"].default_duration == 10
    assert models["veo3"].aspect_ratios == models["sora2"].aspect_ratios == ("16:9",)
    assert prov.limits.window_generations == 10 and prov.limits.window_seconds == 1800


@pytest.mark.parametrize(
    ("model", "resolution", "duration", "expected"),
    [
        ("nanobanana-video", "720p", 5, 5),  # the document's three examples
        ("nanobanana-video", "1080p", 5, 7),
        ("nanobanana-video", "1080p", 10, 12),
        ("nanobanana-video", None, None, 5),  # defaults 720p / 5 s
        ("seedance2", "720p", 6, 6),  # 002's example response
        ("veo3", None, None, 8),  # 480p / fixed 8 s
        ("sora2", "1080p", 15, 17),
        ("seedance2", "480p", 3, 5),  # no discount below 5 s
    ],
)
async def test_estimate_cost_formula(model, resolution, duration, expected):
    prov = NanoBananaVideoProvider(ProviderConfig(api_key=KEY, base_url=""))
    cost = await prov.estimate_cost(video(model, resolution=resolution, duration=duration))
    assert cost == expected


@pytest.mark.parametrize(
    ("resolution", "duration", "expected"), [("720p", 5, 5), ("1080p", 5, 7), ("1080p", 10, 12)]
)
async def test_charged_credits_match_the_estimate(
    emulator, provider, resolution, duration, expected
):
    request = video(resolution=resolution, duration=duration)
    submission = await provider.submit(request)
    assert submission.cost == expected == await provider.estimate_cost(request)
    assert emulator.credits == 1000 - expected


# -- the endpoints ----------------------------------------------------------------------


async def test_text_to_video_lifecycle_and_download(emulator, provider):
    request = video(resolution="1080p", duration=6, aspect_ratio="9:16")
    submission = await provider.submit(request)

    assert emulator.requests[-1] == (
        "POST",
        TEXT_PATH,
        {
            "prompt": "a banana surfing",
            "resolution": "1080p",
            "duration": 6,
            "aspect_ratio": "9:16",
        },
    )
    assert submission.task_id == "101" and submission.cost == 8 and submission.status is None
    assert provider.window == {"count": 1, "limit": 10, "remaining": 9}

    queued = await provider.status(submission.task_id, request)
    assert queued.state is TaskState.QUEUED and queued.progress == 0 and not queued.media
    assert emulator.requests[-1] == ("GET", STATUS_PATH, None)
    assert emulator.urls[-1] == f"{STATUS_PATH}?video_id=101"

    emulator.clock.advance(40)
    running = await provider.status(submission.task_id, request)
    assert running.state is TaskState.RUNNING and running.progress == 40

    emulator.clock.advance(60)
    done = await provider.status(submission.task_id, request)
    assert done.state is TaskState.SUCCEEDED and done.progress == 100 and done.cost == 8
    (media,) = done.media
    assert media.url == f"{emulator.base_url}/files/101.mp4"
    assert media.thumbnail_url == f"{emulator.base_url}/files/101.png"
    data = await read_all(provider, media.url)
    assert data[4:8] == b"ftyp" and len(data) == 4096 + 32
    assert (await read_all(provider, media.thumbnail_url)).startswith(b"\x89PNG")


@pytest.mark.parametrize(("model", "duration"), [("seedance2", 6), ("veo3", 8), ("sora2", 15)])
async def test_image_to_video_002_shape(emulator, provider, model, duration):
    request = animate(emulator, model, duration=duration, resolution="720p", motion="low")
    submission = await provider.submit(request)

    method, path, body = emulator.requests[-1]
    assert (method, path) == ("POST", IMAGE_PATH)
    assert body == {
        "image_url": f"{emulator.base_url}/files/src.png",
        "video_model": model,
        "prompt": "a banana surfing",
        "resolution": "720p",
        "duration": duration,
        "aspect_ratio": "16:9",
        "motion_intensity": "low",
    }
    assert submission.task_id.startswith("vid_") and submission.cost == 5 + (duration - 5)
    emulator.clock.advance(100)
    done = await provider.status(submission.task_id, request)
    assert done.state is TaskState.SUCCEEDED
    assert done.media[0].url.endswith(f"/files/{submission.task_id}.mp4")


async def test_002_defaults_and_empty_prompt(emulator, provider):
    await provider.submit(animate(emulator, "sora2", prompt=""))
    body = emulator.requests[-1][2]
    assert "prompt" not in body  # the server's own creative direction applies
    assert body["resolution"] == "480p" and body["duration"] == 10
    assert body["motion_intensity"] == "medium"
    video_id = next(iter(emulator.videos))
    assert emulator.videos[video_id]["params"]["prompt"] == "Generate a video from this image"


async def test_text_model_with_an_image_uses_000_image_urls(emulator, provider):
    request = animate(emulator, "nanobanana-video", duration=5, resolution="1080p")
    submission = await provider.submit(request)
    method, path, body = emulator.requests[-1]
    assert (method, path) == ("POST", IMAGE_PATH)
    assert body["image_urls"] == [f"{emulator.base_url}/files/src.png"]
    assert "image_url" not in body and "video_model" not in body
    assert submission.task_id == "101" and submission.cost == 7


async def test_002_model_without_an_image_is_refused_before_sending(emulator, provider):
    with pytest.raises(BadRequest, match="needs a source image"):
        await provider.submit(video("veo3"))
    with pytest.raises(BadRequest, match="unknown model"):
        await provider.submit(video("veo4"))
    assert emulator.requests == []


# -- option rules: models() and the emulator agree ------------------------------------


async def test_every_model_option_in_models_is_exactly_what_the_api_accepts(emulator, provider):
    emulator.window_limit = 10_000
    emulator.credits = 10**6
    for spec in provider.models():
        for duration in range(1, 17):
            request = animate(emulator, spec.id, duration=duration)
            if duration in spec.durations:
                await provider.submit(request)
            else:
                with pytest.raises(BadRequest, match="duration"):
                    await provider.submit(request)
        fitting = spec.default_duration
        for ratio in ALL_RATIOS:
            request = animate(emulator, spec.id, duration=fitting, aspect_ratio=ratio)
            if ratio in spec.aspect_ratios:
                await provider.submit(request)
            else:
                with pytest.raises(BadRequest, match="aspect_ratio"):
                    await provider.submit(request)
        with pytest.raises(BadRequest, match="resolution"):
            await provider.submit(animate(emulator, spec.id, duration=fitting, resolution="4k"))
    with pytest.raises(BadRequest, match="motion_intensity"):
        await provider.submit(animate(emulator, "seedance2", motion="wild"))


async def test_text_prompt_limit_is_500(emulator, provider):
    await provider.submit(video(prompt="x" * 500))
    with pytest.raises(BadRequest, match="500 characters"):
        await provider.submit(video(prompt="x" * 501))
    assert len(emulator.videos) == 1


async def test_image_links_must_be_https_except_loopback_in_tests(emulator, provider):
    emulator.files["note.txt"] = (b"not an image", "text/plain")
    base = emulator.base_url
    bad = [
        "http://example.com/cat.png",  # plain http off loopback
        f"{base}/files/missing.png",  # not downloadable
        f"{base}/files/note.txt",  # not an image
    ]
    for url in bad:
        with pytest.raises(BadRequest):
            await provider.submit(video("seedance2", reference_urls=(url,)))
    await provider.submit(video("seedance2", reference_urls=("https://example.com/cat.png",)))
    emulator.allow_http_images = False
    with pytest.raises(BadRequest, match="HTTPS"):
        await provider.submit(animate(emulator, "seedance2"))
    assert len(emulator.videos) == 1


# -- limits and credits -----------------------------------------------------------------


async def test_window_limit_429_and_live_numbers(emulator, provider):
    emulator.window_limit = 3
    for count in (1, 2, 3):
        await provider.submit(video())
        assert provider.window == {"count": count, "limit": 3, "remaining": 3 - count}
    with pytest.raises(RateLimited) as caught:
        await provider.submit(video())
    # The emulator says 1800 s; the shared transport caps any Retry-After at 15 minutes.
    assert caught.value.retry_after == 900 and caught.value.status == 429
    assert provider.window == {"count": 3, "limit": 3, "remaining": 0}
    assert len(emulator.videos) == 3

    emulator.clock.advance(1800)
    await provider.submit(video())
    assert provider.window == {"count": 1, "limit": 3, "remaining": 2}
    assert len(emulator.videos) == 4


async def test_429_without_retry_after_leaves_it_unknown(emulator, provider):
    emulator.fail_next_request = (429, "Too many requests")
    with pytest.raises(RateLimited) as caught:
        await provider.submit(video())
    assert caught.value.retry_after is None and caught.value.retryable


async def test_out_of_provider_credits(emulator, provider):
    emulator.credits = 6
    with pytest.raises(OutOfProviderCredits, match="Insufficient credits"):
        await provider.submit(video(resolution="1080p"))
    assert emulator.credits == 6 and emulator.videos == {}


# -- errors and auth ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "message", "error"),
    [
        (400, "Invalid parameters", BadRequest),
        (401, "Unauthorized", AuthError),
        (402, "Insufficient credits", OutOfProviderCredits),
        (403, "API access disabled", AuthError),
        (404, "Not found", NotFound),
        (500, "Internal error", UpstreamError),
        (503, "Maintenance", UpstreamError),
        (200, "Something odd", BadRequest),
        (200, "Prompt violates our content policy", ContentFiltered),
        (400, "NSFW content detected", ContentFiltered),
    ],
)
async def test_error_envelope_mapping(emulator, provider, status, message, error):
    emulator.fail_next_request = (status, message)
    with pytest.raises(error) as caught:
        await provider.submit(video())
    assert type(caught.value) is error
    assert caught.value.message == message and caught.value.status == status
    assert emulator.videos == {}


async def test_status_of_unknown_video_is_not_found(provider):
    with pytest.raises(NotFound, match="Video not found"):
        await provider.status("999", video())


async def test_only_the_header_carries_the_key(emulator, provider):
    request = video()
    submission = await provider.submit(request)
    await provider.status(submission.task_id, request)
    await provider.submit(animate(emulator, "seedance2"))
    assert emulator.auth_methods == ["header"] * 3
    assert all(KEY not in url and "api_key" not in url for url in emulator.urls)


async def test_wrong_key_is_an_auth_error_that_never_shows_the_key(emulator):
    secret = "nbv_live_SECRET_123"
    async with httpx.AsyncClient() as client:  # the emulator does echo a wrong key ...
        raw = await client.post(
            emulator.base_url + TEXT_PATH, json={}, headers={"X-API-Key": secret}
        )
    assert raw.status_code == 401 and secret in raw.text
    prov = NanoBananaVideoProvider(ProviderConfig(api_key=secret, base_url=emulator.base_url))
    try:
        with pytest.raises(AuthError) as caught:  # ... and the adapter scrubs it
            await prov.submit(video())
    finally:
        await prov.aclose()
    assert secret not in str(caught.value) and secret not in repr(caught.value.args)
    assert "Invalid API key" in caught.value.message


async def test_emulator_accepts_all_three_documented_auth_ways(emulator):
    body = {"prompt": "hello"}
    url = emulator.base_url + TEXT_PATH
    async with httpx.AsyncClient() as client:
        for kw in (
            {"headers": {"X-API-Key": KEY}},
            {"headers": {"Authorization": f"Bearer {KEY}"}},
            {"params": {"api_key": KEY}},
        ):
            response = await client.post(url, json=body, **kw)
            assert response.status_code == 200 and response.json()["success"] is True
        missing = await client.post(url, json=body)
    assert missing.status_code == 401 and missing.json() == {
        "success": False,
        "error": "API key required",
    }
    assert emulator.auth_methods == ["header", "bearer", "query"]


# -- status reading -----------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["flat", "data", "video"])
async def test_status_shapes_read_the_same(emulator, provider, shape):
    emulator.status_shape = shape
    request = video()
    submission = await provider.submit(request)
    assert (await provider.status(submission.task_id, request)).progress == 0
    emulator.clock.advance(55)
    running = await provider.status(submission.task_id, request)
    assert running.state is TaskState.RUNNING and running.progress == 55
    emulator.clock.advance(45)
    done = await provider.status(submission.task_id, request)
    assert done.state is TaskState.SUCCEEDED
    assert done.media[0].url == f"{emulator.base_url}/files/101.mp4"  # "video": relative link
    assert done.media[0].thumbnail_url == f"{emulator.base_url}/files/101.png"
    assert (await read_all(provider, done.media[0].url))[4:8] == b"ftyp"


@pytest.mark.parametrize("shape", ["flat", "data", "video"])
@pytest.mark.parametrize(
    ("reason", "error_type"),
    [("Content policy violation detected", ContentFiltered), ("GPU worker crashed", None)],
)
async def test_failed_task(emulator, provider, shape, reason, error_type):
    emulator.status_shape = shape
    emulator.fail_next_task = reason
    request = video()
    submission = await provider.submit(request)
    emulator.clock.advance(100)
    failed = await provider.status(submission.task_id, request)
    assert failed.state is TaskState.FAILED and not failed.media
    assert failed.error == reason and failed.error_type is error_type


async def test_instant_results_finish_in_the_submit_response(emulator, provider):
    emulator.instant_results = True
    submission = await provider.submit(animate(emulator, "veo3", aspect_ratio="16:9"))
    assert submission.status is not None and submission.status.state is TaskState.SUCCEEDED
    (media,) = submission.status.media
    assert media.url == f"{emulator.base_url}/files/{submission.task_id}.mp4"
    assert media.thumbnail_url.endswith(".png") and submission.cost == 8


async def test_large_results_stream_in_full(emulator, provider):
    emulator.large_results = True
    emulator.instant_results = True
    submission = await provider.submit(video())
    data = await read_all(provider, submission.status.media[0].url)
    assert len(data) == 12 * 1024 * 1024 + 32


@pytest.mark.parametrize(
    ("body", "state", "progress", "url"),
    [
        ({"success": True, "state": "processing", "progress": 0.25}, TaskState.RUNNING, 25, None),
        ({"success": True, "data": {"status": "pending"}}, TaskState.QUEUED, 0, None),
        ({"success": True, "status": "completed"}, TaskState.RUNNING, None, None),  # no link yet
        ({"video": {"url": "https://cdn.example/v.mp4"}}, TaskState.SUCCEEDED, 100, "cdn"),
        ({"status": "rendering", "progress": "70%"}, TaskState.RUNNING, 70, None),
    ],
)
async def test_tolerant_status_reading_of_undocumented_bodies(body, state, progress, url):
    prov = mocked(httpx.Response(200, json=body))
    status = await prov.status("1", video())
    await prov.aclose()
    assert status.state is state and status.progress == progress
    assert (status.media[0].url if status.media else None) == (
        "https://cdn.example/v.mp4" if url else None
    )


async def test_failed_status_with_error_object():
    body = {"success": True, "status": "failed", "error": {"message": "unsafe image (safety)"}}
    prov = mocked(httpx.Response(200, json=body))
    status = await prov.status("1", video())
    await prov.aclose()
    assert status.state is TaskState.FAILED and status.error_type is ContentFiltered
    assert status.error == "unsafe image (safety)"


@pytest.mark.parametrize(
    ("body", "finished"),
    [
        ({"success": True, "video_id": 7, "video_url": "https://cdn.example/7.mp4"}, True),
        ({"video_id": 7, "video_url": "https://cdn.example/7.mp4", "status": "queued"}, False),
        ({"success": True, "video_id": 7, "video_url": "pending"}, False),  # not a URL
    ],
)
async def test_submit_counts_as_finished_only_with_a_usable_link(body, finished):
    prov = mocked(httpx.Response(200, json=body))
    submission = await prov.submit(video())
    await prov.aclose()
    assert submission.task_id == "7" and (submission.status is not None) is finished


@pytest.mark.parametrize(
    "response",
    [httpx.Response(200, text="<html>oops</html>"), httpx.Response(200, json={"success": True})],
)
async def test_unreadable_submit_answer_is_outcome_unknown(response):
    prov = mocked(response)
    with pytest.raises(OutcomeUnknown) as caught:
        await prov.submit(video())
    await prov.aclose()
    assert not caught.value.retryable  # a paid task may exist: the engine must not resubmit


async def test_rate_limit_headers_fill_the_window_when_the_body_has_none():
    headers = {"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "0", "Retry-After": "120"}
    prov = mocked(httpx.Response(429, headers=headers, json={"success": False, "error": "Slow"}))
    with pytest.raises(RateLimited) as caught:
        await prov.submit(video())
    await prov.aclose()
    assert caught.value.retry_after == 120
    assert prov.window == {"count": 10, "limit": 10, "remaining": 0}


async def test_check_key_reads_a_status_that_starts_nothing(emulator, provider):
    assert await provider.check_key() == "the key was accepted (this API shows no balance)"
    assert [(method, path) for method, path, _ in emulator.requests] == [("GET", STATUS_PATH)]
    assert emulator.videos == {}


async def test_check_key_raises_auth_error_for_a_wrong_key(emulator):
    wrong = NanoBananaVideoProvider(ProviderConfig(api_key="nope-123", base_url=emulator.base_url))
    try:
        with pytest.raises(AuthError) as refused:
            await wrong.check_key()
        assert refused.value.status == 401 and "nope-123" not in str(refused.value)
    finally:
        await wrong.aclose()
