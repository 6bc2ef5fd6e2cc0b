"""Quota periods: every period starts at 00:00 UTC (weeks on Monday)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def period_key(period: str, when: datetime) -> str:
    """A stable name for the period containing ``when``; ledger rows are grouped by it."""
    when = when.astimezone(UTC)
    if period == "daily":
        return when.strftime("D%Y-%m-%d")
    if period == "weekly":
        monday = (when - timedelta(days=when.weekday())).date()
        return f"W{monday.isoformat()}"
    if period == "monthly":
        return when.strftime("M%Y-%m")
    if period == "none":
        return "all"
    raise ValueError(f"unknown quota period {period!r}")


def period_end(period: str, when: datetime) -> datetime | None:
    """When the period containing ``when`` ends (the next reset), or None for "none"."""
    when = when.astimezone(UTC)
    midnight = when.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "daily":
        return midnight + timedelta(days=1)
    if period == "weekly":
        return midnight + timedelta(days=7 - when.weekday())
    if period == "monthly":
        if when.month == 12:
            return midnight.replace(year=when.year + 1, month=1, day=1)
        return midnight.replace(month=when.month + 1, day=1)
    if period == "none":
        return None
    raise ValueError(f"unknown quota period {period!r}")
