"""Shared plumbing for the provider emulators: serving an aiohttp app on loopback, a
controllable clock, and result files.

Each emulator implements one provider document: its paths, auth header, request bodies,
response envelopes, status words, error shapes and limits. Tests steer them through plain
attributes (``fail_next``, ``task_seconds``, ``hold``, ...) rather than by patching the adapters.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx
from aiohttp import web

from providers.imaging import make_png


class Clock:
    """Emulator time: real monotonic time plus an offset tests can advance."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class Break:
    """A transport fault for the next matching request(s), beyond an HTTP error status:

    * ``reset``     — the connection is dropped before the request is handled;
    * ``lost``      — handled (a task may be created), then dropped before the answer;
    * ``malformed`` — a 200 whose body is not JSON;
    * ``hang``      — ``seconds`` of silence, then handled as usual (a client that gave up
      meanwhile still leaves the provider's work behind);
    * ``status``    — an HTTP error ``status`` with a plain JSON error body, not handled.
    """

    method: str
    path: str  # a prefix of the request path
    kind: str
    seconds: float = 0.0
    times: int = 1
    status: int = 500


class EmulatorBase:
    """Common state: the base URL once served, recorded requests, and a file store."""

    def __init__(self) -> None:
        self.base_url = ""
        self.clock = Clock()
        self.requests: list[tuple[str, str, dict | None]] = []  # (method, path, json body)
        self.files: dict[str, tuple[bytes, str]] = {}  # name -> (bytes, content type)
        # name -> where /files/<name> redirects instead (None: served as usual)
        self.redirect_file: Callable[[str], str | None] | None = None
        self.file_headers: list[dict[str, str]] = []  # the headers of every /files/ request
        #: path -> real seconds every answer on that path is held back (a slow provider)
        self.hold: dict[str, float] = {}
        self.breaks: list[Break] = []  # see break_next
        self.pad_results_to: int | None = None  # bytes every new result file is padded to

    def break_next(
        self,
        method: str,
        path: str,
        kind: str,
        *,
        seconds: float = 0.0,
        times: int = 1,
        status: int = 500,
    ) -> None:
        """Break the next ``times`` requests of ``method`` on a path starting with ``path``
        in the way ``kind`` says (see Break)."""
        if kind not in ("reset", "lost", "malformed", "hang", "status"):
            raise ValueError(f"unknown break {kind!r}")
        self.breaks.append(Break(method.upper(), path, kind, seconds, times, status))

    def _take_break(self, method: str, path: str) -> Break | None:
        for fault in self.breaks:
            if fault.times > 0 and fault.method == method and path.startswith(fault.path):
                fault.times -= 1
                return fault
        return None

    async def held(self, path: str) -> None:
        """Wait as long as ``hold`` says for ``path``; each emulator's gate calls it after
        recording the request, before anything else (a held request may still fail)."""
        seconds = self.hold.get(path, 0.0)
        if seconds > 0:
            await asyncio.sleep(seconds)

    def build_app(self) -> web.Application:  # pragma: no cover - overridden
        raise NotImplementedError

    def add_png(
        self, name: str, seed: str, size: tuple[int, int] = (64, 64), noise: bool = False
    ) -> str:
        data = make_png(*size, seed, text_noise=1 if noise else 0)
        if self.pad_results_to:  # a result past an upload limit, still a PNG in its first bytes
            data += bytes(max(0, self.pad_results_to - len(data)))
        self.files[name] = (data, "image/png")
        return f"{self.base_url}/files/{name}"

    async def _serve_file(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self.file_headers.append(dict(request.headers))
        location = self.redirect_file(name) if self.redirect_file else None
        if location is not None:
            raise web.HTTPFound(location)
        if name not in self.files:
            return web.Response(status=404, text="not found")
        body, content_type = self.files[name]
        return web.Response(body=body, content_type=content_type)

    def file_routes(self) -> list[web.RouteDef]:
        return [web.get("/files/{name}", self._serve_file)]


async def fetch_file(url: str) -> bytes:
    """A result file's bytes, fetched as a plain client would (no API key): adapters return
    URLs; the bot downloads them with jobs.download, tested on its own."""
    async with httpx.AsyncClient() as client:
        response = await client.get(url)
        response.raise_for_status()
        return response.content


def _breaks(emulator: EmulatorBase):
    """Innermost middleware: applies ``emulator.breaks`` after the emulator's own gate has
    recorded and authenticated the request."""

    @web.middleware
    async def breaks(request: web.Request, handler) -> web.StreamResponse:
        fault = emulator._take_break(request.method, request.path)
        if fault is None:
            return await handler(request)
        if fault.kind == "status":
            return web.json_response({"error": f"injected {fault.status}"}, status=fault.status)
        if fault.kind == "malformed":
            return web.Response(text="<html>502 upstream</html>", content_type="application/json")
        if fault.kind == "hang":
            await asyncio.sleep(fault.seconds)
            return await handler(request)
        if fault.kind == "lost":
            await handler(request)
        if request.transport is not None:
            request.transport.abort()
        raise asyncio.CancelledError  # nothing more is written on a dropped connection

    return breaks


@contextlib.asynccontextmanager
async def serve(emulator: EmulatorBase) -> AsyncIterator[EmulatorBase]:
    """Run ``emulator`` on 127.0.0.1 with a free port; sets ``emulator.base_url``."""
    app = emulator.build_app()
    app.middlewares.append(_breaks(emulator))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    emulator.base_url = f"http://127.0.0.1:{port}"
    try:
        yield emulator
    finally:
        await runner.cleanup()
