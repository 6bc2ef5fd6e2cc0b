"""The engine's clock, injectable so tests can run minutes of job time in a second."""

from __future__ import annotations

import asyncio
import time


class Timebase:
    """Wall-clock seconds (epoch) and sleeping, as the engine sees them."""

    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:
        """Wait for ``event`` at most ``seconds``; True when it was set."""
        try:
            await asyncio.wait_for(event.wait(), max(0.0, seconds) / self._factor())
        except TimeoutError:
            return False
        return True

    def _factor(self) -> float:
        return 1.0


class FastTimebase(Timebase):
    """Time that runs ``factor`` times faster than real time (for tests and benchmarks)."""

    def __init__(self, factor: float, start: float | None = None) -> None:
        self.factor = factor
        self._real_start = time.monotonic()
        self._start = time.time() if start is None else start

    def now(self) -> float:
        return self._start + (time.monotonic() - self._real_start) * self.factor

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.factor)

    def _factor(self) -> float:
        return self.factor
