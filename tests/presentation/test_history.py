"""/history's page and /show's autocomplete fit Discord's limits whatever the jobs hold: the
longest prompts, model ids, failure reasons and media links still give ten whole entries."""

from __future__ import annotations

from jobs.records import Failure, FailureCode, HistoryPage, Job, JobState
from presentation.discord_limits import (
    CHOICE_NAME_MAX,
    EMBED_DESCRIPTION_MAX,
    EMBED_FIELD_NAME_MAX,
    EMBED_FIELD_VALUE_MAX,
    EMBEDS_TOTAL_MAX,
    embed_text_length,
)
from presentation.history import history_embed, job_choice_name
from providers.base import GenerationRequest, Kind, Media

T0 = 1_700_000_000.0


def worst_job(n: int, state: JobState) -> Job:
    model = "m" * 200
    return Job(
        id=f"{n:032x}",  # the longest id a button's template accepts
        guild_id=10**19,
        channel_id=10**19,
        user_id=10**19,
        command="reroll",
        kind="image",
        provider="p" * 40,
        model=model,
        request=GenerationRequest(kind=Kind.IMAGE, model=model, prompt="word " * 1200),
        state=state,
        reserved=10**9,
        charged=None,
        media=(Media(url="https://media.example/" + "x" * 2000),),
        failure=Failure(FailureCode.TASK_FAILED, {"detail": "why " * 500})
        if state is JobState.FAILED
        else None,
        created_at=T0 - n,
        deadline_at=T0,
        updated_at=T0,
    )


def test_ten_of_the_longest_jobs_fit_one_embed_whole():
    for state in (JobState.COMPLETED, JobState.FAILED, JobState.RUNNING):
        jobs = [worst_job(n, state) for n in range(10)]
        embed = history_embed(
            HistoryPage(jobs=jobs, number=99_999, pages=99_999, total=10**9, size=10)
        )
        assert len(embed.fields) == 10  # nothing dropped to make it fit
        assert embed_text_length(embed) <= EMBEDS_TOTAL_MAX
        assert len(embed.description) <= EMBED_DESCRIPTION_MAX
        for field in embed.fields:
            assert len(field.name) <= EMBED_FIELD_NAME_MAX
            assert len(field.value) <= EMBED_FIELD_VALUE_MAX
            assert f"job `{jobs[embed.fields.index(field)].id}`" in field.value
        if state is JobState.COMPLETED:  # a link too long to print is left to /show
            assert "/show job:" in embed.fields[0].value and "xxxx" not in embed.fields[0].value


def test_an_autocomplete_name_keeps_id_and_model_within_100_characters():
    job = worst_job(1, JobState.COMPLETED)
    name = job_choice_name(job)
    assert len(name) <= CHOICE_NAME_MAX and name.startswith(job.id)
    short = Job(**{**job.__dict__, "model": "nano-banana"})
    name = job_choice_name(short)
    assert len(name) == CHOICE_NAME_MAX and name.endswith(" · nano-banana")
    assert name.startswith(f"{job.id} · word word")
