"""What a server spent and made, for moderators: the figures behind /quota usage (credits
charged per day or hour stacked by model, top members, jobs by outcome) and the ledger as CSV
for /quota export. SQL lives in db.usage and db.ledger; this module picks the windows, folds
small series into "other" and turns dates typed by people into time ranges."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from db import usage
from db.database import Database
from jobs.errors import InvalidRequest
from quota import export
from quota.tunables import MEMBERS_SHOWN, MODELS_SHOWN

DAY = 86_400.0
HOUR = 3_600.0
USAGE_PERIODS = {  # period -> (days shown, ending today; seconds per bar)
    "day": (1, HOUR),
    "week": (7, DAY),
    "month": (30, DAY),
}
OTHER = "other"
OUTCOMES = ("completed", "failed", "running")


@dataclass(frozen=True)
class UsageReport:
    period: str
    since: float  # inclusive, 00:00 UTC of the first day
    until: float  # exclusive, 00:00 UTC after today
    bucket_seconds: float
    by_model: dict[str, tuple[int, ...]]  # model -> credits per bar; most spent first, other last
    top_members: tuple[tuple[int, int], ...]  # (member id, credits), most first
    outcomes: dict[str, int] = field(default_factory=dict)  # completed / failed / running
    user_id: int | None = None

    @property
    def bars(self) -> int:
        return round((self.until - self.since) / self.bucket_seconds)

    def bar_starts(self) -> list[datetime]:
        return [
            datetime.fromtimestamp(self.since + i * self.bucket_seconds, UTC)
            for i in range(self.bars)
        ]

    @property
    def total(self) -> int:
        return sum(sum(series) for series in self.by_model.values())

    def model_totals(self) -> list[tuple[str, int]]:
        return [(model, sum(series)) for model, series in self.by_model.items()]


@dataclass(frozen=True)
class Export:
    data: bytes
    rows: int
    stopped_at: float | None  # the time of the first entry left out (the file was full)


class NotADay(InvalidRequest):
    """A day typed by a moderator that is not YYYY-MM-DD."""

    option: str  # the command option it was typed in
    text: str  # what was typed


class DaysReversed(InvalidRequest):
    since: date
    until: date


def _midnight(when: float) -> float:
    day = datetime.fromtimestamp(when, UTC).date()
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


def parse_day(text: str | None, option: str) -> date | None:
    """A YYYY-MM-DD day typed by a moderator, or None when not given; refused in words."""
    if text is None or not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise NotADay(option=option, text=text.strip()) from None


def day_range(since: date | None, until: date | None) -> tuple[float | None, float | None]:
    """[since 00:00 UTC, the day after until 00:00 UTC): both days are included."""
    if since is not None and until is not None and since > until:
        raise DaysReversed(since=since, until=until)
    return export.day_bounds(since, until)


class UsageService:
    def __init__(
        self,
        db: Database,
        *,
        default_allowance: int,
        period: str = "daily",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.default_allowance = default_allowance
        self.period = period  # QUOTA_PERIOD: which period's use a balance counts
        self.clock = clock

    async def report(self, guild_id: int, period: str, user_id: int | None = None) -> UsageReport:
        days, bucket = USAGE_PERIODS[period]
        until = _midnight(self.clock()) + DAY
        since = until - days * DAY
        window = usage.Window(guild_id, since, until, user_id)
        bars = round((until - since) / bucket)
        series: dict[str, list[int]] = {}
        for index, model, credits in await usage.spending_by_bucket(self.db, window, bucket):
            if 0 <= index < bars:
                series.setdefault(model, [0] * bars)[index] += credits
        ranked = sorted(series, key=lambda m: (-sum(series[m]), m))
        by_model = {m: tuple(series[m]) for m in ranked[:MODELS_SHOWN]}
        if len(ranked) > MODELS_SHOWN:
            rest = [
                sum(column)
                for column in zip(*(series[m] for m in ranked[MODELS_SHOWN:]), strict=True)
            ]
            by_model[OTHER] = tuple(rest)
        states = await usage.jobs_by_state(self.db, window)
        outcomes = {name: 0 for name in OUTCOMES}
        for state, count in states.items():
            outcomes[state if state in ("completed", "failed") else "running"] += count
        return UsageReport(
            period=period,
            since=since,
            until=until,
            bucket_seconds=bucket,
            by_model=by_model,
            top_members=tuple(await usage.top_spenders(self.db, window, MEMBERS_SHOWN)),
            outcomes=outcomes,
            user_id=user_id,
        )

    async def export_csv(
        self,
        guild_id: int,
        since: float | None,
        until: float | None,
        *,
        max_bytes: int | None = None,
    ) -> Export:
        """The server's ledger in [since, until) as CSV, cut before ``max_bytes``."""
        out = io.StringIO()
        rows = export.rows_between(
            self.db,
            guild_id,
            since,
            until,
            period=self.period,
            default_credits=self.default_allowance,
        )
        written, left_out = await export.write_csv(rows, out, max_bytes=max_bytes)
        stopped_at = left_out.time.timestamp() if left_out else None
        return Export(out.getvalue().encode(), written, stopped_at)
