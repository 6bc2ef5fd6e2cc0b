"""The bot's own balance at each provider account, for moderators (/credits and /status).

Nothing waits long for them: a balance is kept for a minute, a provider that fails or is slow
to answer is shown as unavailable (and not asked again for a while), since an account's request
budget belongs to submits and status reads. The built-in sandbox has no account.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from jobs.policy import BALANCE_CACHE_SECONDS, BALANCE_FAILURE_SECONDS, BALANCE_TIMEOUT
from jobs.ttlcache import TTLCache
from providers.base import Provider

log = logging.getLogger(__name__)

UNAVAILABLE = "unavailable right now"

Balance = float | str | None  # provider credits, UNAVAILABLE, or None: the API offers none


class AccountBalances:
    def __init__(self, providers: Mapping[str, Provider]) -> None:
        self._accounts = {pid: p for pid, p in providers.items() if pid != "sandbox"}
        self._cache: TTLCache[str, Balance] = TTLCache(
            max(1, len(self._accounts)), BALANCE_CACHE_SECONDS
        )

    def cached(self) -> list[tuple[str, Balance]] | None:
        """Every account's balance when all are cached and fresh (answer at once), else None
        (fetch them, after deferring the interaction)."""
        if not all(pid in self._cache for pid in self._accounts):
            return None
        return [(pid, self._cache.get(pid)) for pid in self._accounts]

    async def fetch(self) -> list[tuple[str, Balance]]:
        """Every account's balance, from the cache or asked for, at most BALANCE_TIMEOUT."""

        async def one(provider_id: str, provider: Provider) -> tuple[str, Balance]:
            if provider_id in self._cache:
                return provider_id, self._cache.get(provider_id)
            try:
                value = await asyncio.wait_for(provider.balance(), BALANCE_TIMEOUT)
            except Exception as exc:  # a moderator aid; never fail the command for it
                log.warning("balance check failed provider=%s: %r", provider_id, exc)
                self._cache.set(provider_id, UNAVAILABLE, ttl=BALANCE_FAILURE_SECONDS)
                return provider_id, UNAVAILABLE
            self._cache.set(provider_id, value)
            return provider_id, value

        return list(await asyncio.gather(*(one(pid, p) for pid, p in self._accounts.items())))
