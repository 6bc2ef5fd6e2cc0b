"""What the engine needs from the chat side. The Discord implementation lives in
presentation/; engine tests use a recording one. Keeping this a protocol means the engine never
imports discord."""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from jobs.media import MediaFile
from jobs.records import Job
from providers.base import Media


class Undeliverable(Exception):
    """Every way of posting the result was refused for good (not a passing outage)."""


class Notifier(Protocol):
    async def progress(self, job: Job, queue_position: int | None) -> None:
        """Show the job's state on its acknowledgement (only while the token is valid)."""

    async def upload_limit(self, job: Job) -> int:
        """Largest file, in bytes, that may be attached in the job's channel."""

    async def deliver(
        self,
        job: Job,
        files: list[MediaFile],
        links: list[Media],
        link_ttl: timedelta | None,
        *,
        oversized: bool = False,
        unfetched: int = 0,
    ) -> int:
        """Post the result as a new channel message mentioning the requester; its id.
        ``files`` may be posted more than once (each post opens them afresh). ``links`` are
        results not attached: over the upload limit (``oversized``) or not downloadable.
        ``unfetched`` results are neither: refused and not safe to link, so the member is
        only told they could not be fetched. Raises Undeliverable when no way of posting it
        is left."""

    async def result_posted(self, job: Job, message_id: int) -> None:
        """After the result's message id is stored: show it on the job card and in the log
        channel. Cosmetic: a failure here is logged, never posts the result again."""

    async def failed(self, job: Job) -> None:
        """Tell the requester why the job failed (job.failure) and that credits came back."""
