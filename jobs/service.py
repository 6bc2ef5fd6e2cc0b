"""The jobs facade: everything cogs and presentation may do with jobs. They read jobs (one, a
member's pages of them, a member's finished ones), start a new one, say what became of its
acknowledgement, and fetch a finished job's files again to post it anew; the engine's store,
queues, clock, policy and downloads stay behind this class."""

from __future__ import annotations

from collections.abc import Sequence

from jobs.download import Fetched
from jobs.engine import JobEngine
from jobs.policy import CHOICES_SCANNED, HISTORY_PAGE_SIZE
from jobs.records import HistoryPage, Job, JobState
from providers.base import Media


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
