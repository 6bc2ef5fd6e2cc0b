"""NanaNoBanana (provider document 004): images from text or reference images, 1-4 per call.

The bot always submits in ``"async"`` mode and follows the record itself with the record query,
so no HTTP request is held open while an image renders and the engine's deadlines apply.

Where the document is silent, and what this adapter does about it:

- The async-mode response body is not shown. The record id is read from wherever a similar API
  would put it (``data.id``, ``id``, ``data.recordId``, ``data.record.id``, ...). A success answer
  without any id raises OutcomeUnknown: a paid record may exist that we cannot follow, and a
  resubmit could pay for a second one.
- Aspect ratios: only "defaults to 'default'" is documented. We offer "default" plus the common
  ratios in ASPECT_RATIOS; the server still has the last word (HTTP 400 -> BadRequest).
- Reference images: the document gives no cap; we accept up to MAX_REFERENCES.
- Pricing: "each additional reference image costs 1 extra credit" is read as *beyond the first*
  (one reference is what makes a request image-to-image), and "extra-image fees are included in
  the unit cost" as: the extra is added to the unit price before multiplying by quantity.
  So cost = (creditsCost + max(0, references - 1)) x quantity.
- An unknown record id has no documented answer; a 404 maps to NotFound.
- "API calls do not perform safety keyword checks", yet the model behind them can still refuse;
  a failed record whose errorMessage reads like a safety refusal is typed ContentFiltered.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from datetime import timedelta
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
from providers.errors import BadRequest, ContentFiltered, OutcomeUnknown, UpstreamError
from providers.http import Purpose, json_body, redact
from providers.wire import build_error, error_class, filter_words, number

GENERATE_PATH = "/api/v1/generate"
MODELS_PATH = "/api/v1/models"
CREDITS_PATH = "/api/v1/credits"

ASPECT_RATIOS = ("default", "1:1", "16:9", "9:16", "4:3", "3:4")  # only "default" is documented
MAX_QUANTITY = 4  # "range 1-backend limit (default max 4)"
MAX_REFERENCES = 4  # not documented; a conservative cap
MEDIA_TTL = timedelta(days=15)  # "Generated image URLs are valid for 15 days"
TYPICAL_SECONDS = 15.0  # not documented; nano-banana usually answers within seconds

# The one model the document names, in the shape of a /models entry, so the documented table
# and a refreshed one are built by the same code.
DOCUMENTED_MODELS: tuple[dict[str, Any], ...] = (
    {
        "name": "nano-banana",
        "displayName": "Nano Banana",
        "creditsCost": 1,
        "supportsImageInput": True,
        "supportsAspectRatio": True,
        "requiresPro": False,
    },
)

# Where an undocumented async answer might keep the record id, most likely first.
_RECORD_ID_PATHS: tuple[tuple[str, ...], ...] = (
    ("data", "id"),
    ("id",),
    ("data", "recordId"),
    ("recordId",),
    ("data", "record", "id"),
    ("record", "id"),
    ("data", "generationId"),
    ("generationId",),
    ("data", "taskId"),
    ("taskId",),
)

# The words of the document's error table (section 6), for answers without text of their own;
# its classes are HTTP's own meaning of each status (providers.wire.error_class).
_ERROR_TEXTS: dict[int, str] = {
    400: "invalid request parameters",
    401: "invalid or missing API key",
    402: "insufficient credits",
    403: "API access is not enabled for the account",
    404: "not found",
    429: "account concurrency limit exceeded",
    500: "internal server error",
    503: "server busy",
}

_SAFETY_WORDS = filter_words("content polic", "blocked", "inappropriate", "prohibited", "violat")


def _quantity(count: int) -> int:
    """The API clamps quantity to 1-4; so do we, so price and request agree."""
    return min(max(int(count), 1), MAX_QUANTITY)


def _dig(body: Any, path: Sequence[str]) -> Any:
    """Follow ``path`` through nested objects; a list stands for its first element."""
    node = body
    for key in path:
        if isinstance(node, list):
            node = node[0] if node else None
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _record_id(body: dict[str, Any]) -> str | None:
    for path in _RECORD_ID_PATHS:
        value = _dig(body, path)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return str(value)
    return None


def _record_of(body: dict[str, Any]) -> dict[str, Any]:
    """The generation record in a response: ``data``, ``data.record``, or the body itself."""
    data = body.get("data", body)
    if isinstance(data, list):
        data = data[0] if data else {}
    if not isinstance(data, dict):
        return {}
    record = data.get("record")
    return record if isinstance(record, dict) else data


def _parse_record(record: dict[str, Any]) -> TaskStatus:
    """A record (``processingStatus``, ``outputImageUrls``, ``errorMessage``, ``creditsUsed``)
    as a TaskStatus. ``imageUrls`` is accepted too: the document uses both names."""
    urls = record.get("outputImageUrls") or record.get("imageUrls") or ()
    if isinstance(urls, str):
        urls = (urls,)
    media = tuple(Media(url=u) for u in urls if isinstance(u, str) and u)
    state = normalise_state(record.get("processingStatus") or record.get("status"))
    error = record.get("errorMessage") or record.get("error")
    error = str(error) if error else None
    error_type = None
    if state is TaskState.FAILED and error and _SAFETY_WORDS.search(error):
        error_type = ContentFiltered
    return TaskStatus(
        state=state,
        media=media,
        error=error,
        error_type=error_type,
        cost=number(record.get("creditsUsed")),
    )


def _spec(entry: dict[str, Any]) -> ModelSpec:
    """A ModelSpec from a /models entry (or the documented one)."""
    return ModelSpec(
        id=entry["name"],
        name=str(entry.get("displayName") or entry["name"]),
        provider=NanaNoBananaProvider.id,
        kind=Kind.IMAGE,
        aspect_ratios=ASPECT_RATIOS if entry.get("supportsAspectRatio", True) else (),
        max_count=MAX_QUANTITY,
        max_references=MAX_REFERENCES if entry.get("supportsImageInput") else 0,
        default_aspect_ratio="default" if entry.get("supportsAspectRatio", True) else None,
        typical_seconds=TYPICAL_SECONDS,
        media_ttl=MEDIA_TTL,
        note="Pro required" if entry.get("requiresPro") else "",
    )


def _catalogue(entries: Iterable[Any]) -> tuple[tuple[ModelSpec, ...], dict[str, float]]:
    """Specs and per-model unit prices. Entries without a name or a numeric creditsCost are
    skipped: a model we cannot price must not be offered."""
    specs: list[ModelSpec] = []
    costs: dict[str, float] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            continue
        cost = number(entry.get("creditsCost"))
        if cost is None or cost < 0 or entry["name"] in costs:
            continue
        specs.append(_spec(entry))
        costs[entry["name"]] = cost
    return tuple(specs), costs


class NanaNoBananaProvider(Provider):
    id = "nananobanana"
    default_base_url = "https://www.nananobanana.com"
    limits = Limits(max_concurrency=1)  # "each account allows only 1 concurrent request"

    def __init__(
        self, config: ProviderConfig, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        super().__init__(config)
        self._http = self._connect(
            config.base_url or self.default_base_url or "",
            {"Authorization": f"Bearer {config.api_key}"},
            transport,
        )
        self._models, self._costs = _catalogue(DOCUMENTED_MODELS)

    # -- models and prices ------------------------------------------------------------------

    def models(self) -> Sequence[ModelSpec]:
        return self._models

    async def refresh_models(self) -> None:
        """Replace the table with the live /models list (no auth). On any failure, or a list
        with nothing usable in it, the current table stays and the error is raised."""
        response = await self._http.request("GET", MODELS_PATH, auth=False, purpose=Purpose.LOOKUP)
        self._raise_for(response)
        entries = json_body(response).get("data")
        specs, costs = _catalogue(entries if isinstance(entries, list) else ())
        if not specs:
            raise UpstreamError("the model list had no usable entries", provider=self.id)
        self._models, self._costs = specs, costs

    async def estimate_cost(self, request: GenerationRequest) -> float:
        unit = self._costs.get(request.model)
        if unit is None:
            raise BadRequest(f"unknown model {request.model!r}", provider=self.id)
        extra_references = max(0, len(request.reference_urls) - 1)
        return float((unit + extra_references) * _quantity(request.count))

    # -- tasks ------------------------------------------------------------------------------

    async def submit(
        self, request: GenerationRequest, *, callback_url: str | None = None
    ) -> Submission:
        """POST /api/v1/generate in async mode. The API has no callbacks; ``callback_url`` is
        ignored. The async answer's shape is undocumented (see the module docstring), so the
        record id is looked for in several places, and a record that is already finished is
        returned as ``Submission.status``."""
        body: dict[str, Any] = {
            "prompt": request.prompt,
            "selectedModel": request.model,
            "quantity": _quantity(request.count),
            "mode": "async",
        }
        if request.reference_urls:
            body["referenceImageUrls"] = list(request.reference_urls)
        if request.aspect_ratio:
            body["aspectRatio"] = request.aspect_ratio
        response = await self._http.request("POST", GENERATE_PATH, json=body)
        self._raise_for(response, submitting=True)
        answer = json_body(response)
        task_id = _record_id(answer)
        if task_id is None:
            raise OutcomeUnknown(
                "the generate answer carried no record id",
                provider=self.id,
                status=response.status_code,
            )
        status = _parse_record(_record_of(answer))
        done = status.state is TaskState.FAILED or (
            status.state is TaskState.SUCCEEDED and status.media
        )
        return Submission(task_id=task_id, cost=status.cost, status=status if done else None)

    async def status(self, task_id: str, request: GenerationRequest) -> TaskStatus:
        response = await self._http.request(
            "GET", GENERATE_PATH, params={"id": task_id}, purpose=Purpose.STATUS
        )
        self._raise_for(response)
        status = _parse_record(_record_of(json_body(response)))
        if status.state is TaskState.SUCCEEDED and not status.media:
            # "completed: outputImageUrls contains result images" - without any there is
            # nothing to deliver, and waiting longer will not change a finished record.
            return dataclasses.replace(
                status, state=TaskState.FAILED, error=status.error or "completed without images"
            )
        return status

    async def balance(self) -> float | None:
        response = await self._http.request("GET", CREDITS_PATH, purpose=Purpose.LOOKUP)
        self._raise_for(response)
        credits = number(_dig(json_body(response), ("data", "credits")))
        if credits is None:
            raise UpstreamError("the credits answer carried no balance", provider=self.id)
        return credits

    # -- errors -----------------------------------------------------------------------------

    def _raise_for(self, response: httpx.Response, *, submitting: bool = False) -> None:
        """Map an error answer onto the error hierarchy (document 004, section 6).

        Bodies are ``{"error": "text", "type": "..."}``; ``{"error": {"message", "type"}}`` is
        read too. On a submit, a 5xx other than 503 ("server busy", a refusal) raises
        OutcomeUnknown: the server may have created and charged the record before failing,
        so repeating the submit could pay twice.
        """
        code = response.status_code
        if code < 400:
            return
        body = json_body(response)
        error = body.get("error")
        detail = error if isinstance(error, dict) else body
        text = error if isinstance(error, str) else detail.get("message") or detail.get("error")
        kind = detail.get("type") or detail.get("code")
        cls = error_class(code)
        message = str(text) if text else _ERROR_TEXTS.get(code) or response.reason_phrase or "error"
        if code == 429 and body.get("limit") is not None:
            message += f" (limit {body.get('limit')}, active {body.get('active')})"
        message = redact(message, self.config.api_key)
        if submitting and code >= 500 and code != 503:
            cls = OutcomeUnknown
        raise build_error(
            cls,
            message,
            provider=self.id,
            status=code,
            code=str(kind) if kind else None,
            headers=response.headers,
        )
