"""Building jobs directly in the bot's database, for restart scenarios."""

from __future__ import annotations

from jobs.records import Failure, FailureCode, Job, JobState
from jobs.store import JobStore
from providers.base import GenerationRequest, Kind, Media
from tests.e2e.conftest import ALICE, CHANNEL, GUILD


async def store_job(bot, *, state: JobState, provider: str, model: str, cost: int = 16) -> Job:
    now = bot.timebase.now()
    job = Job(
        id="feedbeef",
        guild_id=GUILD,
        channel_id=CHANNEL,
        user_id=ALICE,
        command="image",
        kind="image",
        provider=provider,
        model=model,
        request=GenerationRequest(kind=Kind.IMAGE, model=model, prompt="stored"),
        state=JobState.QUEUED,
        reserved=cost,
        created_at=now,
        deadline_at=now + 600,
        updated_at=now,
    )
    await bot.quota.reserve_job(job)
    await JobStore(bot.db).update(job, state=state)  # as the previous process left it
    return job


async def store_history(bot, count: int, *, before: float) -> list[Job]:
    """``count`` finished and unfinished jobs of Alice's, each a minute older than the last."""
    jobs = []
    async with bot.db.transaction() as conn:
        for n in range(count):
            at = before - 60 * (n + 1)
            state = [JobState.COMPLETED, JobState.FAILED, JobState.RUNNING][n % 3]
            job = Job(
                id=f"0dd{n:05x}",
                guild_id=GUILD,
                channel_id=CHANNEL,
                user_id=ALICE,
                command="image",
                kind="image",
                provider="nananobanana",
                model="nano-banana",
                request=GenerationRequest(kind=Kind.IMAGE, model="nano-banana", prompt=f"old {n}"),
                state=state,
                reserved=3,
                charged=2 if state is JobState.COMPLETED else None,
                media=(Media(url=f"https://media.example/{n}.png"),)
                if state is JobState.COMPLETED
                else (),
                failure=Failure(FailureCode.CONTENT_FILTERED, {"provider": "nananobanana"})
                if state is JobState.FAILED
                else None,
                created_at=at,
                deadline_at=at + 600,
                updated_at=at,
            )
            await JobStore.insert(conn, job)
            jobs.append(job)
    return jobs
