"""Local queueing in front of each provider account, so the bot waits its turn instead of
hammering into 429s: a FIFO of jobs, a cap on tasks in flight, and a generation window."""

from __future__ import annotations

import asyncio
import itertools
import logging
from bisect import bisect_left
from collections import deque
from collections.abc import Awaitable, Callable

from jobs.policy import WINDOW_RECHECK_SECONDS  # the package's tunables

log = logging.getLogger(__name__)


class ProviderGate:
    """Admits jobs to a provider in arrival order.

    ``max_in_flight`` caps tasks submitted and not yet finished (None: no cap);
    ``window`` = (generations, seconds) caps submissions per sliding window.
    """

    def __init__(
        self,
        provider_id: str,
        *,
        max_in_flight: int | None,
        window: tuple[int, float] | None,
        now: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        self.provider_id = provider_id
        self.max_in_flight = max_in_flight
        self.window = window
        self._now = now
        self._sleep = sleep
        self._holders: set[str] = set()
        # the line: each waiting job's ticket, and the tickets in order (a burst of a
        # thousand jobs joins, finds its place and leaves without scanning the line)
        self._tickets: dict[str, int] = {}
        self._line: list[int] = []
        self._next_ticket = itertools.count()
        self._submits: deque[float] = deque()
        self._changed = asyncio.Condition()

    def position(self, job_id: str) -> int | None:
        """Jobs ahead of this one (0: next or running); None when unknown to the gate."""
        if job_id in self._holders:
            return 0
        ticket = self._tickets.get(job_id)
        if ticket is not None:
            return bisect_left(self._line, ticket) + (
                1 if self.max_in_flight and len(self._holders) >= self.max_in_flight else 0
            )
        return None

    def record_submit(self, when: float) -> None:
        self._submits.append(when)

    def forget_submit(self, when: float) -> None:
        """Give back a window place claimed by ``acquire`` whose submit created nothing."""
        if when in self._submits:
            self._submits.remove(when)

    def window_wait(self) -> float:
        """Seconds until the window admits another submission (0: now)."""
        if not self.window:
            return 0.0
        count, seconds = self.window
        now = self._now()
        while self._submits and now - self._submits[0] >= seconds:
            self._submits.popleft()
        if len(self._submits) < count:
            return 0.0
        return seconds - (now - self._submits[0])

    def observe_window(self, limit: int | None, remaining: int | None) -> None:
        """Take the provider's live window numbers over the documented ones: its limit
        replaces ours, and generations it counts that we do not know of (another client on
        the same key, a restart) are booked now, so the next job waits instead of meeting
        a 429."""
        if not self.window:
            return
        count, seconds = self.window
        if limit and limit > 0:
            count = limit
            self.window = (count, seconds)
        if remaining is None:
            return
        self.window_wait()  # drop generations that have left the window
        unknown = (count - max(0, remaining)) - len(self._submits)
        now = self._now()
        self._submits.extend([now] * max(0, unknown))

    def occupy(self, job_id: str) -> None:
        """A resumed job whose task is already at the provider holds a slot at once."""
        self._holders.add(job_id)

    def join(self, job_id: str) -> None:
        """Take a place in line now, so ``position`` is known from the moment a job is
        accepted (before its task first runs); ``acquire`` then waits from that place."""
        if job_id not in self._holders and job_id not in self._tickets:
            ticket = next(self._next_ticket)
            self._tickets[job_id] = ticket
            self._line.append(ticket)  # tickets only grow: the line stays sorted

    async def acquire(self, job_id: str) -> float | None:
        """Wait for this job's turn. Returns the time its place in the generation window was
        claimed (None without a window): the caller gives it back with ``forget_submit`` if
        the submit turns out to create nothing."""
        async with self._changed:
            self.join(job_id)
            try:
                while not self._admissible(job_id):
                    await self._changed.wait()
            except BaseException:
                self._leave(job_id)
                raise
            self._out_of_line(job_id)
            self._holders.add(job_id)
        if not self.window:
            return None
        # the window is waited out while holding the slot, so order is kept
        while (wait := self.window_wait()) > 0:
            log.info(
                "provider=%s generation window full; job=%s waits %.0fs",
                self.provider_id,
                job_id,
                wait,
            )
            await self._sleep(min(wait, WINDOW_RECHECK_SECONDS))
        # claimed at once (no await since the check), so jobs admitted side by side cannot
        # all see the same free place while their submits are still in flight
        claimed = self._now()
        self._submits.append(claimed)
        return claimed

    def _leave(self, job_id: str) -> None:
        if job_id in self._tickets:
            self._out_of_line(job_id)
            self._changed.notify_all()

    def _out_of_line(self, job_id: str) -> None:
        ticket = self._tickets.pop(job_id)
        del self._line[bisect_left(self._line, ticket)]

    def _admissible(self, job_id: str) -> bool:
        if self._line[0] != self._tickets[job_id]:
            return False
        return self.max_in_flight is None or len(self._holders) < self.max_in_flight

    async def release(self, job_id: str) -> None:
        """Free the job's slot, or its place in line if it never got one."""
        async with self._changed:
            if job_id in self._holders:
                self._holders.discard(job_id)
                self._changed.notify_all()
            self._leave(job_id)
