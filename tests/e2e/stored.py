"""Building jobs directly in the bot's database, for restart scenarios."""

from __future__ import annotations

from jobs.records import Job, JobState
from providers.base import GenerationRequest, Kind
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
    await bot.engine.jobs.update(job, state=state)
    return job
