"""The jobs facade: everything cogs and presentation may do with jobs. They read jobs, start
a new one and say what became of its acknowledgement; the engine's store, queues, clock and
policy stay behind this class."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager

from jobs import failover
from jobs.engine import JobEngine
from jobs.health import ProviderHealth
from jobs.records import Job
from providers.base import GenerationRequest, ModelSpec

ROUTED_COMMANDS = ("image", "video", "animate")  # a re-roll stays with the provider that ran it


class JobService:
    def __init__(
        self,
        engine: JobEngine,
        *,
        health: ProviderHealth | None = None,
        offered: Callable[[ModelSpec], Sequence[ModelSpec]] | None = None,
        price: Callable[[str, GenerationRequest], Awaitable[int]] | None = None,
        prefetch: Callable[[str, GenerationRequest], None] | None = None,
    ) -> None:
        self._engine = engine
        self._health = health or ProviderHealth()
        self._offered = offered  # the enabled models of a spec's kind, in registry order
        self._price = price  # the pricer's: its cache or printed tables, in bot credits
        self._prefetch = prefetch  # the pricer's: start a lookup unless the price is known

    async def plan(
        self,
        spec: ModelSpec,
        request: GenerationRequest,
        *,
        command: str,
        named: str | None,
        defaults: tuple[str | None, str | None] = (None, None),
        allowed: Callable[[ModelSpec], bool] | None = None,
    ) -> failover.Plan:
        """Where a new job goes first, its price there (the reservation) and the providers it
        may move to (jobs/failover.py). ``named``: the model option as the member gave it;
        ``defaults``: the server's and the operator's default for ``command``. A model pinned
        as provider:model, a re-roll, or a model one enabled provider offers has one route.
        Raises the pricer's refusal (nothing charged) when no provider can be priced."""
        if self._price is None:
            raise RuntimeError("this JobService was built without a pricer")
        routed = command in ROUTED_COMMANDS and not failover.pinned(spec, named, *defaults)
        choices = (
            failover.options(spec, request, self._offered(spec) if self._offered else (), allowed)
            if routed
            else [failover.Option(spec, request)]
        )
        return await failover.plan(choices, self._price, self._health, self._prefetch)

    @property
    def accepting(self) -> bool:
        """False once the bot has begun stopping: no new job may start."""
        return self._engine.accepting

    def deadline_at(self, kind: str, created_at: float) -> float:
        """When a new job of ``kind`` is given up: its longest wait for a provider's turn,
        then the kind's own deadline."""
        policy = self._engine.policy
        return created_at + policy.queue_wait_max + policy.deadline(kind)

    def live_states(self) -> dict[tuple[str, str], int]:
        """(provider, state) -> this process's jobs now (/status: queued and running)."""
        return self._engine.live_states()

    async def get(self, job_id: str) -> Job | None:
        return await self._engine.jobs.get(job_id)

    async def running_for_member(self, guild_id: int, user_id: int) -> list[Job]:
        return await self._engine.jobs.running_for_member(guild_id, user_id)

    def join_queue(self, job: Job) -> int | None:
        """Give a new job its place in its provider's queue (before its reservation); its
        position, for the job card."""
        return self._engine.join_queue(job)

    def replying(self) -> AbstractContextManager[None]:
        """Around the work that precedes a command's reply and the reservation right after
        it: no job starts meanwhile (jobs/replies.py)."""
        return self._engine.replies.replying()

    async def leave_queue(self, job: Job) -> None:
        """A job given its place by join_queue will not run after all (its reservation was
        refused)."""
        await self._engine.leave_queue(job)

    def enqueue(self, job: Job) -> None:
        """Start a job stored with its reservation (after its card is out)."""
        self._engine.enqueue(job)

    async def acknowledgement_failed(self, job: Job) -> None:
        """The job's card could not be shown: its progress is not edited onto it."""
        await self._engine.jobs.update(job, ack_expires_at=None)
