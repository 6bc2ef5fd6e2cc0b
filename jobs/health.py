"""How each provider has been answering lately, from every HTTP request its adapter makes:
the error rate and latency of its recent requests, and whether the bot has paused sending it
new jobs (an open circuit).

It feeds two things: the routing of a model that several providers offer (a provider that
keeps failing is tried last, so members are not sent to it first), and /status. A paused
provider is not shut out: once the pause runs out the next job may try it again (half-open),
and one more failure pauses it again at once.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from jobs.policy import (  # the package's tunables
    MAX_SAMPLES,
    PAUSE_AFTER_FAILURES,
    PAUSE_SECONDS,
    RECENT_SECONDS,
)

NO_ANSWER = frozenset({"timeout", "connect", "transport", "error"})
ACCOUNT_REFUSED = frozenset({401, 402, 403})  # the key or the account, not the request


def is_failure(outcome: int | str) -> bool:
    """A request that says the provider (or the bot's account there) cannot serve right now:
    no answer, a 5xx, or an auth / out-of-credits refusal. A 4xx about the request itself
    (400, 404, 422) and a 429 (the budget, waited out) are the provider working."""
    if isinstance(outcome, str):
        return outcome in NO_ANSWER
    return outcome >= 500 or outcome in ACCOUNT_REFUSED


@dataclass(frozen=True)
class ProviderHealthReport:
    """One provider's recent record, as /status shows it."""

    provider: str
    requests: int  # in the last RECENT_SECONDS
    failures: int
    rate_limited: int  # 429s
    latency_p50: float | None  # seconds, answered requests only
    latency_p95: float | None
    paused_for: float  # seconds left of a pause; 0 when not paused
    last_failure: str | None  # e.g. "503 on /api/v1/generate"

    @property
    def error_rate(self) -> float | None:
        return self.failures / self.requests if self.requests else None

    @property
    def paused(self) -> bool:
        return self.paused_for > 0


@dataclass
class _Record:
    samples: deque[tuple[float, bool, bool, float]]  # (when, failed, rate limited, seconds)
    failures_in_a_row: int = 0
    paused_until: float = 0.0
    last_failure: str | None = None


def _percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class ProviderHealth:
    """Told of every provider request (``observe`` has the adapters' RequestObserver shape)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._records: dict[str, _Record] = {}

    def _record(self, provider: str) -> _Record:
        record = self._records.get(provider)
        if record is None:
            record = self._records[provider] = _Record(deque(maxlen=MAX_SAMPLES))
        return record

    def observe(
        self, provider: str, method: str, path: str, outcome: int | str, seconds: float
    ) -> None:
        now = self._clock()
        record = self._record(provider)
        failed = is_failure(outcome)
        record.samples.append((now, failed, outcome == 429, seconds))
        if not failed:
            record.failures_in_a_row = 0
            return
        record.failures_in_a_row += 1
        record.last_failure = f"{outcome} on {path.split('?', 1)[0]}"
        if record.failures_in_a_row >= PAUSE_AFTER_FAILURES:
            record.paused_until = now + PAUSE_SECONDS

    def paused(self, provider: str) -> bool:
        record = self._records.get(provider)
        return record is not None and record.paused_until > self._clock()

    def error_rate(self, provider: str) -> float | None:
        """Failing share of the recent requests (None: none), as ``report`` counts it; asked
        by routing for every command, so without the report's latency percentiles."""
        record = self._records.get(provider)
        if record is None:
            return None
        since = self._clock() - RECENT_SECONDS
        requests = failures = 0
        for when, failed, _, _ in record.samples:
            if when >= since:
                requests += 1
                failures += failed
        return failures / requests if requests else None

    def report(self, provider: str) -> ProviderHealthReport:
        now = self._clock()
        record = self._records.get(provider)
        recent = [s for s in record.samples if now - s[0] <= RECENT_SECONDS] if record else []
        answered = [seconds for _, failed, _, seconds in recent if not failed]
        return ProviderHealthReport(
            provider=provider,
            requests=len(recent),
            failures=sum(1 for s in recent if s[1]),
            rate_limited=sum(1 for s in recent if s[2]),
            latency_p50=_percentile(answered, 0.5),
            latency_p95=_percentile(answered, 0.95),
            paused_for=max(0.0, record.paused_until - now) if record else 0.0,
            last_failure=record.last_failure if record else None,
        )
