"""Provider callbacks (003's ``callback_url``): a small HTTP listener that wakes a job early.

A callback is taken as a hint, not as proof: it carries no signature from the provider, so the
engine reads the task's status itself when one arrives. The URL of each job carries an HMAC of
the job id keyed with CALLBACK_SECRET, so a stranger cannot make the bot poll on demand.
Anything else that reaches the listener (a wrong or malformed signature, another path or
method) gets 403 and nothing happens. Polling continues regardless, so a lost callback only
costs time.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Callable

from aiohttp import web

from jobs.listener import Listener
from jobs.policy import MAX_BODY  # the package's tunables

log = logging.getLogger(__name__)

SIGNATURE_CHARS = 32  # hex digits of the HMAC kept in the URL (128 bits)
_SIGNATURE = re.compile(rf"[0-9a-f]{{{SIGNATURE_CHARS}}}")


class CallbackServer(Listener):
    what = "callback listener"

    def __init__(
        self,
        *,
        public_url: str,
        host: str,
        port: int,
        secret: bytes,
        on_callback: Callable[[str, str], bool],
    ) -> None:
        super().__init__(host, port)
        self.public_url = public_url.rstrip("/")
        self._key = secret
        self._on_callback = on_callback

    def _signature(self, provider_id: str, job_id: str) -> str:
        message = f"{provider_id}:{job_id}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:SIGNATURE_CHARS]

    def _signed(self, provider_id: str, job_id: str, signature: str) -> bool:
        """Whether ``signature`` is this job's; malformed ones are simply not."""
        if not _SIGNATURE.fullmatch(signature):
            return False
        expected = self._signature(provider_id, job_id)
        return hmac.compare_digest(signature.encode(), expected.encode())

    def url_for(self, provider_id: str, job_id: str) -> str:
        signature = self._signature(provider_id, job_id)
        return f"{self.public_url}/callbacks/{provider_id}/{job_id}/{signature}"

    async def _handle(self, request: web.Request) -> web.Response:
        provider_id = request.match_info["provider"]
        job_id = request.match_info["job"]
        if not self._signed(provider_id, job_id, request.match_info["sig"]):
            return await self._refuse(request)
        if request.content_length and request.content_length > MAX_BODY:
            return web.json_response({"error": "body too large"}, status=413)
        known = self._on_callback(provider_id, job_id)
        log.info("job=%s callback from provider=%s known=%s", job_id, provider_id, known)
        return web.json_response({"ok": True})

    @staticmethod
    async def _refuse(request: web.Request) -> web.Response:
        # DEBUG: anyone who finds the listener can make these; they must not flood the log.
        log.debug("callback refused: not a signed callback URL method=%s", request.method)
        return web.json_response({"error": "forbidden"}, status=403)

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post("/callbacks/{provider}/{job}/{sig}", self._handle)
        app.router.add_route("*", "/{anything:.*}", self._refuse)
        return app
