"""Option validation: refusals say what was wrong and what is allowed."""

from __future__ import annotations

import pytest

from jobs.errors import InvalidRequest
from jobs.validation import InputImage, build_request
from presentation.sentences import for_member
from providers.aivideoapi import AIVideoAPIProvider
from providers.base import ProviderConfig
from providers.nanobanana import NanoBananaProvider
from providers.sandbox import SandboxProvider


def refused(spec, **options) -> str:
    """What the member reads when ``build_request`` refuses these options."""
    with pytest.raises(InvalidRequest) as err:
        build_request(spec, **options)
    return for_member(err.value)


def _spec(provider_cls, model_id, **config):
    provider = provider_cls(ProviderConfig(api_key="k", base_url="https://example.invalid"))
    spec = provider.model(model_id)
    assert spec is not None
    return spec


def png(url="https://cdn.example/a.png", size=1000, content_type="image/png"):
    return InputImage(url=url, filename="a.png", content_type=content_type, size=size)


def test_valid_request_takes_canonical_values():
    spec = _spec(AIVideoAPIProvider, "nano-banana-2")
    request = build_request(spec, prompt=" a cat ", aspect_ratio="21:9", resolution="2k")
    assert request.prompt == "a cat"
    assert request.resolution == "2K"
    assert request.aspect_ratio == "21:9"


def test_unknown_aspect_ratio_lists_allowed():
    spec = _spec(NanoBananaProvider, "nano-banana")
    with pytest.raises(InvalidRequest) as err:
        build_request(spec, prompt="x", aspect_ratio="21:9")
    assert "21:9" in for_member(err.value)
    assert "16:9" in for_member(err.value) and "1:1" in for_member(err.value)


def test_resolution_on_model_without_resolutions_is_refused():
    spec = _spec(NanoBananaProvider, "nano-banana")
    with pytest.raises(InvalidRequest) as err:
        build_request(spec, prompt="x", resolution="4K")
    assert "does not take" in for_member(err.value)


def test_count_bounds_per_model():
    spec = _spec(AIVideoAPIProvider, "nano-banana-2")
    with pytest.raises(InvalidRequest) as err:
        build_request(spec, prompt="x", count=3)
    assert "`count` must be 1" in for_member(err.value)
    assert build_request(_spec(NanoBananaProvider, "nano-banana"), prompt="x", count=4).count == 4


def test_empty_and_too_long_prompts():
    spec = _spec(AIVideoAPIProvider, "nano-banana-2")
    assert "empty" in refused(spec, prompt="   ")
    assert "at most 20000" in refused(spec, prompt="x" * 20001)


def test_reference_images_checked():
    spec = _spec(SandboxProvider, "sandbox-image")
    ok = build_request(spec, prompt="x", images=[("reference", png())])
    assert ok.reference_urls == ("https://cdn.example/a.png",)
    assert "not a supported image" in refused(
        spec, prompt="x", images=[("reference", png(content_type="application/pdf"))]
    )
    assert "at most 10 MiB" in refused(
        spec, prompt="x", images=[("reference", png(size=11 * 1024 * 1024))]
    )
    assert "https" in refused(
        spec, prompt="x", images=[("reference", png(url="http://cdn.example/a.png"))]
    )
    four = [(f"r{i}", png()) for i in range(4)]
    assert "at most 3 input images" in refused(spec, prompt="x", images=four)


def _video(model_id):
    from providers.nanobananavideo import NanoBananaVideoProvider

    for cls in (NanoBananaVideoProvider, NanoBananaProvider):
        provider = cls(ProviderConfig(api_key="k", base_url="https://example.invalid"))
        spec = provider.model(model_id)
        if spec is not None:
            return spec
    raise LookupError(model_id)


IMAGE = [("image", png())]


@pytest.mark.parametrize(
    ("model", "allowed", "refused"),
    [
        ("veo3", [8], [5, 10]),
        ("sora2", [10, 15], [8, 12]),
        ("seedance2", [3, 7, 12], [2, 13, 15]),
        ("veo-3.1-fast", [4, 6, 8], [5, 10]),
        ("seedance-2.0", [5, 10, 15], [4, 8]),
    ],
)
def test_video_durations_per_model(model, allowed, refused):
    spec = _video(model)
    for seconds in allowed:
        assert build_request(spec, prompt="x", duration=seconds, images=IMAGE).duration == seconds
    for seconds in refused:
        with pytest.raises(InvalidRequest) as err:
            build_request(spec, prompt="x", duration=seconds, images=IMAGE)
        assert f"{allowed[0]}s" in for_member(err.value)  # the message lists what is offered


def test_video_resolution_aspect_and_audio_rules():
    assert "16:9" in refused(_video("veo3"), prompt="x", aspect_ratio="9:16", images=IMAGE)
    assert build_request(_video("seedance2"), prompt="x", aspect_ratio="21:9", images=IMAGE)
    assert "720p" in refused(_video("sora-2"), prompt="x", resolution="1080p")
    assert "cannot generate audio" in refused(_video("wan-2.5"), prompt="x", audio=True)
    assert "always generates audio" in refused(_video("sora-2"), prompt="x", audio=False)
    assert "needs an input image" in refused(_video("seedance2"), prompt="x")
    assert "at most 500" in refused(_video("nanobanana-video"), prompt="x" * 501)
    assert "motion" in refused(_video("seedance2"), prompt="x", motion="wild", images=IMAGE)
