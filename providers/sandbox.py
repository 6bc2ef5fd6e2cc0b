"""The built-in offline provider: real files, realistic delays, no network, no cost to anyone.

It keeps no state: a task id carries the kind, the submit time and the planned duration, and
the result is rendered on demand from the task id. So a sandbox job survives a bot restart like
a real one does. Prompts containing ``[fail]`` or ``[filter]`` fail on purpose, for trying the
failure path.

Its "videos" are looping animated GIFs: a real animation every Discord client plays inline,
made without a codec library (an MP4 encoder would be a heavy dependency for a test provider).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Callable, Sequence

from providers.base import (
    GenerationRequest,
    Kind,
    Limits,
    Media,
    ModelSpec,
    Provider,
    ProviderConfig,
    Submission,
    TaskState,
    TaskStatus,
)
from providers.errors import ContentFiltered, NotFound
from providers.imaging import dimensions_for, make_gif, make_png

ASPECT_RATIOS = ("1:1", "3:4", "4:3", "9:16", "16:9", "21:9")
# Kept small on purpose: pure-Python PNG encoding of true 1K-4K images would take seconds.
LONG_SIDE = {"1K": 384, "2K": 512, "4K": 640}
IMAGE_SECONDS = 6.0
VIDEO_SECONDS_PER_CLIP_SECOND = 3.0
SCHEME = "sandbox://"

MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        id="sandbox-image",
        name="Sandbox Image",
        provider="sandbox",
        kind=Kind.IMAGE,
        aspect_ratios=ASPECT_RATIOS,
        resolutions=tuple(LONG_SIDE),
        qualities=("standard", "hd"),
        formats=("png",),
        max_count=4,
        max_references=3,
        default_aspect_ratio="1:1",
        default_resolution="1K",
        typical_seconds=IMAGE_SECONDS,
        note="offline test images",
    ),
    ModelSpec(
        id="sandbox-video",
        name="Sandbox Video",
        provider="sandbox",
        kind=Kind.VIDEO,
        aspect_ratios=("16:9", "9:16", "1:1"),
        resolutions=("480p", "720p"),
        durations=(4, 8),
        motions=("low", "medium", "high"),
        negative_prompt=True,
        max_references=1,
        default_aspect_ratio="16:9",
        default_resolution="480p",
        default_duration=4,
        typical_seconds=4 * VIDEO_SECONDS_PER_CLIP_SECOND,
        note="offline test animations (GIF)",
    ),
)
VIDEO_SIZE = {"480p": 160, "720p": 224}  # long side of the GIF; small to encode quickly
VIDEO_FPS = 8


def _price(request: GenerationRequest) -> int:
    if request.kind is Kind.VIDEO:
        per_second = 2 if request.resolution == "720p" else 1
        return per_second * (request.duration or 4)
    per_image = {"1K": 1, "2K": 2, "4K": 4}.get(request.resolution or "1K", 1)
    if request.quality == "hd":
        per_image += 1
    return per_image * max(1, request.count)


class SandboxProvider(Provider):
    id = "sandbox"
    display_name = "Sandbox"
    limits = Limits(max_concurrency=4)

    def __init__(
        self,
        config: ProviderConfig | None = None,
        *,
        clock: Callable[[], float] = time.time,
        speed: float = 1.0,
    ) -> None:
        super().__init__(config or ProviderConfig(api_key="", base_url="sandbox://"))
        self._clock = clock
        self._speed = speed  # >1 finishes faster (tests)

    def models(self) -> Sequence[ModelSpec]:
        return MODELS

    async def estimate_cost(self, request: GenerationRequest) -> float:
        return float(_price(request))

    async def submit(
        self, request: GenerationRequest, *, callback_url: str | None = None
    ) -> Submission:
        if "[filter]" in request.prompt.lower():
            raise ContentFiltered(
                "sandbox filter: the prompt asked to be filtered", provider=self.id
            )
        if request.kind is Kind.VIDEO:
            seconds = VIDEO_SECONDS_PER_CLIP_SECOND * (request.duration or 4) / self._speed
        else:
            seconds = IMAGE_SECONDS / self._speed
        digest = hashlib.sha256(repr(request.to_dict()).encode()).hexdigest()[:12]
        started = int(self._clock() * 1000)
        task_id = f"sb-{request.kind.value}-{started}-{int(seconds * 1000)}-{digest}"
        return Submission(task_id=task_id, cost=float(_price(request)))

    @staticmethod
    def _parse(task_id: str) -> tuple[str, float, float, str]:
        try:
            prefix, kind, started, duration, digest = task_id.split("-")
            if prefix != "sb":
                raise ValueError
            return kind, int(started) / 1000, int(duration) / 1000, digest
        except ValueError:
            raise NotFound(f"no sandbox task {task_id!r}", provider="sandbox") from None

    async def status(self, task_id: str, request: GenerationRequest) -> TaskStatus:
        _kind, started, duration, _digest = self._parse(task_id)
        elapsed = self._clock() - started
        if elapsed < duration:
            progress = int(100 * elapsed / duration) if duration else 99
            state = TaskState.QUEUED if elapsed < duration * 0.1 else TaskState.RUNNING
            return TaskStatus(state=state, progress=min(progress, 99))
        if "[fail]" in request.prompt.lower():
            return TaskStatus(state=TaskState.FAILED, error="sandbox: the prompt asked to fail")
        query = f"ar={request.aspect_ratio or '1:1'}&res={request.resolution or ''}"
        if request.kind is Kind.VIDEO:
            query += f"&s={request.duration or 4}"
            media: tuple[Media, ...] = (
                Media(url=f"{SCHEME}{task_id}/0.gif?{query}", content_type="image/gif"),
            )
        else:
            media = tuple(
                Media(url=f"{SCHEME}{task_id}/{n}.png?{query}", content_type="image/png")
                for n in range(max(1, request.count))
            )
        return TaskStatus(
            state=TaskState.SUCCEEDED, progress=100, media=media, cost=float(_price(request))
        )

    async def open_media(self, url: str) -> AsyncIterator[bytes]:
        if not url.startswith(SCHEME):
            raise NotFound(f"not a sandbox file: {url}", provider=self.id)
        path, _, query = url[len(SCHEME) :].partition("?")
        params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
        if path.endswith(".gif"):
            long_side = VIDEO_SIZE.get(params.get("res", ""), 160)
            width, height = dimensions_for(params.get("ar"), long_side)
            frames = VIDEO_FPS * int(params.get("s", "4"))
            data = await asyncio.to_thread(make_gif, width, height, frames, path, VIDEO_FPS)
        else:
            long_side = LONG_SIDE.get(params.get("res", ""), 384)
            width, height = dimensions_for(params.get("ar"), long_side)
            data = await asyncio.to_thread(make_png, width, height, path)
        for start in range(0, len(data), 64 * 1024):
            yield data[start : start + 64 * 1024]
