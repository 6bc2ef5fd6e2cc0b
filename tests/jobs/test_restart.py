"""A restart (or crash) loses no job, charges none twice, and delivers each once.

Each test runs a "process" (database, adapters, engine), throws it away, and starts a new one
on the same SQLite file, as the bot does after SIGTERM or a crash."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from db.database import Database
from jobs.engine import EnginePolicy
from jobs.records import JobState
from jobs.store import JobStore
from providers.base import Media
from tests.jobs.conftest import (
    ALLOWANCE,
    RUN_TIMEOUT,
    USER,
    assert_completed,
    gets,
    image,
    nananobanana_factory,
    nanobanana_factory,
    posts,
)


@pytest.mark.parametrize(
    "image_provider", ["nanobanana", "aivideoapi", "nananobanana"], indirect=True
)
async def test_a_running_job_is_followed_to_the_end_by_the_next_process(harness, image_provider):
    provider_id = image_provider.setup.provider
    job = await harness.submit(provider_id, image_provider.setup.request)
    running = await harness.wait_for_state(job.id, JobState.RUNNING)
    assert running.task_id in image_provider.tasks

    assert await harness.restart() == 1
    await harness.run()

    stored = await assert_completed(harness, job, charged=job.reserved)
    assert stored.task_id == running.task_id  # followed, not sent again
    assert len(image_provider.tasks) == 1
    assert image_provider.submits == 1


async def test_a_task_that_finished_while_the_bot_was_down_is_picked_up_quickly(
    harness, nanobanana_emu
):
    harness.add_provider(nanobanana_factory(nanobanana_emu))
    job = await harness.submit("nanobanana", image("nano-banana"), ack_seconds=0)  # no card
    await harness.wait_for_state(job.id, JobState.RUNNING)
    await harness.shutdown()
    await asyncio.sleep(40 / harness.time.factor)  # 40 s of downtime; the task took 20

    slept = len(harness.time.sleeps)
    reads = gets(nanobanana_emu, "/api/v1/images/status")
    await harness.restart()
    await harness.run()

    await assert_completed(harness, job, charged=1)
    # looked at once, in one read, without waiting for the model's typical time
    assert gets(nanobanana_emu, "/api/v1/images/status") == reads + 1
    background = (harness.policy.token_sweep, harness.policy.lease_renew)  # not the job's
    waits = [s for s in harness.time.sleeps[slept:] if s not in background]
    assert not any(s >= harness.policy.poll_min for s in waits)
    assert len(nanobanana_emu.tasks) == 1


async def test_a_job_caught_mid_submit_is_refunded_and_never_sent(harness, nanobanana_emu):
    """The process died while the submit request was in flight: it may or may not have
    reached the provider, so sending it again could pay for two tasks."""
    harness.add_provider(nanobanana_factory(nanobanana_emu))
    job = await harness.store_job("nanobanana", image("nano-banana"))
    await JobStore(harness.db).update(job, state=JobState.SUBMITTING, submit_attempts=1)

    assert await harness.restart() == 1
    await harness.run()

    await harness.assert_refunded(job)
    assert harness.notifier.failed_with(job.id) == [
        "The bot restarted while sending this job, so it was cancelled rather than risk "
        "running it twice."
    ]
    assert posts(nanobanana_emu, "/api/v1/images/generate") == []


async def test_a_delivered_job_is_only_settled_after_a_restart(harness, nanobanana_emu):
    """The result message was posted, then the process died before settling."""
    harness.add_provider(nanobanana_factory(nanobanana_emu), rate=1.5)
    job = await harness.store_job("nanobanana", image("nano-banana", count=2))
    url = nanobanana_emu.add_png("done.png", "done")
    await JobStore(harness.db).update(
        job,
        state=JobState.DELIVERING,
        task_id="clxdone",
        submitted_at=harness.time.now(),
        media=(Media(url, content_type="image/png"),),
        progress=100,
        provider_cost=2.0,
        result_message_id=4242,
    )

    assert await harness.restart() == 1
    await harness.run()

    stored = await harness.job(job.id)
    assert stored.state is JobState.COMPLETED
    assert harness.notifier.deliveries == []  # the member already has the picture
    assert stored.result_message_id == 4242
    assert stored.charged == 3  # 2 provider credits x 1.5
    assert await harness.ledger_rows(job.id) == [("reserve", 3), ("settle", 3)]
    assert await harness.left() == ALLOWANCE - 3
    assert await harness.problems() == []
    assert nanobanana_emu.requests == []  # nothing downloaded, nothing asked


async def test_a_result_not_yet_posted_is_delivered_once_after_a_restart(harness, nanobanana_emu):
    harness.add_provider(nanobanana_factory(nanobanana_emu))
    job = await harness.store_job("nanobanana", image("nano-banana"))
    url = nanobanana_emu.add_png("ready.png", "ready")
    await JobStore(harness.db).update(
        job,
        state=JobState.DELIVERING,
        task_id="clxready",
        submitted_at=harness.time.now(),
        media=(Media(url, content_type="image/png"),),
        progress=100,
        provider_cost=1.0,
    )

    await harness.restart()
    await harness.run()

    await assert_completed(harness, job, charged=1)
    (delivery,) = harness.notifier.delivered(job.id)
    assert delivery.files[0].data == nanobanana_emu.files["ready.png"][0]


async def test_queued_jobs_resume_in_order_and_respect_a_task_still_running(
    harness, nananobanana_emu
):
    """After a restart the one-slot account is still busy with the running job; the queued
    one waits for it instead of collecting 429s."""
    nananobanana_emu.task_seconds = 100  # 0.5 s of real time: still running at the restart
    harness.add_provider(nananobanana_factory(nananobanana_emu))
    running = await harness.submit("nananobanana", image("nano-banana", "first"))
    await harness.wait_for_state(running.id, JobState.RUNNING)
    queued = await harness.store_job(
        "nananobanana", image("nano-banana", "second"), user_id=USER + 1
    )

    assert await harness.restart() == 2
    assert harness.engine.queue_position(queued) == 1
    await harness.run()

    await assert_completed(harness, running, charged=1)
    await assert_completed(harness, queued, charged=1, user_id=USER + 1)
    assert [b["prompt"] for b in posts(nananobanana_emu, "/api/v1/generate")] == [
        "first",
        "second",
    ]


async def test_a_job_waiting_out_a_429_is_sent_once_after_a_restart(harness, nananobanana_emu):
    """Stopped while waiting for Retry-After: nothing was created, so the next process may
    submit it, and does so exactly once."""
    nananobanana_emu.retry_after_seconds = 15
    nananobanana_emu.task_seconds = 200  # the other generation holds the only slot for 1 s
    # real time: long enough for ours to be refused on a loaded machine (and on PostgreSQL)
    harness.add_provider(nananobanana_factory(nananobanana_emu))
    async with httpx.AsyncClient() as other_client:
        await other_client.post(
            f"{nananobanana_emu.base_url}/api/v1/generate",
            json={"prompt": "someone else's", "mode": "async"},
            headers={"Authorization": f"Bearer {nananobanana_emu.api_key}"},
        )
    job = await harness.submit("nananobanana", image("nano-banana", "ours"))
    await asyncio.wait_for(_until(lambda: harness.time.sleeps.count(15.0) >= 1), 5)
    assert (await harness.job(job.id)).state is JobState.QUEUED

    await harness.restart()
    await harness.run()

    await assert_completed(harness, job, charged=1)
    ours = [r for r in nananobanana_emu.records.values() if r["prompt"] == "ours"]
    assert len(ours) == 1


async def _until(condition) -> None:
    while not condition():  # noqa: ASYNC110 - polling what the engine did, not a signal
        await asyncio.sleep(0.002)


@pytest.mark.parametrize("image_provider", ["nananobanana"], indirect=True)
async def test_stopping_during_a_submit_waits_for_its_answer(harness, image_provider):
    """SIGTERM while the submit is in flight: the answer is awaited and stored, so the task
    is followed after the restart instead of being orphaned and refunded."""
    provider = harness.providers["nananobanana"]
    original = provider.submit
    started = asyncio.Event()

    async def slow_submit(request, **kwargs):
        started.set()
        await asyncio.sleep(0.3)  # the request is on the wire
        return await original(request, **kwargs)

    provider.submit = slow_submit
    job = await harness.submit("nananobanana", image_provider.setup.request)
    await asyncio.wait_for(started.wait(), RUN_TIMEOUT)
    await harness.engine.stop()

    stored = await harness.job(job.id)
    assert stored.state is JobState.RUNNING and stored.task_id
    await harness.restart()
    await harness.run()
    await assert_completed(harness, job, charged=1)
    assert image_provider.submits == 1


@pytest.mark.parametrize("timebase", [400], indirect=True)
async def test_a_task_that_finished_during_downtime_past_the_deadline_is_still_delivered(
    harness, nanobanana_emu
):
    """The deadline passed while the bot was down; one last status read finds the result."""
    harness.policy = EnginePolicy(image_deadline=120)
    nanobanana_emu.task_seconds = 150  # finishes after the deadline, during the downtime
    harness.add_provider(nanobanana_factory(nanobanana_emu))
    job = await harness.submit("nanobanana", image("nano-banana"))
    await harness.wait_for_state(job.id, JobState.RUNNING)
    await harness.shutdown()
    await asyncio.sleep(200 / harness.time.factor)  # down past the deadline and the task's end

    reads_before = gets(nanobanana_emu, "/api/v1/images/status")
    await harness.restart()
    await harness.run()

    await assert_completed(harness, job, charged=1)
    assert gets(nanobanana_emu, "/api/v1/images/status") == reads_before + 1
    assert len(nanobanana_emu.tasks) == 1


@pytest.mark.parametrize("timebase", [400], indirect=True)
async def test_a_job_past_its_deadline_after_downtime_gets_one_last_read_and_true_words(
    harness, nanobanana_emu
):
    harness.policy = EnginePolicy(image_deadline=120)
    nanobanana_emu.task_seconds = 10**6
    harness.add_provider(nanobanana_factory(nanobanana_emu))
    job = await harness.submit("nanobanana", image("nano-banana"))
    await harness.wait_for_state(job.id, JobState.RUNNING)
    await harness.shutdown()
    await asyncio.sleep(200 / harness.time.factor)

    reads_before = gets(nanobanana_emu, "/api/v1/images/status")
    await harness.restart()
    await harness.run()

    await harness.assert_refunded(job)
    assert gets(nanobanana_emu, "/api/v1/images/status") == reads_before + 1
    assert harness.notifier.failed_with(job.id) == [
        "The bot was offline when this generation's 2 minutes ran out, and nanobanana had "
        "not finished it when the bot checked again, so the bot stopped waiting for it."
    ]


async def test_no_new_submit_starts_once_stopping_and_the_queued_job_runs_after_restart(
    harness, nananobanana_emu
):
    """nananobanana runs one task at a time: the second job gets the slot just as the bot
    is told to stop, and must stay queued rather than start a submit the stop cuts off."""
    harness.add_provider(nananobanana_factory(nananobanana_emu))
    first = await harness.submit("nananobanana", image("nano-banana", prompt="first"))
    second = await harness.submit("nananobanana", image("nano-banana", prompt="second"))
    harness.notifier.on_delivery_start = lambda job: harness.engine.begin_stop()

    await harness.wait_for_state(first.id, JobState.DELIVERING)
    await harness.shutdown()  # stop(): the first job's post in flight is let finish

    assert len(posts(nananobanana_emu, "/api/v1/generate")) == 1
    assert await harness_job_state(harness, second.id) is JobState.QUEUED
    harness.notifier.on_delivery_start = None
    assert await harness.restart() == 1
    await harness.run()
    assert [d.job_id for d in harness.notifier.deliveries] == [first.id, second.id]
    assert (await harness.job(second.id)).state is JobState.COMPLETED
    assert await harness.left() == ALLOWANCE - first.reserved - second.reserved
    assert len(posts(nananobanana_emu, "/api/v1/generate")) == 2


async def harness_job_state(harness, job_id: str) -> JobState:
    db = await Database.open(harness.path)
    try:
        job = await JobStore(db).get(job_id)
        assert job is not None
        return job.state
    finally:
        await db.close()
