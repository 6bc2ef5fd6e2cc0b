"""Local queueing in front of each provider account: the bot waits its turn instead of
running into the provider's limits, and tells members where they stand."""

from __future__ import annotations

import pytest

from jobs.records import JobState
from providers.base import GenerationRequest, Kind, Limits
from providers.nanobananavideo import NanoBananaVideoProvider
from tests.jobs.conftest import (
    ALLOWANCE,
    TASK_SECONDS,
    USER,
    assert_completed,
    image,
    nananobanana_factory,
    nanobananavideo_factory,
    posts,
)


async def test_one_slot_account_runs_jobs_one_after_the_other(harness, nananobanana_emu):
    """NanaNoBanana allows one generation at a time per account: the second job waits
    locally (and says it is next in line) instead of collecting 429s."""
    harness.add_provider(nananobanana_factory(nananobanana_emu))
    engine = harness.build_engine()
    first = await harness.submit("nananobanana", image("nano-banana", "first"))
    second = await harness.submit("nananobanana", image("nano-banana", "second"), user_id=USER + 1)
    # what the acknowledgement shows right after the command
    assert engine.queue_position(first) == 0
    assert engine.queue_position(second) == 1

    await harness.run()

    await assert_completed(harness, first, charged=1)
    await assert_completed(harness, second, charged=1, user_id=USER + 1)
    bodies = posts(nananobanana_emu, "/api/v1/generate")
    assert [b["prompt"] for b in bodies] == ["first", "second"]  # no 429, no retry, in order
    assert len(nananobanana_emu.records) == 2
    first_done = await harness.job(first.id)
    second_done = await harness.job(second.id)
    assert second_done.submitted_at >= first_done.submitted_at + 15  # after the first finished
    # the waiting job's card said where it stood (the acknowledgement shows position 1, as
    # asserted above, so the engine does not edit the card again at once), then moved on
    positions = harness.notifier.positions(second.id)
    assert 0 in positions and set(positions) <= {0, 1, None}  # None: no longer queued


async def test_queue_positions_count_down_for_three_jobs(harness, nananobanana_emu):
    harness.add_provider(nananobanana_factory(nananobanana_emu))
    engine = harness.build_engine()
    jobs = [
        await harness.submit("nananobanana", image("nano-banana", f"job {n}"), user_id=USER + n)
        for n in range(3)
    ]
    assert [engine.queue_position(j) for j in jobs] == [0, 1, 2]

    await harness.wait_for_state(jobs[0].id, JobState.RUNNING)
    assert [engine.queue_position(j) for j in jobs] == [0, 1, 2]
    await harness.wait_for_state(jobs[1].id, JobState.RUNNING)
    assert [engine.queue_position(j) for j in jobs[1:]] == [0, 1]

    await harness.run()
    assert [b["prompt"] for b in posts(nananobanana_emu, "/api/v1/generate")] == [
        "job 0",
        "job 1",
        "job 2",
    ]
    for n, job in enumerate(jobs):
        await assert_completed(harness, job, charged=1, user_id=USER + n)


async def test_a_configured_higher_concurrency_runs_jobs_side_by_side(harness, nananobanana_emu):
    """NANANOBANANA_MAX_CONCURRENCY=2 for an account with a raised limit."""
    nananobanana_emu.concurrency_limit = 2
    harness.max_in_flight = {"nananobanana": 2}
    harness.add_provider(nananobanana_factory(nananobanana_emu))
    first = await harness.submit("nananobanana", image("nano-banana", "first"))
    second = await harness.submit("nananobanana", image("nano-banana", "second"), user_id=USER + 1)

    await harness.run()

    a, b = await harness.job(first.id), await harness.job(second.id)
    # both started at once: one after the other would be a whole task (20 s) apart
    assert abs(a.submitted_at - b.submitted_at) < TASK_SECONDS * 0.75
    assert len(posts(nananobanana_emu, "/api/v1/generate")) == 2
    await assert_completed(harness, first, charged=1)


class SmallWindowVideo(NanoBananaVideoProvider):
    """An account whose generation window is 2 per 5 minutes (the API's live figure)."""

    limits = Limits(window_generations=2, window_seconds=300)


@pytest.mark.parametrize("timebase", [400], indirect=True)
async def test_generation_window_is_waited_out_locally(harness, nanobananavideo_emu):
    nanobananavideo_emu.window_limit = 2
    nanobananavideo_emu.window_seconds = 300
    harness.add_provider(nanobananavideo_factory(nanobananavideo_emu, SmallWindowVideo))
    request = GenerationRequest(kind=Kind.VIDEO, model="nanobanana-video", prompt="waves")
    jobs = [await harness.submit("nanobananavideo", request, user_id=USER + n) for n in range(3)]

    await harness.run()

    stored = [await harness.job(j.id) for j in jobs]
    assert [j.state.value for j in stored] == ["completed"] * 3, [j.failure for j in stored]
    assert len(posts(nanobananavideo_emu, "/api/v1/text-to-video.php")) == 3  # never a 429
    assert stored[2].submitted_at - stored[0].submitted_at >= 300
    for n in range(3):
        assert await harness.left(USER + n) == ALLOWANCE - 5


@pytest.mark.parametrize("timebase", [400], indirect=True)
async def test_the_window_survives_a_restart(harness, nanobananavideo_emu):
    """Submissions before a restart still count: the new process does not exceed the window."""
    nanobananavideo_emu.window_limit = 2
    nanobananavideo_emu.window_seconds = 300
    harness.add_provider(nanobananavideo_factory(nanobananavideo_emu, SmallWindowVideo))
    request = GenerationRequest(kind=Kind.VIDEO, model="nanobanana-video", prompt="waves")
    before = [await harness.submit("nanobananavideo", request, user_id=USER + n) for n in range(2)]
    await harness.run()
    first_submit = min([(await harness.job(j.id)).submitted_at for j in before])

    late = await harness.store_job("nanobananavideo", request, user_id=USER + 2)
    await harness.restart()
    await harness.run()

    stored = await harness.job(late.id)
    assert stored.state.value == "completed", stored.failure
    assert len(posts(nanobananavideo_emu, "/api/v1/text-to-video.php")) == 3
    assert stored.submitted_at >= first_submit + 300  # waited for the window, took no 429


@pytest.mark.parametrize("timebase", [2000], indirect=True)
async def test_the_providers_live_window_numbers_are_used(harness, nanobananavideo_emu):
    """000's rate_limit object tells the account's real limit (here 2, not the documented 10):
    the bot follows it and waits for the window instead of running into a 429."""
    nanobananavideo_emu.window_limit = 2
    harness.add_provider(nanobananavideo_factory(nanobananavideo_emu))
    request = GenerationRequest(kind=Kind.VIDEO, model="nanobanana-video", prompt="waves")
    jobs = []
    for n in range(3):  # one after another: each submit's answer is seen before the next
        jobs.append(await harness.submit("nanobananavideo", request, user_id=USER + n))
        if n < 2:
            await harness.wait_for_state(jobs[-1].id, JobState.RUNNING)

    await harness.run()

    stored = [await harness.job(j.id) for j in jobs]
    assert [j.state.value for j in stored] == ["completed"] * 3, [j.failure for j in stored]
    assert len(posts(nanobananavideo_emu, "/api/v1/text-to-video.php")) == 3  # never a 429
    assert harness.engine.gates["nanobananavideo"].window[0] == 2
    assert stored[2].submitted_at - stored[0].submitted_at >= 1800
