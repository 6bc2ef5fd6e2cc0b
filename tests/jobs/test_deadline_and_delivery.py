"""Giving up on tasks that never finish, and getting results to the channel one way or
another."""

from __future__ import annotations

from datetime import timedelta

import pytest

from jobs.engine import EnginePolicy
from jobs.records import JobState
from jobs.store import JobStore
from providers.base import GenerationRequest, Kind, Media
from tests.jobs.conftest import (
    ALLOWANCE,
    MIB,
    assert_completed,
    image,
    nananobanana_factory,
    nanobanana_factory,
    nanobananavideo_factory,
    posts,
)


@pytest.mark.parametrize("timebase", [400], indirect=True)
async def test_an_image_that_never_finishes_is_cancelled_at_the_deadline(harness, nanobanana_emu):
    harness.policy = EnginePolicy(image_deadline=120)
    nanobanana_emu.task_seconds = 10**6
    harness.add_provider(nanobanana_factory(nanobanana_emu))
    job = await harness.submit("nanobanana", image("nano-banana"))

    await harness.run()

    await harness.assert_refunded(job)
    assert harness.notifier.failed_with(job.id) == [
        "The generation did not finish within 2 minutes, so the bot stopped waiting for it."
    ]
    stored = await harness.job(job.id)
    assert 120 <= stored.finished_at - stored.submitted_at < 135
    assert len(nanobanana_emu.tasks) == 1  # given up on, not sent again
    assert len(posts(nanobanana_emu, "/api/v1/images/generate")) == 1


@pytest.mark.parametrize("timebase", [400], indirect=True)
async def test_a_video_gets_the_longer_video_deadline(harness, nanobananavideo_emu):
    harness.policy = EnginePolicy(image_deadline=60, video_deadline=240)
    nanobananavideo_emu.task_seconds = 10**6
    harness.add_provider(nanobananavideo_factory(nanobananavideo_emu))
    request = GenerationRequest(kind=Kind.VIDEO, model="nanobanana-video", prompt="slow waves")
    job = await harness.submit("nanobananavideo", request)

    await harness.run()

    await harness.assert_refunded(job)
    assert harness.notifier.failed_with(job.id) == [
        "The generation did not finish within 4 minutes, so the bot stopped waiting for it."
    ]
    stored = await harness.job(job.id)
    assert 240 <= stored.finished_at - stored.submitted_at < 260


async def test_a_result_over_the_upload_limit_is_posted_as_a_link_with_its_lifetime(
    harness, nananobanana_emu
):
    nananobanana_emu.large_results = True  # ~3 MB PNG
    harness.notifier.limit = 1 * MIB
    harness.add_provider(nananobanana_factory(nananobanana_emu))
    job = await harness.submit("nananobanana", image("nano-banana"))

    await harness.run()

    stored = await harness.job(job.id)
    assert stored.state is JobState.COMPLETED, stored.failure
    (delivery,) = harness.notifier.delivered(job.id)
    assert delivery.files == []
    assert [m.url for m in delivery.links] == [m.url for m in stored.media]
    (name,) = [url.rsplit("/", 1)[1] for url in (m.url for m in delivery.links)]
    assert len(nananobanana_emu.files[name][0]) > 1 * MIB
    assert delivery.link_ttl == timedelta(days=15)  # document 004: links last 15 days
    assert harness.notifier.oversized == [True]  # the member is told why it is a link
    assert stored.charged == 1  # the member got the picture, by link
    assert await harness.left() == ALLOWANCE - 1
    assert await harness.problems() == []


async def test_a_result_that_cannot_be_downloaded_is_posted_as_a_link(harness, nanobanana_emu):
    harness.add_provider(nanobanana_factory(nanobanana_emu))
    job = await harness.store_job("nanobanana", image("nano-banana"))
    gone = f"{nanobanana_emu.base_url}/files/expired.png"  # answers 404
    await JobStore(harness.db).update(
        job,
        state=JobState.DELIVERING,
        task_id="clxgone",
        submitted_at=harness.time.now(),
        media=(Media(gone, content_type="image/png"),),
        provider_cost=1.0,
    )

    await harness.restart()
    await harness.run()

    (delivery,) = harness.notifier.delivered(job.id)
    assert delivery.files == [] and [m.url for m in delivery.links] == [gone]
    assert harness.notifier.oversized == [False]  # not a size problem: it could not be fetched
    assert (await harness.job(job.id)).state is JobState.COMPLETED


async def test_a_failed_channel_post_is_retried_and_delivered_once(harness, nanobanana_emu):
    harness.notifier.deliver_errors = 1
    harness.add_provider(nanobanana_factory(nanobanana_emu))
    job = await harness.submit("nanobanana", image("nano-banana"))

    await harness.run()

    await assert_completed(harness, job, charged=1)


async def test_a_result_that_can_never_be_posted_is_refunded(harness, nanobanana_emu):
    harness.notifier.deliver_errors = 99
    harness.add_provider(nanobanana_factory(nanobanana_emu))
    job = await harness.submit("nanobanana", image("nano-banana"))

    await harness.run()

    await harness.assert_refunded(job)
    assert harness.notifier.failed_with(job.id) == [
        "Discord kept failing when the bot posted the result, so it could not be shown."
    ]
