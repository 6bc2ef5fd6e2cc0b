"""Jobs that cannot succeed: the member is told why in plain words and gets every credit back,
and nothing is sent to the provider twice."""

from __future__ import annotations

import pytest

from presentation.sentences import job_failure
from providers.base import ProviderConfig
from providers.nanobanana import NanoBananaProvider
from providers.sandbox import SandboxProvider
from tests.jobs.conftest import IMAGE_SETUPS, image

ALL = list(IMAGE_SETUPS)


@pytest.mark.parametrize(
    ("image_provider", "reason", "told"),
    [
        (
            "nanobanana",
            "Model overloaded, please retry",
            "The generation failed at the provider: Model overloaded, please retry",
        ),
        (
            "aivideoapi",
            "Upstream model timed out",
            "aivideoapi had a problem and could not make this. Please try again later.",
        ),
        (
            "nananobanana",
            "Generation failed: upstream timeout",
            "The generation failed at the provider: Generation failed: upstream timeout",
        ),
    ],
    indirect=["image_provider"],
)
async def test_a_failed_task_is_refunded_and_not_resubmitted(harness, image_provider, reason, told):
    image_provider.emu.fail_next_task = reason
    job = await harness.submit(image_provider.setup.provider, image_provider.setup.request)

    await harness.run()

    await harness.assert_refunded(job)
    assert harness.notifier.failed_with(job.id) == [told]
    assert len(image_provider.tasks) == 1
    assert image_provider.submits == 1


@pytest.mark.parametrize("image_provider", ["nanobanana"], indirect=True)
async def test_content_filter_on_submit_says_so_and_refunds(harness, image_provider):
    running = image_provider
    running.emu.filter_next_task = True  # 451 CONTENT_FILTERED
    job = await harness.submit("nanobanana", running.setup.request)

    await harness.run()

    await harness.assert_refunded(job)
    (told,) = harness.notifier.failed_with(job.id)
    assert "safety filter" in told and "rewording" in told
    assert running.tasks == {}
    assert running.submits == 1


@pytest.mark.parametrize(
    ("image_provider", "arm"),
    [
        ("aivideoapi", lambda emu: setattr(emu, "filter_next_task", True)),
        ("nananobanana", lambda emu: setattr(emu, "fail_next_task", "Blocked by safety policy")),
    ],
    indirect=["image_provider"],
)
async def test_a_task_failed_by_the_content_filter_says_so(harness, image_provider, arm):
    arm(image_provider.emu)
    job = await harness.submit(image_provider.setup.provider, image_provider.setup.request)

    await harness.run()

    await harness.assert_refunded(job)
    (told,) = harness.notifier.failed_with(job.id)
    assert told.startswith("The provider's safety filter rejected this request.")
    assert image_provider.submits == 1


# Each provider's own words for the same refusals (its error envelope, as the emulator sends it).
REFUSALS = {
    "nanobanana": {
        400: "INVALID_PARAMETER",
        401: "UNAUTHORIZED",
        402: "INSUFFICIENT_CREDITS",
        403: "FORBIDDEN",
    },
    "aivideoapi": {
        400: "invalid_request",
        401: "invalid_api_key",
        402: "insufficient_credits",
        403: "ip_not_allowed",
    },
    "nananobanana": {
        400: "invalid request parameters",
        401: "Invalid or missing API key",
        402: "Insufficient credits",
        403: "API access is not enabled for this account",
    },
}
TOLD = {
    400: "{p} rejected the request",
    401: "{p} refused the bot's API key. Please let a server admin know.",
    402: "The bot's account at {p} has run out of credits. A server admin needs to top it up.",
    403: "{p} refused the bot's API key. Please let a server admin know.",
}


@pytest.mark.parametrize("status", [400, 401, 402, 403])
@pytest.mark.parametrize("image_provider", ALL, indirect=True)
async def test_a_refused_submit_fails_at_once_with_plain_words(harness, image_provider, status):
    provider = image_provider.setup.provider
    image_provider.emu.fail_next_request = (status, REFUSALS[provider][status])
    job = await harness.submit(provider, image_provider.setup.request)

    await harness.run()

    await harness.assert_refunded(job)
    (told,) = harness.notifier.failed_with(job.id)
    assert told.startswith(TOLD[status].format(p=provider))
    assert image_provider.submits == 1  # never retried
    assert image_provider.tasks == {}
    assert not any(s >= 1 for s in harness.time.sleeps)  # and no backoff wait either


@pytest.mark.parametrize("image_provider", ALL, indirect=True)
async def test_a_provider_account_without_credits_is_named_as_the_bots(harness, image_provider):
    """Not a scripted failure: the account's real balance is too low."""
    image_provider.emu.credits = 0
    job = await harness.submit(image_provider.setup.provider, image_provider.setup.request)

    await harness.run()

    await harness.assert_refunded(job)
    (told,) = harness.notifier.failed_with(job.id)
    assert "bot's account" in told and "top it up" in told
    assert image_provider.submits == 1


async def test_a_disabled_provider_fails_the_job_without_touching_anything(harness, timebase):
    harness.add_provider(lambda: SandboxProvider(clock=timebase.now))
    job = await harness.store_job("sandbox", image("sandbox-image"))
    del harness.factories["sandbox"]  # the owner removed SANDBOX_PROVIDER, then restarted

    assert await harness.restart() == 1
    await harness.run()

    await harness.assert_refunded(job)
    assert harness.notifier.failed_with(job.id) == [
        "The provider sandbox is no longer enabled on this bot."
    ]


async def test_a_wrong_api_key_is_reported_without_ever_showing_the_key(harness, nanobanana_emu):
    """The API echoes the presented key in its 401 message; neither the member's sentence
    nor the stored technical error (which goes to the logs) may carry it."""
    secret = "nb_sk_live_do_not_leak_42"
    harness.add_provider(
        lambda: NanoBananaProvider(ProviderConfig(api_key=secret, base_url=nanobanana_emu.base_url))
    )
    job = await harness.submit("nanobanana", image("nano-banana"))

    await harness.run()

    await harness.assert_refunded(job)
    stored = await harness.job(job.id)
    said = job_failure(stored.failure)
    assert said == "nanobanana refused the bot's API key. Please let a server admin know."
    assert secret not in (stored.error or "") and secret not in said
    assert secret not in (stored.failure.to_stored() if stored.failure else "")
    assert nanobanana_emu.tasks == {}
