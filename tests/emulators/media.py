"""A media host for download tests: typed files, redirect chains, endless, declared-huge and
trickling bodies, and a counter of downloads in progress at once. Served on 127.0.0.1 by
``tests.emulators.base.serve`` like the provider emulators.
"""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web

from providers.imaging import make_png
from tests.emulators.base import EmulatorBase
from tests.emulators.nanobanana import fake_mp4

KIB = 1024
MIB = 1024 * KIB
PNG = make_png(32, 32, "media")
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + bytes(32)
GIF = b"GIF89a" + bytes(32)
MP4 = fake_mp4("media")
CHUNK = bytes(64 * KIB)


class MediaServer(EmulatorBase):
    """A media host: typed files, redirect chains, endless and trickling bodies, and a
    counter of downloads in progress at once."""

    def __init__(self) -> None:
        super().__init__()
        self.hits: list[str] = []  # paths requested, in order
        self.auth_headers: list[str] = []  # Authorization headers received (should be none)
        self.sent = 0  # body bytes the endless handlers managed to write
        self.active = 0
        self.most_active = 0
        self.slow_seconds = 0.1

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._record])
        app.add_routes(
            [
                web.get("/typed/{type}/{subtype}/{name}", self._typed),
                web.get("/hop/{n}", self._hop),
                web.get("/away", self._away),
                web.get("/endless", self._endless),
                web.get("/declared-huge", self._declared_huge),
                web.get("/trickle", self._trickle),
                web.get("/big/{size}", self._big),
                web.get("/slow", self._slow),
            ]
        )
        return app

    @web.middleware
    async def _record(self, request: web.Request, handler):
        self.hits.append(request.path)
        if "Authorization" in request.headers:
            self.auth_headers.append(request.headers["Authorization"])
        return await handler(request)

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    async def _typed(self, request: web.Request) -> web.Response:
        content_type = f"{request.match_info['type']}/{request.match_info['subtype']}"
        body = {"png": PNG, "webp": WEBP, "gif": GIF, "mp4": MP4}.get(
            request.query.get("body", ""), b"<html>not a picture</html>"
        )
        if content_type == "none/none":
            return web.Response(body=body, headers={"Content-Type": ""})
        return web.Response(body=body, headers={"Content-Type": content_type})

    async def _hop(self, request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        if n == 0:
            return web.Response(body=PNG, content_type="image/png")
        raise web.HTTPFound(f"/hop/{n - 1}")  # relative, as many CDNs send it

    async def _away(self, request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["to"])

    async def _stream(self, request: web.Request, response: web.StreamResponse, pause: float):
        await response.prepare(request)
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            for _ in range(4096):  # 256 MiB of 64 KiB chunks, or a byte at a time for ever
                body = CHUNK if not pause else b"\0"
                await response.write(body)
                self.sent += len(body)
                if pause:
                    await asyncio.sleep(pause)
        return response

    async def _endless(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "image/png"})
        return await self._stream(request, response, 0)

    async def _declared_huge(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "image/png"})
        response.content_length = 256 * MIB
        return await self._stream(request, response, 0)

    async def _trickle(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "image/png"})
        return await self._stream(request, response, 0.02)

    async def _big(self, request: web.Request) -> web.Response:
        size = int(request.match_info["size"])
        return web.Response(body=big_png(size), content_type="image/png")

    async def _slow(self, request: web.Request) -> web.Response:
        self.active += 1
        self.most_active = max(self.most_active, self.active)
        try:
            await asyncio.sleep(self.slow_seconds)
        finally:
            self.active -= 1
        return web.Response(body=PNG, content_type="image/png")


def big_png(size: int) -> bytes:
    """A PNG signature followed by ``size`` bytes in total of varied filler."""
    filler = bytes(range(256)) * (size // 256 + 1)
    return (PNG + filler)[:size]
