"""Waiting out 429s, retrying only what cannot create a second paid task, tolerating flaky
status reads."""

from __future__ import annotations

import httpx
import pytest

from jobs.engine import EnginePolicy
from tests.jobs.conftest import (
    ALLOWANCE,
    assert_completed,
    fail_before,
    gets,
    image,
    nananobanana_factory,
    nanobanana_factory,
)

OUR_PROMPT = "a banana wearing sunglasses"


async def test_concurrency_429_waits_for_retry_after_then_submits_once(harness, nananobanana_emu):
    """Someone else's generation holds the account's one slot for 100 s; the API answers 429
    with Retry-After: 1 until it is done. The job waits its turn instead of failing."""
    harness.add_provider(nananobanana_factory(nananobanana_emu))
    own_seconds = nananobanana_emu.task_seconds
    # long enough (0.5 s real) to still hold the slot when our job is submitted on a busy machine
    nananobanana_emu.task_seconds = 100.0
    async with httpx.AsyncClient() as other_client:
        answer = await other_client.post(
            f"{nananobanana_emu.base_url}/api/v1/generate",
            json={"prompt": "someone else's picture", "mode": "async"},
            headers={"Authorization": f"Bearer {nananobanana_emu.api_key}"},
        )
    assert answer.status_code == 200
    nananobanana_emu.task_seconds = own_seconds
    job = await harness.submit("nananobanana", image("nano-banana", OUR_PROMPT))

    await harness.run()

    await assert_completed(harness, job, charged=1)
    ours = [r for r in nananobanana_emu.records.values() if r["prompt"] == OUR_PROMPT]
    assert len(ours) == 1
    sent = [b for m, p, b in nananobanana_emu.requests if m == "POST" and b["prompt"] == OUR_PROMPT]
    assert len(sent) >= 2  # at least one 429 before the accepted submit
    assert harness.time.sleeps.count(1.0) >= len(sent) - 1  # each wait was the Retry-After


async def test_rate_limit_429_waits_for_retry_after_then_submits_once(harness, nanobanana_emu):
    """One request per minute allowed, and the minute was just used: the submit waits out the
    Retry-After (~60 s); status reads refused by the same limit are simply read again later."""
    nanobanana_emu.rate_limit_per_minute = 1
    provider = harness.add_provider(nanobanana_factory(nanobanana_emu))
    assert await provider.balance() == 500  # uses this minute's one request
    job = await harness.submit("nanobanana", image("nano-banana", OUR_PROMPT))

    await harness.run()

    await assert_completed(harness, job, charged=1)
    assert len(nanobanana_emu.tasks) == 1
    generate = [b for m, p, b in nanobanana_emu.requests if p == "/api/v1/images/generate"]
    assert len(generate) == 2  # one 429, one accepted
    # waited the Retry-After (whole seconds, up to the minute; how much of the minute is left
    # depends on how long the set-up took on a loaded machine)
    assert any(1 <= s <= 60 and s == int(s) for s in harness.time.sleeps)
    assert nanobanana_emu.credits == 499


SUBMIT_5XX_RETRIED = [
    ("nanobanana", (503, "INTERNAL_ERROR")),
    ("aivideoapi", (503, "upstream_error")),
    ("nananobanana", (503, "Server busy")),  # "server busy (async mode only)": a refusal
]

SUBMIT_5XX_NOT_RESENT = [
    ("nanobanana", (500, "INTERNAL_ERROR")),
    ("nanobanana", (502, "BAD_GATEWAY")),
    ("aivideoapi", (500, "internal_error")),
]


@pytest.mark.parametrize(
    ("image_provider", "failure"),
    SUBMIT_5XX_NOT_RESENT,
    indirect=["image_provider"],
    ids=[f"{p}-{f[0]}" for p, f in SUBMIT_5XX_NOT_RESENT],
)
async def test_a_5xx_that_may_follow_a_created_task_is_never_resent(
    harness, image_provider, failure
):
    """A 500 can come after the provider created (and charged) the task: resending could
    start a second paid task, so the job is refunded instead."""
    provider = harness.providers[image_provider.setup.provider]
    fail_before(provider, "submit", image_provider.emu, [failure])
    job = await harness.submit(image_provider.setup.provider, image_provider.setup.request)

    await harness.run()

    await harness.assert_refunded(job)
    assert image_provider.submits == 1
    (told,) = harness.notifier.failed_with(job.id)
    assert "had a problem" in told


@pytest.mark.parametrize(
    ("image_provider", "failure"),
    SUBMIT_5XX_RETRIED,
    indirect=["image_provider"],
    ids=[f"{p}-{f[0]}" for p, f in SUBMIT_5XX_RETRIED],
)
async def test_a_5xx_refusal_on_submit_is_retried_and_makes_one_task(
    harness, image_provider, failure
):
    provider = harness.providers[image_provider.setup.provider]
    fail_before(provider, "submit", image_provider.emu, [failure])
    job = await harness.submit(image_provider.setup.provider, image_provider.setup.request)

    await harness.run()

    stored = await harness.job(job.id)
    assert stored.state.value == "completed", stored.failure
    assert stored.submit_attempts == 2
    assert image_provider.submits == 2
    assert len(image_provider.tasks) == 1
    assert harness.notifier.failed_with(job.id) == []
    assert len(harness.notifier.delivered(job.id)) == 1
    assert await harness.problems() == []


@pytest.mark.parametrize("image_provider", ["nananobanana"], indirect=True)
async def test_a_submit_whose_outcome_is_unknown_is_never_sent_again(harness, image_provider):
    """NanaNoBanana's 500 on submit may come after the record was created and charged: the
    adapter says OutcomeUnknown, and the engine must not risk a second paid record."""
    provider = harness.providers["nananobanana"]
    fail_before(provider, "submit", image_provider.emu, [(500, "Internal server error")])
    job = await harness.submit("nananobanana", image_provider.setup.request)

    await harness.run()

    await harness.assert_refunded(job)
    assert image_provider.submits == 1
    (told,) = harness.notifier.failed_with(job.id)
    assert told == (
        "nananobanana did not confirm that the job started (no answer, or an error), so it "
        "was not charged. Please try again."
    )


@pytest.mark.parametrize("image_provider", ["nanobanana"], indirect=True)
async def test_submit_retries_are_bounded(harness, image_provider):
    provider = harness.providers["nanobanana"]
    fail_before(provider, "submit", image_provider.emu, [(503, "INTERNAL_ERROR")] * 10)
    job = await harness.submit("nanobanana", image_provider.setup.request)

    await harness.run()

    await harness.assert_refunded(job)
    assert image_provider.submits == harness.policy.submit_attempts
    assert image_provider.tasks == {}
    (told,) = harness.notifier.failed_with(job.id)
    assert told == "nanobanana had a problem and could not make this. Please try again later."


STATUS_5XX = {
    "nanobanana": [(500, "INTERNAL_ERROR"), (503, "INTERNAL_ERROR"), (502, "BAD_GATEWAY")],
    "aivideoapi": [(500, "internal_error"), (503, "upstream_error"), (502, "upstream_error")],
    "nananobanana": [(500, "Internal server error"), (503, "Server busy"), (502, "Bad gateway")],
}


@pytest.mark.parametrize("image_provider", list(STATUS_5XX), indirect=True)
async def test_transient_errors_while_following_a_task_are_tolerated(harness, image_provider):
    provider_id = image_provider.setup.provider
    failures = fail_before(
        harness.providers[provider_id], "status", image_provider.emu, list(STATUS_5XX[provider_id])
    )
    job = await harness.submit(provider_id, image_provider.setup.request)

    await harness.run()

    assert failures == []  # all three were answered
    stored = await harness.job(job.id)
    assert stored.state.value == "completed", stored.failure
    assert len(image_provider.tasks) == 1
    assert image_provider.submits == 1
    assert len(harness.notifier.delivered(job.id)) == 1
    assert await harness.problems() == []


@pytest.mark.parametrize("image_provider", ["nanobanana"], indirect=True)
async def test_a_provider_that_stays_down_while_following_ends_the_job(harness, image_provider):
    harness.policy = EnginePolicy(poll_max=5)  # keep the dozen polls short
    allowed = harness.policy.status_errors_allowed
    fail_before(
        harness.providers["nanobanana"],
        "status",
        image_provider.emu,
        [(503, "INTERNAL_ERROR")] * (allowed + 5),
    )
    job = await harness.submit("nanobanana", image_provider.setup.request)

    await harness.run()

    await harness.assert_refunded(job)
    assert gets(image_provider.emu, "/api/v1/images/status") == allowed + 1
    assert await harness.left() == ALLOWANCE


async def test_a_slot_that_never_frees_up_ends_the_job_after_the_queue_limit(
    harness, nananobanana_emu
):
    harness.policy = EnginePolicy(queue_wait_max=120)
    nananobanana_emu.retry_after_seconds = 30
    harness.add_provider(nananobanana_factory(nananobanana_emu))
    nananobanana_emu.task_seconds = 10**6  # someone else's generation that never ends
    async with httpx.AsyncClient() as other_client:
        await other_client.post(
            f"{nananobanana_emu.base_url}/api/v1/generate",
            json={"prompt": "stuck", "mode": "async"},
            headers={"Authorization": f"Bearer {nananobanana_emu.api_key}"},
        )
    job = await harness.submit("nananobanana", image("nano-banana", OUR_PROMPT))

    await harness.run()

    await harness.assert_refunded(job)
    assert harness.notifier.failed_with(job.id) == [
        "nananobanana is too busy right now. Please try again in a few minutes."
    ]
    tries = [b for m, p, b in nananobanana_emu.requests if m == "POST" and b["prompt"] != "stuck"]
    assert 3 <= len(tries) <= 5  # every 30 s for about two minutes, not a hammering loop
    assert len(nananobanana_emu.records) == 1
