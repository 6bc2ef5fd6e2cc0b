"""Checking a command's options against the chosen model before anything is charged.

Every refusal (jobs/errors.py) carries what was wrong and what the model allows; the member's
sentence is written in presentation/sentences/. Free text (autocomplete values can be typed by
hand) is validated here, never trusted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from jobs.errors import (
    AudioAlwaysOn,
    AudioNotAvailable,
    ChoiceNotOffered,
    CountOutOfRange,
    DurationNotOffered,
    ImageNotHttps,
    ImageRequired,
    ImagesNotAccepted,
    ImageTooLarge,
    ImageTypeNotSupported,
    InvalidRequest,
    OptionNotTaken,
    PromptEmpty,
    PromptTooLong,
    TooManyImages,
)
from providers.base import GenerationRequest, Kind, ModelSpec

IMAGE_CONTENT_TYPES = ("image/png", "image/jpeg", "image/webp")
MAX_REFERENCE_BYTES = 10 * 1024 * 1024  # the strictest documented input limit (002: 10 MB)


@dataclass(frozen=True)
class InputImage:
    """An attachment or URL offered as an input image, as the command received it."""

    url: str
    filename: str = ""
    content_type: str | None = None
    size: int | None = None


def _choice(value: str | None, allowed: Sequence[str], option: str, spec: ModelSpec) -> str | None:
    if value is None or value == "":
        return None
    for candidate in allowed:
        if candidate.lower() == value.strip().lower():
            return candidate
    if not allowed:
        raise OptionNotTaken(model=spec.id, option=option)
    raise ChoiceNotOffered(model=spec.id, option=option, value=value, allowed=tuple(allowed))


def check_image(image: InputImage, label: str) -> str:
    """An input image must be an https URL (or a Discord attachment) of a supported type."""
    if urlsplit(image.url).scheme != "https":
        raise ImageNotHttps(label=label)
    content_type = (image.content_type or "").split(";")[0].strip().lower()
    if image.content_type is not None and content_type not in IMAGE_CONTENT_TYPES:
        raise ImageTypeNotSupported(label=label, filename=image.filename)
    if image.size is not None and image.size > MAX_REFERENCE_BYTES:
        raise ImageTooLarge(label=label, size=image.size, limit=MAX_REFERENCE_BYTES)
    return image.url


def build_request(
    spec: ModelSpec,
    *,
    prompt: str | None,
    aspect_ratio: str | None = None,
    resolution: str | None = None,
    count: int | None = None,
    quality: str | None = None,
    output_format: str | None = None,
    images: Sequence[tuple[str, InputImage]] = (),
    duration: int | None = None,
    audio: bool | None = None,
    negative_prompt: str | None = None,
    motion: str | None = None,
) -> GenerationRequest:
    """A GenerationRequest for ``spec``, or InvalidRequest naming the first problem."""
    text = (prompt or "").strip()
    if not text and spec.text_input and not spec.requires_image:
        raise PromptEmpty()
    if len(text) > spec.max_prompt_chars:
        raise PromptTooLong(model=spec.id, length=len(text), limit=spec.max_prompt_chars)

    if images and not spec.image_input:
        raise ImagesNotAccepted(model=spec.id)
    if len(images) > spec.max_references:
        raise TooManyImages(model=spec.id, limit=spec.max_references, given=len(images))
    if spec.requires_image and not images:
        raise ImageRequired(model=spec.id)
    urls = tuple(check_image(image, label) for label, image in images)

    if count is not None and not 1 <= count <= spec.max_count:
        raise CountOutOfRange(model=spec.id, limit=spec.max_count, asked=count)

    if duration is not None and duration not in spec.durations:
        if not spec.durations:
            raise OptionNotTaken(model=spec.id, option="duration")
        raise DurationNotOffered(model=spec.id, duration=duration, allowed=tuple(spec.durations))

    if audio is not None and spec.kind is Kind.VIDEO:
        if audio and spec.audio == "no":
            raise AudioNotAvailable(model=spec.id)
        if not audio and spec.audio == "always":
            raise AudioAlwaysOn(model=spec.id)
    if negative_prompt and not spec.negative_prompt:
        raise OptionNotTaken(model=spec.id, option="negative_prompt")

    return GenerationRequest(
        kind=spec.kind,
        model=spec.id,
        prompt=text,
        aspect_ratio=_choice(aspect_ratio, spec.aspect_ratios, "aspect_ratio", spec)
        or spec.default_aspect_ratio,
        resolution=_choice(resolution, spec.resolutions, "resolution", spec)
        or spec.default_resolution,
        count=count or 1,
        quality=_choice(quality, spec.qualities, "quality", spec),
        output_format=_choice(output_format, spec.formats, "output_format", spec),
        reference_urls=urls,
        duration=duration if duration is not None else spec.default_duration,
        audio=audio,
        negative_prompt=(negative_prompt or "").strip() or None,
        motion=_choice(motion, spec.motions, "motion", spec),
    )


def fits(**options: Any) -> Callable[[ModelSpec], bool]:
    """Whether a model takes every option given (``build_request``'s arguments): how a
    command without a ``model`` picks one that will not refuse what the member asked for."""

    def accepts(spec: ModelSpec) -> bool:
        try:
            build_request(spec, **options)
        except InvalidRequest:
            return False
        return True

    return accepts


def request_for(
    spec: ModelSpec, request: GenerationRequest, source: ModelSpec | None = None
) -> GenerationRequest:
    """``request`` (built for ``source``, another provider's entry of the same model) in
    ``spec``'s terms, or InvalidRequest when ``spec`` does not take one of its options: how a
    job that moves to another provider keeps what the member asked for. A value that is only
    ``source``'s default (an aspect ratio, resolution or duration nobody chose) gives way to
    ``spec``'s own default."""

    def chosen(value, default):
        return None if source is not None and value == default else value

    return build_request(
        spec,
        prompt=request.prompt,
        aspect_ratio=chosen(request.aspect_ratio, source and source.default_aspect_ratio),
        resolution=chosen(request.resolution, source and source.default_resolution),
        count=request.count,
        quality=request.quality,
        output_format=request.output_format,
        images=[
            (f"reference{n + 1}", InputImage(url)) for n, url in enumerate(request.reference_urls)
        ],
        duration=chosen(request.duration, source and source.default_duration),
        audio=request.audio,
        negative_prompt=request.negative_prompt,
        motion=request.motion,
    )
