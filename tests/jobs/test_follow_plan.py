"""When a running task's status is read (jobs/follow.py FollowPlan), on simulated tasks.

Pure arithmetic, no clock: a simulated provider answers each read the way the emulators do
(pending for the first fifth of the task with progress 0, then progress rising evenly), and
the tests check what a member would notice — how long after the task ended its result was
seen — and what the provider would notice: how many reads each task cost.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from jobs.follow import FollowPlan
from jobs.policy import EnginePolicy

POLICY = EnginePolicy()
# typical times the adapters give their models (15 s images to 180 s videos)
TYPICAL = (15.0, 20.0, 25.0, 30.0, 60.0, 90.0, 120.0, 150.0, 180.0)
DURATIONS = (3.0, 5.0, 10.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0, 450.0, 600.0)
SPEC_READS = 8  # SPEC §8: at most this many status reads per job on average


def allowed_overhead(duration: float) -> float:
    """SPEC §8: provider done → result seen within max(1.5 s, 10 % of the task)."""
    return max(1.5, 0.1 * duration)


def follow(
    duration: float,
    typical: float,
    *,
    progress=None,
    policy: EnginePolicy = POLICY,
    started: float = 0.0,
    now: float | None = None,
) -> tuple[float, int]:
    """Read a simulated task as the engine would; returns (seconds from the task's end to
    the read that saw it, reads). ``progress(age)`` is what a read reports (None: nothing)."""
    plan = FollowPlan(started, typical, policy)
    at = max(plan.first_due(), started if now is None else now)
    while True:
        age = at - started
        if age >= duration:
            plan.observe(at, 100)
            return age - duration, plan.reads
        plan.observe(at, progress(age, duration) if progress else None)
        assert plan.reads < 100, "a task was read a hundred times"
        at = plan.next_due(at)


def linear(age: float, duration: float) -> int:
    """The emulators: "pending" with progress 0 for a fifth of the task, then even."""
    return 0 if age < 0.2 * duration else int(100 * age / duration)


def cases(low: float, high: float) -> list[tuple[float, float]]:
    """(typical, duration) pairs whose duration is within [low, high] x the typical time."""
    return [(t, d) for t in TYPICAL for d in DURATIONS if low * t <= d <= high * t]


@pytest.mark.parametrize(("typical", "duration"), cases(0.2, 4.0))
def test_with_progress_each_result_is_seen_within_the_spec_and_eight_reads(typical, duration):
    overhead, reads = follow(duration, typical, progress=linear)
    assert overhead <= allowed_overhead(duration)
    assert reads <= SPEC_READS


def test_with_progress_tasks_cost_about_three_reads_on_average():
    reads = [follow(d, t, progress=linear)[1] for t, d in cases(0.2, 4.0)]
    assert sum(reads) / len(reads) <= 4


def test_a_task_that_finishes_well_before_its_typical_time_is_seen_at_once():
    """A 15 s model that answers in 3 s: the old first read at 0.8 x typical came 9 s late."""
    overhead, reads = follow(3.0, 15.0, progress=linear)
    assert overhead <= 1.5
    assert reads == 1


@pytest.mark.parametrize(("typical", "duration"), cases(0.2, 2.0))
def test_without_progress_the_wait_grows_with_the_task_and_reads_stay_few(typical, duration):
    """Nothing estimates the end: the gaps grow with the task's age up to poll_max, so the
    wait is a share of the task and a long task costs one read per poll_max more."""
    overhead, reads = follow(duration, typical)
    assert overhead <= max(POLICY.poll_min, (POLICY.poll_growth - 1) * duration)
    capped = max(0.0, duration - POLICY.poll_max / (POLICY.poll_growth - 1))
    assert reads <= SPEC_READS + capped / POLICY.poll_max


def test_without_progress_a_long_task_is_read_at_least_every_poll_max():
    overhead, reads = follow(600.0, 15.0)
    assert overhead <= POLICY.poll_max
    assert reads <= 600 / POLICY.poll_max + 10


def test_a_task_resumed_after_a_restart_is_read_at_once():
    """Submitted ten minutes before this process started: whatever happened meanwhile, the
    first read is now, not after the model's typical time."""
    plan = FollowPlan(started=1000.0, typical=120.0, policy=POLICY)
    assert plan.first_due() <= 1000.0 + 600.0


def test_a_task_past_its_estimate_is_read_again_within_five_percent_of_its_age():
    plan = FollowPlan(started=0.0, typical=60.0, policy=POLICY)
    plan.observe(50.0, 50)  # ends at 100 s, it says
    assert plan.next_due(50.0) == pytest.approx(100.0 + POLICY.eta_margin)
    plan.observe(100.25, 99)  # but it is not quite done
    assert plan.next_due(100.25) <= 100.25 + max(POLICY.poll_min, 0.05 * 100.25)


def test_progress_that_speeds_up_is_caught_by_the_check_on_the_way():
    """Queued for half the task with no progress, then running: the first reading makes the
    task look four times longer than it is; the check on the way and the rate between two
    readings bring the read back to near its real end."""

    def queued_then_even(age: float, duration: float) -> int:
        half = duration / 2
        return 0 if age < half else max(1, int(100 * (age - half) / half))

    overhead, reads = follow(300.0, 120.0, progress=queued_then_even)
    assert overhead <= 0.2 * 300.0
    assert reads <= SPEC_READS


def test_no_two_reads_of_a_task_are_closer_than_poll_min():
    plan = FollowPlan(started=0.0, typical=2.0, policy=POLICY)
    at = plan.first_due()
    assert at >= POLICY.poll_min
    for _ in range(20):
        plan.observe(at, 99)  # "almost done" forever
        following = plan.next_due(at)
        assert following - at >= POLICY.poll_min
        at = following


def test_the_policy_moves_the_first_read():
    later = replace(POLICY, first_read=0.5)
    assert FollowPlan(0.0, 30.0, later).first_due() == 15.0
    assert FollowPlan(0.0, 30.0, POLICY).first_due() == 6.0
