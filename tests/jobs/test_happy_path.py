"""A job from reservation to delivery and settlement, once per image provider and the sandbox."""

from __future__ import annotations

from providers.base import GenerationRequest, Kind
from providers.sandbox import SandboxProvider
from tests.jobs.conftest import (
    ALLOWANCE,
    aivideoapi_factory,
    assert_completed,
    gets,
    image,
    nananobanana_factory,
    nanobanana_factory,
    nanobananavideo_factory,
    posts,
    served_bytes,
)


async def test_nanobanana_images_are_delivered_and_charged_at_the_credit_rate(
    harness, nanobanana_emu
):
    harness.add_provider(nanobanana_factory(nanobanana_emu), rate=1.5)
    job = await harness.submit("nanobanana", image("nano-banana", count=3))
    assert job.reserved == 5  # 3 images x 1 credit x 1.5, rounded up
    assert await harness.left() == ALLOWANCE - 5  # reserved while it runs

    await harness.run()

    assert len(nanobanana_emu.tasks) == 1
    assert len(posts(nanobanana_emu, "/api/v1/images/generate")) == 1
    (task_id,) = nanobanana_emu.tasks
    stored = await assert_completed(harness, job, charged=5)
    assert stored.task_id == task_id
    assert stored.provider_cost == 3  # the API's credits_used
    (delivery,) = harness.notifier.delivered(job.id)
    assert [f.data for f in delivery.files] == [
        served_bytes(nanobanana_emu, m.url) for m in stored.media
    ]
    assert len({f.filename for f in delivery.files}) == 3


async def test_aivideoapi_image_is_charged_the_reservation_when_no_cost_is_reported(
    harness, aivideoapi_emu
):
    harness.add_provider(aivideoapi_factory(aivideoapi_emu), rate=0.5)
    request = image("nano-banana-2", resolution="2K", output_format="png", aspect_ratio="16:9")
    job = await harness.submit("aivideoapi", request)
    assert job.reserved == 12  # 24 provider credits at 0.5

    await harness.run()

    assert len(aivideoapi_emu.tasks) == 1
    assert len(posts(aivideoapi_emu, "/v1/images/generations")) == 1
    stored = await assert_completed(harness, job, charged=12)
    assert stored.provider_cost is None
    (delivery,) = harness.notifier.delivered(job.id)
    assert delivery.files[0].data == served_bytes(aivideoapi_emu, stored.media[0].url)
    assert aivideoapi_emu.credits == 1000 - 24


async def test_nananobanana_images_are_delivered_with_the_reported_cost(harness, nananobanana_emu):
    harness.add_provider(nananobanana_factory(nananobanana_emu), rate=2)
    job = await harness.submit("nananobanana", image("nano-banana", count=2))
    assert job.reserved == 4

    await harness.run()

    assert len(nananobanana_emu.records) == 1
    assert len(posts(nananobanana_emu, "/api/v1/generate")) == 1
    stored = await assert_completed(harness, job, charged=4)
    assert stored.provider_cost == 2
    (delivery,) = harness.notifier.delivered(job.id)
    assert [f.data for f in delivery.files] == [
        served_bytes(nananobanana_emu, m.url) for m in stored.media
    ]


async def test_settlement_charges_what_the_provider_reports_and_returns_the_rest(
    harness, nananobanana_emu
):
    """A reservation above the actual price: only provider cost x rate is kept."""
    harness.add_provider(nananobanana_factory(nananobanana_emu), rate=2)
    job = await harness.submit("nananobanana", image("nano-banana"), cost=10)
    assert await harness.left() == ALLOWANCE - 10

    await harness.run()

    await assert_completed(harness, job, charged=2)  # creditsUsed 1 x rate 2
    assert await harness.left() == ALLOWANCE - 2


async def test_sandbox_job_runs_offline_end_to_end(harness, timebase):
    harness.add_provider(lambda: SandboxProvider(clock=timebase.now))
    job = await harness.submit("sandbox", image("sandbox-image", count=2))
    assert job.reserved == 2

    await harness.run()

    stored = await assert_completed(harness, job, charged=2)
    assert len(stored.media) == 2
    # progress was shown on the acknowledgement while the job ran
    states = [state.value for jid, state, _p, _q in harness.notifier.progress_calls]
    assert "submitting" in states


async def test_progress_edits_are_rate_limited_and_show_the_job_moving(harness, nanobanana_emu):
    nanobanana_emu.task_seconds = 60
    harness.add_provider(nanobanana_factory(nanobanana_emu))
    job = await harness.submit("nanobanana", image("nano-banana"))

    await harness.run()

    await assert_completed(harness, job, charged=1)
    calls = [c for c in harness.notifier.progress_calls if c[0] == job.id]
    running = [progress for _id, state, progress, _pos in calls if state.value == "running"]
    assert running and running == sorted(running)  # never goes backwards
    assert running[-1] > 50 and all(0 <= p < 100 for p in running)
    # a minute of job time, at most one edit per 5 s (plus the forced one on submit)
    assert len(calls) <= 60 / harness.policy.progress_interval + 3
    assert gets(nanobanana_emu, "/api/v1/images/status") < 20  # polls back off


async def test_video_job_delivers_the_mp4_once(harness, nanobananavideo_emu):
    harness.add_provider(nanobananavideo_factory(nanobananavideo_emu))
    request = GenerationRequest(
        kind=Kind.VIDEO, model="nanobanana-video", prompt="a banana surfing", duration=6
    )
    job = await harness.submit("nanobananavideo", request)
    assert job.reserved == 6

    await harness.run()

    stored = await harness.job(job.id)
    assert stored.state.value == "completed", stored.failure
    assert len(nanobananavideo_emu.videos) == 1
    (delivery,) = harness.notifier.delivered(job.id)
    (file,) = delivery.files
    assert file.filename == f"bananabot-{job.id}.mp4"
    assert file.data[4:8] == b"ftyp"
    assert file.data == served_bytes(nanobananavideo_emu, stored.media[0].url)
    assert stored.charged == 6
    assert await harness.left() == ALLOWANCE - 6
    assert await harness.problems() == []


async def test_the_charge_never_exceeds_what_was_reserved(harness, nanobanana_emu):
    """The provider charged 3 credits for a job shown (and reserved) at 1."""
    harness.add_provider(nanobanana_factory(nanobanana_emu))
    job = await harness.submit("nanobanana", image("nano-banana", count=3), cost=1)

    await harness.run()

    stored = await assert_completed(harness, job, charged=1)
    assert stored.provider_cost == 3


async def test_a_result_ready_in_the_submit_answer_is_delivered_without_polling(
    harness, nananobanana_emu
):
    nananobanana_emu.task_seconds = 0  # the async answer already carries the finished record
    harness.add_provider(nananobanana_factory(nananobanana_emu))
    job = await harness.submit("nananobanana", image("nano-banana", count=2))

    await harness.run()

    await assert_completed(harness, job, charged=2)
    assert gets(nananobanana_emu, "/api/v1/generate") == 0


async def test_delivery_does_not_depend_on_the_interaction_token(harness, nanobanana_emu):
    """The acknowledgement can only be edited for 15 minutes; a job that outlives its token
    stops editing it but is still posted in the channel."""
    nanobanana_emu.task_seconds = 120
    harness.add_provider(nanobanana_factory(nanobanana_emu))
    # the token lasts 55 s (0.28 s of real time: room for the first edit on a loaded
    # machine), less than half the task
    job = await harness.store_job("nanobanana", image("nano-banana"), ack_seconds=55)
    harness.build_engine().enqueue(job)

    await harness.run()

    await assert_completed(harness, job, charged=1)
    edits = [c for c in harness.notifier.progress_calls if c[0] == job.id]
    assert edits  # while the token was good
    assert all(progress is None or progress < 50 for _id, _s, progress, _q in edits)
