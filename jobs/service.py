"""The jobs facade: everything cogs and presentation may do with jobs. They read jobs, start
a new one and say what became of its acknowledgement; the engine's store, queues, clock and
policy stay behind this class."""

from __future__ import annotations

from jobs.engine import JobEngine
from jobs.records import Job


class JobService:
    def __init__(self, engine: JobEngine) -> None:
        self._engine = engine

    @property
    def accepting(self) -> bool:
        """False once the bot has begun stopping: no new job may start."""
        return self._engine.accepting

    def deadline_at(self, kind: str, created_at: float) -> float:
        """When a new job of ``kind`` is given up: its longest wait for a provider's turn,
        then the kind's own deadline."""
        policy = self._engine.policy
        return created_at + policy.queue_wait_max + policy.deadline(kind)

    async def get(self, job_id: str) -> Job | None:
        return await self._engine.jobs.get(job_id)

    async def running_for_member(self, guild_id: int, user_id: int) -> list[Job]:
        return await self._engine.jobs.running_for_member(guild_id, user_id)

    def join_queue(self, job: Job) -> int | None:
        """Give a job stored with its reservation its place in its provider's queue; its
        position, for the job card."""
        return self._engine.join_queue(job)

    def enqueue(self, job: Job) -> None:
        """Start a job stored with its reservation (after its card is out)."""
        self._engine.enqueue(job)

    async def acknowledgement_failed(self, job: Job) -> None:
        """The job's card could not be shown: its progress is not edited onto it."""
        await self._engine.jobs.update(job, ack_expires_at=None)
