"""The one interface every provider adapter implements, and the plain data it speaks.

The rest of the bot only ever sees these dataclasses: a provider's JSON never leaves its adapter.
Costs returned by adapters are in *provider* credits; the engine converts them to bot credits
with the provider's configured credit rate.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any, ClassVar

from providers.errors import NotFound
from providers.http import ProviderHTTP


class Kind(StrEnum):
    IMAGE = "image"
    VIDEO = "video"


class TaskState(StrEnum):
    """Provider task states, normalised. Every provider word maps onto one of these."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        return self in (TaskState.SUCCEEDED, TaskState.FAILED)


_STATE_WORDS: dict[str, TaskState] = {
    "pending": TaskState.QUEUED,
    "queued": TaskState.QUEUED,
    "queue": TaskState.QUEUED,
    "waiting": TaskState.QUEUED,
    "submitted": TaskState.QUEUED,
    "created": TaskState.QUEUED,
    "starting": TaskState.RUNNING,
    "processing": TaskState.RUNNING,
    "running": TaskState.RUNNING,
    "in_progress": TaskState.RUNNING,
    "generating": TaskState.RUNNING,
    "completed": TaskState.SUCCEEDED,
    "complete": TaskState.SUCCEEDED,
    "succeeded": TaskState.SUCCEEDED,
    "success": TaskState.SUCCEEDED,
    "done": TaskState.SUCCEEDED,
    "finished": TaskState.SUCCEEDED,
    "failed": TaskState.FAILED,
    "failure": TaskState.FAILED,
    "error": TaskState.FAILED,
    "errored": TaskState.FAILED,
    "cancelled": TaskState.FAILED,
    "canceled": TaskState.FAILED,
    "expired": TaskState.FAILED,
    "timeout": TaskState.FAILED,
}


def normalise_state(word: str | None) -> TaskState:
    """Map a provider's status word onto TaskState. Unknown words count as still running,
    so a new intermediate state never ends a job early; the job deadline still applies."""
    if not word:
        return TaskState.RUNNING
    return _STATE_WORDS.get(str(word).strip().lower().replace(" ", "_"), TaskState.RUNNING)


@dataclass(frozen=True)
class ModelSpec:
    """What one model of one provider accepts, from the provider's document.

    Empty option tuples mean the option is not offered for this model (the command then
    rejects a value for it rather than silently ignoring it).
    """

    id: str
    name: str
    provider: str
    kind: Kind
    aspect_ratios: tuple[str, ...] = ()
    resolutions: tuple[str, ...] = ()
    qualities: tuple[str, ...] = ()
    formats: tuple[str, ...] = ()
    max_count: int = 1
    max_references: int = 0  # reference images accepted; 0 = no image input
    requires_image: bool = False  # image-to-video only models
    text_input: bool = True  # False: image-to-X only
    durations: tuple[int, ...] = ()
    audio: str = "no"  # "no" | "optional" | "always"
    motions: tuple[str, ...] = ()
    negative_prompt: bool = False
    max_prompt_chars: int = 4000
    default_aspect_ratio: str | None = None
    default_resolution: str | None = None
    default_duration: int | None = None
    typical_seconds: float = 20.0  # when a result is usually ready: first poll near this
    media_ttl: timedelta | None = None  # how long result links stay valid; None = permanent/unknown
    note: str = ""  # e.g. "subscription required" shown in autocomplete

    @property
    def qualified_id(self) -> str:
        return f"{self.provider}:{self.id}"

    @property
    def image_input(self) -> bool:
        return self.max_references > 0


@dataclass(frozen=True)
class GenerationRequest:
    """A validated request, in the bot's words. Stored with the job (see to_dict/from_dict)."""

    kind: Kind
    model: str
    prompt: str
    aspect_ratio: str | None = None
    resolution: str | None = None
    count: int = 1
    quality: str | None = None
    output_format: str | None = None
    reference_urls: tuple[str, ...] = ()
    duration: int | None = None
    audio: bool | None = None
    negative_prompt: str | None = None
    motion: str | None = None

    def to_dict(self) -> dict[str, Any]:
        # flat fields: no need for asdict's deep copies (every job row is written with this)
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["kind"] = self.kind.value
        data["reference_urls"] = list(self.reference_urls)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GenerationRequest:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["kind"] = Kind(values["kind"])
        values["reference_urls"] = tuple(values.get("reference_urls") or ())
        return cls(**values)


@dataclass(frozen=True)
class Media:
    url: str
    thumbnail_url: str | None = None
    content_type: str | None = None  # a hint from the provider, if any


@dataclass(frozen=True)
class TaskStatus:
    state: TaskState
    progress: int | None = None  # 0-100 where the provider reports it
    media: tuple[Media, ...] = ()
    error: str | None = None  # the provider's words, for logs; users get a plain sentence
    error_type: type[Exception] | None = None  # e.g. ContentFiltered when the failure says so
    cost: float | None = None  # provider credits actually charged, when reported


@dataclass(frozen=True)
class Submission:
    task_id: str
    cost: float | None = None  # provider credits charged, when the response says
    status: TaskStatus | None = None  # providers that answer with a finished result at once


@dataclass(frozen=True)
class Limits:
    """An account's documented limits; the engine queues locally to stay inside them."""

    max_concurrency: int | None = None  # tasks in flight at once; None = not documented
    requests_per_minute: int | None = None  # all HTTP requests, polls included
    window_generations: int | None = None  # e.g. 10 generations ...
    window_seconds: float | None = None  # ... per 30 minutes


@dataclass
class ProviderConfig:
    """Per-provider settings read from the environment (see settings.py)."""

    api_key: str
    base_url: str
    credit_rate: float = 1.0
    max_concurrency: int | None = None
    requests_per_minute: int | None = None  # the account's own budget, over the documented one


class Provider(ABC):
    """One generation API. Adapters make single requests and raise ProviderError subclasses;
    retries, pacing of tasks and deadlines belong to the job engine."""

    id: ClassVar[str]
    default_base_url: ClassVar[str | None] = None  # None: the document names no host
    limits: ClassVar[Limits] = Limits()

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config
        self._http: ProviderHTTP | None = None  # the HTTP adapters' client (see _connect)
        if config.requests_per_minute:  # the account's own budget replaces the documented one
            self.limits = dataclasses.replace(
                type(self).limits, requests_per_minute=config.requests_per_minute
            )

    def _connect(
        self, base_url: str, auth_headers: dict[str, str], transport: Any = None
    ) -> ProviderHTTP:
        """The adapter's one client to its API, with the document's auth header, paced to
        the account's request budget; closed by aclose()."""
        self._http = ProviderHTTP(
            self.id,
            base_url,
            auth_headers,
            requests_per_minute=self.request_budget(),
            transport=transport,
        )
        return self._http

    @property
    def http(self) -> ProviderHTTP | None:
        """The client an HTTP adapter talks through (the bot's metrics listen to it)."""
        return self._http

    @abstractmethod
    def models(self) -> Sequence[ModelSpec]:
        """Models this adapter can run, with their documented options."""

    async def refresh_models(self) -> None:
        """Update model availability from the provider's model list, where it has one.
        Failures are logged by the caller; the documented table stays in force."""

    @abstractmethod
    async def estimate_cost(self, request: GenerationRequest) -> float:
        """Price in provider credits, from the documented table or the provider's preview."""

    def table_cost(self, request: GenerationRequest) -> float | None:
        """Price in provider credits from the document's printed table alone, without any
        request; None where no table covers ``request``. The fallback when a cost preview
        fails or is too slow, so a member is not refused because a preview is. Adapters whose
        estimate_cost never makes a request need not implement it."""
        return None

    @abstractmethod
    async def submit(
        self, request: GenerationRequest, *, callback_url: str | None = None
    ) -> Submission:
        """Start one paid task. Called at most once per job by the engine."""

    @abstractmethod
    async def status(self, task_id: str, request: GenerationRequest) -> TaskStatus:
        """Read a task's state once."""

    def live_window(self) -> tuple[int | None, int | None] | None:
        """(limit, remaining) of the account's generation window as the provider last
        reported it, where it reports one; the engine trusts it over the documented limit."""
        return None

    async def balance(self) -> float | None:
        """The account's remaining provider credits, or None where the API offers none."""
        return None

    def request_budget(self) -> int | None:
        """Requests a minute the account may make, submits, status reads and lookups
        together: its configured budget (put into ``limits`` by __init__), else the documented
        one; None where neither is known."""
        return self.limits.requests_per_minute

    def open_media(self, url: str) -> AsyncIterator[bytes]:
        """Stream a result that is not at an http(s) URL (the sandbox's ``sandbox://`` files).
        http(s) results are fetched by jobs/download.py under the bot's address, size, time
        and type rules, on a client that holds no API key, never through an adapter."""
        raise NotFound(f"{self.id} has no files at {url.partition(':')[0]}: URLs", provider=self.id)

    async def check_key(self) -> str:
        """Prove the API key works with one request that starts nothing and costs nothing
        (``bananabot check-config --online``); a few words on what it showed. Raises
        ProviderError: AuthError when the provider refuses the key. By default this reads the
        account balance; an adapter whose API has no balance endpoint overrides it."""
        if type(self).balance is Provider.balance:
            raise NotImplementedError(f"{self.id} has no request that checks its key")
        balance = await self.balance()
        if balance is None:
            return "the key was accepted"
        return f"the key was accepted; the account has {balance:g} credits"

    async def aclose(self) -> None:
        """Release the adapter's HTTP client."""
        if self._http is not None:
            await self._http.aclose()

    def model(self, model_id: str) -> ModelSpec | None:
        return next((m for m in self.models() if m.id == model_id), None)
