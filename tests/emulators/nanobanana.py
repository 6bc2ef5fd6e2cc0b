"""Emulator of the Nano Banana API (provider document 001) as a real HTTP server.

Its tables are copied from the document on their own, not imported from the adapter, so a
mistake in the adapter's tables shows up as a disagreement in the tests instead of being
repeated here.

Choices where the document is silent (the adapter must cope with them, not rely on them):
- Parameter errors other than prompt and model answer 400 INVALID_PARAMETER.
- Video prices other than the printed veo-3.1-fast table: VIDEO_RATE credits per second at
  720p, x0.75 at 480p, x1.5 at 1080p, +25 % with optional audio on, rounded up.
- Subscription models need ``subscribed``; without it they are left out of /models and a
  generate answers 403 FORBIDDEN.
- Status words: "pending", then "processing" (with progress), then "completed" (images) or
  "succeeded" (videos), or "failed" with ``error`` holding the message.
- The 401 message echoes the key that was presented, as careless APIs do, so tests can prove
  the adapter keeps keys out of its messages.

Test knobs are plain attributes, listed in ``__init__``.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import struct
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from tests.emulators.base import EmulatorBase

BASIC = ("1:1", "3:4", "4:3", "9:16", "16:9")
WIDE = ("1:1", "3:2", "2:3", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
# id -> (resolutions, aspect ratios, text credits, image credits, resolution extras, subscription)
IMAGE_MODELS: dict[str, tuple[tuple[str, ...], tuple[str, ...], int, int, dict[str, int], bool]] = {
    "nano-banana": ((), BASIC, 1, 2, {}, False),
    "nano-banana-pro": (("1K", "2K", "4K"), WIDE, 6, 6, {"4K": 14}, False),
    "nano-banana-2": (("1K", "2K", "4K"), WIDE, 4, 8, {"2K": 4, "4K": 14}, True),
    "seedream4": ((), BASIC, 4, 4, {}, True),
}
# id -> (resolutions, aspect ratios, durations, audio: "Yes" | "No" | "Always on")
VIDEO_MODELS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[int, ...], str]] = {
    "veo-3.1-fast": (("720p", "1080p"), ("16:9", "9:16"), (4, 6, 8), "Yes"),
    "veo-3.1": (("720p", "1080p"), ("16:9", "9:16"), (4, 6, 8), "Yes"),
    "seedance-1.5-fast": (("720p", "1080p"), ("16:9", "9:16", "1:1"), (4, 8, 12), "Yes"),
    "seedance-1.5": (("720p", "1080p"), ("16:9", "9:16", "1:1"), (4, 8, 12), "Yes"),
    "seedance-2.0": (("480p", "720p"), ("16:9", "9:16", "1:1", "4:3"), (5, 10, 15), "Yes"),
    "wan-2.5": (("480p", "720p", "1080p"), ("16:9", "9:16"), (5, 10), "No"),
    "sora-2": (("720p",), ("16:9", "9:16"), (4, 8, 12), "Always on"),
    "sora-2-pro": (("720p", "1080p"), ("16:9", "9:16"), (4, 8, 12), "Always on"),
    "kling-o3-std": (("720p",), ("16:9", "9:16", "1:1"), (5, 10), "Yes"),
    "kling-o3-pro": (("720p",), ("16:9", "9:16", "1:1"), (5, 10), "Yes"),
    "grok-video": (("480p", "720p"), ("16:9", "9:16", "1:1"), (6, 10), "No"),
}
VEO_FAST: dict[tuple[str, bool], tuple[int, int, int]] = {  # credits for 4 s, 6 s, 8 s
    ("720p", False): (10, 15, 20),
    ("720p", True): (15, 20, 30),
    ("1080p", False): (15, 20, 25),
    ("1080p", True): (20, 25, 35),
}
VIDEO_RATE = {"veo-3.1": 5, "seedance-1.5-fast": 2, "seedance-1.5": 3, "seedance-2.0": 4,
              "wan-2.5": 2, "sora-2": 4, "sora-2-pro": 8, "kling-o3-std": 3, "kling-o3-pro": 5,
              "grok-video": 2}  # fmt: skip
RESOLUTION_FACTOR = {"480p": 0.75, "720p": 1.0, "1080p": 1.5}
BODY = web.RequestKey("body", dict)  # the parsed JSON body, set by the gate
PROGRESS_FROM = 0.2  # share of task_seconds spent "pending" before "processing"


class Reject(Exception):
    """An error answer in the documented envelope, raised anywhere in a handler."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def envelope_error(status: int, code: str, message: str, headers: dict | None = None):
    body = {"success": False, "error": {"code": code, "message": message}}
    return web.json_response(body, status=status, headers=headers)


def ok(data: dict[str, Any]) -> web.Response:
    return web.json_response({"success": True, "data": data})


def fake_mp4(seed: str, size: int = 4096) -> bytes:
    """An ``ftyp`` box and an ``mdat`` box of filler: enough to be sniffed as MP4."""
    filler = hashlib.shake_256(seed.encode()).digest(size)
    ftyp = struct.pack(">I", 24) + b"ftypmp42" + b"\0\0\0\0" + b"mp42isom"
    return ftyp + struct.pack(">I", 8 + size) + b"mdat" + filler


class NanoBananaEmulator(EmulatorBase):
    def __init__(self, *, api_key: str = "nb_sk_test_key", credits: float = 500) -> None:
        super().__init__()
        self.api_key = api_key  # the one valid Bearer key
        self.credits = credits  # account balance; generate charges it, 402 when too low
        self.total_credits = credits
        self.task_seconds = 0.3  # emulator-clock seconds from submit to a finished task
        self.fail_next_task: str | None = None  # next created task ends "failed" with this
        self.filter_next_task = False  # next generate answers 451 CONTENT_FILTERED
        self.fail_next_request: tuple[int, str] | None = None  # next /api request: status, code
        self.large_results = False  # result PNGs of ~3 MB (1024x1024 noise)
        self.rate_limit_per_minute = 60  # per key; 429 RATE_LIMIT_EXCEEDED + Retry-After
        self.subscribed = True  # False: nano-banana-2 / seedream4 unlisted and 403
        self.result_fields = "documented"  # "documented" | "lists" | "objects" (see _results)
        self.tasks: dict[str, dict[str, Any]] = {}
        self._hits: dict[str, deque[float]] = {}

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._gate])
        app.add_routes(
            [
                web.post("/api/v1/images/generate", self._generate),
                web.get("/api/v1/images/status", self._status),
                web.post("/api/v1/videos/generate", self._generate),
                web.get("/api/v1/videos/status", self._status),
                web.get("/api/v1/account/credits", self._credits),
                web.post("/api/v1/account/calculate-cost", self._calculate_cost),
                web.get("/api/v1/models", self._models),
                *self.file_routes(),
            ]
        )
        return app

    @web.middleware
    async def _gate(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Record, hold, then the forced failure, auth, rate limit, and the envelope for Reject."""
        if not request.path.startswith("/api/"):
            return await handler(request)
        try:
            body = await request.json() if request.method == "POST" else None
        except ValueError:
            body = "not json"
        self.requests.append((request.method, request.path, body))
        await self.held(request.path)
        try:
            if self.fail_next_request is not None:
                (status, code), self.fail_next_request = self.fail_next_request, None
                retry = {"Retry-After": "1"} if status == 429 else None
                raise Reject(status, code, "forced failure", retry)
            self._admit(request.headers.get("Authorization", ""))
            if not isinstance(body, dict | None):
                raise Reject(400, "INVALID_PARAMETER", "the body must be a JSON object")
            request[BODY] = body or {}
            return await handler(request)
        except Reject as err:
            return envelope_error(err.status, err.code, err.message, err.headers)

    def _admit(self, header: str) -> None:
        """The Bearer key must match; then 60 requests per rolling minute per key."""
        scheme, _, key = header.partition(" ")
        if scheme != "Bearer" or key != self.api_key:
            raise Reject(401, "UNAUTHORIZED", f"Missing or invalid API key {key!r}")
        now, window = self.clock(), self._hits.setdefault(key, deque())
        while window and now - window[0] >= 60.0:
            window.popleft()
        if len(window) >= self.rate_limit_per_minute:
            wait = max(1, math.ceil(60.0 - (now - window[0])))
            retry = {"Retry-After": str(wait)}
            raise Reject(429, "RATE_LIMIT_EXCEEDED", "Too many requests per minute", retry)
        window.append(now)

    # -- pricing and validation, straight from the document's tables --------------------------

    def _image_price(self, body: dict[str, Any], *, generating: bool) -> tuple[str, int]:
        model = body.get("model") or "nano-banana"
        self._check_prompt(body, generating)
        if model not in IMAGE_MODELS:
            raise Reject(400, "INVALID_MODEL", f"Unknown model ID {model!r}")
        resolutions, aspects, text, image, extras, _ = IMAGE_MODELS[model]
        mode = body.get("mode", "text")
        _one_of("mode", mode, ("text", "image"))
        image_url = str(body.get("image_url") or "")
        if generating and mode == "image" and not image_url.startswith("http"):
            raise Reject(400, "INVALID_PARAMETER", "image_url is required when mode=image")
        _one_of("aspect_ratio", body.get("aspect_ratio"), aspects, optional=True)
        _one_of("resolution", body.get("resolution"), resolutions, optional=True)
        _one_of("quality", body.get("quality"), ("standard", "hd"), optional=True)
        _one_of("output_format", body.get("output_format"), ("png", "jpeg"), optional=True)
        count = body.get("num_images", 1)
        _one_of("num_images", count, (1, 2, 3, 4))
        per_image = (image if mode == "image" else text) + extras.get(body.get("resolution"), 0)
        per_image += 2 if body.get("quality") == "hd" else 0
        return model, per_image * count

    def _video_price(self, body: dict[str, Any], *, generating: bool) -> tuple[str, int]:
        model = body.get("model_id") or body.get("model") or "veo-3.1-fast"
        self._check_prompt(body, generating)
        if model not in VIDEO_MODELS:
            raise Reject(400, "INVALID_MODEL", f"Unknown model ID {model!r}")
        resolutions, aspects, durations, audio_word = VIDEO_MODELS[model]
        _one_of("aspect_ratio", body.get("aspect_ratio"), aspects, optional=True)
        resolution = body.get("resolution", "720p")
        _one_of("resolution", resolution, resolutions)
        duration = body.get("duration", durations[0])
        _one_of("duration", duration, durations)
        audio = body.get("generate_audio", False)
        _one_of("generate_audio", audio, (False,) if audio_word == "No" else (True, False))
        if model == "veo-3.1-fast":
            return model, VEO_FAST[(resolution, audio)][durations.index(duration)]
        price = VIDEO_RATE[model] * duration * RESOLUTION_FACTOR[resolution]
        return model, math.ceil(price * (1.25 if audio and audio_word == "Yes" else 1))

    def _check_prompt(self, body: dict[str, Any], generating: bool) -> None:
        prompt = body.get("prompt")
        if generating and (not isinstance(prompt, str) or not prompt.strip()):
            raise Reject(400, "INVALID_PROMPT", "Prompt is empty or invalid")

    def _check_subscription(self, model: str) -> None:
        if not self.subscribed and IMAGE_MODELS.get(model, (None,) * 6)[5]:
            raise Reject(403, "FORBIDDEN", f"{model} requires a subscription")

    # -- endpoints -----------------------------------------------------------------------------

    async def _generate(self, request: web.Request) -> web.Response:
        body, kind = request[BODY], request.path.split("/")[3][:-1]  # "image" | "video"
        pricing = self._image_price if kind == "image" else self._video_price
        model, price = pricing(body, generating=True)
        self._check_subscription(model)
        if self.filter_next_task:
            self.filter_next_task = False
            raise Reject(451, "CONTENT_FILTERED", "Content was rejected by safety filters")
        if self.credits < price:
            raise Reject(402, "INSUFFICIENT_CREDITS", f"Need {price} credits, have {self.credits}")
        self.credits -= price
        task_id = f"clx{uuid.uuid4().hex[:22]}"
        self.tasks[task_id] = {
            "kind": kind, "model": model, "body": body, "credits": price,
            "created": self.clock(), "seconds": self.task_seconds,
            "count": body.get("num_images", 1) if kind == "image" else 1,
            "fail": self.fail_next_task, "large": self.large_results, "urls": None,
        }  # fmt: skip
        self.fail_next_task = None
        data = {
            "task_id": task_id,
            "status": "pending",
            "credits_used": price,
            "credits_remaining": self.credits,
        }
        if kind == "video":
            data |= {"status": "processing", "provider": "wavespeed"}
        return ok(data)

    async def _status(self, request: web.Request) -> web.Response:
        kind = request.path.split("/")[3][:-1]
        task_id = request.query.get("task_id", "")
        task = self.tasks.get(task_id)
        if task is None or task["kind"] != kind:
            raise Reject(404, "TASK_NOT_FOUND", "Generation task does not exist")
        elapsed = self.clock() - task["created"]
        data: dict[str, Any] = {"task_id": task_id}
        if elapsed < task["seconds"] * PROGRESS_FROM:
            return ok(data | {"status": "pending", "progress": 0})
        if elapsed < task["seconds"]:
            progress = min(99, max(1, int(100 * elapsed / task["seconds"])))
            return ok(data | {"status": "processing", "progress": progress})
        if task["fail"]:
            return ok(data | {"status": "failed", "progress": 100, "error": task["fail"]})
        if task["urls"] is None:
            task["urls"] = await self._make_results(task_id, task)
        done = "completed" if kind == "image" else "succeeded"
        completed_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        data |= {"status": done, "progress": 100, "completed_at": completed_at}
        return ok(data | self._results(kind, task["urls"]))

    def _results(self, kind: str, urls: list[str]) -> dict[str, Any]:
        """documented: ``image_url``/``video_url`` (plus ``image_urls`` when several);
        lists: only ``image_urls``/``video_urls``; objects: ``images``/``videos`` of {url}."""
        if self.result_fields == "lists":
            return {f"{kind}_urls": urls}
        if self.result_fields == "objects":
            return {f"{kind}s": [{"url": url} for url in urls]}
        return {f"{kind}_url": urls[0]} | ({f"{kind}_urls": urls} if len(urls) > 1 else {})

    async def _make_results(self, task_id: str, task: dict[str, Any]) -> list[str]:
        if task["kind"] == "video":
            self.files[f"{task_id}.mp4"] = (fake_mp4(task_id), "video/mp4")
            return [f"{self.base_url}/files/{task_id}.mp4"]
        size = (1024, 1024) if task["large"] else (64, 64)
        names = [f"{task_id}-{i}.png" for i in range(task["count"])]
        # A 1024x1024 noise PNG takes about a second to build: off the event loop, and once.
        await asyncio.to_thread(self.add_png, names[0], names[0], size, task["large"])
        for name in names[1:]:
            if task["large"]:
                self.files[name] = self.files[names[0]]
            else:
                self.add_png(name, name, size)
        return [f"{self.base_url}/files/{name}" for name in names]

    async def _credits(self, request: web.Request) -> web.Response:
        plan = {"plan": "pro", "end_date": "2099-12-31T00:00:00Z"} if self.subscribed else None
        return ok(
            {
                "credits": self.credits,
                "total_credits": self.total_credits,
                "subscription": plan,
                "is_vip": self.subscribed,
            }
        )

    async def _calculate_cost(self, request: web.Request) -> web.Response:
        body = request[BODY]
        kind = body.get("type", "image")
        _one_of("type", kind, ("image", "video"))
        pricing = self._image_price if kind == "image" else self._video_price
        _, price = pricing(body, generating=False)
        return ok({"type": kind, "credits_needed": price})

    async def _models(self, request: web.Request) -> web.Response:
        images = [
            {"id": model, "name": model.title(), "is_default": model == "nano-banana"}
            for model, row in IMAGE_MODELS.items()
            if self.subscribed or not row[5]
        ]
        videos = [{"id": model, "name": model.title()} for model in VIDEO_MODELS]
        return ok({"image_models": images, "video_models": videos})


def _one_of(name: str, value: Any, allowed: tuple, *, optional: bool = False) -> None:
    if optional and value is None:
        return
    # bool is an int: keep True from passing as 1 and 1 from passing as True.
    if not any(value == a and type(value) is type(a) for a in allowed):
        shown = ", ".join(map(str, allowed)) or "none"
        raise Reject(400, "INVALID_PARAMETER", f"{name} {value!r} is not one of: {shown}")
