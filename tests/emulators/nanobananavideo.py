"""Emulator of nanobananavideo.com (documents 000 and 002) over real HTTP.

What it implements, and the choices where the documents are silent:

- Auth: ``X-API-Key``, ``Authorization: Bearer`` or ``?api_key=`` (all three, as 000 says).
  A wrong key gets 401 with the presented key echoed in the message, as careless servers do,
  so tests can prove the adapter scrubs it. ``auth_methods`` records which way each
  authenticated request used ("header", "bearer", "query"); ``urls`` records path+query.
- Text-to-video (000): prompt required, at most 500 characters; resolution 480p/720p/1080p
  (default 720p); duration 3-12 (default 5); aspect_ratio from ``RATIOS`` (000 says "Various
  ratios supported"; we use the six 002 names for Seedance). Integer video ids.
- Image-to-video: a body with ``image_urls`` is 000's shape (same options as text, prompt
  optional, integer ids); a body with ``image_url`` is 002's shape (``video_model`` seedance2
  / veo3 / sora2, default resolution 480p, VEO 8 s only, Sora 10 or 15 s, others 3-12 s;
  non-Seedance models 16:9 only; ``motion_intensity`` low/medium/high; ids like
  ``vid_0123abcd``). Both keys at once is a 400. Image links must be https; http is allowed
  for 127.0.0.1/localhost while ``allow_http_images`` is true. Loopback images are fetched
  and must answer 200 with JPEG/PNG/WebP; other hosts are trusted (tests run offline).
- Credits by 000's formula, taken at submit from ``credits`` (402 when short; not refunded
  when a task fails: the documents do not say).
- The generation window: ``window_limit`` per key per ``window_seconds`` of emulator clock;
  when full, 429 with the ``rate_limit`` object, ``Retry-After`` and ``X-RateLimit-*``.
- Lifecycle by emulator clock: queued for the first 20% of ``task_seconds``, then processing
  with progress, then completed (files created then) or failed (``fail_next_task``).
- The submit response omits ``video_url``/``thumbnail_url`` until the video exists, i.e.
  always unless ``instant_results`` is set (then it is finished at once).
- The status body is undocumented; ``status_shape`` picks one of three plausible forms:
  "flat" (fields at top level), "data" (under ``data``, link in ``url``), "video" (under
  ``video``, site-relative ``output_url``, progress like "40%", failure text in ``message``).
"""

from __future__ import annotations

import hashlib
import math
import secrets
import struct
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from providers.imaging import dimensions_for
from tests.emulators.base import EmulatorBase

TEXT_PATH = "/api/v1/text-to-video.php"
IMAGE_PATH = "/api/v1/image-to-video.php"
STATUS_PATH = "/api/v1/video-status.php"

RESOLUTIONS = ("480p", "720p", "1080p")
RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4", "21:9")
MOTIONS = ("low", "medium", "high")
VIDEO_MODELS = ("seedance2", "veo3", "sora2")
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class _Reject(Exception):
    """An answer in the documented error envelope."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra
        self.headers: dict[str, str] = extra.pop("headers", {})


def fake_mp4(seed: str, size: int) -> bytes:
    """An ``ftyp`` box and an ``mdat`` of deterministic bytes: enough to look like MP4."""
    ftyp = struct.pack(">I", 24) + b"ftypisom" + struct.pack(">I", 512) + b"isommp42"
    payload = hashlib.shake_256(seed.encode()).digest(size)
    return ftyp + struct.pack(">I", 8 + len(payload)) + b"mdat" + payload


def credit_cost(resolution: str, duration: int) -> int:
    return 5 + (2 if resolution == "1080p" else 0) + max(0, duration - 5)


class NanoBananaVideoEmulator(EmulatorBase):
    def __init__(self) -> None:
        super().__init__()
        self.api_key = "nbv_test_key"
        self.task_seconds = 0.5
        self.window_limit = 10
        self.window_seconds = 1800.0
        self.fail_next_task: str | None = None
        self.fail_next_request: tuple[int, str] | None = None
        self.large_results = False
        self.credits = 1000
        self.instant_results = False
        self.allow_http_images = True
        self.status_shape = "flat"  # "flat" | "data" | "video"
        self.videos: dict[str, dict] = {}
        self.auth_methods: list[str] = []
        self.urls: list[str] = []
        self._windows: dict[str, list[float]] = {}
        self._next_id = 100

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._envelope])
        app.add_routes(
            [
                web.post(TEXT_PATH, self._text_to_video),
                web.post(IMAGE_PATH, self._image_to_video),
                web.get(STATUS_PATH, self._status),
                *self.file_routes(),
            ]
        )
        return app

    @web.middleware
    async def _envelope(self, request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            return await handler(request)
        except _Reject as exc:
            body = {"success": False, "error": exc.message, **exc.extra}
            return web.json_response(body, status=exc.status, headers=exc.headers)

    # -- shared steps -----------------------------------------------------------------

    async def _begin(self, request: web.Request) -> tuple[str, dict[str, Any]]:
        """Record the request, hold it, apply ``fail_next_request``, authenticate, parse."""
        body: dict[str, Any] | None = None
        if request.method == "POST":
            try:
                parsed = await request.json()
            except ValueError:
                parsed = None
            body = parsed if isinstance(parsed, dict) else None
        self.requests.append((request.method, request.path, body))
        self.urls.append(request.path_qs)
        await self.held(request.path)
        if self.fail_next_request is not None:
            status, message = self.fail_next_request
            self.fail_next_request = None
            raise _Reject(status, message)
        key = self._authenticate(request)
        if request.method == "POST" and body is None:
            raise _Reject(400, "Invalid JSON body")
        return key, body or {}

    def _authenticate(self, request: web.Request) -> str:
        bearer = request.headers.get("Authorization", "")
        if "X-API-Key" in request.headers:
            method, key = "header", request.headers["X-API-Key"]
        elif bearer.lower().startswith("bearer "):
            method, key = "bearer", bearer[7:].strip()
        elif "api_key" in request.query:
            method, key = "query", request.query["api_key"]
        else:
            raise _Reject(401, "API key required")
        if key != self.api_key:
            raise _Reject(401, f"Invalid API key: {key}")
        self.auth_methods.append(method)
        return key

    def _window(self, key: str) -> list[float]:
        now = self.clock()
        stamps = [t for t in self._windows.get(key, []) if now - t < self.window_seconds]
        self._windows[key] = stamps
        return stamps

    def _rate_limit(self, count: int) -> dict[str, int]:
        limit = self.window_limit
        return {"count": count, "limit": limit, "remaining": max(limit - count, 0)}

    def _create(self, key: str, params: dict[str, Any], video_id: int | str) -> web.Response:
        stamps = self._window(key)
        if len(stamps) >= self.window_limit:
            wait = max(1, math.ceil(stamps[0] + self.window_seconds - self.clock()))
            headers = {
                "Retry-After": str(wait),
                "X-RateLimit-Limit": str(self.window_limit),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(wait),
            }
            raise _Reject(
                429,
                f"Rate limit exceeded: {self.window_limit} videos per 30 minutes",
                rate_limit=self._rate_limit(len(stamps)),
                headers=headers,
            )
        cost = credit_cost(params["resolution"], params["duration"])
        if self.credits < cost:
            raise _Reject(402, f"Insufficient credits: {cost} needed, {self.credits} available")
        self.credits -= cost
        stamps.append(self.clock())
        started = self.clock() - (self.task_seconds if self.instant_results else 0.0)
        video = {
            "video_id": video_id,
            "params": params,
            "credits_used": cost,
            "started": started,
            "fail": self.fail_next_task,
        }
        self.fail_next_task = None
        self.videos[str(video_id)] = video
        answer: dict[str, Any] = {"success": True, "video_id": video_id, "credits_used": cost}
        status, _ = self._state(video)
        if status == "completed":
            answer.update(self._links(video))
        answer["rate_limit"] = self._rate_limit(len(stamps))
        return web.json_response(answer)

    # -- endpoints --------------------------------------------------------------------

    async def _text_to_video(self, request: web.Request) -> web.Response:
        key, body = await self._begin(request)
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            raise _Reject(400, "prompt is required")
        if len(prompt) > 500:
            raise _Reject(400, "prompt must be 500 characters or fewer")
        params = {"prompt": prompt, **self._options(body, "720p", range(3, 13), RATIOS)}
        return self._create(key, params, self._new_int_id())

    async def _image_to_video(self, request: web.Request) -> web.Response:
        key, body = await self._begin(request)
        if ("image_urls" in body) == ("image_url" in body):
            raise _Reject(400, "Provide image_url (or image_urls)")
        prompt = body.get("prompt", "Generate a video from this image")
        if not isinstance(prompt, str):
            raise _Reject(400, "prompt must be a string")
        if "image_urls" in body:  # 000's shape
            urls = body["image_urls"]
            if not isinstance(urls, list) or not urls:
                raise _Reject(400, "image_urls must be a non-empty array")
            for url in urls:
                await self._check_image(url)
            options = self._options(body, "720p", range(3, 13), RATIOS)
            params = {"image_urls": urls, "prompt": prompt, **options}
            return self._create(key, params, self._new_int_id())
        await self._check_image(body["image_url"])
        model = body.get("video_model", "seedance2")
        if model not in VIDEO_MODELS:
            raise _Reject(400, f"video_model must be one of {', '.join(VIDEO_MODELS)}")
        durations, default, ratios = {
            "seedance2": (range(3, 13), 5, RATIOS),
            "veo3": ((8,), 8, ("16:9",)),
            "sora2": ((10, 15), 10, ("16:9",)),
        }[model]
        options = self._options(body, "480p", durations, ratios, default_duration=default)
        motion = body.get("motion_intensity", "medium")
        if motion not in MOTIONS:
            raise _Reject(400, f"motion_intensity must be one of {', '.join(MOTIONS)}")
        params = {
            "image_url": body["image_url"],
            "prompt": prompt,
            "video_model": model,
            "motion_intensity": motion,
            **options,
        }
        return self._create(key, params, f"vid_{secrets.token_hex(6)}")

    async def _status(self, request: web.Request) -> web.Response:
        await self._begin(request)
        video_id = request.query.get("video_id", "")
        if not video_id:
            raise _Reject(400, "video_id is required")
        video = self.videos.get(video_id)
        if video is None:
            raise _Reject(404, "Video not found")
        status, progress = self._state(video)
        fields: dict[str, Any] = {"status": status, "progress": progress}
        if status == "completed":
            fields.update(self._links(video))
        if self.status_shape == "flat":
            fields.update(video_id=video["video_id"], credits_used=video["credits_used"])
            if status == "failed":
                fields["error"] = video["fail"]
            return web.json_response({"success": True, **fields})
        if self.status_shape == "data":
            if "video_url" in fields:
                fields["url"] = fields.pop("video_url")
            if status == "failed":
                fields["error"] = video["fail"]
            return web.json_response({"success": True, "data": {"id": video_id, **fields}})
        fields["progress"] = f"{progress}%"
        if "video_url" in fields:
            fields["output_url"] = urlsplit(fields.pop("video_url")).path
        if status == "failed":
            fields["message"] = video["fail"]
        return web.json_response({"success": True, "video": {"video_id": video_id, **fields}})

    # -- helpers ----------------------------------------------------------------------

    def _options(
        self,
        body: dict[str, Any],
        default_resolution: str,
        durations: Any,
        ratios: tuple[str, ...],
        *,
        default_duration: int = 5,
    ) -> dict[str, Any]:
        resolution = body.get("resolution", default_resolution)
        if resolution not in RESOLUTIONS:
            raise _Reject(400, f"resolution must be one of {', '.join(RESOLUTIONS)}")
        duration = body.get("duration", default_duration)
        if isinstance(duration, bool) or not isinstance(duration, int) or duration not in durations:
            allowed = ", ".join(str(d) for d in durations)
            raise _Reject(400, f"duration must be one of {allowed} seconds for this model")
        ratio = body.get("aspect_ratio", "16:9")
        if ratio not in ratios:
            raise _Reject(400, f"aspect_ratio must be one of {', '.join(ratios)}")
        return {"resolution": resolution, "duration": duration, "aspect_ratio": ratio}

    async def _check_image(self, url: Any) -> None:
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or not parts.hostname:
            raise _Reject(400, "image_url must be a public HTTPS URL")
        loopback = parts.hostname in LOOPBACK
        if parts.scheme != "https" and not (
            parts.scheme == "http" and loopback and self.allow_http_images
        ):
            raise _Reject(400, "image_url must be a public HTTPS URL")
        if not loopback:
            return
        try:
            timeout = aiohttp.ClientTimeout(total=10)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async with session.get(url) as response:
                    kind = response.content_type
                    ok = response.status == 200
                    await response.read()
        except aiohttp.ClientError:
            raise _Reject(400, "Could not download image_url") from None
        if not ok:
            raise _Reject(400, "Could not download image_url")
        if kind not in IMAGE_TYPES:
            raise _Reject(400, f"Unsupported image type {kind}: use JPEG, PNG or WebP")

    def _new_int_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _state(self, video: dict[str, Any]) -> tuple[str, int]:
        elapsed = self.clock() - video["started"]
        if elapsed < self.task_seconds * 0.2:
            return "queued", 0
        if elapsed < self.task_seconds:
            return "processing", min(99, int(elapsed / self.task_seconds * 100))
        if video["fail"]:
            return "failed", 100
        return "completed", 100

    def _links(self, video: dict[str, Any]) -> dict[str, str]:
        """Create the result files on first use and return their absolute links."""
        name = str(video["video_id"])
        if f"{name}.mp4" not in self.files:
            size = 12 * 1024 * 1024 if self.large_results else 4096
            self.files[f"{name}.mp4"] = (fake_mp4(name, size), "video/mp4")
            width, height = dimensions_for(video["params"]["aspect_ratio"], 64)
            self.add_png(f"{name}.png", name, (width, height))
        return {
            "video_url": f"{self.base_url}/files/{name}.mp4",
            "thumbnail_url": f"{self.base_url}/files/{name}.png",
        }
