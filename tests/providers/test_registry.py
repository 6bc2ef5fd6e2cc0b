"""Which model a command gets: a command without `model` never refuses an option it lists when
an enabled model takes it, and /animate on nanobananavideo gets the image-to-video endpoint's
own default, seedance2 (document 002)."""

from __future__ import annotations

from typing import Any

import pytest

from jobs.errors import InvalidRequest
from jobs.validation import InputImage, build_request, fits
from presentation.sentences import for_member
from providers.aivideoapi import AIVideoAPIProvider
from providers.base import Kind, ModelSpec, Provider, ProviderConfig
from providers.nananobanana import NanaNoBananaProvider
from providers.nanobanana import NanoBananaProvider
from providers.nanobananavideo import NanoBananaVideoProvider
from providers.registry import ProviderRegistry
from providers.sandbox import SandboxProvider

IMAGE = ("image", InputImage(url="https://images.example/cat.png", content_type="image/png"))
ANIMATE_PROMPT = "Bring this image to life with natural, gentle motion"  # cogs.video's


def refused(spec, **options) -> str:
    """What the member reads when ``build_request`` refuses these options."""
    with pytest.raises(InvalidRequest) as err:
        build_request(spec, **options)
    return for_member(err.value)


def config() -> ProviderConfig:
    return ProviderConfig(api_key="k", base_url="https://provider.example")


ALL = {
    "nanobanana": lambda: NanoBananaProvider(config()),
    "nanobananavideo": lambda: NanoBananaVideoProvider(config()),
    "aivideoapi": lambda: AIVideoAPIProvider(config()),
    "nananobanana": lambda: NanaNoBananaProvider(config()),
    "sandbox": lambda: SandboxProvider(),
}


def registry(*ids: str) -> ProviderRegistry:
    return ProviderRegistry([ALL[i]() for i in ids or tuple(ALL)])


# The options each command lists (besides model and the images), as build_request names them.
COMMANDS: dict[str, tuple[Kind, bool | None, tuple[str, ...]]] = {
    "animate": (Kind.VIDEO, True, ("duration", "resolution", "aspect_ratio", "motion")),
    "video": (
        Kind.VIDEO,
        False,
        ("duration", "resolution", "aspect_ratio", "audio", "negative_prompt"),
    ),
    "image": (
        Kind.IMAGE,
        None,
        ("aspect_ratio", "resolution", "count", "quality", "output_format"),
    ),
}


def offered(spec: ModelSpec, option: str) -> list[Any]:
    """Every value ``spec`` takes for ``option``."""
    if option == "count":
        return list(range(1, spec.max_count + 1))
    if option == "audio":
        return [v for v, ok in ((True, spec.audio != "no"), (False, spec.audio != "always")) if ok]
    if option == "negative_prompt":
        return ["blurry"] if spec.negative_prompt else []
    field = {"output_format": "formats", "motion": "motions", "quality": "qualities"}.get(
        option, option + "s"
    )
    return list(getattr(spec, field))


def command_options(command: str, **given: Any) -> dict[str, Any]:
    images = [IMAGE] if command == "animate" else []
    prompt = ANIMATE_PROMPT if command == "animate" else "a banana"
    return {"prompt": prompt, "images": images, **given}


CASES = [
    (providers, command, option)
    for providers in [(), *((p,) for p in ALL)]
    for command, (_kind, _image, options) in COMMANDS.items()
    for option in options
]


@pytest.mark.parametrize(("providers", "command", "option"), CASES)
def test_no_option_a_command_lists_is_refused_for_its_default_model(providers, command, option):
    reg = registry(*providers)
    kind, image_input, _options = COMMANDS[command]
    candidates = reg.models(kind, image_input=image_input)
    values = {value for spec in candidates for value in offered(spec, option)}
    for value in sorted(values, key=str):
        options = command_options(command, **{option: value})
        spec = reg.resolve(None, kind, image_input=image_input, accepts=fits(**options))
        build_request(spec, **options)  # raises InvalidRequest if the pick refused it


def test_animate_on_nanobananavideo_defaults_to_seedance2_which_takes_motion():
    reg = registry("nanobananavideo")
    for given in ({}, {"motion": "high"}, {"motion": "low", "duration": 6}):
        options = command_options("animate", **given)
        spec = reg.resolve(None, Kind.VIDEO, image_input=True, accepts=fits(**options))
        assert spec.qualified_id == "nanobananavideo:seedance2"
        assert build_request(spec, **options).motion == given.get("motion")


def test_video_without_an_image_on_nanobananavideo_is_text_to_video():
    reg = registry("nanobananavideo")
    options = command_options("video", duration=10)
    spec = reg.resolve(None, Kind.VIDEO, image_input=False, accepts=fits(**options))
    assert spec.id == "nanobanana-video"


def test_a_command_without_a_model_picks_the_first_that_takes_the_options():
    reg = registry()
    first = reg.resolve(None, Kind.VIDEO, image_input=True)
    assert first.provider == "nanobanana" and not first.motions  # the first video model...
    options = command_options("animate", motion="high")
    spec = reg.resolve(None, Kind.VIDEO, image_input=True, accepts=fits(**options))
    assert spec.qualified_id == "nanobananavideo:seedance2"  # ...gives way to one with motion
    options = command_options("animate", motion="high", duration=15)
    spec = reg.resolve(None, Kind.VIDEO, image_input=True, accepts=fits(**options))
    assert spec.qualified_id == "nanobananavideo:sora2"  # the one that makes 15 s with motion


def test_a_configured_default_is_used_when_it_takes_the_options_and_gives_way_otherwise():
    reg = registry("nanobananavideo")
    options = command_options("animate", motion="high")
    spec = reg.resolve(None, Kind.VIDEO, default="veo3", image_input=True, accepts=fits(**options))
    assert spec.id == "veo3"
    options = command_options("animate", duration=5)  # veo3 makes 8 s only
    spec = reg.resolve(None, Kind.VIDEO, default="veo3", image_input=True, accepts=fits(**options))
    assert spec.id == "seedance2"


def test_a_named_model_is_used_as_named_and_its_refusal_says_why():
    reg = registry("nanobananavideo")
    options = command_options("animate", motion="high")
    spec = reg.resolve(
        "nanobananavideo:nanobanana-video", Kind.VIDEO, image_input=True, accepts=fits(**options)
    )
    assert spec.id == "nanobanana-video"
    assert "motion" in refused(spec, **options)


def test_when_no_model_takes_an_option_the_refusal_names_the_first_model():
    reg = registry("nanobanana")  # no model of this provider has `motion`
    options = command_options("animate", motion="high")
    spec = reg.resolve(None, Kind.VIDEO, image_input=True, accepts=fits(**options))
    assert spec == reg.resolve(None, Kind.VIDEO, image_input=True)
    assert "does not take a `motion` option" in refused(spec, **options)


def test_registry_order_is_adapters_order_with_sandbox_last():
    reg = registry()
    assert list(reg.providers) == [
        "nanobanana",
        "nanobananavideo",
        "aivideoapi",
        "nananobanana",
        "sandbox",
    ]
    assert isinstance(reg.get("sandbox"), Provider)
