"""A member's own jobs, read back: /history's pages, /show's job and its autocomplete, and the
media of a finished job fetched again to re-post it. The jobs facade's read side for cogs and
presentation, which never reach the database themselves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from db.jobs import Job, JobState  # re-exported: cogs and presentation read jobs from here
from jobs.download import Fetched
from providers.base import Media, Provider

PAGE_SIZE = 10  #: jobs on one /history page (SPEC §3)
CHOICES_SCANNED = 100  #: newest finished jobs an autocomplete answer is picked from


class Store(Protocol):
    async def get(self, job_id: str) -> Job | None: ...

    async def for_member(
        self,
        guild_id: int,
        user_id: int,
        *,
        limit: int,
        offset: int = 0,
        state: JobState | None = None,
    ) -> list[Job]: ...

    async def count_for_member(
        self, guild_id: int, user_id: int, *, state: JobState | None = None
    ) -> int: ...


class Fetcher(Protocol):
    async def fetch_all(
        self, job_id: str, kind: str, media: Sequence[Media], limit: int, provider: Provider
    ) -> Fetched: ...


@dataclass(frozen=True)
class HistoryPage:
    jobs: list[Job]
    number: int  # 1-based; 1 when there are no jobs at all
    pages: int  # 0 when there are no jobs
    total: int

    @property
    def exists(self) -> bool:
        return 1 <= self.number <= max(self.pages, 1)


class MemberJobs:
    def __init__(self, store: Store, fetcher: Fetcher, providers: Mapping[str, Provider]) -> None:
        self._store = store
        self._fetcher = fetcher
        self._providers = providers

    async def get(self, job_id: str) -> Job | None:
        return await self._store.get(job_id)

    async def page(self, guild_id: int, user_id: int, number: int) -> HistoryPage:
        """Page ``number`` (from 1) of the member's jobs in the server, newest first; a page
        past the end comes back empty, with the number of pages there are."""
        total = await self._store.count_for_member(guild_id, user_id)
        pages = -(-total // PAGE_SIZE)
        jobs = []
        if 1 <= number <= pages:
            jobs = await self._store.for_member(
                guild_id, user_id, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE
            )
        return HistoryPage(jobs=jobs, number=number, pages=pages, total=total)

    async def finished(
        self, guild_id: int, user_id: int, needle: str = "", *, limit: int
    ) -> list[Job]:
        """The member's newest completed jobs whose id or prompt contains ``needle`` (any
        case), at most ``limit``: what /show can re-post."""
        jobs = await self._store.for_member(
            guild_id, user_id, limit=CHOICES_SCANNED, state=JobState.COMPLETED
        )
        needle = needle.strip().lower()
        found = [
            job
            for job in jobs
            if not needle or needle in job.id or needle in job.request.prompt.lower()
        ]
        return found[:limit]

    async def fetch_media(self, job: Job, delivered: Sequence[Media], limit: int) -> Fetched:
        """The files of a finished ``job`` fetched again to post it anew, under a delivery's
        rules (jobs/download.py: files up to ``limit`` bytes, links where linking is safe):
        from its result message as Discord has it now (``delivered``), else from the media
        links stored with the job. Nothing in the answer when neither can be fetched."""
        if delivered:
            fetched = await self._fetch(job, delivered, limit)
            if fetched.files or fetched.links:
                return fetched
        return await self._fetch(job, job.media, limit)

    async def _fetch(self, job: Job, media: Sequence[Media], limit: int) -> Fetched:
        """Links count only for files too large to upload here (they were found); a URL only
        the job's provider can open (the sandbox's) needs that provider still enabled."""
        provider = self._providers.get(job.provider)
        usable = [m for m in media if provider is not None or _is_http(m.url)]
        if not usable:
            return Fetched(unfetched=len(media))
        fetched = await self._fetcher.fetch_all(job.id, job.kind, usable, limit, provider)  # type: ignore[arg-type]
        fetched.unfetched += len(media) - len(usable)
        if not fetched.oversized:  # a link kept only because its download failed may be dead
            fetched.unfetched += len(fetched.links)
            fetched.links = []
        return fetched


def _is_http(url: str) -> bool:
    return url.partition("://")[0].lower() in ("http", "https")
