"""What /status shows of each enabled provider: how it has been answering (jobs/health.py) and
how many of this bot's jobs wait for it or run there now (the engine's live state, through the
jobs facade). A service, so the cog reads plain records and never the engine's internals."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from jobs.health import ProviderHealth, ProviderHealthReport
from jobs.policy import RECENT_SECONDS
from jobs.records import JobState

WAITING = frozenset({JobState.QUEUED.value})
WORKING = frozenset({JobState.SUBMITTING.value, JobState.RUNNING.value, JobState.DELIVERING.value})


@dataclass(frozen=True)
class ProviderStatus:
    provider: str
    health: ProviderHealthReport
    queued: int  # jobs waiting for the provider's turn
    running: int  # jobs being sent, generating or being delivered
    window_seconds: float = RECENT_SECONDS  # how far back ``health`` looks


class StatusService:
    def __init__(
        self,
        live_states: Callable[[], dict[tuple[str, str], int]],
        health: ProviderHealth,
        providers: Iterable[str],
    ) -> None:
        self._live_states = live_states  # (provider, state) -> jobs now: JobService's
        self._health = health
        self._providers = list(providers)

    def report(self) -> list[ProviderStatus]:
        """Every enabled provider, in the registry's order."""
        states = self._live_states()
        found = []
        for provider in self._providers:
            found.append(
                ProviderStatus(
                    provider=provider,
                    health=self._health.report(provider),
                    queued=sum(n for (p, s), n in states.items() if p == provider and s in WAITING),
                    running=sum(
                        n for (p, s), n in states.items() if p == provider and s in WORKING
                    ),
                )
            )
        return found
