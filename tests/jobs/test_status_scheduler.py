"""The per-provider budget of status reads (jobs/follow.py StatusScheduler), on a clock that
moves only when the test moves it: who is read first, and that no number of jobs in flight
pushes a provider past its budget."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Iterable

import pytest

from jobs.follow import StatusScheduler, status_rate
from jobs.policy import EnginePolicy
from jobs.timebase import Timebase
from providers.aivideoapi import AIVideoAPIProvider
from providers.base import ProviderConfig
from providers.nanobanana import NanoBananaProvider

T0 = 1_000_000.0


class ManualTime(Timebase):
    """Engine time that stands still until ``advance`` moves it, firing due timers in order."""

    def __init__(self) -> None:
        self.t = T0
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._ids = itertools.count()

    def now(self) -> float:
        return self.t

    def _timer(self, seconds: float) -> asyncio.Future[None]:
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._timers, (self.t + max(0.0, seconds), next(self._ids), future))
        return future

    async def sleep(self, seconds: float) -> None:
        await self._timer(seconds)

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:
        if event.is_set():
            return True
        timer = self._timer(seconds)
        setter = asyncio.ensure_future(event.wait())
        try:
            await asyncio.wait({timer, setter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            setter.cancel()
            timer.cancel()
        return event.is_set()

    @staticmethod
    async def settle() -> None:
        for _ in range(10):
            await asyncio.sleep(0)

    async def advance(self, seconds: float) -> None:
        end = self.t + seconds
        await self.settle()
        while self._timers and self._timers[0][0] <= end:
            when, _, future = heapq.heappop(self._timers)
            if future.done():
                continue
            self.t = max(self.t, when)
            future.set_result(None)
            await self.settle()
        self.t = end
        await self.settle()


@pytest.fixture
def clock() -> ManualTime:
    return ManualTime()


def most_in_any_window(times: Iterable[float], window: float) -> int:
    ordered = sorted(times)
    most, first = 0, 0
    for last, at in enumerate(ordered):
        while at - ordered[first] > window:
            first += 1
        most = max(most, last - first + 1)
    return most


async def test_a_thousand_eager_jobs_never_get_more_than_the_budget(clock):
    """Every job wants a read every second; the account gets 0.75 a second (nanobanana's
    documented 60 a minute, three quarters of it for status reads), in bursts of at most 3."""
    scheduler = StatusScheduler("nanobanana", rate=0.75, burst=3.75, timebase=clock)
    granted: list[float] = []

    async def job(job_id: str) -> None:
        due = clock.now()
        while True:
            await scheduler.turn(job_id, due)
            granted.append(clock.now())
            due = clock.now() + 1.0

    jobs = [asyncio.create_task(job(f"job{i}")) for i in range(1000)]
    try:
        for _ in range(600):
            await clock.advance(1.0)
    finally:
        for task in jobs:
            task.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)
        await scheduler.aclose()

    assert len(granted) <= 3.75 + 0.75 * 600
    assert len(granted) >= 0.75 * 600 - 1  # and the budget is used, not wasted
    for window in (1.0, 10.0, 60.0):
        assert most_in_any_window(granted, window) <= 3.75 + 0.75 * window


async def test_when_reads_are_scarce_the_job_due_first_is_read_first(clock):
    scheduler = StatusScheduler("p", rate=1.0, burst=1.0, timebase=clock)
    order: list[str] = []

    async def job(job_id: str, due: float) -> None:
        await scheduler.turn(job_id, due)
        order.append(job_id)

    tasks = [
        asyncio.create_task(job(name, T0 + due))
        for name, due in (("late", 50.0), ("early", 10.0), ("middle", 30.0), ("first", 5.0))
    ]
    await clock.advance(60.0)  # all are due; one read a second from the budget
    await asyncio.gather(*tasks)
    await scheduler.aclose()
    assert order == ["first", "early", "middle", "late"]


async def test_no_read_comes_before_it_is_due(clock):
    scheduler = StatusScheduler("p", rate=None, burst=1.0, timebase=clock)
    turn = asyncio.create_task(scheduler.turn("job", T0 + 10.0))
    await clock.advance(9.9)
    assert not turn.done()
    await clock.advance(0.1)
    assert turn.done() and turn.result() is False
    await scheduler.aclose()


async def test_a_nudged_job_is_read_before_every_job_already_due(clock):
    """A callback says a task ended: its read goes ahead of the queue of due jobs."""
    scheduler = StatusScheduler("p", rate=0.5, burst=1.0, timebase=clock)
    order: list[str] = []

    async def job(job_id: str, due: float) -> None:
        nudged = await scheduler.turn(job_id, due)
        order.append(job_id + (" (nudged)" if nudged else ""))

    tasks = [asyncio.create_task(job(f"due{i}", T0)) for i in range(5)]
    tasks.append(asyncio.create_task(job("called-back", T0 + 3600.0)))
    await clock.advance(0.0)  # the budget's one read goes to the first due job
    scheduler.nudge("called-back")
    await clock.advance(2.0)  # the next read
    assert order == ["due0", "called-back (nudged)"]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await scheduler.aclose()


async def test_a_nudge_that_comes_before_the_job_waits_makes_its_next_read_immediate(clock):
    """The callback may arrive while the submit's answer is still being stored."""
    scheduler = StatusScheduler("p", rate=None, burst=1.0, timebase=clock)
    scheduler.nudge("job")
    turn = asyncio.create_task(scheduler.turn("job", T0 + 600.0))
    await clock.advance(0.0)
    assert turn.done() and turn.result() is True
    await scheduler.aclose()


async def test_a_rate_limit_pauses_every_read_of_the_account(clock):
    scheduler = StatusScheduler("p", rate=None, burst=1.0, timebase=clock)
    scheduler.pause(T0 + 60.0)  # a status read met 429 Retry-After: 60
    turns = [asyncio.create_task(scheduler.turn(f"job{i}", T0)) for i in range(3)]
    await clock.advance(59.0)
    assert not any(t.done() for t in turns)
    await clock.advance(1.0)
    assert all(t.done() for t in turns)
    await scheduler.aclose()


async def test_a_job_that_stops_waiting_gives_its_place_up(clock):
    scheduler = StatusScheduler("p", rate=1.0, burst=1.0, timebase=clock)
    leaving = asyncio.create_task(scheduler.turn("leaving", T0))
    staying = asyncio.create_task(scheduler.turn("staying", T0 + 1.0))
    await clock.settle()
    leaving.cancel()  # the engine stopped this job
    await clock.advance(1.0)
    assert staying.done()
    assert scheduler.waiting == 0
    await scheduler.aclose()


def test_budgets_come_from_the_documents_or_a_polite_default():
    policy = EnginePolicy()
    nanobanana = NanoBananaProvider(ProviderConfig(api_key="k", base_url="http://x"))
    assert status_rate(nanobanana, policy) == pytest.approx(60 / 60 * policy.status_share)
    raised = NanoBananaProvider(
        ProviderConfig(api_key="k", base_url="http://x", requests_per_minute=600)
    )
    assert status_rate(raised, policy) == pytest.approx(600 / 60 * policy.status_share)
    undocumented = AIVideoAPIProvider(ProviderConfig(api_key="k", base_url="http://x"))
    assert status_rate(undocumented, policy) == policy.status_reads_default
