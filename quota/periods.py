"""Quota periods: every period starts at 00:00 UTC (weeks on Monday).

Both functions want an aware datetime; a naive one is refused rather than read as the host's
local time, which would move every reset by the server's UTC offset.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

PERIODS = ("daily", "weekly", "monthly", "none")


def _utc(when: datetime) -> datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("quota periods need an aware datetime (got a naive one)")
    return when.astimezone(UTC)


def _check(period: str) -> None:
    if period not in PERIODS:
        raise ValueError(f"unknown quota period {period!r}")


def period_key(period: str, when: datetime) -> str:
    """A stable name for the period containing ``when``; ledger rows are grouped by it."""
    _check(period)
    when = _utc(when)
    if period == "daily":
        return when.strftime("D%Y-%m-%d")
    if period == "weekly":
        monday = (when - timedelta(days=when.weekday())).date()
        return f"W{monday.isoformat()}"
    if period == "monthly":
        return when.strftime("M%Y-%m")
    return "all"


def period_end(period: str, when: datetime) -> datetime | None:
    """When the period containing ``when`` ends (the next reset), or None for "none"."""
    _check(period)
    when = _utc(when)
    midnight = when.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "daily":
        return midnight + timedelta(days=1)
    if period == "weekly":
        return midnight + timedelta(days=7 - when.weekday())
    if period == "monthly":
        if when.month == 12:
            return midnight.replace(year=when.year + 1, month=1, day=1)
        return midnight.replace(month=when.month + 1, day=1)
    return None
