"""Nano Banana (provider document 001): images from text or one reference image, videos from
text or a start image, account credits, a cost preview and a model list.

Where the document is silent or contradicts itself, and what this adapter does about it:

- No host is named, so the base URL is required (``default_base_url = None``).
- No prompt length limit is given. MAX_PROMPT_CHARS (2000) keeps a prompt inside one Discord
  message, which is where the bot echoes it, and well inside what these models accept.
- No typical generation times are given. TYPICAL_SECONDS holds our estimates from these models'
  usual turnaround (images 15-30 s, videos 60-180 s); they only steer the first poll.
- Image prices come from the model table (see IMAGE_PRICES for how each cell is read). The
  calculate-cost example (nano-banana-pro, 2 images at 2K -> 16 credits) does not follow from
  the table (no 2K surcharge is listed for nano-banana-pro: 2 x 6 = 12). We encode the table;
  the engine settles on the ``credits_used`` the API reports.
- No defaults are documented for resolution, quality, duration or audio. The adapter always
  sends them explicitly (the model's defaults below: 1K, "standard", the shortest duration,
  720p, audio off where optional) so the price estimated is the price of what is submitted.
- Video prices: only veo-3.1-fast has a table; every other model is priced by calculate-cost,
  whose video body is not shown. We send ``type: "video"`` with both ``model`` (as in the
  image example) and ``model_id`` (as in videos/generate), plus duration, resolution and
  generate_audio, and read ``credits_needed``.
- Status bodies show one ``image_url`` / ``video_url`` even though num_images may be 4, and no
  failure reason. Results are read tolerantly: ``image_url(s)``, ``video_url(s)``, ``images`` /
  ``videos`` (strings or ``{"url": ...}``), ``url(s)``, ``result_url``, ``output``, also inside
  a nested ``result``; failures from ``error`` (string or ``{code, message}``),
  ``error_message``, ``message`` or ``fail_reason``. A finished task with no URL is reported as
  failed rather than polled until the deadline.
- Only the image status words ("completed", "failed") and the video word "succeeded" are
  documented; normalise_state covers the rest.
- Errors not in the table (other 4xx) are BadRequest; a 200 with ``success: false`` is an
  error too, typed by its code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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
    AuthError,
    BadRequest,
    ContentFiltered,
    NotFound,
    OutcomeUnknown,
    OutOfProviderCredits,
    ProviderError,
    RateLimited,
    UpstreamError,
)
from providers.http import Purpose, json_body, redact
from providers.wire import build_error, error_class, filter_words, number

IMAGE_GENERATE_PATH = "/api/v1/images/generate"
IMAGE_STATUS_PATH = "/api/v1/images/status"
VIDEO_GENERATE_PATH = "/api/v1/videos/generate"
VIDEO_STATUS_PATH = "/api/v1/videos/status"
CREDITS_PATH = "/api/v1/account/credits"
COST_PATH = "/api/v1/account/calculate-cost"
MODELS_PATH = "/api/v1/models"

MAX_PROMPT_CHARS = 2000  # not documented; see module docstring
MAX_IMAGES = 4  # "num_images: 1 - 4"
HD_SURCHARGE = 2  # "hd +2 credits", read as per image (then "x num_images")
DEFAULT_IMAGE_RESOLUTION = "1K"
DEFAULT_VIDEO_RESOLUTION = "720p"  # every video model offers it
DEFAULT_VIDEO_ASPECT = "16:9"  # every video model offers it

BASIC_ASPECTS = ("1:1", "3:4", "4:3", "9:16", "16:9")
WIDE_ASPECTS = ("1:1", "3:2", "2:3", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
AUDIO_WORDS = {"Yes": "optional", "No": "no", "Always on": "always"}

# Image model table: id -> (name, resolutions, aspect ratios, subscription required).
IMAGE_TABLE: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], bool]] = {
    "nano-banana": ("Nano Banana", (), BASIC_ASPECTS, False),
    "nano-banana-pro": ("Nano Banana Pro", ("1K", "2K", "4K"), WIDE_ASPECTS, False),
    "nano-banana-2": ("Nano Banana 2", ("1K", "2K", "4K"), WIDE_ASPECTS, True),
    "seedream4": ("SeeDream 4", (), BASIC_ASPECTS, True),
}
# "Base Credits" per image: (text mode, image mode, surcharge by resolution). A single number
# ("6", "4") applies to both modes; "(+4 for 2K, +14 for 4K)" is added to the mode's base, per
# image; resolutions without a stated surcharge (1K, and 2K on nano-banana-pro) add nothing.
IMAGE_PRICES: dict[str, tuple[int, int, dict[str, int]]] = {
    "nano-banana": (1, 2, {}),
    "nano-banana-pro": (6, 6, {"4K": 14}),
    "nano-banana-2": (4, 8, {"2K": 4, "4K": 14}),
    "seedream4": (4, 4, {}),
}
# Video model table: id -> (name, resolutions, aspect ratios, durations, audio column).
_HD, _WIDE_TALL, _WTS = ("720p", "1080p"), ("16:9", "9:16"), ("16:9", "9:16", "1:1")
VIDEO_TABLE: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], tuple[int, ...], str]] = {
    "veo-3.1-fast": ("VEO 3.1 Fast", _HD, _WIDE_TALL, (4, 6, 8), "Yes"),
    "veo-3.1": ("VEO 3.1", _HD, _WIDE_TALL, (4, 6, 8), "Yes"),
    "seedance-1.5-fast": ("Seedance 1.5 Fast", _HD, _WTS, (4, 8, 12), "Yes"),
    "seedance-1.5": ("Seedance 1.5 Pro", _HD, _WTS, (4, 8, 12), "Yes"),
    "seedance-2.0": ("Seedance 2.0", ("480p", "720p"), (*_WTS, "4:3"), (5, 10, 15), "Yes"),
    "wan-2.5": ("Wan 2.5", ("480p", *_HD), _WIDE_TALL, (5, 10), "No"),
    "sora-2": ("Sora 2", ("720p",), _WIDE_TALL, (4, 8, 12), "Always on"),
    "sora-2-pro": ("Sora 2 Pro", _HD, _WIDE_TALL, (4, 8, 12), "Always on"),
    "kling-o3-std": ("Kling O3", ("720p",), _WTS, (5, 10), "Yes"),
    "kling-o3-pro": ("Kling O3 Pro", ("720p",), _WTS, (5, 10), "Yes"),
    "grok-video": ("Grok Video", ("480p", "720p"), _WTS, (6, 10), "No"),
}
# The one printed video price table: (resolution, audio) -> {seconds: credits}.
VEO_FAST_PRICES: dict[tuple[str, bool], dict[int, int]] = {
    ("720p", False): {4: 10, 6: 15, 8: 20},
    ("720p", True): {4: 15, 6: 20, 8: 30},
    ("1080p", False): {4: 15, 6: 20, 8: 25},
    ("1080p", True): {4: 20, 6: 25, 8: 35},
}
# Our estimates of when a result is usually ready (not documented).
TYPICAL_SECONDS: dict[str, float] = {
    "nano-banana": 15, "nano-banana-pro": 30, "nano-banana-2": 25, "seedream4": 20,
    "veo-3.1-fast": 60, "veo-3.1": 120, "seedance-1.5-fast": 60, "seedance-1.5": 120,
    "seedance-2.0": 150, "wan-2.5": 120, "sora-2": 150, "sora-2-pro": 180,
    "kling-o3-std": 120, "kling-o3-pro": 180, "grok-video": 90,
}  # fmt: skip

_PROVIDER = "nanobanana"
_CODE_ERRORS: dict[str, type[ProviderError]] = {
    "UNAUTHORIZED": AuthError,
    "INSUFFICIENT_CREDITS": OutOfProviderCredits,
    "FORBIDDEN": AuthError,
    "RATE_LIMIT_EXCEEDED": RateLimited,
    "INVALID_PROMPT": BadRequest,
    "INVALID_MODEL": BadRequest,
    "TASK_NOT_FOUND": NotFound,
    "CONTENT_FILTERED": ContentFiltered,
    "INTERNAL_ERROR": UpstreamError,
}
_STATUS_ERRORS: dict[int, type[ProviderError]] = {451: ContentFiltered}  # beyond HTTP's own
_RESULT_FIELDS = {
    Kind.IMAGE: ("image_url", "image_urls", "images"),
    Kind.VIDEO: ("video_url", "video_urls", "videos"),
}
_FILTER_WORDS = filter_words("content_filtered", "content filter", "moderation")


def _build_models() -> tuple[ModelSpec, ...]:
    images = [
        ModelSpec(
            id=model_id, name=name, provider=_PROVIDER, kind=Kind.IMAGE,
            aspect_ratios=aspects, resolutions=resolutions, qualities=("standard", "hd"),
            formats=("png", "jpeg"), max_count=MAX_IMAGES, max_references=1,
            max_prompt_chars=MAX_PROMPT_CHARS,
            default_resolution=DEFAULT_IMAGE_RESOLUTION if resolutions else None,
            typical_seconds=TYPICAL_SECONDS[model_id],
            note="subscription required" if subscription else "",
        )
        for model_id, (name, resolutions, aspects, subscription) in IMAGE_TABLE.items()
    ]  # fmt: skip
    videos = [
        ModelSpec(
            id=model_id, name=name, provider=_PROVIDER, kind=Kind.VIDEO,
            aspect_ratios=aspects, resolutions=resolutions, durations=durations,
            audio=AUDIO_WORDS[audio], max_references=1, negative_prompt=True,
            max_prompt_chars=MAX_PROMPT_CHARS, default_aspect_ratio=DEFAULT_VIDEO_ASPECT,
            default_resolution=DEFAULT_VIDEO_RESOLUTION, default_duration=min(durations),
            typical_seconds=TYPICAL_SECONDS[model_id],
        )
        for model_id, (name, resolutions, aspects, durations, audio) in VIDEO_TABLE.items()
    ]  # fmt: skip
    return (*images, *videos)


MODELS = _build_models()


def error_from(
    response: httpx.Response, body: dict[str, Any], *, secret: str = ""
) -> ProviderError | None:
    """The typed error a response stands for, or None when it is a success.

    An error is an HTTP status >= 400 or a body with ``success: false``. A documented code
    decides the class; otherwise the status does (other 4xx: BadRequest, 5xx and unknown codes
    in a 200: UpstreamError). ``body`` is the response's JSON object (``json_body``);
    ``secret`` is blanked out of the provider's message.
    """
    status = response.status_code
    if status < 400 and body.get("success") is not False:
        return None
    error = body.get("error")
    if not isinstance(error, dict):
        error = {"message": error}
    code = str(error.get("code") or "") or None
    message = str(error.get("message") or body.get("message") or f"HTTP {status}")
    message = redact(message, secret)
    cls = _CODE_ERRORS.get(code or "") or error_class(status, _STATUS_ERRORS)
    return build_error(
        cls, message, provider=_PROVIDER, status=status, code=code, headers=response.headers
    )


def image_price(request: GenerationRequest) -> int:
    """Provider credits for an image request, from the model table (see IMAGE_PRICES)."""
    text, image, surcharges = IMAGE_PRICES[request.model]
    per_image = image if request.reference_urls else text
    per_image += surcharges.get(request.resolution or DEFAULT_IMAGE_RESOLUTION, 0)
    if request.quality == "hd":
        per_image += HD_SURCHARGE
    return per_image * request.count


def _urls(value: Any) -> list[str]:
    """URLs in a string, a {"url": ...} object or a list of either."""
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, dict):
        return _urls(value.get("url"))
    if isinstance(value, list):
        return [url for item in value for url in _urls(item)]
    return []


def _media_urls(data: dict[str, Any], kind: Kind) -> list[str]:
    """Every result URL the status body names, in order, without repeats."""
    found: list[str] = []
    for key in (*_RESULT_FIELDS[kind], "url", "urls", "result_url", "output"):
        found += _urls(data.get(key))
    if not found and isinstance(data.get("result"), dict):
        found = _media_urls(data["result"], kind)
    return list(dict.fromkeys(found))


def _progress(value: Any) -> int | None:
    """0-100 from a number or a string such as "45" or "45%"; None when absent or unreadable."""
    try:
        return max(0, min(100, round(float(str(value).rstrip("%")))))
    except (TypeError, ValueError):
        return None


def _failure(data: dict[str, Any]) -> tuple[str, type[Exception] | None]:
    """A failed task's reason, and ContentFiltered when it reads like a safety refusal."""
    error = data.get("error")
    code = str(error.get("code") or "") if isinstance(error, dict) else ""
    message = error.get("message") if isinstance(error, dict) else error
    for fallback in ("error_message", "message", "fail_reason"):
        message = message or data.get(fallback)
    message = str(message or "the provider reported the task as failed")
    return message, ContentFiltered if _FILTER_WORDS.search(f"{code} {message}") else None


class NanoBananaProvider(Provider):
    """Adapter for document 001. One request per call; retries and deadlines are the engine's."""

    id = "nanobanana"
    default_base_url = None
    limits = Limits(requests_per_minute=60)  # "60 requests per minute per API key"

    def __init__(
        self, config: ProviderConfig, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        super().__init__(config)
        if not config.base_url:
            raise ValueError("NANOBANANA_BASE_URL is required: the document names no host")
        self._http = self._connect(
            config.base_url, {"Authorization": f"Bearer {config.api_key}"}, transport
        )
        self._models: tuple[ModelSpec, ...] = MODELS

    def models(self) -> Sequence[ModelSpec]:
        return self._models

    async def refresh_models(self) -> None:
        """Keep the documented models the account lists, per kind. A kind the answer leaves
        out keeps its table; a failed call raises and leaves everything as it was."""
        data = await self._call("GET", MODELS_PATH, purpose=Purpose.LOOKUP)
        listed: dict[Kind, set[str]] = {}
        for kind, key in ((Kind.IMAGE, "image_models"), (Kind.VIDEO, "video_models")):
            if isinstance(data.get(key), list):
                listed[kind] = {
                    str(m.get("id") if isinstance(m, dict) else m) for m in data[key] if m
                }
        self._models = tuple(m for m in MODELS if m.kind not in listed or m.id in listed[m.kind])

    async def estimate_cost(self, request: GenerationRequest) -> float:
        spec = self._spec(request)
        if request.kind is Kind.IMAGE:
            return float(image_price(request))
        body = self._video_body(request, spec)
        fields = ("model_id", "duration", "resolution", "aspect_ratio", "generate_audio")
        preview = {"type": "video", "model": spec.id} | {k: body[k] for k in fields if k in body}
        try:
            data = await self._call("POST", COST_PATH, json=preview, purpose=Purpose.LOOKUP)
            cost = number(data.get("credits_needed", data.get("credits", data.get("cost"))))
            if cost is None:
                raise UpstreamError("calculate-cost gave no credits_needed", provider=self.id)
            return cost
        except ProviderError:
            table = self.table_cost(request)
            if table is None:
                raise
            return table

    def table_cost(self, request: GenerationRequest) -> float | None:
        """Images from the model table; videos only where printed (veo-3.1-fast)."""
        spec = next((m for m in MODELS if m.id == request.model), None)
        if spec is None or spec.kind is not request.kind:
            return None
        if request.kind is Kind.IMAGE:
            return float(image_price(request))
        body = self._video_body(request, spec)
        table = VEO_FAST_PRICES.get((body["resolution"], bool(body.get("generate_audio"))))
        if spec.id != "veo-3.1-fast" or not table or body["duration"] not in table:
            return None
        return float(table[body["duration"]])

    async def submit(
        self, request: GenerationRequest, *, callback_url: str | None = None
    ) -> Submission:
        """The document offers no callbacks, so ``callback_url`` is ignored."""
        spec = self._spec(request)
        if request.kind is Kind.IMAGE:
            path, body = IMAGE_GENERATE_PATH, self._image_body(request, spec)
        else:
            path, body = VIDEO_GENERATE_PATH, self._video_body(request, spec)
        data = await self._call("POST", path, json=body)
        task_id = data.get("task_id") or data.get("id")
        if not task_id:
            raise OutcomeUnknown("the API accepted the task but sent no task_id", provider=self.id)
        return Submission(task_id=str(task_id), cost=number(data.get("credits_used")))

    async def status(self, task_id: str, request: GenerationRequest) -> TaskStatus:
        path = IMAGE_STATUS_PATH if request.kind is Kind.IMAGE else VIDEO_STATUS_PATH
        data = await self._call("GET", path, params={"task_id": task_id}, purpose=Purpose.STATUS)
        state = normalise_state(data.get("status"))
        progress = _progress(data.get("progress"))
        cost = number(data.get("credits_used"))
        if state is TaskState.FAILED:
            message, error_type = _failure(data)
            return TaskStatus(state, progress, error=message, error_type=error_type, cost=cost)
        if state is not TaskState.SUCCEEDED:
            return TaskStatus(state, progress, cost=cost)
        urls = _media_urls(data, request.kind)
        if not urls:
            return TaskStatus(
                TaskState.FAILED,
                progress,
                error="finished without a result URL",
                error_type=UpstreamError,
                cost=cost,
            )
        if request.kind is Kind.VIDEO:
            thumb = data.get("thumbnail_url") or data.get("cover_url")
            media = tuple(Media(u, thumbnail_url=thumb, content_type="video/mp4") for u in urls)
        else:
            hint = "image/jpeg" if request.output_format == "jpeg" else "image/png"
            media = tuple(Media(u, content_type=hint) for u in urls)
        return TaskStatus(TaskState.SUCCEEDED, progress, media=media, cost=cost)

    async def balance(self) -> float | None:
        data = await self._call("GET", CREDITS_PATH, purpose=Purpose.LOOKUP)
        credits = number(data.get("credits"))
        if credits is None:
            raise UpstreamError("account/credits gave no credits", provider=self.id)
        return credits

    # -- wire format -------------------------------------------------------------------------

    def _spec(self, request: GenerationRequest) -> ModelSpec:
        spec = next((m for m in MODELS if m.id == request.model), None)
        if spec is None or spec.kind is not request.kind:
            raise BadRequest(f"unknown {request.kind} model {request.model!r}", provider=self.id)
        return spec

    @staticmethod
    def _image_body(request: GenerationRequest, spec: ModelSpec) -> dict[str, Any]:
        body: dict[str, Any] = {
            "prompt": request.prompt,
            "mode": "image" if request.reference_urls else "text",
            "model": spec.id,
            "num_images": request.count,
            "quality": request.quality or "standard",
        }
        if request.reference_urls:
            body["image_url"] = request.reference_urls[0]
        optional = {
            "aspect_ratio": request.aspect_ratio,
            "resolution": request.resolution or spec.default_resolution,
            "output_format": request.output_format,
        }
        body.update({k: v for k, v in optional.items() if v})
        return body

    @staticmethod
    def _video_body(request: GenerationRequest, spec: ModelSpec) -> dict[str, Any]:
        body: dict[str, Any] = {
            "prompt": request.prompt,
            "model_id": spec.id,
            "aspect_ratio": request.aspect_ratio or spec.default_aspect_ratio,
            "duration": request.duration or spec.default_duration,
            "resolution": request.resolution or spec.default_resolution,
        }
        if request.reference_urls:
            body["image_url"] = request.reference_urls[0]
        if spec.audio == "always" or request.audio:
            body["generate_audio"] = True
        elif spec.audio == "optional":
            body["generate_audio"] = False
        if request.negative_prompt:
            body["negative_prompt"] = request.negative_prompt
        return body

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """One request; the envelope's ``data`` (or the body itself when it has none)."""
        response = await self._http.request(method, path, **kwargs)
        body = json_body(response)
        error = error_from(response, body, secret=self.config.api_key)
        if error is not None:
            raise error
        data = body.get("data")
        return data if isinstance(data, dict) else body
