"""Replies first: the work that follows an acknowledgement waits for the ones being prepared.

asyncio has no priorities, so in a burst of commands every job that starts (a database write,
a request to the provider, an edit of its card) and every reservation written takes the CPU
from members still waiting for their reply, and Discord drops an interaction not answered
within 3 s. The launch path marks the time from a command's start to its reply with
``replying()`` (ended early with ``Reply.sent()`` once the reply is out); the reservation
after a reply and a job's start wait in ``quiet()`` until no reply has been prepared for
``settle`` seconds (a burst reaches the bot in several reads of the gateway, so a moment
without a reply does not yet mean its end), at most ``max_wait`` seconds, so a steady stream
of commands never starves them. Once the bot begins stopping (``stop_waiting``) nothing
waits any more: a command already answered is reserved at once, before the database closes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

MAX_WAIT = 3.0  # seconds the work after a reply waits at most for replies being prepared:
# Discord's deadline for a reply, past which a reply still pending is lost anyway
SETTLE = 0.1  # seconds without a reply being prepared that end a burst: longer than the
# pause between two reads of the gateway in a burst, short beside any generation's time


class Reply:
    """One command's reply being prepared; ``sent()`` ends it (again: no effect)."""

    __slots__ = ("_open", "_owner")

    def __init__(self, owner: ReplyFirst) -> None:
        self._owner = owner
        self._open = True

    def sent(self) -> None:
        if self._open:
            self._open = False
            self._owner._ended()


class ReplyFirst:
    def __init__(self, *, max_wait: float = MAX_WAIT, settle: float = SETTLE) -> None:
        self.max_wait = max_wait
        self.settle = settle
        self._pending = 0
        self._open = 0  # commands inside replying(), replied or not
        self._quiet = asyncio.Event()
        self._quiet.set()
        self._settling: asyncio.TimerHandle | None = None
        self._stopping = False

    @property
    def pending(self) -> int:
        """Replies being prepared now."""
        return self._pending

    @property
    def open(self) -> int:
        """Commands between their start and their job's (or refusal's) end of ``replying()``:
        replied to or not."""
        return self._open

    @contextlib.contextmanager
    def replying(self) -> Iterator[Reply]:
        """Around the work that precedes a command's reply; the reply may end it sooner."""
        self._pending += 1
        self._open += 1
        if not self._stopping:
            self._quiet.clear()
        if self._settling is not None:
            self._settling.cancel()
            self._settling = None
        reply = Reply(self)
        try:
            yield reply
        finally:
            self._open -= 1
            reply.sent()

    def _ended(self) -> None:
        self._pending -= 1
        if not self._pending:
            loop = asyncio.get_running_loop()
            self._settling = loop.call_later(self.settle, self._settled)

    def stop_waiting(self) -> None:
        """The bot is stopping: ``quiet()`` returns at once from now on."""
        self._stopping = True
        if self._settling is not None:
            self._settling.cancel()
            self._settling = None
        self._quiet.set()

    def _settled(self) -> None:
        self._settling = None
        if not self._pending:
            self._quiet.set()

    async def quiet(self) -> None:
        """Return once no reply has been prepared for ``settle`` seconds, or after
        ``max_wait`` seconds."""
        if self._quiet.is_set():
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.max_wait):  # no task of its own, unlike wait_for
                await self._quiet.wait()
