"""When a job asks to be confirmed first (quota.preview), and that the reservation applies the
rule with the balance it reads, writing nothing for a job that must be confirmed."""

from __future__ import annotations

import pytest

from jobs.errors import InsufficientCredits, TooManyJobs
from quota.preview import PreviewNeeded, preview_reason
from tests.quota.helpers import job_count, ledger_rows, make_job, make_service


@pytest.mark.parametrize(
    ("cost", "left", "threshold", "reason"),
    [
        (10, 100, 0, None),  # off, and well under half of what is left
        (50, 100, 0, None),  # exactly half is not above half
        (51, 100, 0, "half"),  # off: above half of what is left still asks
        (1, 1, 0, "half"),
        (0, 0, 0, None),  # a free job never asks
        (10, 100, 10, "threshold"),  # at the server's threshold
        (11, 100, 10, "threshold"),  # above it
        (9, 100, 10, None),  # below it, and under half
        (60, 100, 100, "half"),  # below the threshold, above half
        (0, 100, 10, None),
    ],
)
def test_preview_reason(cost, left, threshold, reason):
    assert preview_reason(cost, left, threshold) == reason


async def test_a_job_that_must_be_confirmed_reserves_nothing(db, quota):
    with pytest.raises(PreviewNeeded) as needed:
        await quota.reserve_job(make_job(cost=30), preview_threshold=0)  # 30 of 50: above half
    assert needed.value.reason == "half" and needed.value.balance.left == 50
    assert await ledger_rows(db) == [] and await job_count(db) == 0

    with pytest.raises(PreviewNeeded) as needed:
        await quota.reserve_job(make_job(cost=5), preview_threshold=5)
    assert needed.value.reason == "threshold"
    assert await ledger_rows(db) == [] and await job_count(db) == 0


async def test_a_confirmed_job_or_one_under_the_rule_is_reserved(db, quota):
    await quota.reserve_job(make_job(cost=5), preview_threshold=10)  # under both rules
    await quota.reserve_job(make_job(cost=30))  # confirmed: no rule applies
    balance = await quota.balance(1, 10)
    assert (balance.reserved, balance.left) == (35, 15)
    assert await job_count(db) == 2


async def test_refusals_come_before_the_preview(db, clock):
    quota = make_service(db, clock, max_jobs_per_user=1)
    with pytest.raises(InsufficientCredits):
        await quota.reserve_job(make_job(cost=80), preview_threshold=10)
    await quota.reserve_job(make_job(cost=1), preview_threshold=10)
    with pytest.raises(TooManyJobs):
        await quota.reserve_job(make_job(cost=20), preview_threshold=10)
