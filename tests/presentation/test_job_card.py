"""The job card tells a slow job from a stuck one: where it waits, its progress, its time."""

from __future__ import annotations

import dataclasses

from jobs.records import Job, JobState
from presentation.embeds import job_card
from providers.base import GenerationRequest, Kind

T0 = 1_700_000_000.0


def job(**changes) -> Job:
    base = Job(
        id="abc123",
        guild_id=1,
        channel_id=2,
        user_id=3,
        command="image",
        kind="image",
        provider="nanobanana",
        model="nano-banana",
        request=GenerationRequest(kind=Kind.IMAGE, model="nano-banana", prompt="a pear"),
        state=JobState.RUNNING,
        reserved=2,
        created_at=T0,
        deadline_at=T0 + 600,
        updated_at=T0,
        submitted_at=T0,
    )
    return dataclasses.replace(base, **changes)


def stage(card) -> str:
    return card.description


def test_queued_shows_how_many_jobs_are_ahead():
    card = job_card(job(state=JobState.QUEUED, submitted_at=None), queue_position=3)
    assert stage(card) == "Waiting for nanobanana — 3 jobs ahead"
    assert {f.name: f.value for f in card.fields}["Queue"] == "#4"


def test_running_with_the_providers_percentage_shows_a_bar():
    assert "57%" in stage(job_card(job(progress=57), now=T0 + 10, typical=20))


def test_running_without_a_percentage_shows_time_against_the_usual():
    card = job_card(job(), now=T0 + 12, typical=20)
    assert stage(card) == "Generating… 12s so far (usually about 20s)"


def test_a_job_past_its_usual_time_says_so():
    card = job_card(job(), now=T0 + 95, typical=40)
    assert stage(card) == "Generating… 1m 35s so far — taking longer than the usual 40s"


def test_delivering_says_the_result_is_on_its_way():
    assert stage(job_card(job(state=JobState.DELIVERING))) == (
        "Downloading the result and posting it…"
    )
