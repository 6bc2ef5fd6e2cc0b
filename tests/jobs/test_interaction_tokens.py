"""Interaction tokens are kept no longer than needed: cleared from the jobs table when a job
ends, and never kept past Discord's 15 minutes. A job without a token makes no edits.

Real SQLite files; the raw column is read, not the Job object."""

from __future__ import annotations

import asyncio

from jobs.records import JobState
from tests.jobs.conftest import RUN_TIMEOUT, image, nanobanana_factory

FIFTEEN_MINUTES = 15 * 60


async def stored_token(harness, job_id: str) -> str | None:
    row = await harness.db.fetchone("SELECT interaction_token FROM jobs WHERE id = ?", (job_id,))
    return row[0]


async def test_a_completed_job_forgets_its_token(harness, nanobanana_emu):
    harness.add_provider(nanobanana_factory(nanobanana_emu))
    job = await harness.submit("nanobanana", image("nano-banana"))
    assert await stored_token(harness, job.id)  # kept while the job runs: it edits the card
    await harness.run()
    assert (await harness.job(job.id)).state is JobState.COMPLETED
    assert harness.notifier.positions(job.id)  # the token was used while it was needed
    assert await stored_token(harness, job.id) is None
    assert job.interaction_token is None


async def test_a_failed_job_tells_the_member_then_forgets_its_token(harness, nanobanana_emu):
    harness.add_provider(nanobanana_factory(nanobanana_emu))
    nanobanana_emu.fail_next_request = (400, "INVALID_PROMPT")
    job = await harness.submit("nanobanana", image("nano-banana"))
    await harness.run()
    assert (await harness.job(job.id)).state is JobState.FAILED
    assert harness.notifier.failed_with(job.id)  # told (the failure card may use the token)
    assert await stored_token(harness, job.id) is None


async def test_tokens_past_their_life_are_cleared_at_start(harness, nanobanana_emu):
    harness.add_provider(nanobanana_factory(nanobanana_emu))
    expired_ack = await harness.store_job("nanobanana", image("nano-banana"), ack_seconds=-1)
    fresh = await harness.store_job("nanobanana", image("nano-banana"))
    old = await harness.store_job("nanobanana", image("nano-banana"))
    async with harness.db.transaction() as conn:  # created 16 minutes ago, never acknowledged
        await conn.execute(
            "UPDATE jobs SET created_at = created_at - ?, ack_expires_at = NULL WHERE id = ?",
            (FIFTEEN_MINUTES + 60, old.id),
        )
    done = await harness.store_job("nanobanana", image("nano-banana"))
    async with harness.db.transaction() as conn:  # left over by a crash after it ended
        await conn.execute("UPDATE jobs SET state = 'failed' WHERE id = ?", (done.id,))

    engine = harness.build_engine()
    await engine.forget_expired_tokens()  # what start() does first

    assert await stored_token(harness, expired_ack.id) is None
    assert await stored_token(harness, old.id) is None
    assert await stored_token(harness, done.id) is None
    assert await stored_token(harness, fresh.id) == fresh.interaction_token


async def test_a_running_job_loses_its_token_when_it_expires_and_stops_editing(
    harness, nanobanana_emu
):
    nanobanana_emu.task_seconds = 40 * 60  # far longer than the token lives
    harness.add_provider(nanobanana_factory(nanobanana_emu))
    harness.policy = type(harness.policy)(poll_max=60.0, token_sweep=30.0)
    engine = harness.build_engine()
    await engine.start()  # nothing to resume; the sweep runs from now on
    job = await harness.store_job("nanobanana", image("nano-banana"), ack_seconds=5 * 60)
    engine.enqueue(job)

    async def token_cleared() -> None:
        while await stored_token(harness, job.id) is not None:  # noqa: ASYNC110 - polling
            await asyncio.sleep(0.01)

    await asyncio.wait_for(token_cleared(), RUN_TIMEOUT)
    assert harness.time.now() >= job.ack_expires_at  # cleared once it was past its use
    live = engine._jobs[job.id]
    assert live.interaction_token is None  # the running job's object too
    assert (await harness.job(job.id)).state is JobState.RUNNING  # the job itself goes on
    edits = len(harness.notifier.progress_calls)
    await asyncio.sleep(120 / harness.time.factor)  # two minutes of polling
    assert len(harness.notifier.progress_calls) == edits


async def test_a_job_without_a_token_makes_no_edits(harness, nanobanana_emu):
    harness.add_provider(nanobanana_factory(nanobanana_emu))
    job = await harness.store_job("nanobanana", image("nano-banana"), ack_seconds=FIFTEEN_MINUTES)
    async with harness.db.transaction() as conn:
        await conn.execute("UPDATE jobs SET interaction_token = NULL WHERE id = ?", (job.id,))
    job = await harness.job(job.id)  # ack_expires_at is still in the future
    harness.build_engine().enqueue(job)
    await harness.run()
    assert (await harness.job(job.id)).state is JobState.COMPLETED
    assert harness.notifier.positions(job.id) == []
    assert len(harness.notifier.delivered(job.id)) == 1  # delivery never needed the token
