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
        self.files[name] = (make_png(*size, seed, text_noise=1 if noise else 0), "image/png")
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


@contextlib.asynccontextmanager
async def serve(emulator: EmulatorBase) -> AsyncIterator[EmulatorBase]:
    """Run ``emulator`` on 127.0.0.1 with a free port; sets ``emulator.base_url``."""
    app = emulator.build_app()
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
