"""Credits: allowance resolution, balances derived from the ledger, and the atomic
reserve / settle / refund path every job goes through.

A reservation and the job row it pays for are written in one transaction that first re-reads
the balance, so concurrent commands can never overspend.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from db import ledger
from db.database import Database
from db.jobs import Job, JobStore
from jobs.errors import InsufficientCredits, TooManyJobs
from quota.periods import period_end, period_key

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


class QuotaService:
    def __init__(
        self,
        db: Database,
        *,
        period: str,
        default_credits: int,
        max_jobs_per_user: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.period = period
        self.default_credits = default_credits
        self.max_jobs_per_user = max_jobs_per_user
        self.clock = clock

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def current_period(self) -> str:
        return period_key(self.period, self._now())

    def resets_at(self) -> datetime | None:
        return period_end(self.period, self._now())

    async def _allowance(self, conn, guild_id: int, user_id: int, role_ids: list[int]) -> int:
        own, role, default = await ledger.allowance_settings(conn, guild_id, user_id, role_ids)
        for value in (own, role, default):
            if value is not None:
                return value
        return self.default_credits

    async def _balance(self, conn, guild_id: int, user_id: int, role_ids: list[int]) -> Balance:
        period = self.current_period()
        allowance = await self._allowance(conn, guild_id, user_id, role_ids)
        sums = await ledger.sums(conn, guild_id, user_id, period)
        allowance_left = allowance + sums.allowance_delta  # open reservations already subtracted
        running = await JobStore.count_running(conn, guild_id, user_id)
        return Balance(
            allowance=allowance,
            used=-sums.allowance_delta - sums.reserved_allowance,
            reserved=sums.reserved,
            bonus=sums.bonus,
            left=max(0, allowance_left) + sums.bonus,
            allowance_left=max(0, allowance_left),
            resets_at=self.resets_at(),
            running_jobs=running,
        )

    async def balance(
        self, guild_id: int, user_id: int, role_ids: list[int] | None = None
    ) -> Balance:
        return await self._balance(self.db.conn, guild_id, user_id, list(role_ids or ()))

    async def allowance(
        self, guild_id: int, user_id: int, role_ids: list[int] | None = None
    ) -> int:
        return await self._allowance(self.db.conn, guild_id, user_id, list(role_ids or ()))

    async def reserve_job(self, job: Job, role_ids: list[int] | None = None) -> Balance:
        """Store ``job`` and reserve its cost, or raise without changing anything."""
        async with self.db.transaction() as conn:
            balance = await self._balance(conn, job.guild_id, job.user_id, list(role_ids or ()))
            if balance.running_jobs >= self.max_jobs_per_user:
                raise TooManyJobs(
                    f"You already have {balance.running_jobs} generation"
                    f"{'s' if balance.running_jobs != 1 else ''} running; the limit is "
                    f"{self.max_jobs_per_user} at a time. Wait for one to finish and try again."
                )
            if job.cost > balance.left:
                raise InsufficientCredits(
                    _not_enough(job.cost, balance), cost=job.cost, left=balance.left
                )
            period = self.current_period()
            from_allowance = min(job.cost, balance.allowance_left)
            from_bonus = job.cost - from_allowance
            await JobStore.insert(conn, job)
            await ledger.append(
                conn,
                guild_id=job.guild_id,
                user_id=job.user_id,
                kind="reserve",
                amount=job.cost,
                allowance_delta=-from_allowance,
                bonus_delta=-from_bonus,
                period=period,
                job_id=job.id,
                actor_id=job.user_id,
                reason=f"/{job.command} {job.model}",
                created_at=self.clock(),
            )
            return await self._balance(conn, job.guild_id, job.user_id, list(role_ids or ()))

    async def settle(self, job: Job, charged: int, *, conn=None) -> int:
        """Charge ``charged`` (at most the reservation) and release the rest. Idempotent:
        returns the amount charged, or the earlier charge if the job was already closed."""
        if conn is None:
            async with self.db.transaction() as conn:
                return await self.settle(job, charged, conn=conn)
        reserve = await ledger.reservation(conn, job.id)
        if reserve is None:
            raise LookupError(f"job {job.id} has no reservation")
        if await ledger.is_closed(conn, job.id):
            return job.charged or 0
        if charged > reserve.amount:
            log.warning(
                "job=%s provider charged more than reserved (%d < %d); charging the reservation",
                job.id,
                reserve.amount,
                charged,
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
            reason=f"{job.provider}:{job.model} completed",
            created_at=self.clock(),
        )
        return charged

    async def refund(self, job: Job, reason: str, *, conn=None) -> bool:
        """Release the whole reservation. Idempotent: False when already closed."""
        if conn is None:
            async with self.db.transaction() as conn:
                return await self.refund(job, reason, conn=conn)
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
            reason=reason[:200],
            created_at=self.clock(),
        )
        return True


def _not_enough(cost: int, balance: Balance) -> str:
    when = (
        f" Your credits reset <t:{int(balance.resets_at.timestamp())}:R>."
        if balance.resets_at
        else ""
    )
    reserved = f" ({balance.reserved} are held by running jobs)" if balance.reserved else ""
    return (
        f"This costs {cost} credit{'s' if cost != 1 else ''}, but you have {balance.left} "
        f"left{reserved}.{when} Try a cheaper model or option, or ask a moderator for more."
    )
