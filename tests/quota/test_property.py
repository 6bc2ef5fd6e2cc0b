"""A random sequence of quota operations checked against an independent model.

After every step: the derived balance of each member the step could affect equals the
model's (every member's at the end), nothing is ever negative, reservations never take more
than was available, idempotent repeats write nothing, and the ledger passes
``consistency_problems``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from db import ledger
from db.database import Database
from jobs.errors import InsufficientCredits, TooManyJobs
from quota.periods import PERIODS
from tests.databases import fresh_database
from tests.quota.helpers import Clock, make_job, make_service, refund_job, settle_job

MEMBERS = [(1, 10), (1, 11), (2, 10)]  # the same user in two servers, and a neighbour
DEFAULT_CREDITS = 30
MAX_JOBS = 3
DAY = 86400
STARTS = [
    datetime(2024, 12, 31, 22, tzinfo=UTC).timestamp(),  # end of a day, a month, a year
    datetime(2024, 2, 25, 23, 30, tzinfo=UTC).timestamp(),  # a Sunday night in a leap February
]


def model_period(period: str, now: float) -> object:
    """Independent of quota.periods: day numbers since the epoch (a Thursday)."""
    day = int(now // DAY)
    if period == "daily":
        return day
    if period == "weekly":
        return (day + 3) // 7  # 1970-01-05 (day 4) was a Monday
    if period == "monthly":
        t = datetime.fromtimestamp(now, UTC)
        return (t.year, t.month)
    return "all"


@dataclass
class Reservation:
    member: int
    period: object
    from_allowance: int
    from_bonus: int
    cost: int
    closed_by: str | None = None
    charged: int = 0


@dataclass
class Model:
    period: str
    now: float
    bonus: dict[int, int] = field(default_factory=lambda: dict.fromkeys(range(len(MEMBERS)), 0))
    used: dict[tuple[int, object], int] = field(default_factory=dict)  # settled, net of resets
    own: dict[int, int] = field(default_factory=dict)
    default: dict[int, int] = field(default_factory=dict)
    jobs: dict[str, Reservation] = field(default_factory=dict)
    rows: int = 0

    @property
    def current(self) -> object:
        return model_period(self.period, self.now)

    def allowance(self, m: int) -> int:
        return self.own.get(m, self.default.get(MEMBERS[m][0], DEFAULT_CREDITS))

    def open_jobs(self, m: int) -> list[Reservation]:
        return [r for r in self.jobs.values() if r.member == m and r.closed_by is None]

    def allowance_left(self, m: int) -> int:
        held = sum(r.from_allowance for r in self.open_jobs(m) if r.period == self.current)
        return self.allowance(m) - self.used.get((m, self.current), 0) - held

    def left(self, m: int) -> int:
        return max(0, self.allowance_left(m)) + self.bonus[m]


member = st.sampled_from([0, 0, 0, 1, 2])  # mostly one member, so operations pile up
PARAMS = {
    "reserve": st.tuples(member, st.integers(0, 25)),  # (member, cost)
    "settle": st.tuples(st.integers(0, 1000), st.integers(-5, 30)),  # (which job, charge)
    "refund": st.tuples(st.integers(0, 1000), st.just(0)),
    "grant": st.tuples(member, st.integers(-15, 40).filter(bool)),
    "set": st.tuples(member, st.integers(0, 40)),
    "default": st.tuples(st.integers(1, 2), st.integers(0, 40)),  # (guild, amount)
    "reset": st.tuples(member, st.just(0)),
    "advance": st.tuples(
        st.sampled_from([60, 3600, 5 * 3600, DAY, 3 * DAY, 7 * DAY, 31 * DAY]), st.just(0)
    ),
}
WEIGHTED = ["reserve"] * 5 + ["settle"] * 3 + ["grant"] * 2 + [k for k in PARAMS if k != "reserve"]
ops = st.sampled_from(WEIGHTED).flatmap(
    lambda kind: PARAMS[kind].map(lambda params: (kind, *params))
)


@settings(
    max_examples=60,
    deadline=None,
    # ``backend`` is a plain string: sharing it between examples is what is wanted
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    period=st.sampled_from(PERIODS),
    start=st.sampled_from(STARTS),
    steps=st.lists(ops, min_size=15, max_size=35),
)
def test_random_operations_match_the_model(backend, tmp_path_factory, period, start, steps):
    folder = tmp_path_factory.mktemp("quota")
    asyncio.run(_run(backend, folder, period, start, steps))


async def _run(backend: str, folder: Path, period: str, start: float, steps: list) -> None:
    async with fresh_database(backend, folder) as target:
        await _run_on(target, period, start, steps)


async def _run_on(target: Path | str, period: str, start: float, steps: list) -> None:
    db = await Database.open(target)
    try:
        clock = Clock(start)
        quota = make_service(
            db, clock, period=period, default_credits=DEFAULT_CREDITS, max_jobs_per_user=MAX_JOBS
        )
        model = Model(period=period, now=start)
        objects = {}  # job id -> Job
        for step in steps:
            touched = await _apply(quota, model, objects, clock, step)
            await _check(db, quota, model, touched)
        await _check(db, quota, model, range(len(MEMBERS)))
    finally:
        await db.close()


async def _apply(quota, model: Model, objects: dict, clock: Clock, step) -> set[int]:
    """Run one step on the service and on the model; returns the members it may affect."""
    op, a, b = step
    everyone = set(range(len(MEMBERS)))
    if op == "reserve":
        m, cost = a, b
        guild, user = MEMBERS[m]
        job = make_job(guild_id=guild, user_id=user, cost=cost, now=clock())
        available_allowance, available_bonus = max(0, model.allowance_left(m)), model.bonus[m]
        try:
            await quota.reserve_job(job)
        except TooManyJobs:
            assert len(model.open_jobs(m)) >= MAX_JOBS
            return {m}
        except InsufficientCredits as refused:
            assert len(model.open_jobs(m)) < MAX_JOBS
            assert cost > model.left(m) == refused.left
            return {m}
        assert len(model.open_jobs(m)) < MAX_JOBS and cost <= model.left(m)
        row = await ledger.reservation(quota.db.conn, job.id)
        # never more than was there: the period's allowance first, then bonus
        assert 0 <= -row.allowance_delta <= available_allowance
        assert 0 <= -row.bonus_delta <= available_bonus
        from_allowance = min(cost, available_allowance)
        assert (-row.allowance_delta, -row.bonus_delta) == (from_allowance, cost - from_allowance)
        event(f"reserve took bonus: {cost > from_allowance}")
        model.jobs[job.id] = Reservation(
            m, model.current, from_allowance, cost - from_allowance, cost
        )
        model.bonus[m] -= cost - from_allowance
        model.rows += 1
        objects[job.id] = job
        return {m}
    if op in ("settle", "refund"):
        if not model.jobs:
            return set()
        job_id = list(model.jobs)[a % len(model.jobs)]
        res, job = model.jobs[job_id], objects[job_id]
        if res.closed_by is not None:  # idempotent: nothing is written
            if op == "settle":
                assert await quota.settle(job, b) == res.charged
            else:
                assert await quota.refund(job, "again") is False
            return {res.member}
        model.rows += 1
        if op == "refund":
            assert await refund_job(quota, job) is True
            model.bonus[res.member] += res.from_bonus
            res.closed_by = "refund"
            return {res.member}
        charged = max(0, min(b, res.cost))
        assert await settle_job(quota, job, b) == charged
        give_back = res.cost - charged
        to_bonus = min(give_back, res.from_bonus)
        event(f"settle gave bonus back: {to_bonus > 0}")
        key = (res.member, res.period)
        model.used[key] = model.used.get(key, 0) + res.from_allowance - (give_back - to_bonus)
        model.bonus[res.member] += to_bonus
        res.closed_by, res.charged = "settle", charged
        return {res.member}
    if op == "grant":
        guild, user = MEMBERS[a]
        applied = max(b, -model.bonus[a])
        assert await quota.grant(guild, user, b, actor_id=99, reason="prop") == applied
        model.bonus[a] += applied
    elif op == "set":
        guild, user = MEMBERS[a]
        await quota.set_allowance(guild, user, b, actor_id=99)
        model.own[a] = b
    elif op == "default":
        await quota.set_default_allowance(a, b, actor_id=99)
        model.default[a] = b
        model.rows += 1
        return everyone
    elif op == "reset":
        guild, user = MEMBERS[a]
        key = (a, model.current)
        assert await quota.reset(guild, user, actor_id=99) == model.used.get(key, 0)
        model.used[key] = 0
    elif op == "advance":
        clock.advance(a)
        model.now = clock()
        return everyone
    model.rows += 1
    return {a}


async def _check(db, quota, model: Model, members) -> None:
    assert await ledger.consistency_problems(db) == []
    (rows,) = await db.fetchone("SELECT COUNT(*) FROM ledger")
    assert rows == model.rows
    for m in members:
        guild, user = MEMBERS[m]
        balance = await quota.balance(guild, user)
        open_jobs = model.open_jobs(m)
        expected = (
            model.allowance(m),
            model.used.get((m, model.current), 0),
            sum(r.cost for r in open_jobs),
            model.bonus[m],
            model.left(m),
            max(0, model.allowance_left(m)),
            len(open_jobs),
        )
        actual = (
            balance.allowance,
            balance.used,
            balance.reserved,
            balance.bonus,
            balance.left,
            balance.allowance_left,
            balance.running_jobs,
        )
        assert actual == expected, (m, actual, expected)
        assert balance.left >= 0 and balance.bonus >= 0 and balance.used >= 0
        end = balance.resets_at
        if model.period == "none":
            assert end is None
        else:
            assert end.timestamp() > model.now
            assert model_period(model.period, end.timestamp()) != model.current
            assert model_period(model.period, end.timestamp() - 1) == model.current
