"""A provider's result URL that leads somewhere the bot must not go: nothing is fetched from
there, nothing private is linked, and the member is told in plain words."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from jobs.records import JobState
from tests.emulators.base import serve
from tests.emulators.media import MediaServer
from tests.jobs.conftest import (
    ALLOWANCE,
    assert_completed,
    image,
    nanobanana_factory,
    posts,
    served_bytes,
)

GENERATE = "/api/v1/images/generate"


@pytest.fixture
async def private_host() -> AsyncIterator[MediaServer]:
    """Something on the bot's own network (127.0.0.1, another port) that no one trusted."""
    async with serve(MediaServer()) as server:
        yield server  # type: ignore[misc]


async def test_a_result_redirecting_to_a_private_address_is_refused_and_refunded(
    harness, nanobanana_emu, private_host
):
    nanobanana_emu.redirect_file = lambda name: private_host.url(
        f"/typed/image/png/{name}?body=png"
    )
    harness.add_provider(nanobanana_factory(nanobanana_emu))
    job = await harness.submit("nanobanana", image("nano-banana"))

    await harness.run()

    await harness.assert_refunded(job)  # failed, told why, nothing posted, every credit back
    (sentence,) = harness.notifier.failed_with(job.id)
    assert "could not be fetched safely" in sentence
    assert private_host.hits == []  # the redirect was never followed
    assert len(nanobanana_emu.tasks) == 1  # one paid task, not submitted again
    assert len(posts(nanobanana_emu, GENERATE)) == 1
    assert len(nanobanana_emu.file_headers) == 1  # only the redirect itself was read
    assert harness.notifier.deliveries == []


async def test_the_other_results_of_the_job_are_delivered_and_the_member_told(
    harness, nanobanana_emu, private_host
):
    nanobanana_emu.redirect_file = lambda name: (
        private_host.url("/typed/image/png/x.png?body=png") if name.endswith("-1.png") else None
    )
    harness.add_provider(nanobanana_factory(nanobanana_emu))
    job = await harness.submit("nanobanana", image("nano-banana", count=2))

    await harness.run()

    stored = await harness.job(job.id)
    assert stored.state is JobState.COMPLETED, stored.failure
    (delivery,) = harness.notifier.delivered(job.id)
    assert [f.data for f in delivery.files] == [served_bytes(nanobanana_emu, stored.media[0].url)]
    assert delivery.links == []  # the refused one is not linked: it leads to a private address
    assert harness.notifier.unfetched == [1]  # the member is told one file could not be fetched
    assert private_host.hits == []
    assert stored.charged == 2  # the provider made (and charged) both
    assert await harness.left() == ALLOWANCE - 2
    assert len(nanobanana_emu.tasks) == 1
    assert await harness.problems() == []


async def test_result_files_are_fetched_without_the_api_key(harness, nanobanana_emu):
    harness.add_provider(nanobanana_factory(nanobanana_emu))
    job = await harness.submit("nanobanana", image("nano-banana", count=2))

    await harness.run()

    await assert_completed(harness, job, charged=2)
    assert len(nanobanana_emu.file_headers) == 2
    for headers in nanobanana_emu.file_headers:
        assert "Authorization" not in headers
        assert nanobanana_emu.api_key not in str(headers)
