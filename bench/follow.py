"""Part b: delivery overhead and status reads per job, the engine's way and fixed polling.

Each cell runs ``jobs`` tasks of one duration through the real JobEngine against the
nanobanana emulator over HTTP (an account whose request limit is raised to RAISED_RPM, so
that fixed 1 s polling can be measured at all: at the documented 60/min one job polled every
second would use the whole account). Results are downloaded by the real MediaFetcher and
posted to the Discord emulator's channel with a real REST call.

Time is scaled: the engine's FastTimebase and the emulator's clock run ``factor`` times faster
than the wall clock (stated per cell). The overhead of a job is measured in two parts so that
scaling does not inflate real work: the wait from the task's end to the status read that saw
it (engine seconds, scaled), plus the read, the download and the post (real seconds).
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.common import percentile
from db.database import Database
from jobs.download import MediaFetcher
from jobs.engine import EnginePolicy, JobEngine
from jobs.media import MediaFile
from jobs.records import Job, JobState
from jobs.timebase import FastTimebase
from providers.base import GenerationRequest, Kind, Limits, Media, Provider, ProviderConfig
from providers.errors import ProviderError
from providers.nanobanana import NanoBananaProvider
from quota.service import QuotaService
from tests.emulators.base import serve
from tests.emulators.nanobanana import NanoBananaEmulator
from tests.fakediscord.server import FakeDiscord

RAISED_RPM = 6000  # the bench account's request limit (the document's default is 60)
GUILD = 920_000_000_000_000_001
CHANNEL = 920_000_000_000_000_002
FIRST_MEMBER = 920_000_000_000_001_000
TOKEN = "bench-follow-token"
MIB = 1024 * 1024
#: task duration -> (model, kind): models whose typical time is below, at and above it
MODELS: dict[float, tuple[str, Kind]] = {
    3.0: ("nano-banana", Kind.IMAGE),  # typical 15 s: finishes early
    30.0: ("nano-banana-pro", Kind.IMAGE),  # typical 30 s
    180.0: ("veo-3.1", Kind.VIDEO),  # typical 120 s
    600.0: ("sora-2-pro", Kind.VIDEO),  # typical 180 s: finishes late
}
REAL_REQUESTS_PER_SECOND = 100  # keeps a cell's real request rate from saturating the CPU
STAGGER = 0.25  # jobs start spread over this share of the task's duration


class RaisedNanoBanana(NanoBananaProvider):
    """An account with a raised request limit."""

    limits = Limits(requests_per_minute=RAISED_RPM)


class FixedPollingEngine(JobEngine):
    """The baseline: every job reads its status every ``interval`` engine seconds, with no
    schedule and no shared budget. Everything else is the real engine."""

    interval = 1.0

    async def _follow(self, job: Job, provider: Provider) -> None:
        while True:
            await self.time.sleep(self.interval)
            try:
                status = await provider.status(job.task_id or "", job.request)
            except ProviderError:
                continue
            if status.state.finished:
                await self._finish_task(job, status)
                return


@dataclass(frozen=True)
class Strategy:
    name: str
    interval: float | None  # None: the engine's own following

    def reads_per_second(self, jobs: int) -> float:
        """Status reads per engine second this strategy makes at most, roughly."""
        return jobs / self.interval if self.interval else jobs / 2.0


STRATEGIES = (
    Strategy("engine", None),
    Strategy("fixed 1 s", 1.0),
    Strategy("fixed 5 s", 5.0),
)


class ChannelPoster:
    """The chat side: posts each result to the Discord emulator's channel over REST."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.client = httpx.AsyncClient(
            base_url=fake.api_base, headers={"Authorization": f"Bot {TOKEN}"}
        )
        self.posted: dict[str, float] = {}  # job id -> real time the post was accepted
        self.failed: list[str] = []

    async def progress(self, job: Job, queue_position: int | None) -> None:
        return None

    async def upload_limit(self, job: Job) -> int:
        return 10 * MIB

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
        payload = {"content": f"<@{job.user_id}> your result", "allowed_mentions": {"parse": []}}
        upload = [
            (f"files[{i}]", (f.filename, f.read(), f.content_type)) for i, f in enumerate(files)
        ]
        response = await self.client.post(
            f"/channels/{CHANNEL}/messages",
            data={"payload_json": json.dumps(payload)},
            files=upload,
        )
        response.raise_for_status()
        self.posted[job.id] = time.perf_counter()
        return int(response.json()["id"])

    async def result_posted(self, job: Job, message_id: int) -> None:
        return None

    async def failed(self, job: Job) -> None:
        self.failed.append(job.id)

    async def aclose(self) -> None:
        await self.client.aclose()


class StatusWatch:
    """Counts each task's status reads and notes when the read that saw it finished left
    (engine time and real time)."""

    def __init__(self, provider: Provider, timebase: FastTimebase) -> None:
        self.reads: Counter[str] = Counter()
        self.seen: dict[str, tuple[float, float]] = {}
        original = provider.status

        async def status(task_id: str, request: GenerationRequest) -> Any:
            sent = (timebase.now(), time.perf_counter())
            self.reads[task_id] += 1
            result = await original(task_id, request)
            if result.state.finished and task_id not in self.seen:
                self.seen[task_id] = sent
            return result

        provider.status = status  # type: ignore[method-assign]


def cell_factor(duration: float, strategy: Strategy, jobs: int, speed: float) -> float:
    """Time scale for a cell: as fast as keeps loop delays small against the duration, and
    the real request rate below REAL_REQUESTS_PER_SECOND."""
    factor = max(1.0, duration / 6.0) * speed
    return max(1.0, min(factor, REAL_REQUESTS_PER_SECOND / strategy.reads_per_second(jobs)))


async def run(durations: list[float], jobs: int, speed: float = 1.0) -> list[dict[str, Any]]:
    fake = FakeDiscord(token=TOKEN)
    await fake.start()
    try:
        fake.add_guild(GUILD, "Bench", premium_tier=0)
        fake.add_channel(GUILD, CHANNEL, "results")
        rows = []
        for duration in durations:
            for strategy in STRATEGIES:
                factor = cell_factor(duration, strategy, jobs, speed)
                rows.append(await _cell(fake, duration, strategy, jobs, factor))
        return rows
    finally:
        await fake.close()


async def _cell(
    fake: FakeDiscord, duration: float, strategy: Strategy, jobs: int, factor: float
) -> dict[str, Any]:
    model, kind = MODELS[duration]
    timebase = FastTimebase(factor)
    emu = NanoBananaEmulator()
    emu.clock = timebase.now  # type: ignore[assignment]
    emu.task_seconds = duration
    emu.rate_limit_per_minute = RAISED_RPM
    emu.credits = 10**9
    poster = ChannelPoster(fake)
    rng = random.Random(int(duration))
    with tempfile.TemporaryDirectory(prefix="bench-follow-") as tmp:
        async with serve(emu):
            provider = RaisedNanoBanana(ProviderConfig(api_key=emu.api_key, base_url=emu.base_url))
            watch = StatusWatch(provider, timebase)
            db = await Database.open(Path(tmp) / "bench.db")
            quota = QuotaService(db, period="daily", default_credits=10**6, max_jobs_per_user=10**6)
            engine_class = JobEngine if strategy.interval is None else FixedPollingEngine
            engine = engine_class(
                db=db,
                quota=quota,
                providers={provider.id: provider},
                notifier=poster,
                policy=EnginePolicy(),
                timebase=timebase,
                fetcher=MediaFetcher(trusted_origins=[emu.base_url]),
            )
            if isinstance(engine, FixedPollingEngine):
                engine.interval = strategy.interval or 1.0
            try:
                starts = sorted(rng.uniform(0, duration * STAGGER) for _ in range(jobs))
                began = timebase.now()
                for i, offset in enumerate(starts):
                    await asyncio.sleep(max(0.0, began + offset - timebase.now()) / factor)
                    job = _job(FIRST_MEMBER + i, provider.id, model, kind, timebase.now())
                    await quota.reserve_job(job)
                    engine.enqueue(job)
                limit = duration * 3 / factor + 30
                await asyncio.wait_for(engine.wait_idle(), limit)
                stored = await db.fetchall("SELECT id, task_id, state FROM jobs")
            finally:
                await engine.stop()
                await db.close()
                await provider.aclose()
                await poster.aclose()
    overheads, reads = [], []
    for job_id, task_id, state in stored:
        reads.append(watch.reads[task_id])
        if state != JobState.COMPLETED.value or task_id not in watch.seen:
            continue
        task = emu.tasks[task_id]
        done = task["created"] + task["seconds"]
        seen_engine, seen_real = watch.seen[task_id]
        overheads.append(max(0.0, seen_engine - done) + (poster.posted[job_id] - seen_real))
    completed = len(overheads)
    return {
        "duration": duration,
        "model": model,
        "strategy": strategy.name,
        "factor": factor,
        "jobs": jobs,
        "completed": completed,
        "overhead_p50": percentile(overheads, 50),
        "overhead_p95": percentile(overheads, 95),
        "overhead_max": max(overheads) if overheads else None,
        "reads_mean": sum(reads) / len(reads) if reads else None,
        "reads_max": max(reads) if reads else None,
        "target_overhead": max(1.5, 0.1 * duration),
    }


def _job(user_id: int, provider: str, model: str, kind: Kind, now: float) -> Job:
    request = GenerationRequest(kind=kind, model=model, prompt="a banana on a skateboard")
    return Job(
        id=secrets.token_hex(5),
        guild_id=GUILD,
        channel_id=CHANNEL,
        user_id=user_id,
        command=kind.value,
        kind=kind.value,
        provider=provider,
        model=model,
        request=request,
        state=JobState.QUEUED,
        reserved=1,
        created_at=now,
        deadline_at=now + 3 * 3600,
        updated_at=now,
    )
