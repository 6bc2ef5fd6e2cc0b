"""The opt-in health and metrics listener (METRICS_LISTEN): ``/healthz`` for Docker's
HEALTHCHECK or an orchestrator, ``/metrics`` for Prometheus. Anything else gets 404.

What "healthy" means is the bot's business: it hands in ``problems``, an awaitable list of
short reasons (empty when all is well), and ``metrics``, the registry to render.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import aiohttp
from aiohttp import web

from jobs.listener import Listener
from jobs.metrics import CONTENT_TYPE, Metrics
from jobs.policy import CHECK_TIMEOUT  # the package's tunables


class MonitorServer(Listener):
    what = "health and metrics listener"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        problems: Callable[[], Awaitable[list[str]]],
        metrics: Metrics,
    ) -> None:
        super().__init__(host, port)
        self._problems = problems
        self._metrics = metrics

    async def _health(self, request: web.Request) -> web.Response:
        try:
            problems = await asyncio.wait_for(self._problems(), CHECK_TIMEOUT)
        except TimeoutError:
            problems = [f"the health check took over {CHECK_TIMEOUT:g}s"]
        if problems:
            return web.Response(status=503, text="unhealthy: " + "; ".join(problems) + "\n")
        return web.Response(text="ok\n")

    async def _render(self, request: web.Request) -> web.Response:
        return web.Response(
            body=self._metrics.render().encode(), headers={"Content-Type": CONTENT_TYPE}
        )

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/healthz", self._health)
        app.router.add_get("/metrics", self._render)
        return app


RATE_LIMIT_SCOPES = ("user", "global", "shared")


def rate_limit_trace(metrics: Metrics) -> aiohttp.TraceConfig:
    """Counts Discord's 429 answers: discord.py waits them out by itself and tells nobody, so
    the bot's HTTP session (REST, interaction responses and webhooks alike) reports them."""
    trace = aiohttp.TraceConfig()

    async def on_request_end(session, context, params: aiohttp.TraceRequestEndParams) -> None:
        if params.response.status == 429:
            scope = params.response.headers.get("X-RateLimit-Scope", "")
            metrics.discord_rate_limits.inc(scope=scope if scope in RATE_LIMIT_SCOPES else "other")

    trace.on_request_end.append(on_request_end)
    return trace
