"""The jobs facade: everything cogs and presentation may do with jobs. They read jobs (one, a
member's pages of them, a member's finished ones), start a new one, say what became of its
acknowledgement, and fetch a finished job's files again to post it anew; the engine's store,
queues, clock, policy and downloads stay behind this class."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager

from jobs import failover
from jobs.download import Fetched
from jobs.engine import JobEngine
from jobs.health import ProviderHealth
from jobs.policy import CHOICES_SCANNED, HISTORY_PAGE_SIZE
from jobs.records import HistoryPage, Job, JobState
from jobs.replies import Reply
from providers.base import GenerationRequest, Media, ModelSpec

ROUTED_COMMANDS = ("image", "video", "animate")  # a re-roll stays with the provider that ran it;
# an edit runs where cogs/edit.py chose its model


class JobService:
    def __init__(
        self,
        engine: JobEngine,
        *,
        health: ProviderHealth | None = None,
        offered: Callable[[ModelSpec], Sequence[ModelSpec]] | None = None,
        price: Callable[[str, GenerationRequest], Awaitable[int]] | None = None,
        price_now: Callable[[str, GenerationRequest], int | None] | None = None,
    ) -> None:
        self._engine = engine
        self._health = health or ProviderHealth()
        self._offered = offered  # the enabled models of a spec's kind, in registry order
        self._price = price  # the pricer's: its cache or printed tables, in bot credits
        self._price_now = price_now  # the pricer's: a known price, else its lookup starts

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
        return await failover.plan(choices, self._price, self._health, self._price_now)

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

    def replying(self) -> AbstractContextManager[Reply]:
        """Around the work that precedes a command's reply (``Reply.sent()`` ends it once the
        reply is out): no job starts meanwhile (jobs/replies.py)."""
        return self._engine.replies.replying()

    async def after_replies(self) -> None:
        """Wait until no reply is being prepared (bounded): the reservation that follows a
        reply gives way to the members still waiting for theirs."""
        await self._engine.replies.quiet()

    async def leave_queue(self, job: Job) -> None:
        """A job given its place by join_queue will not run after all (its reservation was
        refused)."""
        await self._engine.leave_queue(job)

    def enqueue(self, job: Job) -> None:
        """Start a job stored with its reservation (after its card is out)."""
        self._engine.enqueue(job)

    async def acknowledgement_failed(self, job: Job) -> None:
        """The job's card could not be shown: its progress is not edited onto it."""
        await self._engine.card_lost(job)

    # --- a member's own jobs, read back (/history, /show) ------------------------------------

    async def member_page(self, guild_id: int, user_id: int, number: int) -> HistoryPage:
        """Page ``number`` (from 1) of the member's jobs in the server, newest first; a page
        past the end comes back empty, saying how many pages there are."""
        store = self._engine.jobs
        total = await store.count_for_member(guild_id, user_id)
        pages = -(-total // HISTORY_PAGE_SIZE)
        jobs = []
        if 1 <= number <= pages:
            jobs = await store.for_member(
                guild_id, user_id, limit=HISTORY_PAGE_SIZE, offset=(number - 1) * HISTORY_PAGE_SIZE
            )
        return HistoryPage(jobs, number, pages, total, HISTORY_PAGE_SIZE)

    async def member_finished(
        self, guild_id: int, user_id: int, needle: str = "", *, limit: int
    ) -> list[Job]:
        """The member's newest completed jobs in the server whose id or prompt contains
        ``needle`` (any case), at most ``limit``: what /show can post again."""
        jobs = await self._engine.jobs.for_member(
            guild_id, user_id, limit=CHOICES_SCANNED, state=JobState.COMPLETED
        )
        needle = needle.strip().lower()
        found = [
            job
            for job in jobs
            if not needle or needle in job.id or needle in job.request.prompt.lower()
        ]
        return found[:limit]

    async def fetch_again(self, job: Job, delivered: Sequence[Media], limit: int) -> Fetched:
        """The files of a finished ``job``, fetched again to post it anew under a delivery's
        rules (jobs/download.py: files up to ``limit`` bytes): from its result message as
        Discord has it now (``delivered``), else from the media links stored with the job.
        Nothing in the answer when neither can be fetched; the caller discards the files."""
        if delivered:
            fetched = await self._fetch(job, delivered, limit)
            if fetched.files or fetched.links:
                return fetched
        return await self._fetch(job, job.media, limit)

    async def _fetch(self, job: Job, media: Sequence[Media], limit: int) -> Fetched:
        """Links count only for files too large to upload here (they were found: a link kept
        because its download failed may be dead); a URL only the job's provider can open (the
        sandbox's) needs that provider still enabled."""
        provider = self._engine.providers.get(job.provider)
        usable = [m for m in media if provider is not None or _is_http(m.url)]
        if not usable:
            return Fetched(unfetched=len(media))
        fetcher = self._engine.fetcher
        fetched = await fetcher.fetch_all(job.id, job.kind, usable, limit, provider)  # type: ignore[arg-type]
        fetched.unfetched += len(media) - len(usable)
        if not fetched.oversized:
            fetched.unfetched += len(fetched.links)
            fetched.links = []
        return fetched


def _is_http(url: str) -> bool:
    return url.partition("://")[0].lower() in ("http", "https")
