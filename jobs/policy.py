"""Every tunable number of the job engine, in one place, each with the reason for its value.

Seconds are engine seconds (see jobs/timebase.py) unless named otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EnginePolicy:
    """Every tunable number of the engine, in seconds unless named otherwise."""

    # -- submitting ------------------------------------------------------------------------
    submit_attempts: int = 4  # tries for a submit that definitely did not create a task
    backoff_base: float = 2.0  # first retry wait of capped exponential backoff with jitter
    backoff_max: float = 60.0  # no backoff wait is longer: a minute is long for a member
    queue_wait_max: float = 30 * 60.0  # longest a job may wait for its provider's turn

    # -- following a running task (jobs/follow.py) -----------------------------------------
    poll_min: float = 1.0  # shortest gap between two reads of one task: at most one a second
    poll_max: float = 30.0  # longest gap while nothing estimates the end: bounds the overhead
    first_read: float = 0.2  # first read at this share of the model's typical time, as
    # providers often finish early: a 15 s model is first read at 3 s
    poll_growth: float = 1.5  # with no estimate, each gap is (growth - 1) x the task's age:
    # about six reads from the first one to twice the typical time
    late_read: float = 0.05  # past its estimated end, a task is read again after this share
    # of its age, so an overrun costs at most 5 % more before it is seen
    eta_margin: float = 0.25  # read this long after the estimated end, so that read finds it
    eta_check_after: float = 120.0  # an estimated end further away than this is checked once
    # on the way (halfway, or after the task's age again): progress is seldom quite linear
    slope_min_points: int = 5  # two progress readings this many points apart give a rate
    # of their own (fewer: whole-number progress makes it too rough)
    estimates_agree: float = 0.1  # two estimates of the end this close are taken to agree
    status_share: float = 0.75  # share of a documented request budget status reads may use;
    # submits and lookups keep the rest (nanobanana: 45 of its 60 a minute)
    status_reads_default: float = 2.0  # status reads per second where the document names no
    # request limit: 120 a minute, twice what nanobanana documents for all requests
    status_burst: float = 5.0  # seconds of the read budget that may be spent at once, so
    # jobs that end together are read together
    status_errors_allowed: int = 10  # consecutive failed status reads before giving up

    # -- the job card and delivery ---------------------------------------------------------
    progress_interval: float = 5.0  # at most one acknowledgement edit per this many seconds
    deliver_attempts: int = 3
    stop_grace: float = 5.0  # real seconds a submit or a post in flight gets when stopping,
    # well inside Docker's default 10 s stop timeout

    # -- deadlines -------------------------------------------------------------------------
    image_deadline: float = 10 * 60.0  # from submit to a finished task
    video_deadline: float = 30 * 60.0
    token_lifetime: float = 15 * 60.0  # Discord's interaction tokens: never kept longer
    token_sweep: float = 60.0  # how often stored tokens past their lifetime are cleared

    # -- leases: several processes sharing one database (db.jobs) ---------------------------
    lease_seconds: float = 60.0  # a job whose process stopped renewing is taken over after
    # this long: the longest a crash delays a job, and far above any pause of a live process
    lease_renew: float = 15.0  # how often a process renews its leases and looks for free jobs
    claim_batch: int = 100  # free jobs one process takes at a time, so a process that starts
    # or looks first does not take every job of a crashed one
