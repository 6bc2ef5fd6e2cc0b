"""A server's credit ledger as rows for people: one per ledger entry, with the member's
balance after it, and as CSV. The one export behind both ``bananabot export-usage`` and
``/quota export`` (the SQL is db.ledger.guild_entries; this module decides the amounts, as
quota.service does).

"Balance after" is what /credits would have shown the member right after the entry: their
allowance for the period, minus this period's use and reservations, plus bonus credits. The
allowance is the member's own setting as the ledger recorded it by then, else the server
default as recorded by then, else the bot's QUOTA_DEFAULT_CREDITS. Role allowances depend on
who holds which role, which the ledger does not record: a caller that knows the members'
roles passes ``role_allowances`` (member id -> the highest allowance among their roles);
without it a member whose allowance comes from a role shows the server default's figure.
Rows that record a role's or the server's allowance have no balance.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TextIO

from db import ledger
from db.database import Database
from quota.periods import period_key

CSV_COLUMNS = (
    "time",
    "member",
    "job",
    "model",
    "kind",
    "amount",
    "balance_after",
    "actor",
    "reason",
)


@dataclass(frozen=True)
class UsageRow:
    time: datetime  # UTC
    member: int  # the member's id; a role's or the server's id for their allowance settings
    job: str | None
    model: str | None  # provider:model
    kind: str  # reserve, settle, refund, grant, set, reset
    # As the ledger records it: reserve the cost held, settle the credits charged, refund the
    # reservation returned, grant the bonus given (negative: taken), set the new allowance,
    # reset the usage cleared.
    amount: int
    balance_after: int | None  # None for a role's or the server's allowance setting
    actor: int | None
    reason: str | None

    def as_csv(self) -> list[str]:
        values = (
            self.time.strftime("%Y-%m-%dT%H:%M:%SZ"),
            self.member,
            self.job,
            self.model,
            self.kind,
            self.amount,
            self.balance_after,
            self.actor,
            self.reason,
        )
        return [_cell(value) for value in values]


def day_bounds(since: date | None, until: date | None) -> tuple[float | None, float | None]:
    """UTC timestamps for ``since`` (from its 00:00) and ``until`` (through its end)."""
    start = datetime.combine(since, time(), UTC).timestamp() if since else None
    end = datetime.combine(until + timedelta(days=1), time(), UTC).timestamp() if until else None
    return start, end


class _Balances:
    """The running figures the balance after each entry is computed from."""

    def __init__(
        self, period: str, default_credits: int, role_allowances: Mapping[int, int]
    ) -> None:
        self.period = period
        self.default_credits = default_credits
        self.role_allowances = role_allowances
        self.own: dict[int, int] = {}
        self.server_default: int | None = None
        self.allowance_delta: dict[tuple[int, str], int] = {}
        self.bonus: dict[int, int] = {}

    def apply(self, entry: ledger.GuildEntry) -> int | None:
        row, member = entry.row, entry.user_id
        if row.kind == "set":
            if entry.target_scope == "guild":
                self.server_default = row.amount
                return None
            if entry.target_scope == "role":
                return None
            self.own[member] = row.amount
        key = (member, row.period)
        self.allowance_delta[key] = self.allowance_delta.get(key, 0) + row.allowance_delta
        self.bonus[member] = self.bonus.get(member, 0) + row.bonus_delta
        return self.left(member, row.created_at)

    def left(self, member: int, at: float) -> int:
        allowance = next(
            value
            for value in (
                self.own.get(member),
                self.role_allowances.get(member),
                self.server_default,
                self.default_credits,
            )
            if value is not None
        )
        now = period_key(self.period, datetime.fromtimestamp(at, UTC))
        used = self.allowance_delta.get((member, now), 0)
        return max(0, allowance + used) + self.bonus.get(member, 0)


async def usage_rows(
    db: Database,
    guild_id: int,
    *,
    period: str,
    default_credits: int,
    since: date | None = None,
    until: date | None = None,
    role_allowances: Mapping[int, int] | None = None,
) -> AsyncIterator[UsageRow]:
    """The server's ledger entries from ``since`` through ``until`` (UTC days, both
    included), oldest first."""
    start, end = day_bounds(since, until)
    async for row in rows_between(
        db,
        guild_id,
        start,
        end,
        period=period,
        default_credits=default_credits,
        role_allowances=role_allowances,
    ):
        yield row


async def rows_between(
    db: Database,
    guild_id: int,
    start: float | None,
    end: float | None,
    *,
    period: str,
    default_credits: int,
    role_allowances: Mapping[int, int] | None = None,
) -> AsyncIterator[UsageRow]:
    """The server's ledger entries written in [start, end) (timestamps; None: unbounded),
    oldest first. Entries before ``start`` are read too: balances need them."""
    balances = _Balances(period, default_credits, role_allowances or {})
    async for entry in ledger.guild_entries(db, guild_id, before=end):
        balance = balances.apply(entry)
        row = entry.row
        if start is not None and row.created_at < start:
            continue
        yield UsageRow(
            time=datetime.fromtimestamp(row.created_at, UTC),
            member=entry.user_id,
            job=row.job_id,
            model=f"{entry.provider}:{entry.model}" if entry.model else None,
            kind=row.kind,
            amount=row.amount,
            balance_after=balance,
            actor=row.actor_id,
            reason=row.reason,
        )


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    """A CSV cell. Text a spreadsheet would run as a formula gets a leading ' (a reason
    typed by a moderator, say), so opening the export runs nothing."""
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if value.startswith(_FORMULA_START) else value
    return str(value)


def csv_line(row: UsageRow | None) -> str:
    """One CSV line, CRLF-terminated as RFC 4180 has it; None gives the header line."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS if row is None else row.as_csv())
    return buffer.getvalue()


async def write_csv(
    rows: AsyncIterator[UsageRow], out: TextIO, *, max_bytes: int | None = None
) -> tuple[int, UsageRow | None]:
    """Write a header and ``rows`` as CSV to ``out``, stopping before the UTF-8 text would
    pass ``max_bytes`` (an upload limit). Returns (rows written, the first row left out, or
    None when all fit)."""
    header = csv_line(None)
    out.write(header)
    size, written = len(header.encode()), 0
    async for row in rows:
        line = csv_line(row)
        length = len(line.encode())
        if max_bytes is not None and size + length > max_bytes:
            return written, row
        out.write(line)
        size += length
        written += 1
    return written, None
