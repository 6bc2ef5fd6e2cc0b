"""What a job costs in bot credits, without making anyone wait on a provider for long.

Most adapters price from their documents' tables at once; nanobanana prices most video models
through its calculate-cost endpoint, a round trip that can be slow or fail. So:

- answers are kept in a bounded TTL cache per (provider, model, priced options), and repeated
  commands do not ask again;
- everyone asking the same price at the same time shares one lookup;
- a preview that fails or takes longer than PRICE_TIMEOUT falls back to the document's printed
  table where one covers the request (``Provider.table_cost``), and only otherwise refuses;
- a failure (or the table price standing in for a preview) is kept only briefly, so the preview
  is asked again soon rather than never or at every command.

How long an interaction may wait for a price before it is deferred is presentation.launch's
business; this module never touches Discord.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from jobs.engine import bot_credits
from jobs.errors import PriceUnavailable, ProviderNotEnabled, UserFacingError
from jobs.policy import (  # the package's tunables
    PRICE_CACHE_SECONDS,
    PRICE_CACHE_SIZE,
    PRICE_FAILURE_SECONDS,
    PRICE_TIMEOUT,
)
from jobs.ttlcache import TTLCache
from providers.base import GenerationRequest, ModelSpec, Provider
from providers.errors import BadRequest, ProviderError

log = logging.getLogger(__name__)


PriceKey = tuple[str, tuple[object, ...]]

_UNPRICED = frozenset({"prompt", "negative_prompt", "reference_urls"})
# every other field of a request is an option a price may depend on, new ones included
_PRICED = tuple(f.name for f in dataclasses.fields(GenerationRequest) if f.name not in _UNPRICED)


def price_key(provider_id: str, request: GenerationRequest) -> PriceKey:
    """What a price can depend on: provider, model and every option, but neither the prompt
    texts nor which images, only how many (that picks the mode, and extra references cost).
    A plain tuple: every route of every command is looked up with one."""
    options = tuple(getattr(request, name) for name in _PRICED)
    return provider_id, (*options, len(request.reference_urls))


@dataclass(frozen=True)
class _Failed:
    """A cached refusal: repeated until it expires."""

    refusal: PriceUnavailable


class Pricer:
    """Prices in bot credits (provider credits times the provider's credit rate)."""

    def __init__(
        self,
        providers: Mapping[str, Provider],
        credit_rate: Callable[[str], float],
        *,
        timeout: float = PRICE_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.providers = providers
        self._credit_rate = credit_rate
        self.timeout = timeout
        self._cache: TTLCache[PriceKey, float | _Failed] = TTLCache(
            PRICE_CACHE_SIZE, PRICE_CACHE_SECONDS, clock=clock
        )
        self._lookups: dict[PriceKey, asyncio.Task[float]] = {}  # in flight only

    def cached(self, provider_id: str, request: GenerationRequest) -> int | None:
        """The price if a fresh one is known; never waits."""
        found = self._cache.get(price_key(provider_id, request))
        if found is None or isinstance(found, _Failed):
            return None
        return self._credits(provider_id, found)

    async def price(self, provider_id: str, request: GenerationRequest) -> int:
        """The price, waiting at most ``timeout`` for a preview. Raises PriceUnavailable
        (nothing reserved) when neither the preview nor a printed table gives one."""
        key = price_key(provider_id, request)
        found = self._cache.get(key)
        if isinstance(found, _Failed):
            raise PriceUnavailable(**found.refusal.facts)
        if found is None:
            # Shielded: a caller that gives up does not cancel the lookup others share.
            found = await asyncio.shield(self._lookup(key, request))
        return self._credits(provider_id, found)

    def prefetch(self, provider_id: str, request: GenerationRequest) -> None:
        """Start looking the price up in the background unless it is known or on its way."""
        self.price_now(provider_id, request)

    def price_now(self, provider_id: str, request: GenerationRequest) -> int | None:
        """The price if a fresh one is known; otherwise None, and its lookup starts in the
        background unless it is on its way (``price`` then waits for it, or raises a cached
        refusal). One look at the cache: a burst of commands asks this of every route."""
        key = price_key(provider_id, request)
        found = self._cache.get(key)
        if found is None:
            if provider_id in self.providers:
                self._lookup(key, request)
            return None
        if isinstance(found, _Failed):
            return None
        return self._credits(provider_id, found)

    def close(self) -> None:
        """Cancel lookups in flight (the bot is stopping and closes the providers' clients)."""
        for task in list(self._lookups.values()):
            task.cancel()

    def _credits(self, provider_id: str, provider_credits: float) -> int:
        return bot_credits(provider_credits, self._credit_rate(provider_id))

    def _lookup(self, key: PriceKey, request: GenerationRequest) -> asyncio.Task[float]:
        provider_id = key[0]
        if provider_id not in self.providers:
            raise ProviderNotEnabled(provider=provider_id)
        task = self._lookups.get(key)
        if task is None:
            task = asyncio.create_task(self._ask(key, request), name=f"price-{provider_id}")
            self._lookups[key] = task
            task.add_done_callback(functools.partial(self._finished, key))
        return task

    def _finished(self, key: PriceKey, task: asyncio.Task[float]) -> None:
        if self._lookups.get(key) is task:
            del self._lookups[key]
        if not task.cancelled():
            task.exception()  # retrieved: a background lookup's failure is already logged

    async def _ask(self, key: PriceKey, request: GenerationRequest) -> float:
        provider_id = key[0]
        provider = self.providers[provider_id]
        try:
            cost = await asyncio.wait_for(provider.estimate_cost(request), self.timeout)
        except (ProviderError, TimeoutError) as exc:
            why = f"no answer within {self.timeout:g} s" if isinstance(exc, TimeoutError) else exc
            table = provider.table_cost(request)
            if table is not None:
                log.warning(
                    "cost preview failed provider=%s model=%s, using the printed table: %s",
                    provider_id,
                    request.model,
                    why,
                )
                self._cache.set(key, table, ttl=PRICE_FAILURE_SECONDS)
                return table
            log.warning(
                "cost preview failed provider=%s model=%s: %s", provider_id, request.model, why
            )
            refusal = PriceUnavailable(
                provider=provider_id, model=request.model, reason=_reason(exc)
            )
            self._cache.set(key, _Failed(refusal), ttl=PRICE_FAILURE_SECONDS)
            raise refusal from None
        self._cache.set(key, cost)
        return cost


def _reason(exc: Exception) -> Literal["refused", "timeout", "failed"]:
    if isinstance(exc, BadRequest):
        return "refused"
    if isinstance(exc, TimeoutError):
        return "timeout"
    return "failed"


def hint_request(spec: ModelSpec) -> GenerationRequest:
    """The request a model's price hint stands for: its default options, one output."""
    return GenerationRequest(
        kind=spec.kind,
        model=spec.id,
        prompt="price",
        aspect_ratio=spec.default_aspect_ratio,
        resolution=spec.default_resolution,
        duration=spec.default_duration,
        reference_urls=("https://example.invalid/x.png",) if spec.requires_image else (),
    )


class PriceHints:
    """What each model costs with default options, for autocomplete labels and /credits.

    Never waits: those answers must go out within Discord's 3 s and a price is only a
    courtesy there. A price not cached yet is looked up in the background for the next
    keystroke; ``warm`` looks them all up at start.
    """

    def __init__(self, pricer: Pricer) -> None:
        self.pricer = pricer

    def get(self, spec: ModelSpec) -> int | None:
        request = hint_request(spec)
        cost = self.pricer.cached(spec.provider, request)
        if cost is None:
            self.pricer.prefetch(spec.provider, request)
        return cost

    async def warm(self) -> None:
        specs = [m for p in self.pricer.providers.values() for m in p.models()]
        results = await asyncio.gather(
            *(self.pricer.price(s.provider, hint_request(s)) for s in specs),
            return_exceptions=True,
        )
        for spec, result in zip(specs, results, strict=True):
            if isinstance(result, Exception) and not isinstance(result, UserFacingError):
                log.error("price hint failed model=%s", spec.qualified_id, exc_info=result)
