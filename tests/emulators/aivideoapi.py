"""Emulator of AI Video API (document 003), served over real HTTP by tests.emulators.base.serve.

It implements the document on its own (its tables are written out here, not imported from the
adapter, so a mistake in one shows up against the other): Bearer keys starting with ``sk-``,
POST /v1/images/generations with validation, GET /v1/tasks/{taskId}, GET /v1/credits, the
{"error": {"code", "message", "type"}} envelope, credits pre-charged per resolution and refunded
when a task fails, pending -> processing -> completed|failed by the emulator clock, and a POST of
the task body to ``callback_url`` when a task finishes.

Knobs (plain attributes; the "next" ones are used once):
  api_key                 the one valid key (default "sk-test-key")
  task_seconds            time from creation to the end (default 0.3); pending for the first
                          third, then processing
  credits                 account balance (default 1000)
  fail_next_task          str | None: the next created task fails, upstream_error with this message
  filter_next_task        bool: the next created task fails as prohibited content
  fail_next_request       (status, code) | None: the next API request answers with that envelope
                          (no Retry-After header; use rate_limit_per_minute for that)
  large_results           bool: results are 1024x1024 noisy PNGs (about 3 MB, made in a thread)
  rate_limit_per_minute   int | None: API requests per 60 s of emulator clock; 429 with Retry-After
Observations: ``tasks`` (id -> record), ``callbacks_sent`` (dicts: url, payload, status, error),
``requests`` (every request, files included, as (method, path, json body)).

Undocumented, so chosen here: the GET /v1/credits body ({"code": 200, "msg": "success",
"data": {"credits": N}}), result files are always PNG (no JPEG encoder without an imaging library),
callbacks are sent once without retries, and a wrong key's message does not echo the key.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
import uuid
from collections import deque
from typing import Any

import aiohttp
from aiohttp import web

from providers.imaging import dimensions_for
from tests.emulators.base import EmulatorBase

MODEL = "nano-banana-2"
PRICES = {"1K": 16, "2K": 24, "4K": 36}
ASPECT_RATIOS = {
    "1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9",
    "1:4", "4:1", "1:8", "8:1", "auto",
}  # fmt: skip
FORMATS = ("jpg", "png")
MAX_IMAGE_URLS = 14
MAX_PROMPT = 20_000
LONG_SIDE = {"1K": 64, "2K": 96, "4K": 128}  # small but distinct result sizes per resolution
TICK_SECONDS = 0.05  # how often the emulator finishes due tasks and sends their callbacks
CALLBACK_TIMEOUT = 5.0
FILTER_MESSAGE = "The input contains sensitive or prohibited content."

# The document's error table: code -> (type, description).
ERRORS = {
    "invalid_request": ("invalid_request_error", "Missing or invalid parameters"),
    "invalid_api_key": ("authentication_error", "API key is invalid, disabled, or deleted"),
    "insufficient_credits": ("billing_error", "Your credit balance is too low. Please top up."),
    "ip_not_allowed": ("permission_error", "Request IP not in the key's allowlist"),
    "model_not_found": ("invalid_request_error", "Model does not exist or is inactive"),
    "task_not_found": ("invalid_request_error", "Task ID does not exist"),
    "rate_limit_exceeded": ("rate_limit_error", "Too many requests, please slow down"),
    "spend_limit_exceeded": ("billing_error", "Key spend limit reached (hourly/daily/total)"),
    "internal_error": ("api_error", "Unexpected server error"),
    "upstream_error": ("upstream_error", "Upstream AI provider returned an error"),
}


def error_response(
    status: int, code: str, message: str | None = None, headers: dict[str, str] | None = None
) -> web.Response:
    kind, description = ERRORS.get(code, ("api_error", "Error"))
    envelope = {"error": {"code": code, "message": message or description, "type": kind}}
    return web.json_response(envelope, status=status, headers=headers)


def _is_http_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))


class AIVideoAPIEmulator(EmulatorBase):
    def __init__(self, *, api_key: str = "sk-test-key", task_seconds: float = 0.3) -> None:
        super().__init__()
        self.api_key = api_key
        self.task_seconds = task_seconds
        self.credits = 1000
        self.fail_next_task: str | None = None
        self.filter_next_task = False
        self.fail_next_request: tuple[int, str] | None = None
        self.large_results = False
        self.rate_limit_per_minute: int | None = None
        self.tasks: dict[str, dict[str, Any]] = {}
        self.callbacks_sent: list[dict[str, Any]] = []
        self._recent: deque[float] = deque()  # emulator-clock times of accepted API requests
        self._pending_files: dict[str, asyncio.Future] = {}  # large PNGs still being made
        self._background: set[asyncio.Future] = set()
        self._session: aiohttp.ClientSession | None = None

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._gate])
        app.add_routes(
            [
                web.post("/v1/images/generations", self._create),
                web.get("/v1/tasks/{task_id}", self._query),
                web.get("/v1/credits", self._credits),
                *self.file_routes(),
            ]
        )
        app.cleanup_ctx.append(self._lifecycle)
        return app

    async def _lifecycle(self, app: web.Application):
        """Drive time: finish due tasks (and send their callbacks) without waiting for a poll."""
        self._session = aiohttp.ClientSession()
        ticker = asyncio.create_task(self._tick())
        yield
        for job in (ticker, *self._background):
            job.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await job
        await self._session.close()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            for task in list(self.tasks.values()):
                self._advance(task)

    # -- the gate every request passes --------------------------------------------------------

    @web.middleware
    async def _gate(self, request: web.Request, handler) -> web.StreamResponse:
        body = None
        if request.can_read_body:
            with contextlib.suppress(ValueError):
                body = await request.json()
        self.requests.append(
            (request.method, request.path, body if isinstance(body, dict) else None)
        )
        if request.path.startswith("/files/"):
            return await handler(request)
        await self.held(request.path)
        if self.fail_next_request is not None:
            status, code = self.fail_next_request
            self.fail_next_request = None
            return error_response(status, code)
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer" or not token.startswith("sk-") or token != self.api_key:
            return error_response(401, "invalid_api_key", "Invalid API key.")
        if self.rate_limit_per_minute is not None:
            now = self.clock()
            while self._recent and now - self._recent[0] >= 60.0:
                self._recent.popleft()
            if len(self._recent) >= self.rate_limit_per_minute:
                wait = max(1, math.ceil(60.0 - (now - self._recent[0])))
                return error_response(
                    429, "rate_limit_exceeded", headers={"Retry-After": str(wait)}
                )
            self._recent.append(now)
        return await handler(request)

    # -- endpoints ----------------------------------------------------------------------------

    async def _create(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return error_response(400, "invalid_request", "Request body must be JSON.")
        if not isinstance(body, dict):
            return error_response(400, "invalid_request", "Request body must be a JSON object.")
        problem = self._validate(body)
        if problem is not None:
            return problem
        params = {
            "prompt": body["input"]["prompt"],
            "resolution": body["input"].get("resolution", "1K"),
            "aspect_ratio": body["input"].get("aspect_ratio", "auto"),
            "output_format": body["input"].get("output_format", "jpg"),
            "image_urls": list(body["input"].get("image_urls") or []),
        }
        cost = PRICES[params["resolution"]]
        if self.credits < cost:
            return error_response(402, "insufficient_credits")
        self.credits -= cost
        task_id = str(uuid.uuid4())
        self.tasks[task_id] = {
            "id": task_id,
            "input": params,
            "callback_url": body.get("callback_url"),
            "cost": cost,
            "created_at": int(time.time()),
            "started": self.clock(),
            "status": "pending",
            "planned_error": self._take_planned_error(),
            "large": self.large_results,
            "error": None,
            "urls": [],
            "completed_at": None,
        }
        return web.json_response({"code": 200, "msg": "success", "data": {"taskId": task_id}})

    def _validate(self, body: dict[str, Any]) -> web.Response | None:
        """The first problem with a create body, as the API would answer it, or None."""
        bad = lambda message: error_response(400, "invalid_request", message)  # noqa: E731
        if not body.get("model"):
            return bad("'model' is required.")
        if body["model"] != MODEL:
            return error_response(
                404, "model_not_found", f"Model '{body['model']}' does not exist."
            )
        data = body.get("input")
        if not isinstance(data, dict):
            return bad("'input' is required.")
        prompt = data.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            return bad("'input.prompt' is required.")
        if len(prompt) > MAX_PROMPT:
            return bad(f"'input.prompt' must be at most {MAX_PROMPT} characters.")
        if data.get("resolution", "1K") not in PRICES:
            return bad("'input.resolution' must be one of 1K, 2K, 4K.")
        if data.get("aspect_ratio", "auto") not in ASPECT_RATIOS:
            return bad("'input.aspect_ratio' is not a supported aspect ratio.")
        if data.get("output_format", "jpg") not in FORMATS:
            return bad("'input.output_format' must be jpg or png.")
        urls = data.get("image_urls")
        if urls is not None:
            if not isinstance(urls, list) or not all(_is_http_url(u) for u in urls):
                return bad("'input.image_urls' must be a list of image URLs.")
            if len(urls) > MAX_IMAGE_URLS:
                return bad(f"'input.image_urls' accepts at most {MAX_IMAGE_URLS} images.")
        callback = body.get("callback_url")
        if callback is not None and not _is_http_url(callback):
            return bad("'callback_url' must be an http(s) URL.")
        return None

    def _take_planned_error(self) -> dict[str, str] | None:
        if self.filter_next_task:
            self.filter_next_task = False
            return {"code": "upstream_error", "message": FILTER_MESSAGE}
        if self.fail_next_task is not None:
            message, self.fail_next_task = self.fail_next_task, None
            return {"code": "upstream_error", "message": message}
        return None

    async def _query(self, request: web.Request) -> web.Response:
        task = self.tasks.get(request.match_info["task_id"])
        if task is None:
            return error_response(404, "task_not_found")
        self._advance(task)
        return web.json_response(self.task_body(task))

    async def _credits(self, request: web.Request) -> web.Response:
        return web.json_response({"code": 200, "msg": "success", "data": {"credits": self.credits}})

    async def _serve_file(self, request: web.Request) -> web.Response:
        pending = self._pending_files.get(request.match_info["name"])
        if pending is not None:
            await asyncio.shield(pending)
        return await super()._serve_file(request)

    # -- task lifecycle -----------------------------------------------------------------------

    def _advance(self, task: dict[str, Any]) -> None:
        """Move a task along by the emulator clock; finishing happens exactly once."""
        if task["status"] in ("completed", "failed"):
            return
        elapsed = self.clock() - task["started"]
        if elapsed < self.task_seconds / 3:
            return
        if elapsed < self.task_seconds:
            task["status"] = "processing"
            return
        if task["planned_error"] is not None:
            task["status"], task["error"] = "failed", task["planned_error"]
            self.credits += task["cost"]  # "pre-charged credits are automatically refunded"
        else:
            task["status"] = "completed"
            task["completed_at"] = task["created_at"] + max(1, math.ceil(elapsed))
            task["urls"] = [self._make_result(task)]
        if task["callback_url"]:
            self._spawn(self._send_callback(task))

    def _make_result(self, task: dict[str, Any]) -> str:
        name = f"{task['id']}.png"
        if not task["large"]:
            size = dimensions_for(
                task["input"]["aspect_ratio"], LONG_SIDE[task["input"]["resolution"]]
            )
            return self.add_png(name, task["id"], size)
        made = self._spawn(asyncio.to_thread(self.add_png, name, task["id"], (1024, 1024), True))
        self._pending_files[name] = made
        made.add_done_callback(lambda _: self._pending_files.pop(name, None))
        return f"{self.base_url}/files/{name}"

    def task_body(self, task: dict[str, Any]) -> dict[str, Any]:
        """The documented query-task body; callbacks send the same."""
        body: dict[str, Any] = {
            "id": task["id"],
            "status": task["status"],
            "model": MODEL,
            "created_at": task["created_at"],
        }
        if task["status"] == "completed":
            body["completed_at"] = task["completed_at"]
            cost_time = int(self.task_seconds * 1000)
            body["output"] = {
                "urls": task["urls"],
                "metadata": {"model": MODEL, "costTime": cost_time},
            }
        elif task["status"] == "failed":
            body["error"] = dict(task["error"])
        return body

    def _spawn(self, coroutine) -> asyncio.Future:
        job = asyncio.ensure_future(coroutine)
        self._background.add(job)
        job.add_done_callback(self._background.discard)
        return job

    async def _send_callback(self, task: dict[str, Any]) -> None:
        payload = self.task_body(task)
        record: dict[str, Any] = {
            "url": task["callback_url"],
            "payload": payload,
            "status": None,
            "error": None,
        }
        try:
            assert self._session is not None
            timeout = aiohttp.ClientTimeout(total=CALLBACK_TIMEOUT)
            async with self._session.post(
                task["callback_url"], json=payload, timeout=timeout
            ) as reply:
                record["status"] = reply.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            record["error"] = type(exc).__name__
        self.callbacks_sent.append(record)
