"""Emulator of NanaNoBanana (provider document 004) over real HTTP.

Implements: Bearer auth with ``nb_`` keys, POST /api/v1/generate (async mode, plus a minimal
sync mode that waits for the record), GET /api/v1/generate?id=, GET /api/v1/models (no auth),
GET /api/v1/credits, the documented validation, quantity clamping, pricing and the per-account
concurrency 429 with its headers. Records finish by the emulator clock (``task_seconds``).

Choices where the document is silent (the adapter must not depend on them):
- the async answer's shape, selectable with ``async_response`` ("data", "flat", "record_id");
- unknown record id -> 404 {"error": "Record not found"}; stream mode -> 501 (not emulated);
- credits are taken at submit and given back when a record fails (failed records report
  creditsUsed 0);
- ``type`` words in error bodies other than "concurrency_limit".

Knobs (plain attributes): api_key, task_seconds, concurrency_limit, retry_after_seconds,
fail_next_task, fail_next_request, large_results, credits, api_enabled, async_response, models.
State tests read: records (wire-format records by id), requests, files.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from providers.imaging import dimensions_for
from tests.emulators.base import EmulatorBase

GENERATE_PATH = "/api/v1/generate"
MODELS_PATH = "/api/v1/models"
CREDITS_PATH = "/api/v1/credits"
MODES = ("sync", "stream", "async")
MAX_QUANTITY = 4
SYNC_POLL_SECONDS = 0.02
SMALL_SIDE = 64

CONCURRENCY_ERROR = "Too many concurrent API requests for this account"


@dataclass
class _Running:
    """What the emulator needs to finish a record later; kept out of the wire record."""

    due: float
    failure: str | None
    cost: float
    quantity: int
    aspect_ratio: str


def _error(status: int, text: str, kind: str | None = None, **headers: str) -> web.Response:
    body: dict[str, Any] = {"error": text}
    if kind:
        body["type"] = kind
    return web.json_response(body, status=status, headers=headers or None)


def _small_size(aspect_ratio: str) -> tuple[int, int]:
    """Result size for a ratio; "default" or a malformed one (e.g. "0:0") gives a square, so
    one odd request can never break the record clock for every later request."""
    try:
        return dimensions_for(aspect_ratio, SMALL_SIDE)
    except ZeroDivisionError:
        return SMALL_SIDE, SMALL_SIDE


def _whole(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


class NanaNoBananaEmulator(EmulatorBase):
    def __init__(self) -> None:
        super().__init__()
        self.api_key = "nb_test_key"
        self.task_seconds = 0.3
        self.concurrency_limit = 1
        self.retry_after_seconds = 1
        self.fail_next_task: str | None = None  # next record fails with this errorMessage
        self.fail_next_request: tuple[int, str] | None = None  # next /api/ request answers this
        self.large_results = False  # ~3 MB PNGs instead of 64 px ones
        self.credits: float = 1000
        self.api_enabled = True  # False: authenticated endpoints answer 403
        self.async_response = "data"  # shape of the async answer: "data" | "flat" | "record_id"
        self.models: list[dict[str, Any]] = [
            {
                "name": "nano-banana",
                "displayName": "Nano Banana",
                "creditsCost": 1,
                "supportsImageInput": True,
                "supportsAspectRatio": True,
                "requiresPro": False,
            }
        ]
        self.records: dict[str, dict[str, Any]] = {}
        self._running: dict[str, _Running] = {}

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._gate])
        app.add_routes(
            [
                web.post(GENERATE_PATH, self._generate),
                web.get(GENERATE_PATH, self._query),
                web.get(MODELS_PATH, self._models),
                web.get(CREDITS_PATH, self._credits),
                *self.file_routes(),
            ]
        )
        return app

    # -- request gate: log, scripted failure, auth -----------------------------------------

    @web.middleware
    async def _gate(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if not request.path.startswith("/api/"):
            return await handler(request)
        body = None
        if request.can_read_body:
            try:
                body = await request.json()
            except ValueError:
                body = None
        self.requests.append(
            (request.method, request.path, body if isinstance(body, dict) else None)
        )
        await self.held(request.path)
        self._advance()
        if self.fail_next_request is not None:
            status, text = self.fail_next_request
            self.fail_next_request = None
            return _error(status, text)
        if request.path != MODELS_PATH:  # "No authentication required" for the model list
            scheme, _, key = request.headers.get("Authorization", "").partition(" ")
            if scheme != "Bearer" or not key.startswith("nb_") or key != self.api_key:
                return _error(401, "Invalid or missing API key", "unauthorized")
            if not self.api_enabled:
                return _error(403, "API access is not enabled for this account", "forbidden")
        return await handler(request)

    # -- endpoints --------------------------------------------------------------------------

    async def _generate(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _error(400, "Request body must be a JSON object", "invalid_request")
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            return _error(400, "prompt is required", "invalid_request")
        mode = body.get("mode", "sync")
        if mode not in MODES:
            return _error(400, f"Invalid mode: {mode!r}", "invalid_request")
        model = next(
            (m for m in self.models if m["name"] == body.get("selectedModel", "nano-banana")), None
        )
        if model is None:
            return _error(400, f"Unknown model: {body.get('selectedModel')!r}", "invalid_request")
        references = body.get("referenceImageUrls") or []
        if not isinstance(references, list) or not all(isinstance(u, str) for u in references):
            return _error(400, "referenceImageUrls must be an array of strings", "invalid_request")
        if references and not model.get("supportsImageInput"):
            return _error(400, "This model does not support image input", "invalid_request")
        aspect_ratio = body.get("aspectRatio", "default")
        quantity = body.get("quantity", 1)
        if not isinstance(aspect_ratio, str):
            return _error(400, "aspectRatio must be a string", "invalid_request")
        if isinstance(quantity, bool) or not isinstance(quantity, int | float):
            return _error(400, "quantity must be a number", "invalid_request")
        if mode == "stream":
            return _error(501, "stream mode is not emulated", "not_implemented")
        quantity = min(max(int(quantity), 1), MAX_QUANTITY)  # "clamped ... automatically"
        cost = (model["creditsCost"] + max(0, len(references) - 1)) * quantity

        active = len(self._running)
        if active >= self.concurrency_limit:
            limit = self.concurrency_limit
            return web.json_response(
                {
                    "error": CONCURRENCY_ERROR,
                    "type": "concurrency_limit",
                    "limit": limit,
                    "active": active,
                },
                status=429,
                headers={
                    "Retry-After": str(self.retry_after_seconds),
                    "X-RateLimit-Limit": str(limit),
                    "X-RateLimit-Active": str(active),
                },
            )
        if self.credits < cost:
            return _error(402, "Insufficient credits", "insufficient_credits")

        record = self._create(prompt, model["name"], cost, quantity, aspect_ratio)
        if mode == "sync":
            while record["processingStatus"] == "processing":
                await asyncio.sleep(SYNC_POLL_SECONDS)
                self._advance()
            return web.json_response({"data": record})
        self._advance()  # task_seconds = 0: the answer already carries the finished record
        return web.json_response(self._async_answer(record))

    async def _query(self, request: web.Request) -> web.Response:
        record_id = request.query.get("id")
        if not record_id:
            return _error(400, "id is required", "invalid_request")
        record = self.records.get(record_id)
        if record is None:
            return _error(404, "Record not found", "not_found")
        return web.json_response({"data": record})

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"data": self.models})

    async def _credits(self, request: web.Request) -> web.Response:
        return web.json_response({"data": {"credits": _whole(self.credits)}})

    # -- records ----------------------------------------------------------------------------

    def _create(
        self, prompt: str, model: str, cost: float, quantity: int, aspect_ratio: str
    ) -> dict:
        record_id = "cl" + uuid.uuid4().hex[:23]
        self.credits -= cost
        record = {
            "id": record_id,
            "prompt": prompt,
            "outputImageUrls": [],
            "modelUsed": model,
            "processingStatus": "processing",
            "creditsUsed": _whole(cost),
            "createdAt": datetime.now(UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
        }
        self.records[record_id] = record
        self._running[record_id] = _Running(
            due=self.clock() + self.task_seconds,
            failure=self.fail_next_task,
            cost=cost,
            quantity=quantity,
            aspect_ratio=aspect_ratio,
        )
        self.fail_next_task = None
        return record

    def _advance(self) -> None:
        """Finish every record whose time has come: images, or failure with a refund."""
        now = self.clock()
        for record_id, run in list(self._running.items()):
            if now < run.due:
                continue
            del self._running[record_id]
            record = self.records[record_id]
            if run.failure is not None:
                self.credits += run.cost
                record.update(processingStatus="failed", errorMessage=run.failure, creditsUsed=0)
                continue
            size = (1024, 1024) if self.large_results else _small_size(run.aspect_ratio)
            record["outputImageUrls"] = [
                self.add_png(
                    f"{record_id}-{i}.png",
                    f"{record['prompt']}/{i}",
                    size,
                    noise=self.large_results,
                )
                for i in range(run.quantity)
            ]
            record["processingStatus"] = "completed"

    def _async_answer(self, record: dict[str, Any]) -> dict[str, Any]:
        """The async answer is undocumented; each shape is one a client must be ready for."""
        if self.async_response == "flat":
            return {"success": True, **record}
        if self.async_response == "record_id":
            return {
                "success": True,
                "data": {"recordId": record["id"], "status": record["processingStatus"]},
            }
        return {"data": record}
