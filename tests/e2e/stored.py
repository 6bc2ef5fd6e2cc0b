"""Building jobs directly in the bot's database, for restart scenarios."""

from __future__ import annotations

from db.jobs import Job, JobState, JobStore
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
        cost=cost,
        created_at=now,
        deadline_at=now + 600,
        updated_at=now,
    )
    await bot.quota.reserve_job(job)
    await JobStore(bot.db).update(job, state=state)  # as the previous process left it
    return job
