"""Replies first: jobs start after the acknowledgements being prepared.

asyncio has no priorities, so in a burst of commands every job that starts (a database write,
a request to the provider, an edit of its card) takes the CPU from members still waiting for
their reply, and Discord drops an interaction not answered within 3 s. The launch path marks
the time from a command's start to its reply with ``replying()``; a job waits in ``quiet()``
until no reply is being prepared (at most ``max_wait`` seconds, so a steady stream of
commands never starves the jobs).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

MAX_WAIT = 3.0  # seconds a job's start waits at most for replies being prepared: Discord's
# deadline for a reply, past which a reply still pending is lost anyway


class ReplyFirst:
    def __init__(self, *, max_wait: float = MAX_WAIT) -> None:
        self.max_wait = max_wait
        self._pending = 0
        self._quiet = asyncio.Event()
        self._quiet.set()

    @property
    def pending(self) -> int:
        """Replies being prepared now."""
        return self._pending

    @contextlib.contextmanager
    def replying(self) -> Iterator[None]:
        """Around the work that precedes a command's reply."""
        self._pending += 1
        self._quiet.clear()
        try:
            yield
        finally:
            self._pending -= 1
            if not self._pending:
                self._quiet.set()

    async def quiet(self) -> None:
        """Return once no reply is being prepared, or after ``max_wait`` seconds."""
        if not self._pending:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._quiet.wait(), self.max_wait)
