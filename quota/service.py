"""Credits: allowance resolution, balances derived from the ledger, the atomic
reserve / settle / refund path every job goes through, and the moderators' grant / set /
reset / history. SQL lives in db.ledger; this module decides the amounts.

A reservation and the job row it pays for are written in one transaction that first re-reads
the balance, so concurrent commands can never overspend.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from db import ledger
from db.database import Database
from jobs.errors import InsufficientCredits, TooManyJobs, UserFacingError
from jobs.records import Job
from jobs.store import JobStore
from quota.periods import PERIODS, period_end, period_key
from quota.preview import PreviewNeeded, preview_reason
from quota.tunables import RESERVE_BATCH_MAX

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Balance:
    allowance: int
    used: int  # settled use of this period's allowance
    reserved: int  # held by running jobs (allowance and bonus parts)
    bonus: int  # bonus credits left (not counting those reserved)
    left: int  # what the member can spend now
    allowance_left: int  # the part of ``left`` that comes from this period's allowance
    resets_at: datetime | None
    running_jobs: int = 0


@dataclass
class _Taken:
    """What a batch's accepted reservations took from one member so far: the ledger rows
    and job rows a fresh read inside the transaction would now also see."""

    credits: int = 0
    from_allowance: int = 0
    jobs: int = 0

    def add(self, cost: int, from_allowance: int) -> None:
        self.credits += cost
        self.from_allowance += from_allowance
        self.jobs += 1

    def applied_to(self, read: ledger.Standing) -> ledger.Standing:
        if not self.jobs:
            return read
        sums = read.sums
        return dataclasses.replace(
            read,
            sums=ledger.Sums(
                allowance_delta=sums.allowance_delta - self.from_allowance,
                bonus=sums.bonus - (self.credits - self.from_allowance),
                reserved=sums.reserved + self.credits,
                reserved_allowance=sums.reserved_allowance + self.from_allowance,
            ),
            running_jobs=read.running_jobs + self.jobs,
        )


@dataclass
class _Pending:
    """A reservation waiting for its batch."""

    job: Job
    roles: list[int]
    outcome: asyncio.Future[Balance]
    preview_threshold: int | None = None  # None: the member already confirmed (or no preview)


class QuotaService:
    """Every write runs in ``db.transaction()`` and re-reads what it depends on inside it.

    Each operation reads the clock once, so a call that straddles midnight UTC cannot check
    one period's balance and write its row into the next.
    """

    def __init__(
        self,
        db: Database,
        *,
        period: str,
        default_credits: int,
        max_jobs_per_user: int,
        clock: Callable[[], float] = time.time,
        on_credits: Callable[[str, int], None] | None = None,
    ) -> None:
        if period not in PERIODS:
            raise ValueError(f"unknown quota period {period!r}")
        self.db = db
        self.period = period
        self.default_credits = default_credits
        self.max_jobs_per_user = max_jobs_per_user
        self.clock = clock
        self.on_credits = on_credits  # told ("reserved" | "charged" | "refunded", credits)
        self._pending: list[_Pending] = []
        self._batcher: asyncio.Task[None] | None = None

    def _period_at(self, now: float) -> str:
        return period_key(self.period, datetime.fromtimestamp(now, UTC))

    def _first_set(self, *settings: int | None) -> int:
        """The member's allowance per period: their own setting, else the highest setting of
        their roles, else the server default, else ``default_credits``."""
        return next((value for value in settings if value is not None), self.default_credits)

    async def _balance(
        self, conn, guild_id: int, user_id: int, role_ids: list[int], now: float
    ) -> Balance:
        standing = await ledger.standing(conn, guild_id, user_id, role_ids, self._period_at(now))
        return self._balance_of(standing, now)

    def _balance_of(self, standing: ledger.Standing, now: float) -> Balance:
        allowance = self._first_set(standing.own, standing.role, standing.default)
        sums = standing.sums
        allowance_left = allowance + sums.allowance_delta  # open reservations already subtracted
        return Balance(
            allowance=allowance,
            used=-sums.allowance_delta - sums.reserved_allowance,
            reserved=sums.reserved,
            bonus=sums.bonus,
            left=max(0, allowance_left) + sums.bonus,
            allowance_left=max(0, allowance_left),
            resets_at=period_end(self.period, datetime.fromtimestamp(now, UTC)),
            running_jobs=standing.running_jobs,
        )

    async def balance(
        self, guild_id: int, user_id: int, role_ids: list[int] | None = None
    ) -> Balance:
        return await self._balance(
            self.db.conn, guild_id, user_id, list(role_ids or ()), self.clock()
        )

    # --- the job path ---------------------------------------------------------------------

    async def reserve_job(
        self, job: Job, role_ids: list[int] | None = None, *, preview_threshold: int | None = None
    ) -> Balance:
        """Store ``job`` and reserve its cost, or raise without changing anything; the
        member's balance after it.

        With ``preview_threshold`` (the server's cost-preview setting, 0 = off) a job that
        quota.preview says must be confirmed first raises PreviewNeeded instead, after the
        refusals (too many jobs, not enough credits) and before anything is written.

        The reservation takes the period's remaining allowance first, then bonus credits, and
        records the period it was made in (its settle or refund carries the same period).
        Reservations that arrive together share one transaction (see _reserve_batches), each
        still checked against what the ones before it in the batch took.
        """
        if job.reserved < 0:
            raise ValueError(f"job {job.id} has a negative reservation ({job.reserved})")
        pending = _Pending(
            job,
            list(role_ids or ()),
            asyncio.get_running_loop().create_future(),
            preview_threshold,
        )
        self._pending.append(pending)
        if self._batcher is None or self._batcher.done():
            self._batcher = asyncio.create_task(self._reserve_batches(), name="reservations")
        return await pending.outcome

    async def _reserve_batches(self) -> None:
        """Write waiting reservations, up to RESERVE_BATCH_MAX per transaction. A member's
        refusal writes nothing and touches no one else's; an error of the database fails
        the whole batch, whose transaction then wrote nothing."""
        while self._pending:
            batch = self._pending[:RESERVE_BATCH_MAX]
            del self._pending[: len(batch)]
            try:
                async with self.db.transaction() as conn:
                    outcomes = await self._reserve_batch(conn, batch, self.clock())
            except Exception as exc:
                outcomes = [exc] * len(batch)
            for pending, outcome in zip(batch, outcomes, strict=True):
                if isinstance(outcome, Balance):  # committed
                    self._count("reserved", pending.job.reserved)
                if pending.outcome.done():  # the caller gave up waiting
                    continue
                if isinstance(outcome, Exception):
                    pending.outcome.set_exception(outcome)
                else:
                    pending.outcome.set_result(outcome)

    async def _reserve_batch(
        self, conn, batch: list[_Pending], now: float
    ) -> list[Balance | Exception]:
        """Decide a batch in order, as if each reservation re-read its member's balance after
        the ones before it: one read of every member's standing, each accepted reservation
        added to what its member's later reservations see, then the jobs and ledger rows
        written together. Three statements, whatever the batch's size."""
        period = self._period_at(now)
        # another process (PostgreSQL) waits here for these members, never reads past us
        await ledger.hold_members(conn, {(p.job.guild_id, p.job.user_id) for p in batch})
        standings = await ledger.standings(
            conn, [(p.job.guild_id, p.job.user_id, p.roles) for p in batch], period
        )
        taken: dict[tuple[int, int], _Taken] = {}
        outcomes: list[Balance | Exception] = []
        jobs: list[Job] = []
        entries: list[dict[str, object]] = []
        for pending, read in zip(batch, standings, strict=True):
            job = pending.job
            member = taken.setdefault((job.guild_id, job.user_id), _Taken())
            balance = self._balance_of(member.applied_to(read), now)
            try:
                from_allowance = self._check(job, balance)
                _confirm_first(pending, balance)
            except (UserFacingError, PreviewNeeded) as refusal:
                outcomes.append(refusal)
                continue
            member.add(job.reserved, from_allowance)
            jobs.append(job)
            entries.append(
                ledger.entry(
                    guild_id=job.guild_id,
                    user_id=job.user_id,
                    kind="reserve",
                    amount=job.reserved,
                    allowance_delta=-from_allowance,
                    bonus_delta=-(job.reserved - from_allowance),
                    period=period,
                    job_id=job.id,
                    actor_id=job.user_id,
                    reason=_reason(f"/{job.command} {job.model}"),
                    created_at=now,
                )
            )
            outcomes.append(self._balance_of(member.applied_to(read), now))
        await JobStore.insert_many(conn, jobs)
        await ledger.append_many(conn, entries)
        return outcomes

    def _check(self, job: Job, balance: Balance) -> int:
        """Refuse ``job`` (TooManyJobs, InsufficientCredits) or return the part of its cost
        taken from the period's allowance (the rest comes from bonus credits)."""
        if balance.running_jobs >= self.max_jobs_per_user:
            raise TooManyJobs(running=balance.running_jobs, limit=self.max_jobs_per_user)
        if job.reserved > balance.left:
            raise InsufficientCredits(
                cost=job.reserved,
                left=balance.left,
                reserved=balance.reserved,
                resets_at=balance.resets_at,
            )
        return min(job.reserved, balance.allowance_left)

    async def settle(self, job: Job, charged: int, *, conn=None) -> int:
        """Charge ``charged`` (clamped to 0..the reservation) and release the rest, giving it
        back to bonus first (up to what the reservation took from bonus), then to the
        reservation's period allowance. Idempotent: if the job is already closed nothing is
        written and the earlier charge is returned (0 if it was refunded)."""
        if conn is None:
            async with self.db.transaction() as conn:
                return await self.settle(job, charged, conn=conn)
        await ledger.hold_members(conn, [(job.guild_id, job.user_id)])
        reserve = await ledger.reservation(conn, job.id)
        if reserve is None:
            raise LookupError(f"job {job.id} has no reservation")
        closed = await ledger.closing(conn, job.id)
        if closed is not None:
            return closed.amount if closed.kind == "settle" else 0
        if charged > reserve.amount:
            log.warning(
                "job=%s provider charged more than reserved (charged=%d reserved=%d); "
                "charging the reservation",
                job.id,
                charged,
                reserve.amount,
            )
        charged = max(0, min(charged, reserve.amount))
        give_back = reserve.amount - charged
        to_bonus = min(give_back, -reserve.bonus_delta)
        await ledger.append(
            conn,
            guild_id=job.guild_id,
            user_id=job.user_id,
            kind="settle",
            amount=charged,
            allowance_delta=give_back - to_bonus,
            bonus_delta=to_bonus,
            period=reserve.period,
            job_id=job.id,
            reason=_reason(f"{job.provider}:{job.model} completed"),
            created_at=self.clock(),
        )
        self._count("charged", charged)
        return charged

    async def refund(self, job: Job, reason: str, *, conn=None) -> bool:
        """Release the whole reservation exactly as it was taken. Idempotent: False when the
        job is already closed (or never reserved)."""
        if conn is None:
            async with self.db.transaction() as conn:
                return await self.refund(job, reason, conn=conn)
        await ledger.hold_members(conn, [(job.guild_id, job.user_id)])
        reserve = await ledger.reservation(conn, job.id)
        if reserve is None or await ledger.is_closed(conn, job.id):
            return False
        await ledger.append(
            conn,
            guild_id=job.guild_id,
            user_id=job.user_id,
            kind="refund",
            amount=reserve.amount,
            allowance_delta=-reserve.allowance_delta,
            bonus_delta=-reserve.bonus_delta,
            period=reserve.period,
            job_id=job.id,
            reason=_reason(reason),
            created_at=self.clock(),
        )
        self._count("refunded", reserve.amount)
        return True

    def _count(self, kind: str, credits: int) -> None:
        if self.on_credits is not None and credits:
            self.on_credits(kind, credits)

    # --- moderation -----------------------------------------------------------------------

    async def grant(
        self, guild_id: int, user_id: int, amount: int, *, actor_id: int, reason: str | None
    ) -> int:
        """Add ``amount`` bonus credits (they outlive the period); negative takes some away.

        A negative grant never takes more than the member's unreserved bonus: it is clamped,
        the row records the amount actually applied (with the request noted in its reason) and
        that amount is returned — 0 when there was nothing to take. A grant of 0 is refused.
        """
        if amount == 0:
            raise ValueError("a grant of 0 credits changes nothing")
        async with self.db.transaction() as conn:
            await ledger.hold_members(conn, [(guild_id, user_id)])
            now = self.clock()
            period = self._period_at(now)
            bonus = (await ledger.sums(conn, guild_id, user_id, period)).bonus
            applied = max(amount, -bonus)
            if applied != amount:
                note = f"asked {amount}, only {bonus} bonus left"
                reason = f"{reason} ({note})" if reason else note
            await ledger.append(
                conn,
                guild_id=guild_id,
                user_id=user_id,
                kind="grant",
                amount=applied,
                bonus_delta=applied,
                period=period,
                actor_id=actor_id,
                reason=_reason(reason),
                created_at=now,
            )
        return applied

    async def set_allowance(
        self,
        guild_id: int,
        user_id: int,
        amount: int,
        *,
        actor_id: int,
        reason: str | None = None,
    ) -> None:
        """Set the member's own allowance per period (it beats role and server settings).
        Takes effect at once for the current period; usage so far still counts."""
        _check_allowance(amount)
        async with self.db.transaction() as conn:
            now = self.clock()
            await ledger.set_allowance(conn, guild_id, "user", user_id, amount, actor_id, now)
            await ledger.append(
                conn,
                guild_id=guild_id,
                user_id=user_id,
                kind="set",
                amount=amount,
                period=self._period_at(now),
                actor_id=actor_id,
                reason=_reason(reason),
                created_at=now,
            )

    async def set_role_allowance(
        self, guild_id: int, role_id: int, amount: int, *, actor_id: int
    ) -> None:
        """Set the allowance for holders of ``role_id`` (a member gets the highest of theirs).

        Audited as a 'set' ledger row (deltas 0) under ``user_id = role_id``: Discord ids are
        unique across users and roles, so it never shows in a member's history or balance.
        """
        await self._set_scope(guild_id, "role", role_id, amount, actor_id, "role allowance")

    async def set_default_allowance(self, guild_id: int, amount: int, *, actor_id: int) -> None:
        """Set the server's default allowance (used when neither the member nor any of their
        roles has a setting). Audited as a 'set' row under ``user_id = guild_id`` (the id of
        the server's @everyone role), like role settings."""
        await self._set_scope(
            guild_id, "guild", guild_id, amount, actor_id, "server default allowance"
        )

    async def _set_scope(
        self, guild_id: int, scope: str, target_id: int, amount: int, actor_id: int, what: str
    ) -> None:
        _check_allowance(amount)
        async with self.db.transaction() as conn:
            now = self.clock()
            await ledger.set_allowance(conn, guild_id, scope, target_id, amount, actor_id, now)
            await ledger.append(
                conn,
                guild_id=guild_id,
                user_id=target_id,
                kind="set",
                amount=amount,
                period=self._period_at(now),
                actor_id=actor_id,
                reason=what,
                created_at=now,
            )

    async def reset(
        self, guild_id: int, user_id: int, *, actor_id: int, reason: str | None = None
    ) -> int:
        """Clear this period's settled usage and return how much was cleared.

        Open reservations stay held: the row's allowance_delta is the settled usage only, so
        refunding a running job later cannot lift the member above their allowance. Bonus
        credits are untouched. A reset with nothing to clear still leaves its row (amount 0).
        """
        async with self.db.transaction() as conn:
            await ledger.hold_members(conn, [(guild_id, user_id)])
            now = self.clock()
            period = self._period_at(now)
            sums = await ledger.sums(conn, guild_id, user_id, period)
            used = -sums.allowance_delta - sums.reserved_allowance
            await ledger.append(
                conn,
                guild_id=guild_id,
                user_id=user_id,
                kind="reset",
                amount=used,
                allowance_delta=used,
                period=period,
                actor_id=actor_id,
                reason=_reason(reason),
                created_at=now,
            )
        return used

    async def history(
        self, guild_id: int, user_id: int, *, limit: int = 10, offset: int = 0
    ) -> list[ledger.LedgerRow]:
        """The member's ledger rows, newest first (``offset`` skips that many of the newest)."""
        if limit < 1 or offset < 0:
            raise ValueError("history needs limit >= 1 and offset >= 0")
        return await ledger.history(self.db, guild_id, user_id, limit=limit, offset=offset)


def _confirm_first(pending: _Pending, balance: Balance) -> None:
    """PreviewNeeded when the member must confirm the job's cost first (quota.preview)."""
    if pending.preview_threshold is None:
        return
    reason = preview_reason(pending.job.reserved, balance.left, pending.preview_threshold)
    if reason is not None:
        raise PreviewNeeded(reason, balance)


def _check_allowance(amount: int) -> None:
    if amount < 0:
        raise ValueError(f"an allowance cannot be negative (got {amount})")


def _reason(text: str | None) -> str | None:
    """Reasons are stored trimmed to 200 characters; empty ones as NULL."""
    text = (text or "").strip()
    return text[:200] or None
