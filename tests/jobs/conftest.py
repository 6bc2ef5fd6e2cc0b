"""Shared pieces for the job engine tests.

The engine runs for real: a real SQLite file, the real QuotaService and ledger, and the
provider adapters talking HTTP to the emulators on 127.0.0.1. Only time is fast: the engine
uses a FastTimebase (``FACTOR`` engine seconds per real second), and each emulator's clock is
linked to the same timebase, so a task that takes 20 s at the provider, a ``Retry-After: 60``
and a 30-minute generation window all mean the same seconds to both sides.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from db import ledger
from db.database import Database
from jobs.engine import EnginePolicy, JobEngine, bot_credits
from jobs.media import MediaFile
from jobs.records import Job, JobState
from jobs.store import JobStore
from jobs.timebase import FastTimebase
from presentation.sentences import job_failure
from providers.aivideoapi import AIVideoAPIProvider
from providers.base import GenerationRequest, Kind, Media, Provider, ProviderConfig
from providers.nananobanana import NanaNoBananaProvider
from providers.nanobanana import NanoBananaProvider
from providers.nanobananavideo import NanoBananaVideoProvider
from quota.service import QuotaService
from tests.emulators.aivideoapi import AIVideoAPIEmulator
from tests.emulators.base import EmulatorBase, serve
from tests.emulators.nananobanana import NanaNoBananaEmulator
from tests.emulators.nanobanana import NanoBananaEmulator
from tests.emulators.nanobananavideo import NanoBananaVideoEmulator

FACTOR = 200.0  # engine seconds per real second
TASK_SECONDS = 20.0  # how long an emulated generation takes, in (linked) emulator seconds
GUILD = 1001
CHANNEL = 2002
USER = 3003
ALLOWANCE = 50  # QUOTA_DEFAULT_CREDITS in these tests
MIB = 1024 * 1024
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
RUN_TIMEOUT = 10.0  # real seconds any one scenario may take before the test fails


class RecordingTimebase(FastTimebase):
    """FastTimebase that remembers every sleep the engine asked for (in engine seconds)."""

    def __init__(self, factor: float) -> None:
        super().__init__(factor)
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await super().sleep(seconds)

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:
        self.sleeps.append(seconds)  # a poll interval, which a callback may cut short
        return await super().wait(event, seconds)


@dataclass(frozen=True)
class Posted:
    """A file as the member received it (read at delivery: the engine discards the
    MediaFile's temporary file once the delivery ends)."""

    filename: str
    data: bytes
    source_url: str
    spooled: bool  # it was in a temporary file, not in memory


@dataclass
class Delivery:
    job_id: str
    user_id: int
    channel_id: int
    files: list[Posted]
    links: list[Media]
    link_ttl: timedelta | None
    message_id: int


@dataclass
class RecordingNotifier:
    """The chat side, as the engine sees it: records what a member would have been shown."""

    limit: int = 10 * MIB  # the channel's upload limit
    progress_calls: list[tuple[str, JobState, int | None, int | None]] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    failures: list[tuple[str, str | None]] = field(default_factory=list)  # (job id, sentence)
    announced: list[tuple[str, int]] = field(default_factory=list)  # (job id, message id)
    deliver_errors: int = 0  # the next this many deliveries fail (Discord 5xx, permissions)
    oversized: list[bool] = field(default_factory=list)  # per delivery attempt
    #: Called when delivery begins (the provider's slot was just given back).
    on_delivery_start: Callable[[Job], None] | None = None
    unfetched: list[int] = field(default_factory=list)  # per delivery attempt
    _ids: itertools.count = field(default_factory=lambda: itertools.count(900_000))

    async def progress(self, job: Job, queue_position: int | None) -> None:
        self.progress_calls.append((job.id, job.state, job.progress, queue_position))

    async def upload_limit(self, job: Job) -> int:
        if self.on_delivery_start is not None:
            self.on_delivery_start(job)
        return self.limit

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
        self.oversized.append(oversized)
        self.unfetched.append(unfetched)
        if self.deliver_errors > 0:
            self.deliver_errors -= 1
            raise ConnectionError("the channel message could not be posted")
        message_id = next(self._ids)
        self.deliveries.append(
            Delivery(
                job.id,
                job.user_id,
                job.channel_id,
                [Posted(f.filename, f.read(), f.source_url, f.on_disk) for f in files],
                list(links),
                link_ttl,
                message_id,
            )
        )
        return message_id

    async def result_posted(self, job: Job, message_id: int) -> None:
        self.announced.append((job.id, message_id))

    async def failed(self, job: Job) -> None:
        self.failures.append((job.id, job_failure(job.failure)))  # as the member reads it

    def delivered(self, job_id: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.job_id == job_id]

    def failed_with(self, job_id: str) -> list[str | None]:
        return [text for jid, text in self.failures if jid == job_id]

    def positions(self, job_id: str) -> list[int | None]:
        return [pos for jid, _state, _progress, pos in self.progress_calls if jid == job_id]


class Harness:
    """One bot process's worth of engine pieces over one database (a SQLite file, or a
    PostgreSQL URL). ``restart()`` throws the process away (engine stopped, database closed,
    adapters closed) and builds a new one over the same database, as a crash-and-restart
    would."""

    def __init__(self, path: Path | str, timebase: RecordingTimebase) -> None:
        self.path = path
        self.time = timebase
        self.notifier = RecordingNotifier()
        self.policy = EnginePolicy()
        self.credit_rates: dict[str, float] = {}
        self.max_in_flight: dict[str, int | None] = {}
        self.factories: dict[str, Callable[[], Provider]] = {}
        self.providers: dict[str, Provider] = {}
        self.db: Database | None = None
        self.quota: QuotaService | None = None
        self.engine: JobEngine | None = None

    # -- the process ---------------------------------------------------------------------

    def add_provider(self, factory: Callable[[], Provider], rate: float | None = None) -> Provider:
        provider = factory()
        self.factories[provider.id] = factory
        self.providers[provider.id] = provider
        if rate is not None:
            self.credit_rates[provider.id] = rate
        return provider

    async def open(self) -> None:
        self.db = await Database.open(self.path)
        self.quota = QuotaService(
            self.db,
            period="daily",
            default_credits=ALLOWANCE,
            max_jobs_per_user=5,
            clock=self.time.now,
        )

    def build_engine(self) -> JobEngine:
        assert self.db is not None and self.quota is not None
        self.engine = JobEngine(
            db=self.db,
            quota=self.quota,
            providers=dict(self.providers),
            notifier=self.notifier,
            max_in_flight=dict(self.max_in_flight) or None,
            credit_rates=dict(self.credit_rates),
            policy=self.policy,
            timebase=self.time,
        )
        return self.engine

    async def shutdown(self) -> None:
        """What SIGTERM (or a crash) leaves behind: nothing but the database file."""
        if self.engine is not None:
            await self.engine.stop()
            self.engine = None
        for provider in self.providers.values():
            await provider.aclose()
        self.providers = {}
        if self.db is not None:
            await self.db.close()
            self.db = None

    async def restart(self) -> int:
        """A new process on the same database file: fresh adapters, engine.start()."""
        await self.shutdown()
        self.providers = {pid: make() for pid, make in self.factories.items()}
        await self.open()
        return await self.build_engine().start()

    # -- jobs ----------------------------------------------------------------------------

    async def store_job(
        self,
        provider_id: str,
        request: GenerationRequest,
        *,
        user_id: int = USER,
        cost: int | None = None,
        ack_seconds: float = 14 * 60,
    ) -> Job:
        """Price, store and reserve a job as the /image command does (presentation.launch)."""
        assert self.quota is not None
        provider = self.providers[provider_id]
        if cost is None:
            estimate = await provider.estimate_cost(request)
            cost = bot_credits(estimate, self.credit_rates.get(provider_id, 1.0))
        now = self.time.now()
        deadline = (
            self.policy.video_deadline if request.kind is Kind.VIDEO else self.policy.image_deadline
        )
        job = Job(
            id=secrets.token_hex(5),
            guild_id=GUILD,
            channel_id=CHANNEL,
            user_id=user_id,
            command="video" if request.kind is Kind.VIDEO else "image",
            kind=request.kind.value,
            provider=provider_id,
            model=request.model,
            request=request,
            state=JobState.QUEUED,
            reserved=cost,
            created_at=now,
            deadline_at=now + self.policy.queue_wait_max + deadline,
            updated_at=now,
            application_id=555,
            interaction_token="token-" + secrets.token_hex(4),
            ack_expires_at=now + ack_seconds,  # the interaction token's useful life
        )
        await self.quota.reserve_job(job)
        return job

    async def submit(self, provider_id: str, request: GenerationRequest, **kwargs: Any) -> Job:
        """Store a job and hand it to the engine (building the engine on first use)."""
        job = await self.store_job(provider_id, request, **kwargs)
        (self.engine or self.build_engine()).enqueue(job)
        return job

    async def run(self) -> None:
        """Wait until every job task has ended."""
        assert self.engine is not None
        await asyncio.wait_for(self.engine.wait_idle(), RUN_TIMEOUT)

    async def job(self, job_id: str) -> Job:
        assert self.db is not None
        found = await JobStore(self.db).get(job_id)
        assert found is not None
        return found

    async def wait_for_state(self, job_id: str, state: JobState) -> Job:
        """Wait until the database shows the job in ``state`` (what a restart would find)."""

        async def poll() -> Job:
            while (job := await self.job(job_id)).state is not state:  # noqa: ASYNC110 - polling
                await asyncio.sleep(0.002)
            return job

        return await asyncio.wait_for(poll(), RUN_TIMEOUT)

    # -- money ---------------------------------------------------------------------------

    async def ledger_rows(self, job_id: str) -> list[tuple[str, int]]:
        assert self.db is not None
        rows = await self.db.fetchall(
            "SELECT kind, amount FROM ledger WHERE job_id = ? ORDER BY id", (job_id,)
        )
        return [(r[0], r[1]) for r in rows]

    async def left(self, user_id: int = USER) -> int:
        assert self.quota is not None
        return (await self.quota.balance(GUILD, user_id)).left

    async def problems(self) -> list[str]:
        assert self.db is not None
        return await ledger.consistency_problems(self.db)

    async def assert_refunded(self, job: Job, user_id: int = USER) -> None:
        """The job failed, the member was told why in words, and got every credit back."""
        stored = await self.job(job.id)
        assert stored.state is JobState.FAILED
        assert stored.charged is None
        said = job_failure(stored.failure)
        assert self.notifier.failed_with(job.id) == [said]
        assert said and not said.startswith(("HTTP", "{", "The job failed."))
        assert self.notifier.delivered(job.id) == []
        assert await self.ledger_rows(job.id) == [
            ("reserve", job.reserved),
            ("refund", job.reserved),
        ]
        assert await self.left(user_id) == ALLOWANCE
        assert await self.problems() == []


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def timebase(request: pytest.FixtureRequest) -> RecordingTimebase:
    """Parametrize indirectly with another factor for scenarios spanning many minutes."""
    return RecordingTimebase(getattr(request, "param", FACTOR))


@pytest.fixture
async def harness(database_target, timebase: RecordingTimebase) -> AsyncIterator[Harness]:
    h = Harness(database_target, timebase)
    await h.open()
    try:
        yield h
    finally:
        await h.shutdown()


def link_clock(emulator: EmulatorBase, timebase: FastTimebase) -> None:
    """Run the emulator on the engine's fast time."""
    emulator.clock = timebase.now  # type: ignore[assignment]


@pytest.fixture
async def nanobanana_emu(timebase: RecordingTimebase) -> AsyncIterator[NanoBananaEmulator]:
    emu = NanoBananaEmulator()
    link_clock(emu, timebase)
    emu.task_seconds = TASK_SECONDS
    async with serve(emu):
        yield emu


@pytest.fixture
async def aivideoapi_emu(timebase: RecordingTimebase) -> AsyncIterator[AIVideoAPIEmulator]:
    emu = AIVideoAPIEmulator(task_seconds=TASK_SECONDS)
    link_clock(emu, timebase)
    async with serve(emu):
        yield emu


@pytest.fixture
async def nananobanana_emu(timebase: RecordingTimebase) -> AsyncIterator[NanaNoBananaEmulator]:
    emu = NanaNoBananaEmulator()
    link_clock(emu, timebase)
    emu.task_seconds = TASK_SECONDS
    async with serve(emu):
        yield emu


@pytest.fixture
async def nanobananavideo_emu(
    timebase: RecordingTimebase,
) -> AsyncIterator[NanoBananaVideoEmulator]:
    emu = NanoBananaVideoEmulator()
    link_clock(emu, timebase)
    emu.task_seconds = 40.0
    async with serve(emu):
        yield emu


def nanobanana_factory(emu: NanoBananaEmulator) -> Callable[[], NanoBananaProvider]:
    return lambda: NanoBananaProvider(ProviderConfig(api_key=emu.api_key, base_url=emu.base_url))


def aivideoapi_factory(emu: AIVideoAPIEmulator) -> Callable[[], AIVideoAPIProvider]:
    return lambda: AIVideoAPIProvider(ProviderConfig(api_key=emu.api_key, base_url=emu.base_url))


def nananobanana_factory(emu: NanaNoBananaEmulator) -> Callable[[], NanaNoBananaProvider]:
    return lambda: NanaNoBananaProvider(ProviderConfig(api_key=emu.api_key, base_url=emu.base_url))


def nanobananavideo_factory(
    emu: NanoBananaVideoEmulator, cls: type[NanoBananaVideoProvider] = NanoBananaVideoProvider
) -> Callable[[], NanoBananaVideoProvider]:
    return lambda: cls(ProviderConfig(api_key=emu.api_key, base_url=emu.base_url))


def image(model: str, prompt: str = "a banana wearing sunglasses", **options: Any):
    return GenerationRequest(kind=Kind.IMAGE, model=model, prompt=prompt, **options)


def posts(emu: EmulatorBase, path: str) -> list[dict | None]:
    """Bodies of the POSTs the emulator received on ``path`` (every attempt, refused or not)."""
    return [body for method, p, body in emu.requests if method == "POST" and p == path]


def gets(emu: EmulatorBase, prefix: str) -> int:
    return sum(1 for method, p, _ in emu.requests if method == "GET" and p.startswith(prefix))


def served_bytes(emu: EmulatorBase, url: str) -> bytes:
    """The bytes the emulator serves at ``url`` (one of its /files/ results)."""
    return emu.files[url.rsplit("/", 1)[1]][0]


async def assert_completed(h: Harness, job: Job, charged: int, user_id: int = USER) -> Job:
    """The job was delivered once, as real PNG files, and settled for ``charged``."""
    stored = await h.job(job.id)
    assert stored.state is JobState.COMPLETED, (stored.state, stored.failure, stored.error)
    (delivery,) = h.notifier.delivered(job.id)
    assert stored.result_message_id == delivery.message_id
    assert delivery.links == []
    assert len(delivery.files) == len(stored.media) >= 1
    for file in delivery.files:
        assert file.data.startswith(PNG_SIGNATURE), file.filename
        assert file.filename.startswith(f"bananabot-{job.id}") and file.filename.endswith(".png")
    assert stored.charged == charged
    assert await h.ledger_rows(job.id) == [("reserve", job.reserved), ("settle", charged)]
    assert await h.left(user_id) == ALLOWANCE - charged
    assert h.notifier.failed_with(job.id) == []
    assert await h.problems() == []
    return stored


@dataclass(frozen=True)
class ImageSetup:
    """How to run one image job at one emulated provider."""

    provider: str
    fixture: str
    factory: Callable[[Any], Callable[[], Provider]]
    request: GenerationRequest
    submit_path: str
    tasks_attr: str  # the emulator's dict of created tasks


IMAGE_SETUPS = {
    "nanobanana": ImageSetup(
        "nanobanana",
        "nanobanana_emu",
        nanobanana_factory,
        image("nano-banana"),
        "/api/v1/images/generate",
        "tasks",
    ),
    "aivideoapi": ImageSetup(
        "aivideoapi",
        "aivideoapi_emu",
        aivideoapi_factory,
        image("nano-banana-2", output_format="png"),
        "/v1/images/generations",
        "tasks",
    ),
    "nananobanana": ImageSetup(
        "nananobanana",
        "nananobanana_emu",
        nananobanana_factory,
        image("nano-banana"),
        "/api/v1/generate",
        "records",
    ),
}


@dataclass
class Running:
    """An image provider under test: its emulator, and what the engine sent it."""

    setup: ImageSetup
    emu: Any

    @property
    def tasks(self) -> dict[str, Any]:
        return getattr(self.emu, self.setup.tasks_attr)

    @property
    def submits(self) -> int:
        return len(posts(self.emu, self.setup.submit_path))


@pytest.fixture
def image_provider(request: pytest.FixtureRequest, harness: Harness) -> Running:
    """Parametrize indirectly with a provider id from IMAGE_SETUPS."""
    setup = IMAGE_SETUPS[request.param]
    emu = request.getfixturevalue(setup.fixture)
    harness.add_provider(setup.factory(emu))
    return Running(setup, emu)


def fail_before(
    provider: Provider, method: str, emu: Any, failures: list[tuple[int, str]]
) -> list[tuple[int, str]]:
    """Arm ``emu.fail_next_request`` with the next of ``failures`` just before each call of
    ``provider.<method>``, so those calls (and only those) get the emulator's error answers
    over HTTP. Returns the list, which empties as failures are used."""
    original = getattr(provider, method)

    async def armed(*args: Any, **kwargs: Any) -> Any:
        if failures:
            emu.fail_next_request = failures.pop(0)
        return await original(*args, **kwargs)

    setattr(provider, method, armed)
    return failures
