"""Every tunable number of the jobs package, in one place, each with the reason for its value.

Module constants are fixed for the process (the modules that use them import them from here);
EnginePolicy holds what a bot or a test sets per engine. Seconds are engine seconds (see
jobs/timebase.py) unless named otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

# -- the engine ------------------------------------------------------------------------------
STOP_POLL_SECONDS = 0.02  # how often stop() looks whether in-flight requests are done
UNKNOWN_TYPICAL_SECONDS = 30.0  # a model no longer listed: its first read comes at 6 s
SLOT_LOOK_SECONDS = 1.0  # real seconds between looks at a job waiting for a provider slot:
# its card's queue position and queue_wait_max are checked this often
RECOVER_SECONDS = 1.0  # real seconds the status scheduler pauses after an unexpected error
WINDOW_RECHECK_SECONDS = 5.0  # how often a job waiting on a full window looks again
CLAIM_BATCH_MAX = 200  # new jobs whose leases are taken in one statement: a burst of commands
# shares a few transactions instead of taking the database's connections one job each

# -- provider health and routing (jobs/health.py, jobs/routing.py) ---------------------------
RECENT_SECONDS = 300.0  # requests this old or newer make the error rate and latency shown
MAX_SAMPLES = 200  # newest requests kept per provider: a busy provider's window stays small
PAUSE_AFTER_FAILURES = 5  # failed requests in a row that pause a provider
PAUSE_SECONDS = 30.0  # how long a paused provider gets no new job while another can take it
ERROR_RATE_BANDS = (0.1, 0.5)  # below 10 % failing counts as healthy; 50 % and up as failing
RATE_LIMITED_WAIT_BEFORE_MOVING = 60.0  # a provider answering 429 for longer than this (its
# Retry-After, or the waits so far) is past its budget: another provider takes the job

# -- the bot's provider-account balances (jobs/balances.py: /credits and /status) -------------
BALANCE_CACHE_SECONDS = 60.0  # balances move with every job; a minute old is fine for a glance
BALANCE_TIMEOUT = 5.0  # a moderator aid, fetched after the deferral: not worth a longer wait
BALANCE_FAILURE_SECONDS = 30.0  # a failed balance is not asked again before this: the
# account's request budget belongs to submits and status reads

# -- a member's jobs read back (/history, /show; jobs/service.py) ------------------------------
HISTORY_PAGE_SIZE = 10  # jobs on one /history page (SPEC §3)
CHOICES_SCANNED = 100  # newest finished jobs an autocomplete answer for /show is picked from:
# enough to find a job by a word of its prompt, few enough to read on every keystroke

# -- prices ----------------------------------------------------------------------------------
PRICE_TIMEOUT = 10.0  # longest one cost preview may take; commands wait for it behind a deferral
PRICE_CACHE_SECONDS = 600.0  # prices change rarely; ten minutes spares most round trips
PRICE_CACHE_SIZE = 512  # prices kept; bounded because members choose the options that key them
PRICE_FAILURE_SECONDS = 30.0  # a failed preview (or the table standing in) is asked again after
# this long, so a flapping preview is not asked on every keystroke

# -- result downloads (jobs/download.py) -----------------------------------------------------
MAX_REDIRECTS = 3  # a result link redirected more often than this is not followed
FILE_DEADLINE = 120.0  # seconds for one file from the first lookup to the last byte
DOWNLOAD_CONNECT_TIMEOUT = 10.0  # a result host that does not answer by then is down
DOWNLOAD_READ_TIMEOUT = 30.0  # silence between two chunks; FILE_DEADLINE bounds the whole
DOWNLOAD_WRITE_TIMEOUT = 10.0  # result requests are small; a stuck write is a dead connection
DOWNLOAD_CONCURRENCY = 4  # jobs downloading at once, unless the DOWNLOAD_CONCURRENCY setting says

# -- the listeners (callbacks, health and metrics) -------------------------------------------
MAX_BODY = 64 * 1024  # a larger callback body is refused (a task query is a few hundred bytes)
CHECK_TIMEOUT = 5.0  # a health check that takes longer than this is itself a failure


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

    def deadline(self, kind: str) -> float:
        """Seconds from submit that a job of ``kind`` ("image" or "video") may take."""
        return self.video_deadline if kind == "video" else self.image_deadline
