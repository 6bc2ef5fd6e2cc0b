"""Nano Banana Video (nanobananavideo.com), documents 000 and 002: videos only.

Two documents describe one service. 000 gives text-to-video, an image-to-video body with an
``image_urls`` list, the status endpoint, the error envelope, the credit formula and the
10-generations-per-30-minutes window. 002 re-documents image-to-video with a single
``image_url`` and a ``video_model`` (seedance2 / veo3 / sora2) plus ``motion_intensity``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urljoin

import httpx

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
    normalise_state,
)
from providers.errors import (
    BadRequest,
    ContentFiltered,
    NotFound,
    OutcomeUnknown,
    ProviderError,
    UpstreamError,
)
from providers.http import Purpose, json_body, redact
from providers.wire import build_error, error_class, filter_words, number

TEXT_TO_VIDEO = "/api/v1/text-to-video.php"
IMAGE_TO_VIDEO = "/api/v1/image-to-video.php"
VIDEO_STATUS = "/api/v1/video-status.php"
KEY_CHECK_VIDEO_ID = "0"  # no video has it; looked up only to see the key accepted

TEXT_MODEL = "nanobanana-video"  # 000 names no model; this id is ours
IMAGE_MODELS = ("seedance2", "veo3", "sora2")  # 002's video_model values

RESOLUTIONS = ("480p", "720p", "1080p")
# 002 lists these for Seedance; 000 says only "Various ratios supported" for text-to-video,
# so the text model offers the same set (the only ratios this service names anywhere).
SEEDANCE_RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4", "21:9")
MOTIONS = ("low", "medium", "high")
DURATIONS = tuple(range(3, 13))  # 3-12 s, both documents
MAX_PROMPT = 500  # 000's text-to-video limit; 002 names none, we keep the same ceiling

_CONTENT_FILTER = filter_words(
    r"content.?polic", "inappropriate", "moderation", "prohibited", "violat"
)


def _spec(model_id: str, name: str, **options: Any) -> ModelSpec:
    base: dict[str, Any] = {
        "provider": "nanobananavideo",
        "kind": Kind.VIDEO,
        "resolutions": RESOLUTIONS,
        "audio": "no",
        "max_prompt_chars": MAX_PROMPT,
        "default_aspect_ratio": "16:9",
        "max_references": 1,
    }
    base.update(options)
    return ModelSpec(id=model_id, name=name, **base)


# 002's image-to-video models first, seedance2 leading: it is that endpoint's own default
# video_model, so a command with an input image and no model (/animate) gets it, and its
# options (motion among them) are the ones offered. Without an image they cannot be used
# (requires_image) and the text model is the first that can.
MODELS: tuple[ModelSpec, ...] = (
    _spec(
        "seedance2",
        "Seedance 2.0",
        requires_image=True,
        aspect_ratios=SEEDANCE_RATIOS,
        durations=DURATIONS,
        motions=MOTIONS,
        default_resolution="480p",
        default_duration=5,
        typical_seconds=90.0,
    ),
    _spec(
        "veo3",
        "Veo 3",
        requires_image=True,
        aspect_ratios=("16:9",),
        durations=(8,),
        motions=MOTIONS,
        default_resolution="480p",
        default_duration=8,
        typical_seconds=90.0,
        note="fixed 8 s",
    ),
    _spec(
        "sora2",
        "Sora 2",
        requires_image=True,
        aspect_ratios=("16:9",),
        durations=(10, 15),
        motions=MOTIONS,
        default_resolution="480p",
        default_duration=10,
        typical_seconds=120.0,
        note="10 or 15 s",
    ),
    _spec(
        TEXT_MODEL,
        "Nano Banana Video",
        aspect_ratios=SEEDANCE_RATIOS,
        durations=DURATIONS,
        default_resolution="720p",
        default_duration=5,
        typical_seconds=60.0,
        note="text-to-video; an image is sent as 000's image_urls",
    ),
)


def credit_cost(resolution: str, duration: int) -> int:
    """000's formula: base 5, +2 for 1080p, +1 per second over 5 (002's example agrees:
    720p/6 s = 6)."""
    return 5 + (2 if resolution == "1080p" else 0) + max(0, duration - 5)


class NanoBananaVideoProvider(Provider):
    """Adapter for nanobananavideo.com.

    Models: ``nanobanana-video`` is 000's text-to-video (given an image it uses 000's
    image-to-video body with ``image_urls: [url]``); ``seedance2``, ``veo3`` and ``sora2`` are
    002's image-to-video models (an image is required, the prompt is creative direction).
    Every body carries every option explicitly, so the server's per-document defaults (720p in
    000, 480p in 002, a default of 5 s that Sora does not accept) never decide anything.

    Auth: the ``X-API-Key`` header only. The document also allows ``Authorization: Bearer``
    and ``?api_key=``; the query form would put the key into URLs and logs.

    ``window``: the last ``rate_limit`` object the API returned (``{"count", "limit",
    "remaining"}`` as ints), from a submit or a 429, else None. The engine reads it to respect
    the live generation window, which may differ from the documented 10 per 30 minutes
    (002's example shows a limit of 30).

    Gaps in the documents, and what we do:
    - The status response body is undocumented beyond the words queued / processing /
      completed / failed. We read it tolerantly: fields at the top level or under ``data`` or
      ``video``; the link from ``video_url``, ``url`` or ``output_url``; ``thumbnail_url``;
      ``progress``; failure text from ``error`` or ``message``. Relative links are resolved
      against the base URL. "completed" without a link counts as still running (the job
      deadline bounds the wait) rather than a failure the user would be refunded for.
    - The submit response example already carries ``video_url``; the API also has a status
      endpoint. A submit counts as finished only when its link is an http(s) URL and no status
      word says otherwise.
    - 000's error table is empty: standard HTTP meanings apply (see ``_error``).
    """

    id = "nanobananavideo"
    default_base_url = "https://nanobananavideo.com"
    limits = Limits(window_generations=10, window_seconds=1800)

    def __init__(
        self, config: ProviderConfig, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        super().__init__(config)
        self.base_url = (config.base_url or self.default_base_url or "").rstrip("/")
        self.window: dict[str, int] | None = None
        self._http = self._connect(self.base_url, {"X-API-Key": config.api_key}, transport)

    def models(self) -> Sequence[ModelSpec]:
        return MODELS

    async def estimate_cost(self, request: GenerationRequest) -> float:
        spec = self._spec_for(request)
        resolution = request.resolution or spec.default_resolution or "720p"
        duration = request.duration or spec.default_duration or 5
        return float(credit_cost(resolution, duration))

    async def submit(
        self, request: GenerationRequest, *, callback_url: str | None = None
    ) -> Submission:
        """One POST. ``callback_url`` is ignored: neither document offers callbacks."""
        path, body = self._body(request)
        response = await self._http.request("POST", path, json=body)
        # A 2xx we cannot read may still have started a paid task: never safe to repeat.
        data = self._checked(response, unreadable=OutcomeUnknown)
        video_id = data.get("video_id")
        if video_id is None or video_id == "":
            raise OutcomeUnknown(
                "submit answered without a video_id", provider=self.id, status=response.status_code
            )
        cost = _number(data.get("credits_used"))
        done = self._read_status(data, cost)
        finished = done.state is TaskState.SUCCEEDED and done.media
        return Submission(task_id=str(video_id), cost=cost, status=done if finished else None)

    async def status(self, task_id: str, request: GenerationRequest) -> TaskStatus:
        response = await self._http.request(
            "GET", VIDEO_STATUS, params={"video_id": task_id}, purpose=Purpose.STATUS
        )
        data = self._checked(response)
        return self._read_status(data, _number(_pick(data, "credits_used")))

    async def check_key(self) -> str:
        """Neither document offers a balance or a model list, and every endpoint checks the
        key first: the status of a video that cannot exist is "not found" for a good key."""
        response = await self._http.request(
            "GET", VIDEO_STATUS, params={"video_id": KEY_CHECK_VIDEO_ID}, purpose=Purpose.LOOKUP
        )
        try:
            self._checked(response)
        except (NotFound, BadRequest):
            pass  # the key got past authentication; only the made-up id was refused
        return "the key was accepted (this API shows no balance)"

    # -- request building -------------------------------------------------------------

    def _spec_for(self, request: GenerationRequest) -> ModelSpec:
        spec = self.model(request.model)
        if spec is None:
            raise BadRequest(f"unknown model {request.model!r}", provider=self.id)
        return spec

    def _body(self, request: GenerationRequest) -> tuple[str, dict[str, Any]]:
        spec = self._spec_for(request)
        common = {
            "resolution": request.resolution or spec.default_resolution,
            "duration": request.duration or spec.default_duration,
            "aspect_ratio": request.aspect_ratio or spec.default_aspect_ratio,
        }
        if spec.id == TEXT_MODEL:
            if not request.reference_urls:
                return TEXT_TO_VIDEO, {"prompt": request.prompt, **common}
            # 000's image-to-video: documented fields plus aspect_ratio, which 002 documents
            # for the same endpoint.
            body: dict[str, Any] = {"image_urls": list(request.reference_urls)}
        elif request.reference_urls:
            body = {"image_url": request.reference_urls[0], "video_model": spec.id}
        else:
            raise BadRequest(f"{spec.id} needs a source image", provider=self.id)
        if request.prompt:  # optional with an image; the server supplies its own direction
            body["prompt"] = request.prompt
        body.update(common)
        if spec.id == TEXT_MODEL:
            return IMAGE_TO_VIDEO, body
        body["motion_intensity"] = request.motion or "medium"
        return IMAGE_TO_VIDEO, body

    # -- response reading -------------------------------------------------------------

    def _checked(
        self, response: httpx.Response, *, unreadable: type[ProviderError] = UpstreamError
    ) -> dict[str, Any]:
        """The JSON body of a successful answer; any failure raises through ``_error``."""
        data = json_body(response)
        self._note_window(data, response.headers)
        if response.status_code >= 400 or data.get("success") is False:
            raise self._error(response.status_code, data, response.headers)
        if not data:
            raise unreadable(
                "answer was not a JSON object", provider=self.id, status=response.status_code
            )
        return data

    def _error(self, status: int, data: dict[str, Any], headers: httpx.Headers) -> ProviderError:
        """The one place the envelope ``{"success": false, "error": "..."}`` becomes a typed
        error. 000's status-code table is empty, so codes keep their standard meaning (a 429
        without Retry-After waits on ``self.window`` and the engine's backoff); a failure
        inside a 2xx is a BadRequest, and a refusal worded like a filter's is ContentFiltered."""
        text = self._scrub(_text(data.get("error")) or _text(data.get("message")))
        message = text or f"request failed with HTTP {status}"
        cls = BadRequest if status < 400 else error_class(status, {451: ContentFiltered})
        if status in (200, 400, 422) and _CONTENT_FILTER.search(text):
            cls = ContentFiltered
        return build_error(cls, message, provider=self.id, status=status, headers=headers)

    def _note_window(self, data: dict[str, Any], headers: httpx.Headers) -> None:
        limit = data.get("rate_limit")
        if isinstance(limit, dict):
            values = {k: _number(limit.get(k)) for k in ("count", "limit", "remaining")}
        else:  # 000: "Rate limit information is included in error responses" (headers)
            values = {
                "limit": _number(headers.get("x-ratelimit-limit")),
                "remaining": _number(headers.get("x-ratelimit-remaining")),
            }
            if values["limit"] is not None and values["remaining"] is not None:
                values["count"] = values["limit"] - values["remaining"]
        window = {k: int(v) for k, v in values.items() if v is not None}
        if {"limit", "remaining"} <= window.keys():
            window.setdefault("count", window["limit"] - window["remaining"])
            self.window = window

    def _read_status(self, data: dict[str, Any], cost: float | None) -> TaskStatus:
        word = _text(_pick(data, "status", "state"))
        url = self._absolute(_pick(data, "video_url", "url", "output_url"))
        thumb = self._absolute(_pick(data, "thumbnail_url", "thumbnail"))
        state = normalise_state(word) if word else TaskState.RUNNING
        if not word and url:
            state = TaskState.SUCCEEDED
        if state is TaskState.FAILED:
            reason = self._scrub(_text(_pick(data, "error", "message"))) or "generation failed"
            kind = ContentFiltered if _CONTENT_FILTER.search(reason) else None
            return TaskStatus(state, error=reason, error_type=kind, cost=cost)
        if state is TaskState.SUCCEEDED:
            if url:
                media = (Media(url, thumbnail_url=thumb, content_type="video/mp4"),)
                return TaskStatus(state, progress=100, media=media, cost=cost)
            state = TaskState.RUNNING  # "completed" without a link: see class docstring
        progress = _number(_pick(data, "progress"))
        if progress is not None:
            progress = int(min(max(progress * 100 if 0 < progress < 1 else progress, 0), 99))
        elif state is TaskState.QUEUED:
            progress = 0
        return TaskStatus(state, progress=progress, cost=cost)

    def _absolute(self, value: Any) -> str | None:
        link = _text(value)
        if link.startswith(("https://", "http://")):
            return link
        if link.startswith("/"):
            return urljoin(self.base_url + "/", link)
        return None

    def live_window(self) -> tuple[int | None, int | None] | None:
        if not self.window:
            return None
        return self.window.get("limit"), self.window.get("remaining")

    def _scrub(self, text: str) -> str:
        return redact(text, self.config.api_key)


def _pick(data: dict[str, Any], *keys: str) -> Any:
    """First present value for ``keys`` at the top level, then under ``data``/``video``."""
    for scope in (data, data.get("data"), data.get("video")):
        if isinstance(scope, dict):
            for key in keys:
                if scope.get(key) not in (None, ""):
                    return scope[key]
    return None


def _number(value: Any) -> float | None:
    """A number, where this API may write a percentage as "45%"."""
    return number(value.strip().rstrip("%") if isinstance(value, str) else value)


def _text(value: Any) -> str:
    if isinstance(value, dict):  # {"error": {"message": "..."}}
        value = value.get("message") or value.get("error")
    return str(value).strip() if value not in (None, "") else ""
