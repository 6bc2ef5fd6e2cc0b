"""The bot's numbers for Prometheus: counters, gauges and histograms with labels, written in
Prometheus' text exposition format (version 0.0.4) by ``render``.

Written here rather than with prometheus_client: a few dozen lines cover what the bot
needs, each bot (and each test's bot) owns its own registry, and nothing global outlives it.
Label values come from the bot itself (provider ids, endpoint paths without ids, states);
none carries a secret, a prompt or a member's id.

Time in the engine's histograms is the engine's clock: wall time in production.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from typing import Any

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
READS_BUCKETS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32)
OVERHEAD_BUCKETS = (0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0)
MAX_SERIES = 1000  # label combinations per metric at most: a runaway label cannot eat memory
_ID_SEGMENT = re.compile(r"^(?=.*\d)[\w.~-]{6,}$|^[\w.~-]{25,}$")


def endpoint_of(path: str) -> str:
    """An API path as a label: segments that look like ids (a digit and 6+ characters, or
    25+ characters) become ``{id}``, so task ids do not each make a series."""
    path = path.split("?", 1)[0]
    return "/".join("{id}" if _ID_SEGMENT.match(part) else part for part in path.split("/"))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))


def _labels(names: tuple[str, ...], values: tuple[str, ...], extra: str = "") -> str:
    parts = [f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


class _Metric:
    kind = ""

    def __init__(self, name: str, help: str, labels: Iterable[str] = ()) -> None:
        self.name = name
        self.help = help
        self.labelnames = tuple(labels)

    def _key(self, labels: dict[str, Any]) -> tuple[str, ...] | None:
        if set(labels) != set(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames}, got {sorted(labels)}")
        key = tuple(str(labels[n]) for n in self.labelnames)
        store = self._store()
        if key not in store and len(store) >= MAX_SERIES:
            return None  # dropped rather than grown without bound
        return key

    def _store(self) -> dict:
        raise NotImplementedError

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {_escape(self.help)}", f"# TYPE {self.name} {self.kind}"]


class Counter(_Metric):
    kind = "counter"

    def __init__(self, name: str, help: str, labels: Iterable[str] = ()) -> None:
        super().__init__(name, help, labels)
        self.values: dict[tuple[str, ...], float] = {}

    def _store(self) -> dict:
        return self.values

    def inc(self, amount: float = 1.0, **labels: Any) -> None:
        if amount < 0:
            raise ValueError("a counter only goes up")
        key = self._key(labels)
        if key is not None:
            self.values[key] = self.values.get(key, 0.0) + amount

    def value(self, **labels: Any) -> float:
        return self.values.get(tuple(str(labels[n]) for n in self.labelnames), 0.0)

    def lines(self) -> list[str]:
        return [
            f"{self.name}{_labels(self.labelnames, key)} {_number(v)}"
            for key, v in sorted(self.values.items())
        ]


class Gauge(Counter):
    kind = "gauge"

    def set_all(self, values: dict[tuple[str, ...], float]) -> None:
        """Replace every series (a gauge computed from state at scrape time)."""
        self.values = dict(list(values.items())[:MAX_SERIES])

    def inc(self, amount: float = 1.0, **labels: Any) -> None:
        key = self._key(labels)
        if key is not None:
            self.values[key] = self.values.get(key, 0.0) + amount


class Histogram(_Metric):
    kind = "histogram"

    def __init__(
        self, name: str, help: str, labels: Iterable[str] = (), *, buckets: Iterable[float]
    ) -> None:
        super().__init__(name, help, labels)
        self.buckets = tuple(sorted(buckets))
        self.series: dict[tuple[str, ...], tuple[list[int], list[float]]] = {}

    def _store(self) -> dict:
        return self.series

    def observe(self, value: float, **labels: Any) -> None:
        key = self._key(labels)
        if key is None:
            return
        counts, total = self.series.setdefault(key, ([0] * (len(self.buckets) + 1), [0.0]))
        index = next((i for i, b in enumerate(self.buckets) if value <= b), len(self.buckets))
        counts[index] += 1
        total[0] += value

    def count(self, **labels: Any) -> int:
        key = tuple(str(labels[n]) for n in self.labelnames)
        return sum(self.series[key][0]) if key in self.series else 0

    def lines(self) -> list[str]:
        out = []
        for key, (counts, total) in sorted(self.series.items()):
            running = 0
            for bound, count in zip((*self.buckets, math.inf), counts, strict=True):
                running += count
                le = f'le="{_number(bound)}"'
                out.append(f"{self.name}_bucket{_labels(self.labelnames, key, le)} {running}")
            out.append(f"{self.name}_sum{_labels(self.labelnames, key)} {_number(total[0])}")
            out.append(f"{self.name}_count{_labels(self.labelnames, key)} {running}")
        return out


class Metrics:
    """Every number the bot exports. Hooks record into it as things happen; ``collectors``
    set the gauges that describe state (jobs now, queue depth) just before a scrape."""

    def __init__(self) -> None:
        self.jobs = Gauge(
            "bananabot_jobs", "Jobs in the engine now, by state", ("provider", "state")
        )
        self.queue_depth = Gauge(
            "bananabot_queue_depth", "Jobs waiting for a provider slot", ("provider",)
        )
        self.jobs_finished = Counter(
            "bananabot_jobs_finished_total", "Jobs that ended, by outcome", ("provider", "outcome")
        )
        self.provider_requests = Counter(
            "bananabot_provider_requests_total",
            "Requests to provider APIs by endpoint and HTTP status (or the network error)",
            ("provider", "endpoint", "status"),
        )
        self.provider_errors = Counter(
            "bananabot_provider_errors_total",
            "Provider requests that failed: HTTP 4xx/5xx or no answer",
            ("provider", "endpoint", "status"),
        )
        self.provider_latency = Histogram(
            "bananabot_provider_request_seconds",
            "Time a provider took to answer a request",
            ("provider", "endpoint"),
            buckets=LATENCY_BUCKETS,
        )
        self.status_reads = Counter(
            "bananabot_status_reads_total", "Task status reads", ("provider",)
        )
        self.status_reads_per_job = Histogram(
            "bananabot_status_reads_per_job",
            "Status reads a submitted job took until it ended (in this process)",
            ("provider",),
            buckets=READS_BUCKETS,
        )
        self.delivery_overhead = Histogram(
            "bananabot_delivery_overhead_seconds",
            "From the status read that saw a task finished to its result posted",
            ("provider",),
            buckets=OVERHEAD_BUCKETS,
        )
        self.credits = Counter(
            "bananabot_credits_total", "Bot credits reserved, charged and refunded", ("kind",)
        )
        self.discord_rate_limits = Counter(
            "bananabot_discord_rate_limits_total",
            "HTTP 429 answers from Discord's REST API, by X-RateLimit-Scope",
            ("scope",),
        )
        self.gateway_connected = Gauge(
            "bananabot_gateway_connected", "1 while the Discord gateway is connected"
        )
        self.collectors: list[Callable[[Metrics], None]] = []
        self._reads: dict[str, int] = {}  # job id -> status reads so far
        self._task_done: dict[str, float] = {}  # job id -> when a read saw the task finished

    # --- hooks ----------------------------------------------------------------------------

    def provider_request(
        self, provider: str, method: str, path: str, status: int | str, seconds: float
    ) -> None:
        endpoint = f"{method.upper()} {endpoint_of(path)}"
        self.provider_requests.inc(provider=provider, endpoint=endpoint, status=status)
        if not isinstance(status, int) or status >= 400:
            self.provider_errors.inc(provider=provider, endpoint=endpoint, status=status)
        self.provider_latency.observe(seconds, provider=provider, endpoint=endpoint)

    def status_read(self, job_id: str, provider: str) -> None:
        self.status_reads.inc(provider=provider)
        self._reads[job_id] = self._reads.get(job_id, 0) + 1

    def task_done(self, job_id: str, now: float) -> None:
        self._task_done[job_id] = now

    def delivered(self, job_id: str, provider: str, now: float) -> None:
        done = self._task_done.pop(job_id, None)
        if done is not None:
            self.delivery_overhead.observe(max(0.0, now - done), provider=provider)

    def job_ended(self, job_id: str, provider: str, outcome: str, submitted: bool) -> None:
        self.jobs_finished.inc(provider=provider, outcome=outcome)
        reads = self._reads.pop(job_id, 0)
        self._task_done.pop(job_id, None)
        if submitted:
            self.status_reads_per_job.observe(reads, provider=provider)

    def forget(self, job_id: str) -> None:
        """A job paused (the bot stopping): its counts go with the process."""
        self._reads.pop(job_id, None)
        self._task_done.pop(job_id, None)

    # --- exposition -----------------------------------------------------------------------

    def all(self) -> list[_Metric]:
        return [m for m in vars(self).values() if isinstance(m, _Metric)]

    def render(self) -> str:
        for collect in self.collectors:
            collect(self)
        lines: list[str] = []
        for metric in self.all():
            lines += metric.header() + metric.lines()
        return "\n".join(lines) + "\n"
