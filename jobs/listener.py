"""A small aiohttp listener the bot serves itself (provider callbacks, health and metrics)."""

from __future__ import annotations

import logging

from aiohttp import web

log = logging.getLogger(__name__)


class Listener:
    """Serves ``build_app()`` on host:port; port 0 takes a free port, known once started."""

    what = "listener"  # named in the start-up log line

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    def build_app(self) -> web.Application:
        raise NotImplementedError

    async def start(self) -> None:
        self._runner = web.AppRunner(self.build_app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self.port == 0:
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        log.info("%s on %s:%d", self.what, self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
