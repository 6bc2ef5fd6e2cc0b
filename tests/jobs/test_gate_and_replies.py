"""The small pieces that keep a burst of commands cheap: the provider gate's line, the
"replies first" wait, and routing's error rate."""

from __future__ import annotations

import asyncio
import time

import pytest

from jobs.health import ProviderHealth
from jobs.limits import ProviderGate
from jobs.replies import ReplyFirst


def gate(max_in_flight: int | None = 1) -> ProviderGate:
    return ProviderGate(
        "p", max_in_flight=max_in_flight, window=None, now=time.monotonic, sleep=asyncio.sleep
    )


async def test_the_gate_keeps_places_in_arrival_order_when_one_leaves_the_middle():
    line = gate()
    await line.acquire("running")  # holds the only slot
    for job in ("a", "b", "c", "d"):
        line.join(job)
    assert [line.position(j) for j in ("a", "b", "c", "d")] == [1, 2, 3, 4]
    await line.release("b")  # gave up its place before running
    assert [line.position(j) for j in ("a", "c", "d")] == [1, 2, 3]
    assert line.position("b") is None
    line.join("a")  # joining again keeps the place
    assert line.position("a") == 1

    waiting = [asyncio.create_task(line.acquire(j)) for j in ("d", "c", "a")]
    await asyncio.sleep(0)
    admitted = []
    for _ in waiting:
        await line.release(admitted[-1] if admitted else "running")
        done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED, timeout=1)
        fresh = [j for j, t in zip(("d", "c", "a"), waiting, strict=True) if t in done]
        admitted.append(next(j for j in fresh if j not in admitted))
    assert admitted == ["a", "c", "d"]  # the line's order, not the order they asked in


async def test_a_thousand_jobs_join_and_find_their_places():
    line = gate(max_in_flight=None)
    jobs = [f"job{i}" for i in range(1000)]
    for job in jobs:
        line.join(job)
    assert line.position("job999") == 999
    for job in jobs[:500:2]:
        await line.release(job)
    assert line.position("job999") == 749


async def test_quiet_waits_until_no_reply_has_been_prepared_for_a_moment():
    replies = ReplyFirst(settle=0.05, max_wait=5)
    await replies.quiet()  # nothing pending: at once
    with replies.replying() as first:
        waiter = asyncio.create_task(replies.quiet())
        first.sent()
        first.sent()  # a second call changes nothing
        assert replies.pending == 0 and replies.open == 1
        await asyncio.sleep(0.02)
        with replies.replying():  # another command arrives within the settle time
            await asyncio.sleep(0.06)
            assert not waiter.done()  # a reply is still being prepared
        started = time.monotonic()
        await waiter
        assert time.monotonic() - started >= 0.04  # the settle time after the last reply
    assert replies.open == 0


async def test_quiet_gives_up_waiting_after_max_wait():
    replies = ReplyFirst(settle=0.01, max_wait=0.05)
    with replies.replying():
        started = time.monotonic()
        await replies.quiet()
        assert 0.04 <= time.monotonic() - started < 1.0
        assert replies.pending == 1


@pytest.mark.parametrize("outcomes", [[], [200] * 5, [200, 503, 200, "timeout"], [503] * 3])
def test_routing_error_rate_is_the_reports(outcomes):
    health = ProviderHealth()
    for outcome in outcomes:
        health.observe("p", "POST", "/x", outcome, 0.1)
    assert health.error_rate("p") == health.report("p").error_rate


async def test_once_stopping_nothing_waits_for_replies():
    replies = ReplyFirst(settle=30, max_wait=30)
    with replies.replying():
        waiter = asyncio.create_task(replies.quiet())
        await asyncio.sleep(0.01)
        replies.stop_waiting()
        await asyncio.wait_for(waiter, 1)  # at once, though a reply is still being prepared
        with replies.replying():
            await asyncio.wait_for(replies.quiet(), 1)
