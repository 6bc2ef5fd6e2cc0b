"""Following running tasks: when each task's status is read next, and a budget of status
reads per provider account shared by every job in flight.

Two pieces, kept apart so each can be reasoned about (and tested) on its own:

* ``FollowPlan`` — one per running job, pure arithmetic: from the model's typical time, the
  reads so far and the progress they reported, the time of the next read. The first read
  comes at a fifth of the typical time (providers often finish early); with no progress, the
  gaps grow with the task's age; once the provider reports progress, the next read goes to
  the estimated end (checked once on the way when that is far off); a task past its estimate
  is read again after a small share of its age.
* ``StatusScheduler`` — one per provider account: hands out reads to the jobs whose time has
  come, earliest first (a job a callback nudged goes before all), never faster than a token
  bucket of ``rate`` reads per second allows, however many jobs are in flight. One timer
  per provider instead of one per job; a 429 pauses every read of the account.

The job's own task still performs the read and everything after it (jobs/engine.py), so the
engine's state machine and its database writes are unchanged.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
from dataclasses import dataclass

from jobs.policy import RECOVER_SECONDS, EnginePolicy
from jobs.timebase import Timebase
from providers.base import Provider

log = logging.getLogger(__name__)


def status_rate(provider: Provider, policy: EnginePolicy) -> float:
    """Status reads per second for a provider account: a share of its request budget (the
    account's own, else the documented one), or a polite default where none is known."""
    per_minute = provider.request_budget()
    if per_minute:
        return per_minute / 60.0 * policy.status_share
    return policy.status_reads_default


@dataclass
class _Sample:
    age: float  # seconds since submit when read
    progress: int  # 1-99


class FollowPlan:
    """When to read one task next. Times are engine seconds (epoch); ``started`` is when the
    provider accepted the task."""

    def __init__(self, started: float, typical: float, policy: EnginePolicy) -> None:
        self.started = started
        self.typical = typical
        self.policy = policy
        self.reads = 0
        self._first: _Sample | None = None  # the first reading with progress
        self._last: _Sample | None = None  # the latest reading with progress
        self._checked = False  # the halfway check of a far estimate is done

    def first_due(self) -> float:
        """The first read: a fifth of the typical time after the submit (at once when that
        is past, as for a task resumed after a restart)."""
        return self.started + max(self.policy.poll_min, self.policy.first_read * self.typical)

    def observe(self, now: float, progress: int | None) -> None:
        """A read happened at ``now``; ``progress`` is what it reported (None: nothing)."""
        self.reads += 1
        if progress is None or not 0 < progress < 100:
            return
        sample = _Sample(now - self.started, progress)
        if self._first is None:
            self._first = sample
        self._last = sample

    def estimated_end(self) -> float | None:
        """Seconds from submit to the task's end as its progress suggests; None without
        progress. Two estimates: progress since the submit, and progress between two
        readings far enough apart. When they agree, the later (whole-number progress makes
        the second a little early); when they do not, the earlier: the task queued before
        it moved, and the first estimate is far too late."""
        last = self._last
        if last is None:
            return None
        since_submit = last.age * 100.0 / last.progress
        first = self._first
        p = self.policy
        if first is None or last.progress - first.progress < p.slope_min_points:
            return since_submit
        rate = (last.progress - first.progress) / (last.age - first.age)
        between = last.age + (100 - last.progress) / rate
        if abs(between - since_submit) <= p.estimates_agree * since_submit:
            return max(between, since_submit)
        return min(between, since_submit)

    def estimated_progress(self, now: float) -> int | None:
        """Progress (0-99) the task has likely reached by ``now``, for the job card between
        reads; None when the provider reports none."""
        end = self.estimated_end()
        if end is None or self._last is None:
            return None
        return int(min(99.0, max(self._last.progress, 100.0 * (now - self.started) / end)))

    def next_due(self, now: float) -> float:
        """When to read again after a read (or a failed one) at ``now``."""
        p = self.policy
        age = max(0.0, now - self.started)
        end = self.estimated_end()
        if end is None:
            gap = _clamp((p.poll_growth - 1.0) * age, p.poll_min, p.poll_max)
        elif end <= age:  # past its estimate: look again soon
            gap = _clamp(p.late_read * age, p.poll_min, p.poll_max)
        elif end - age > p.eta_check_after and not self._checked:
            # far off: look once halfway, or after the task's age again if that is sooner (a
            # task that queued before it moved looks slower than it is)
            self._checked = True
            gap = min((end - age) / 2, age)
        else:
            gap = end - age + p.eta_margin
        return now + max(gap, p.poll_min)


def _clamp(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


@dataclass
class _Waiter:
    seq: int
    future: asyncio.Future[bool]
    nudged: bool


class StatusScheduler:
    """Status reads for one provider account: earliest due first, nudged jobs before all,
    at most ``rate`` a second with bursts of ``burst`` (None: no limit)."""

    def __init__(
        self,
        provider_id: str,
        *,
        rate: float | None,
        burst: float,
        timebase: Timebase,
    ) -> None:
        self.provider_id = provider_id
        self.rate = rate
        self.capacity = max(1.0, burst)
        self.time = timebase
        self.granted = 0  # reads handed out so far
        self._tokens = self.capacity
        self._refilled: float | None = None
        self._paused_until = 0.0
        self._heap: list[tuple[int, float, int, str]] = []  # (0 nudged / 1, due, seq, job)
        self._waiters: dict[str, _Waiter] = {}
        self._nudged: set[str] = set()  # nudges for jobs not waiting right now
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    async def turn(self, job_id: str, due: float) -> bool:
        """Wait for the job's next read: until ``due`` (engine time) or a nudge, then for a
        place in the budget. True when a nudge brought it forward."""
        nudged = job_id in self._nudged
        self._nudged.discard(job_id)
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._push(job_id, future, due, nudged)
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run(), name=f"status-{self.provider_id}")
        try:
            return await future
        finally:
            waiter = self._waiters.get(job_id)
            if waiter is not None and waiter.future is future:
                del self._waiters[job_id]  # its heap entry is skipped when it comes up

    def nudge(self, job_id: str) -> None:
        """A callback says the job's task changed: read it before every other job."""
        waiter = self._waiters.get(job_id)
        if waiter is None:
            self._nudged.add(job_id)  # not waiting yet (or reading): its next turn is at once
        elif not waiter.nudged:
            self._push(job_id, waiter.future, -math.inf, True)

    def forget(self, job_id: str) -> None:
        """The job no longer follows its task."""
        self._nudged.discard(job_id)

    def pause(self, until: float) -> None:
        """The provider refused a read for its rate limit: no read of this account before
        ``until`` (engine time)."""
        if until > self._paused_until:
            self._paused_until = until
            self._wake.set()

    async def aclose(self) -> None:
        if self._runner is not None:
            self._runner.cancel()
            await asyncio.gather(self._runner, return_exceptions=True)
            self._runner = None

    def _push(self, job_id: str, future: asyncio.Future[bool], due: float, nudged: bool) -> None:
        seq = next(self._seq)
        self._waiters[job_id] = _Waiter(seq, future, nudged)
        heapq.heappush(self._heap, (0 if nudged else 1, -math.inf if nudged else due, seq, job_id))
        self._wake.set()

    def _head(self) -> tuple[int, float, int, str] | None:
        """The first live entry of the heap; entries of jobs that stopped waiting, or that
        were pushed again (nudged), are dropped on the way."""
        while self._heap:
            entry = self._heap[0]
            waiter = self._waiters.get(entry[3])
            if waiter is not None and waiter.seq == entry[2] and not waiter.future.done():
                return entry
            heapq.heappop(self._heap)
        return None

    def _refill(self, now: float) -> None:
        if self._refilled is not None and self.rate is not None:
            self._tokens = min(self.capacity, self._tokens + (now - self._refilled) * self.rate)
        self._refilled = now

    def _token_at(self, now: float) -> float:
        """When the budget next has a read to give."""
        if self.rate is None or self._tokens >= 1.0:
            return now
        return now + (1.0 - self._tokens) / self.rate

    async def _run(self) -> None:
        while True:
            try:
                await self._grant_next()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug here must not leave every job of the account waiting
                log.exception("provider=%s status scheduler failed; going on", self.provider_id)
                await asyncio.sleep(RECOVER_SECONDS)

    async def _grant_next(self) -> None:
        """Give the next read, or wait until there may be one to give."""
        while True:
            entry = self._head()
            if entry is None:
                self._wake.clear()
                await self._wake.wait()
                continue
            urgent, due, _seq, job_id = entry
            now = self.time.now()
            self._refill(now)
            ready = max(now if urgent == 0 else due, self._paused_until, self._token_at(now))
            if ready > now:
                self._wake.clear()
                await self.time.wait(self._wake, ready - now)
                continue
            heapq.heappop(self._heap)
            waiter = self._waiters.pop(job_id)
            if self.rate is not None:
                self._tokens -= 1.0
            self.granted += 1
            waiter.future.set_result(waiter.nudged)
            return
