"""Work is claimed, not owned: a job runs in whichever process holds its lease, a lease that
lapses (its process died) is taken over, and every step still happens once: one provider
task, one post, one charge.

Two Harness objects over one database stand for two bot processes (on PostgreSQL exactly as
in production; on SQLite the same mechanism, though one process at a time is what SQLite is
for)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from jobs.records import JobState
from jobs.store import JobStore, LeaseLost
from providers.base import ProviderConfig
from providers.nanobanana import NanoBananaProvider
from tests.jobs.conftest import (
    RUN_TIMEOUT,
    Harness,
    assert_completed,
    image,
    nanobanana_factory,
    posts,
)

SUBMIT_PATH = "/api/v1/images/generate"


@pytest.fixture
async def other(harness: Harness) -> AsyncIterator[Harness]:
    """A second process on the same database, with the same (fast) clock."""
    second = Harness(harness.path, harness.time)
    await second.open()
    try:
        yield second
    finally:
        await second.shutdown()


def crash(h: Harness) -> None:
    """The process dies: its tasks end where they are, nothing is released or written."""
    assert h.engine is not None
    keeper = h.engine._lease_keeper
    if keeper is not None:
        keeper.cancel()
    for task in list(h.engine._tasks.values()):
        task.cancel()
    h.engine._tasks.clear()
    h.engine = None  # shutdown() must not stop() it cleanly


async def until(condition) -> None:
    async def poll() -> None:
        while not await condition():  # noqa: ASYNC110 - polling the database
            await asyncio.sleep(0.005)

    await asyncio.wait_for(poll(), RUN_TIMEOUT)


async def test_a_job_of_a_process_that_died_is_finished_by_another_once(
    harness, other, nanobanana_emu
):
    await _start_both(harness, other, nanobanana_emu)
    job = await harness.submit("nanobanana", image("nano-banana"))
    running = await harness.wait_for_state(job.id, JobState.RUNNING)
    assert other.engine._jobs == {}  # leased to the first process

    crash(harness)
    await until(lambda: _state_is(other, job.id, JobState.COMPLETED))
    await other.run()

    stored = await assert_completed(other, job, charged=job.reserved)
    assert stored.task_id == running.task_id  # followed, never submitted again
    assert len(posts(nanobanana_emu, SUBMIT_PATH)) == 1
    assert harness.notifier.deliveries == []  # the dead process posted nothing
    lapse = running.created_at + harness.policy.lease_seconds
    assert stored.finished_at >= lapse - harness.policy.lease_renew  # waited for the lease


async def test_a_clean_stop_hands_its_jobs_over_without_waiting_for_the_lease(
    harness, other, nanobanana_emu
):
    await _start_both(harness, other, nanobanana_emu)
    job = await harness.submit("nanobanana", image("nano-banana"))
    await harness.wait_for_state(job.id, JobState.RUNNING)

    await harness.engine.stop()  # SIGTERM: the lease is released
    stopped_at = harness.time.now()
    await until(lambda: _state_is(other, job.id, JobState.COMPLETED))
    await other.run()

    stored = await assert_completed(other, job, charged=job.reserved)
    assert len(posts(nanobanana_emu, SUBMIT_PATH)) == 1
    # taken at the other's next look (every lease_renew), not after a lease's whole length
    assert (await other.job(job.id)).submitted_at < stopped_at
    assert stored.finished_at - stopped_at < harness.policy.lease_seconds


async def test_a_job_handed_to_two_processes_runs_in_one(harness, other, nanobanana_emu):
    await _start_both(harness, other, nanobanana_emu)
    jobs = [
        await harness.store_job("nanobanana", image("nano-banana", f"n{i}"), user_id=100 + i)
        for i in range(6)
    ]
    for job in jobs:  # both processes are told of each job at once
        harness.engine.enqueue(job)
        other.engine.enqueue(job)
    await harness.run()
    await other.run()

    assert len(posts(nanobanana_emu, SUBMIT_PATH)) == len(jobs)
    for job in jobs:
        delivered = harness.notifier.delivered(job.id) + other.notifier.delivered(job.id)
        assert len(delivered) == 1
        assert (await harness.job(job.id)).state is JobState.COMPLETED
        held = job.reserved
        assert await harness.ledger_rows(job.id) == [("reserve", held), ("settle", held)]
    assert await harness.problems() == []


async def test_a_process_frozen_past_its_lease_cannot_write_to_the_job(harness):
    """Fencing: the lease is checked by every state write, in the same statement."""
    first = JobStore(harness.db, owner="first")
    second = JobStore(harness.db, owner="second")
    stored = await _stored_job(harness)
    now = harness.time.now()
    assert await first.claim(stored.id, now, now + 60)
    assert not await second.claim(stored.id, now + 30, now + 90)  # still held
    assert await second.claim(stored.id, now + 61, now + 121)  # lapsed: taken over

    with pytest.raises(LeaseLost):
        await first.update(stored, state=JobState.SUBMITTING)
    assert (await harness.job(stored.id)).state is JobState.QUEUED
    await second.update(stored, state=JobState.SUBMITTING)
    assert (await harness.job(stored.id)).state is JobState.SUBMITTING
    assert await first.renew(now + 200) == set()
    assert await second.renew(now + 200) == {stored.id}


async def test_processes_claiming_together_never_take_the_same_job(harness):
    jobs = [await _stored_job(harness, user_id=100 + i) for i in range(40)]
    stores = [JobStore(harness.db, owner=f"process-{n}") for n in range(4)]
    now = harness.time.now()
    taken = await asyncio.gather(*(s.claim_free(now, now + 60, limit=15) for s in stores))
    ids = [job.id for batch in taken for job in batch]
    assert len(ids) == len(set(ids)) == len(jobs)  # every job once, none twice
    assert all(len(batch) <= 15 for batch in taken)


async def _start_both(first: Harness, second: Harness, emu) -> None:
    """Both processes run before any job exists (a starting process on SQLite, which serves
    one process at a time, takes over every unfinished job)."""
    for h in (first, second):
        h.add_provider(nanobanana_factory(emu))
        await h.build_engine().start()


async def _stored_job(h: Harness, user_id: int = 100):
    if "nanobanana" not in h.providers:
        h.add_provider(lambda: NanoBananaProvider(ProviderConfig("key", "http://127.0.0.1:9")))
    return await h.store_job("nanobanana", image("nano-banana"), cost=1, user_id=user_id)


async def _state_is(h: Harness, job_id: str, state: JobState) -> bool:
    return (await h.job(job_id)).state is state
