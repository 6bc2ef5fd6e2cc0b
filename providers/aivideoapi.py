"""Adapter for AI Video API (document 003): `nano-banana-2` images, task query, callbacks.

The document fixes the paths (POST /v1/images/generations, GET /v1/tasks/{taskId}), Bearer auth,
the per-resolution price (16/24/36 credits for 1K/2K/4K), the status words (pending ->
processing -> completed | failed), the error envelope {"error": {"code", "message", "type"}} with
its table, and that callbacks POST the task-query body. Where it is silent, this adapter reads as
follows:

- Create responses come in a {"code": 200, "msg", "data": {"taskId"}} wrapper. A body whose
  ``code`` is not 200 is an error named by that number, as if it were the HTTP status. The task id
  is also read from ``data.task_id`` / ``data.id``. A 2xx answer without any id raises
  OutcomeUnknown: a task may exist and be charged, so the engine must not submit again.
- One task makes one image (``output.urls`` has one entry in every example), so ``max_count`` = 1.
- No cost is ever reported: Submission.cost and TaskStatus.cost stay None and the engine charges
  the documented price (estimate_cost). Failed tasks are refunded by the provider.
- Progress is not reported. ``costTime`` in ``output.metadata`` has no documented unit; unused.
- Failures name only a code and a message. The 503 section says an upstream error may mean
  "sensitive or prohibited content", so a failure (or an error response) whose code or message
  speaks of prohibited/sensitive/filtered content becomes ContentFiltered; any other failure
  keeps the provider's message with the class its code names (upstream_error -> UpstreamError).
- ``model_not_found`` (404) becomes BadRequest, not NotFound: it refuses a request, it does not
  mean a task vanished, and NotFound from status() is how the engine learns the latter.
- ``spend_limit_exceeded`` (429) becomes OutOfProviderCredits, not RateLimited: it is an
  hourly/daily/total billing cap on the key, and retrying after Retry-After would not help.
- GET /v1/credits is named (in the 402 text) but its body is not shown: the balance is read from
  data.credits, credits, balance or data.balance, else None.
- Callbacks carry no signature, so anyone who learns the URL can post one: the engine reads a
  callback only as a prompt to call status() (jobs/callbacks.py), never its body.
- Result URLs are permanent (media_ttl None). The file type is only guessed from the URL suffix.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote, urlsplit

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
from providers.tunables import MESSAGE_LIMIT
from providers.wire import STATUS_ERRORS, build_error, error_class, filter_words, first_number

MODEL_ID = "nano-banana-2"
CREATE_PATH = "/v1/images/generations"
TASK_PATH = "/v1/tasks/{task_id}"
CREDITS_PATH = "/v1/credits"

ASPECT_RATIOS = (
    "1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9",
    "1:4", "4:1", "1:8", "8:1", "auto",
)  # fmt: skip
PRICES = {"1K": 16, "2K": 24, "4K": 36}  # credits per task, by resolution
FORMATS = ("jpg", "png")
FORMAT_ALIASES = {"jpeg": "jpg"}  # the bot's `format` option may say jpeg
MAX_REFERENCES = 14
MAX_PROMPT_CHARS = 20_000
TYPICAL_SECONDS = 15.0  # a Gemini Flash image; the document's example finished in 2 s

# Error codes from the document's table; code decides before the HTTP status does.
_CODE_ERRORS: dict[str, type[ProviderError]] = {
    "invalid_request": BadRequest,
    "invalid_api_key": AuthError,
    "insufficient_credits": OutOfProviderCredits,
    "ip_not_allowed": AuthError,
    "model_not_found": BadRequest,
    "task_not_found": NotFound,
    "rate_limit_exceeded": RateLimited,
    "spend_limit_exceeded": OutOfProviderCredits,
    "internal_error": UpstreamError,
    "upstream_error": UpstreamError,
}
_STATUS_ERRORS: dict[int, type[ProviderError]] = {422: BadRequest}  # beyond HTTP's own
_TYPE_ERRORS: dict[str, type[ProviderError]] = {
    "invalid_request_error": BadRequest,
    "authentication_error": AuthError,
    "permission_error": AuthError,
    "billing_error": OutOfProviderCredits,
    "rate_limit_error": RateLimited,
    "api_error": UpstreamError,
    "upstream_error": UpstreamError,
}
# Words by which a refusal says the prompt or image was judged unacceptable.
# The 503 section's "sensitive or prohibited content", and the words filters commonly use.
_FILTER_WORDS = filter_words(
    "prohibit", "sensitive", r"content[ _-]?(?:policy|filter)", "filtered", "moderat",
    "inappropriate", "violat",
)  # fmt: skip
_CONTENT_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
}
_KEY_LIKE = re.compile(r"sk-[A-Za-z0-9_\-]{4,}")


def _redact(text: str, secret: str) -> str:
    """Remove the API key (and anything shaped like one) from a provider's words."""
    return _KEY_LIKE.sub("sk-[redacted]", redact(text, secret))[:MESSAGE_LIMIT]


def _error_class(status: int | None, code: str | None, kind: str | None) -> type[ProviderError]:
    """The document's code first, then the HTTP status, then the error type."""
    if code in _CODE_ERRORS:
        return _CODE_ERRORS[code]
    if status in STATUS_ERRORS or status in _STATUS_ERRORS or (status or 0) >= 500:
        return error_class(status, _STATUS_ERRORS)
    if kind in _TYPE_ERRORS:
        return _TYPE_ERRORS[kind]
    return error_class(status)


def make_error(
    status: int | None,
    code: str | None,
    message: str,
    *,
    kind: str | None = None,
    headers: httpx.Headers | None = None,
    secret: str = "",
) -> ProviderError:
    """Build the exception for one refusal; shared by HTTP errors, body codes and failed tasks."""
    cls = _error_class(status, code, kind)
    # A filter refusal arrives as a bad request or an upstream error; its words tell them apart.
    if cls in (BadRequest, UpstreamError) and _FILTER_WORDS.search(f"{code or ''} {message}"):
        cls = ContentFiltered
    text = _redact(message, secret) or "no message"
    return build_error(
        cls, text, provider=AIVideoAPIProvider.id, status=status, code=code, headers=headers
    )


def error_from_response(response: httpx.Response, *, secret: str = "") -> ProviderError:
    """Map any refusal (HTTP error, or a 2xx body whose ``code`` is not 200) to the hierarchy.

    Reads {"error": {"code", "message", "type"}} as documented, and tolerates {"error": "..."},
    {"code": 402, "msg": "..."}, {"message"/"detail": "..."} and non-JSON bodies.
    """
    body = json_body(response)
    status: int | None = response.status_code
    code = kind = None
    error = body.get("error")
    if isinstance(error, dict):
        code, kind = error.get("code"), error.get("type")
        message = error.get("message") or error.get("msg") or ""
    elif isinstance(error, str):
        message = error
    else:
        message = body.get("msg") or body.get("message") or body.get("detail") or ""
        if isinstance(body.get("code"), int) and body["code"] != 200:
            status = body["code"]  # a wrapper reporting failure inside a 2xx answer
        elif isinstance(body.get("code"), str):
            code = body["code"]
    if not body and not message:
        message = response.text.strip()[:100] or response.reason_phrase
    return make_error(
        status,
        str(code) if code is not None else None,
        str(message),
        kind=str(kind) if kind else None,
        headers=response.headers,
        secret=secret,
    )


def _is_refusal(response: httpx.Response, body: dict[str, Any]) -> bool:
    """True when an answer is a refusal: an HTTP error, or a wrapper whose code is not 200."""
    code = body.get("code")
    return response.is_error or (isinstance(code, int) and code != 200)


def _inner(body: dict[str, Any]) -> dict[str, Any]:
    """The ``data`` object of a {"code", "msg", "data"} wrapper, or {}."""
    inner = body.get("data")
    return inner if isinstance(inner, dict) else {}


def _content_type(url: str) -> str | None:
    """A hint from the URL's suffix; the document does not say what the files are served as."""
    return _CONTENT_TYPES.get(PurePosixPath(urlsplit(url).path).suffix.lower())


class AIVideoAPIProvider(Provider):
    """AI Video API: one image model, one image per task, results by polling or callback."""

    id = "aivideoapi"
    default_base_url = "https://api.aivideoapi.ai"
    limits = Limits()  # the document names no concurrency or request limit

    def __init__(
        self, config: ProviderConfig, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        super().__init__(config)
        self._http = self._connect(
            config.base_url or self.default_base_url or "",
            {"Authorization": f"Bearer {config.api_key}"},
            transport,
        )
        self._models = (
            ModelSpec(
                id=MODEL_ID,
                name="Nano Banana 2",
                provider=self.id,
                kind=Kind.IMAGE,
                aspect_ratios=ASPECT_RATIOS,
                resolutions=tuple(PRICES),
                formats=FORMATS,
                max_count=1,  # the API makes one image per task
                max_references=MAX_REFERENCES,
                max_prompt_chars=MAX_PROMPT_CHARS,
                default_aspect_ratio="auto",
                default_resolution="1K",
                typical_seconds=TYPICAL_SECONDS,
                media_ttl=None,  # "Image URLs are permanent."
                note="up to 14 reference images; one image per task",
            ),
        )

    def models(self) -> Sequence[ModelSpec]:
        return self._models

    async def estimate_cost(self, request: GenerationRequest) -> float:
        self._check(request)
        return float(PRICES[self._resolution(request)])

    async def submit(
        self, request: GenerationRequest, *, callback_url: str | None = None
    ) -> Submission:
        body: dict[str, Any] = {"model": MODEL_ID, "input": self._input(request)}
        if callback_url:
            body["callback_url"] = callback_url
        inner = _inner(await self._call("POST", CREATE_PATH, json=body))
        task_id = inner.get("taskId") or inner.get("task_id") or inner.get("id")
        if not task_id:
            raise OutcomeUnknown("the task was accepted without a task id", provider=self.id)
        return Submission(task_id=str(task_id))

    async def status(self, task_id: str, request: GenerationRequest) -> TaskStatus:
        path = TASK_PATH.format(task_id=quote(task_id, safe=""))
        return self._task_status(
            self._unwrap(await self._call("GET", path, purpose=Purpose.STATUS))
        )

    async def balance(self) -> float | None:
        body = await self._call("GET", CREDITS_PATH, purpose=Purpose.LOOKUP)
        inner = _inner(body)
        candidates = (inner.get("credits"), body.get("credits"), body.get("balance"))
        return first_number(*candidates, inner.get("balance"))

    # -- request and response shapes -------------------------------------------------------

    async def _call(
        self, method: str, path: str, *, json: Any = None, purpose: Purpose = Purpose.SUBMIT
    ) -> dict[str, Any]:
        """One request; its JSON object, or the mapped exception when it is a refusal."""
        response = await self._http.request(method, path, json=json, purpose=purpose)
        body = json_body(response)
        if _is_refusal(response, body):
            raise error_from_response(response, secret=self.config.api_key)
        return body

    def _check(self, request: GenerationRequest) -> None:
        """Refuse what this API cannot do; the cogs validate first, this guards the wire."""
        if request.kind is not Kind.IMAGE or request.model.removeprefix(f"{self.id}:") != MODEL_ID:
            raise BadRequest(f"{self.id} only makes {MODEL_ID} images", provider=self.id)
        if request.count != 1:
            raise BadRequest(f"{MODEL_ID} makes one image per task", provider=self.id)

    def _resolution(self, request: GenerationRequest) -> str:
        resolution = (request.resolution or "1K").upper()
        if resolution not in PRICES:
            raise BadRequest(f"resolution must be one of {', '.join(PRICES)}", provider=self.id)
        return resolution

    def _input(self, request: GenerationRequest) -> dict[str, Any]:
        self._check(request)
        fmt = (request.output_format or "jpg").lower()
        fmt = FORMAT_ALIASES.get(fmt, fmt)
        aspect = request.aspect_ratio or "auto"
        if fmt not in FORMATS:
            raise BadRequest(f"format must be one of {', '.join(FORMATS)}", provider=self.id)
        if aspect not in ASPECT_RATIOS:
            raise BadRequest(
                f"aspect ratio must be one of {', '.join(ASPECT_RATIOS)}", provider=self.id
            )
        if len(request.reference_urls) > MAX_REFERENCES:
            raise BadRequest(f"at most {MAX_REFERENCES} reference images", provider=self.id)
        payload: dict[str, Any] = {
            "prompt": request.prompt,
            "resolution": self._resolution(request),
            "aspect_ratio": aspect,
            "output_format": fmt,
        }
        if request.reference_urls:
            payload["image_urls"] = list(request.reference_urls)
        return payload

    @staticmethod
    def _unwrap(body: dict[str, Any]) -> dict[str, Any]:
        """The task object, whether bare (as documented) or inside a {"data": {...}} wrapper."""
        return body if "status" in body else _inner(body) or body

    def _task_status(self, task: dict[str, Any]) -> TaskStatus:
        state = normalise_state(task.get("status"))
        if state is TaskState.SUCCEEDED:
            output = task.get("output") if isinstance(task.get("output"), dict) else {}
            urls = output.get("urls") or ([output["url"]] if output.get("url") else [])
            media = tuple(Media(url=str(u), content_type=_content_type(str(u))) for u in urls if u)
            if media:
                return TaskStatus(state=state, progress=100, media=media)
            state, task = TaskState.FAILED, {"error": {"message": "completed without an image"}}
        if state is TaskState.FAILED:
            error = task.get("error")
            error = error if isinstance(error, dict) else {"message": error}
            code = error.get("code")
            message = str(error.get("message") or "task failed")
            exc = make_error(None, str(code) if code else None, message, secret=self.config.api_key)
            return TaskStatus(state=state, error=str(exc), error_type=type(exc))
        return TaskStatus(state=state)
