"""The job engine: submit, follow, deliver, settle — resumable at every step.

Each job runs as one asyncio task driving a small state machine whose state is written to the
database before each step that has an outside effect:

    queued ──▶ submitting ──▶ running ──▶ delivering ──▶ completed
       │            │            │             │
       └────────────┴────────────┴─────────────┴──▶ failed (reservation refunded)

While a task runs, the provider's StatusScheduler (jobs/follow.py) decides when the job reads
its status: one budget of reads per provider account, shared by every job in flight, given to
the jobs most likely to have finished.

A job found in ``submitting`` after a restart may or may not have reached the provider; it is
failed and refunded rather than sent again, because a second submit could create a second paid
task. A job with another provider left on its routes (a model several providers offer) is moved
there instead, as is one a provider refuses before accepting it (``_move_on``, the rule in
jobs/failover.py): another account cannot double-charge the member. Every wait has a deadline
and every retry is bounded.

Work is claimed, not owned by the process that took the command: a job runs in whichever
process holds its lease (db/jobs.py). A process renews its leases every ``policy.lease_renew``
and looks for jobs nobody holds — ones released at a clean stop, ones whose process died and
let the lease lapse — and resumes them where they stopped, exactly as a restart would. Every
state write is fenced by the lease, so a process frozen past its lease cannot overwrite (or
charge, or post for) a job another process took over.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import random
import secrets
import socket
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Protocol

from db.database import Database
from jobs import failover, failures
from jobs.download import Fetched, MediaFetcher
from jobs.errors import InvalidRequest
from jobs.follow import FollowPlan, StatusScheduler, status_rate
from jobs.limits import ProviderGate
from jobs.metrics import Metrics
from jobs.notifier import Notifier, Undeliverable
from jobs.policy import (  # also imported from here by the bot and tests
    CLAIM_BATCH_MAX,
    SLOT_LOOK_SECONDS,
    STOP_POLL_SECONDS,
    UNKNOWN_TYPICAL_SECONDS,
    EnginePolicy,
)
from jobs.records import Failure, Job, JobState
from jobs.replies import ReplyFirst
from jobs.store import JobStore, LeaseLost
from jobs.timebase import Timebase
from jobs.validation import request_for
from providers.base import GenerationRequest, ModelSpec, Provider, TaskState, TaskStatus
from providers.errors import (
    AuthError,
    OutcomeUnknown,
    OutOfProviderCredits,
    ProviderError,
    RateLimited,
    RequestNotSent,
    UpstreamError,
)

log = logging.getLogger(__name__)


def backoff(attempt: int, policy: EnginePolicy) -> float:
    """Capped exponential backoff with full jitter."""
    return random.uniform(0, min(policy.backoff_max, policy.backoff_base * 2**attempt))


def safe_to_resubmit(exc: ProviderError) -> bool:
    """Whether a failed submit certainly created nothing, so sending it again cannot start a
    second paid task: the request never left (connect errors) or the provider refused it
    before doing any work (503 Service Unavailable). A 500/502/504 may come after the task was
    created, so it is never resent, whatever the provider's document says about retrying."""
    if isinstance(exc, RequestNotSent):
        return True
    return isinstance(exc, UpstreamError) and exc.retryable and exc.status == 503


def process_name() -> str:
    """A lease owner's name: this host and process, and a random part so a restarted
    process with the same pid is not taken for the one before it."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Credits(Protocol):
    """What the engine needs of the credit ledger (quota.service.QuotaService): closing a
    job's reservation inside the transaction that records the job's end. A protocol, so the
    engine does not import the service that stores its jobs."""

    async def settle(self, job: Job, charged: int, *, conn: Any = None) -> int: ...

    async def refund(self, job: Job, reason: str, *, conn: Any = None) -> bool: ...


def bot_credits(provider_credits: float, rate: float) -> int:
    return max(0, math.ceil(round(provider_credits * rate, 6)))


class JobEngine:
    def __init__(
        self,
        *,
        db: Database,
        quota: Credits,
        providers: dict[str, Provider],
        notifier: Notifier,
        max_in_flight: dict[str, int | None] | None = None,
        credit_rates: dict[str, float] | None = None,
        policy: EnginePolicy | None = None,
        timebase: Timebase | None = None,
        callback_url: Callable[[str, str], str] | None = None,
        fetcher: MediaFetcher | None = None,
        metrics: Metrics | None = None,
        owner: str | None = None,
    ) -> None:
        self.db = db
        self.metrics = metrics or Metrics()
        self.owner = owner or process_name()  # the name this process holds leases under
        self.jobs = JobStore(db, owner=self.owner)
        self._leased: set[str] = set()  # jobs whose lease this process holds
        self._claims: list[tuple[str, asyncio.Future[bool]]] = []  # new jobs to claim
        self._claimer: asyncio.Task[None] | None = None
        self.quota = quota
        self.providers = providers
        self.notifier = notifier
        self.policy = policy or EnginePolicy()
        self.time = timebase or Timebase()
        self.credit_rates = credit_rates or {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._jobs: dict[str, Job] = {}  # the live objects of running jobs
        self.callback_url = callback_url
        # Without a fetcher of the bot's own, trust the providers' base URLs (the default of
        # MEDIA_TRUSTED_ORIGINS); this engine then closes it on stop().
        self._owns_fetcher = fetcher is None
        self.fetcher = fetcher or MediaFetcher(
            trusted_origins=[p.config.base_url for p in providers.values()]
        )
        self._accepting = True
        self._last_progress: dict[str, float] = {}
        self.replies = ReplyFirst()  # jobs start after the acknowledgements being prepared
        self._sweeper: asyncio.Task[None] | None = None
        self._lease_keeper: asyncio.Task[None] | None = None
        limits = max_in_flight or {}
        self.gates = {
            pid: ProviderGate(
                pid,
                max_in_flight=limits.get(pid, provider.limits.max_concurrency),
                window=(
                    (provider.limits.window_generations, provider.limits.window_seconds)
                    if provider.limits.window_generations and provider.limits.window_seconds
                    else None
                ),
                now=self.time.now,
                sleep=self.time.sleep,
            )
            for pid, provider in providers.items()
        }
        # one budget of status reads per provider account, shared by all its jobs in flight
        self.followers = {pid: self._follower(pid, p) for pid, p in providers.items()}

    def _follower(self, provider_id: str, provider: Provider) -> StatusScheduler:
        rate = status_rate(provider, self.policy)
        return StatusScheduler(
            provider_id, rate=rate, burst=rate * self.policy.status_burst, timebase=self.time
        )

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> int:
        """Resume the unfinished jobs no other live process holds; returns how many. From now
        on interaction tokens past their lifetime are cleared from the database every
        ``policy.token_sweep``, and leases are renewed and free jobs taken every
        ``policy.lease_renew``."""
        await self.forget_expired_tokens()
        self._sweeper = asyncio.create_task(self._sweep_tokens(), name="forget-tokens")
        now = self.time.now()
        unfinished = await self.jobs.claim_at_start(now, now + self.policy.lease_seconds)
        self._leased.update(job.id for job in unfinished)
        for pid, gate in self.gates.items():
            if gate.window:
                for when in await self.jobs.submitted_since(pid, self.time.now() - gate.window[1]):
                    gate.record_submit(when)
        for job in unfinished:
            if job.state in (JobState.RUNNING, JobState.DELIVERING) and job.provider in self.gates:
                self.gates[job.provider].occupy(job.id)
        for job in unfinished:
            log.info("job=%s resuming state=%s provider=%s", job.id, job.state.value, job.provider)
            self._spawn(job, leased=True)
        self._lease_keeper = asyncio.create_task(self._keep_leases(), name="leases")
        return len(unfinished)

    async def _claim(self, job_id: str) -> bool:
        """Take a new job's lease, together with the other jobs that arrive meanwhile."""
        outcome: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._claims.append((job_id, outcome))
        if self._claimer is None or self._claimer.done():
            self._claimer = asyncio.create_task(self._claim_batches(), name="claims")
        return await outcome

    async def _claim_batches(self) -> None:
        while self._claims:
            batch = self._claims[:CLAIM_BATCH_MAX]
            del self._claims[: len(batch)]
            now = self.time.now()
            try:
                held = await self.jobs.claim_many(
                    [job_id for job_id, _ in batch], now, now + self.policy.lease_seconds
                )
            except Exception as exc:
                for _, outcome in batch:
                    if not outcome.done():
                        outcome.set_exception(exc)
                continue
            for job_id, outcome in batch:
                if not outcome.done():
                    outcome.set_result(job_id in held)

    async def _keep_leases(self) -> None:
        while True:
            await self.time.sleep(self.policy.lease_renew)
            try:
                await self.tend_leases()
            except Exception:
                log.warning("renewing or claiming job leases failed", exc_info=True)

    async def tend_leases(self) -> int:
        """Renew this process's leases, let go of jobs another process took over (this one
        was frozen past its lease), and take up to ``policy.claim_batch`` jobs nobody holds;
        returns how many were taken."""
        now = self.time.now()
        until = now + self.policy.lease_seconds
        before = set(self._leased)  # a job claimed while renewing is not judged by it
        held = await self.jobs.renew(until) if before else set()
        for job_id in before - held:
            job, task = self._jobs.get(job_id), self._tasks.get(job_id)
            self._leased.discard(job_id)
            if job is not None and task is not None and not job.state.finished:
                log.warning("job=%s was taken over by another process; leaving it", job_id)
                task.cancel()
        if not self._accepting:
            return 0
        taken = await self.jobs.claim_free(
            now, until, limit=self.policy.claim_batch, fresh=now - self.policy.lease_seconds
        )
        taken = [job for job in taken if job.id not in self._tasks]
        self._leased.update(job.id for job in taken)
        for job in taken:
            if job.state in (JobState.RUNNING, JobState.DELIVERING) and job.provider in self.gates:
                self.gates[job.provider].occupy(job.id)
            log.info("job=%s taking over state=%s", job.id, job.state.value)
            self._spawn(job, leased=True)
        return len(taken)

    def join_queue(self, job: Job) -> int | None:
        """Give a new job its place in its provider's queue before it starts; its position."""
        gate = self.gates.get(job.provider)
        if gate is None:
            return None
        gate.join(job.id)
        return gate.position(job.id)

    async def leave_queue(self, job: Job) -> None:
        """Give up the place ``join_queue`` gave a job that will not run after all."""
        gate = self.gates.get(job.provider)
        if gate is not None:
            await gate.release(job.id)

    def enqueue(self, job: Job) -> None:
        """Start a job already stored (with its reservation) by QuotaService.reserve_job."""
        if not self._accepting:  # reserved just as the bot began stopping
            log.info("job=%s stored while stopping; it starts after the restart", job.id)
            return
        self._last_progress[job.id] = self.time.now()  # its card was just shown
        self._spawn(job)

    async def card_lost(self, job: Job) -> None:
        """The job's card could not be posted: no progress edits (the result still comes as
        a channel message). Written before the job starts, so without its lease."""
        await JobStore(self.db).update(job, ack_expires_at=None)

    @property
    def accepting(self) -> bool:
        return self._accepting

    def credit_rate(self, provider_id: str) -> float:
        """Bot credits per provider credit: the one table settling and pricing both read."""
        return self.credit_rates.get(provider_id, 1.0)

    @property
    def alive(self) -> bool:
        """Started, taking jobs, and its token sweeper (started with it) still running."""
        return self._accepting and self._sweeper is not None and not self._sweeper.done()

    async def stop(self) -> None:
        """Stop taking jobs and pause the running ones; their state stays in the database.

        Jobs with a request in flight whose answer must not be lost get up to
        ``policy.stop_grace`` seconds to get past it: a submit (else the paid task would be
        orphaned and the job refunded) and a result being posted (else it could be posted
        twice after the restart). So does a command already answered whose reservation has
        not been written yet (else its card would say "Starting…" for ever): it is stored,
        to start after the restart.
        """
        self.begin_stop()
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self._lease_keeper is not None:
            self._lease_keeper.cancel()
        loop = asyncio.get_running_loop()
        until = loop.time() + self.policy.stop_grace
        while (  # noqa: ASYNC110 - see above
            self._answers_in_flight() or self.replies.open
        ) and loop.time() < until:
            await asyncio.sleep(STOP_POLL_SECONDS)
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        try:  # another process may take the paused jobs now, not when the leases lapse
            released = await self.jobs.release()
            if released:
                log.info("job leases released count=%d", released)
        except Exception:
            log.warning("could not release job leases; they lapse by themselves", exc_info=True)
        self._leased.clear()
        for follower in self.followers.values():
            await follower.aclose()
        if self._owns_fetcher:
            await self.fetcher.aclose()

    async def _hold_if_stopping(self) -> None:
        """No new submit starts once stopping: the job stays queued in the database and is
        cancelled here with the others, to be submitted after the restart."""
        if not self._accepting:
            await asyncio.get_running_loop().create_future()  # until stop() cancels it

    def begin_stop(self) -> None:
        """Take no new job and start no new submit from now on (stop() then waits)."""
        self._accepting = False
        self.replies.stop_waiting()  # commands already answered are reserved now

    def _answers_in_flight(self) -> bool:
        critical = (JobState.SUBMITTING, JobState.DELIVERING)
        return any(
            job.state in critical for job_id, job in self._jobs.items() if job_id in self._tasks
        )

    async def wait_idle(self) -> None:
        """Wait until every job task has ended (tests use this, under their own timeout)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    def live_states(self) -> dict[tuple[str, str], int]:
        """(provider, state) -> jobs of this process now, for the metrics."""
        counts: dict[tuple[str, str], int] = {}
        for job in self._jobs.values():
            key = (job.provider, job.state.value)
            counts[key] = counts.get(key, 0) + 1
        return counts

    def queue_position(self, job: Job) -> int | None:
        gate = self.gates.get(job.provider)
        return gate.position(job.id) if gate else None

    def _spawn(self, job: Job, *, leased: bool = False) -> None:
        """Run ``job`` in a task of its own; ``leased``: its lease is held already (else the
        task takes it first, and leaves the job alone if another process has it)."""
        if job.id in self._tasks:
            return  # running here already
        gate = self.gates.get(job.provider)
        if gate is not None and job.state is JobState.QUEUED:
            gate.join(job.id)  # its queue position is known from now on
        task = asyncio.create_task(self._run(job, leased=leased), name=f"job-{job.id}")
        self._tasks[job.id] = task
        self._jobs[job.id] = job

        def forget(_task: asyncio.Task[None], job_id: str = job.id) -> None:
            self._tasks.pop(job_id, None)
            self._jobs.pop(job_id, None)
            follower = self.followers.get(job.provider)  # where it ran last (it may move)
            if follower is not None:
                follower.forget(job_id)

        task.add_done_callback(forget)

    async def forget_expired_tokens(self, *, open_only: bool = False) -> int:
        """Clear stored interaction tokens of finished jobs and of tokens past their lifetime,
        in the database and on the running jobs' objects (which then edit nothing).
        ``open_only``: unfinished jobs alone (the periodic sweep; see JobStore)."""
        now = self.time.now()
        lifetime = self.policy.token_lifetime
        cleared = await self.jobs.forget_interaction_tokens(now, lifetime, open_only=open_only)
        for job in self._jobs.values():
            expired = job.created_at <= now - lifetime or (
                job.ack_expires_at is not None and job.ack_expires_at <= now
            )
            if expired:
                job.interaction_token = None  # the database already says so
        if cleared:
            log.info("interaction tokens cleared count=%d", cleared)
        return cleared

    async def _sweep_tokens(self) -> None:
        while True:
            await self.time.sleep(self.policy.token_sweep)
            try:
                await self.forget_expired_tokens(open_only=True)
            except Exception:
                log.warning("clearing expired interaction tokens failed", exc_info=True)

    def nudge(self, provider_id: str, job_id: str) -> bool:
        """A provider says the job's task changed (a callback): read its status next, before
        any other job of that provider (still within its budget of reads)."""
        job = self._jobs.get(job_id)
        if job is None or job.provider != provider_id:
            return False
        self.followers[provider_id].nudge(job_id)
        return True

    # --- the state machine -------------------------------------------------------------

    async def _run(self, job: Job, *, leased: bool = False) -> None:
        gate = self.gates.get(job.provider)
        try:
            if not leased:
                try:
                    held = await self._claim(job.id)
                except Exception as exc:  # the lease stays free: the next look takes the job
                    log.warning("job=%s could not be claimed yet: %r", job.id, exc)
                    return
                if not held:
                    log.info("job=%s is run by another process", job.id)
                    return
                self._leased.add(job.id)
            while not job.state.finished:
                # looked up at each step: a job that moves to another provider follows it
                provider = self.providers.get(job.provider)
                gate = self.gates.get(job.provider)
                if provider is None or gate is None:
                    await self._fail(job, failures.provider_disabled(job), "provider not enabled")
                    return
                if job.state is JobState.QUEUED:
                    await self._submit(job, provider, gate)
                elif job.state is JobState.SUBMITTING:
                    interrupted = OutcomeUnknown(
                        "restarted while the submit request was in flight", provider=job.provider
                    )
                    if await self._move_on(job, gate, None, interrupted):
                        continue
                    await self._fail(
                        job,
                        failures.submit_interrupted(),
                        "restarted while the submit request was in flight",
                    )
                elif job.state is JobState.RUNNING:
                    await self._follow(job, provider)
                elif job.state is JobState.DELIVERING:
                    await gate.release(job.id)  # the provider's part is over
                    await self._deliver(job, provider)
        except asyncio.CancelledError:
            log.info("job=%s paused state=%s (will resume on start)", job.id, job.state.value)
            raise
        except LeaseLost:
            log.warning("job=%s was taken over by another process; leaving it", job.id)
            self._leased.discard(job.id)
        except Exception as exc:
            log.exception("job=%s unexpected error state=%s", job.id, job.state.value)
            if job.result_message_id is not None and not job.state.finished:
                return  # posted: never refunded; settled when the bot next starts
            if not job.state.finished:
                await self._fail(job, failures.internal(), f"{type(exc).__name__}: {exc}")
        finally:
            if job.state.finished:
                self.metrics.job_ended(
                    job.id, job.provider, job.state.value, submitted=job.task_id is not None
                )
            else:
                self.metrics.forget(job.id)
            if gate is not None and (job.state.finished or job.id not in self._leased):
                await gate.release(job.id)  # its slot, or its place in line
            if job.state.finished:
                self._leased.discard(job.id)
            self._last_progress.pop(job.id, None)
            if job.state.finished and job.interaction_token is not None:
                await self._forget_token(job)

    async def _forget_token(self, job: Job) -> None:
        """A finished job needs its interaction token no more: the last edit is made."""
        try:
            await self.jobs.update(job, interaction_token=None)
        except Exception:  # the sweep clears it within policy.token_sweep
            log.warning("job=%s could not clear its interaction token", job.id, exc_info=True)

    async def _submit(self, job: Job, provider: Provider, gate: ProviderGate) -> None:
        waited_since = self.time.now()
        await self.replies.quiet()  # members waiting for a reply come before a job's start
        acquire = asyncio.ensure_future(gate.acquire(job.id))
        try:
            while not acquire.done():
                await self._progress(job, force=False)
                done, _ = await asyncio.wait({acquire}, timeout=SLOT_LOOK_SECONDS)
                if not done and self.time.now() - waited_since > self.policy.queue_wait_max:
                    acquire.cancel()
                    await self._fail(
                        job, failures.queue_too_long(job), "waited too long for a slot"
                    )
                    return
            claimed = acquire.result()  # its place in the provider's generation window
        except BaseException:
            acquire.cancel()
            raise
        await self._hold_if_stopping()

        deadline = self.policy.deadline(job.kind)
        failed_attempts = 0  # transient errors: bounded by policy.submit_attempts
        refusals = 0  # 429s: nothing was created, so they are waited out like the queue
        while True:
            await self.jobs.update(
                job,
                state=JobState.SUBMITTING,
                submit_attempts=job.submit_attempts + 1,
                submitted_at=self.time.now(),  # counts in the window even if the answer is lost
            )
            await self._progress(job, force=True)
            try:
                callback = self.callback_url(job.provider, job.id) if self.callback_url else None
                submission = await provider.submit(job.request, callback_url=callback)
            except ProviderError as exc:
                waited = self.time.now() - waited_since
                if await self._move_on(job, gate, claimed, exc, waited=waited):
                    return  # queued at the next provider: _run takes it from there
                if isinstance(exc, OutcomeUnknown):
                    await self._fail(job, self._refused(job, exc), str(exc))
                    return
                if isinstance(exc, RateLimited):
                    self._observe_window(provider, gate)
                    delay = exc.retry_after or backoff(refusals, self.policy)
                    refusals += 1
                    waited = self.time.now() - waited_since
                    give_up = waited + delay > self.policy.queue_wait_max
                else:
                    delay = backoff(failed_attempts, self.policy)
                    failed_attempts += 1
                    give_up = (
                        not safe_to_resubmit(exc) or failed_attempts >= self.policy.submit_attempts
                    )
                if give_up:
                    if claimed is not None:
                        gate.forget_submit(claimed)  # nothing was created
                    await self.jobs.update(job, submitted_at=None)
                    await self._fail(job, self._refused(job, exc), str(exc))
                    return
                # definitely not created at the provider: safe to try again later
                await self.jobs.update(job, state=JobState.QUEUED, submitted_at=None)
                log.warning(
                    "job=%s submit failed, retrying in %.1fs attempt=%d error=%s",
                    job.id,
                    delay,
                    job.submit_attempts,
                    exc,
                )
                await self.time.sleep(delay)
                await self._hold_if_stopping()
                continue
            now = self.time.now()
            if claimed is not None:
                # count it from the answer, never earlier than the provider's own clock does
                gate.forget_submit(claimed)
                gate.record_submit(now)
            self._observe_window(provider, gate)
            changes = dict(
                state=JobState.RUNNING,
                task_id=submission.task_id,
                submitted_at=now,
                deadline_at=now + deadline,
                provider_cost=submission.cost,
            )
            log.info(
                "job=%s submitted provider=%s model=%s task=%s",
                job.id,
                job.provider,
                job.model,
                submission.task_id,
            )
            if submission.status is not None and submission.status.state.finished:
                await self.jobs.update(job, **changes)
                await self._finish_task(job, submission.status)
            else:
                await self.jobs.update(job, **changes)
            return

    async def _move_on(
        self,
        job: Job,
        gate: ProviderGate,
        claimed: float | None,
        exc: ProviderError,
        *,
        waited: float = 0.0,
    ) -> bool:
        """Move a job its provider refused before accepting it to the next provider on its
        routes that can take the same request (jobs/failover.py: which errors move a job,
        and what the member pays); False when the error does not move jobs or none is left
        (the caller then fails it as before). The reservation is untouched: one job, one
        reservation, settled once wherever it ends."""
        if not job.routes or not failover.moves_job(exc, waited):
            return False
        routes = job.routes
        spec = self.providers[job.provider].model(job.model)
        for candidate in failover.untried(job):
            request = self._request_at(candidate.provider, job, spec)
            if request is not None:
                break
            routes = failover.refuse(routes, candidate.provider, failover.GONE)
        else:  # it stays here: retried or failed as before (the failure names each one tried)
            if routes != job.routes:
                await self.jobs.update(job, routes=routes)
            return False
        routes = failover.refuse(routes, job.provider, failover.refusal_code(exc))
        refused_outright = RateLimited | AuthError | OutOfProviderCredits
        created_nothing = safe_to_resubmit(exc) or isinstance(exc, refused_outright)
        if claimed is not None and created_nothing:
            gate.forget_submit(claimed)
        if not created_nothing:
            log.warning(
                "job=%s provider=%s may have started a task that nobody follows (the "
                "operator's cost; the member is not charged for it): %s",
                job.id,
                job.provider,
                exc,
            )
        await gate.release(job.id)
        moved_from = job.provider
        await self.jobs.update(
            job,
            provider=candidate.provider,
            request=request,
            routes=routes,
            state=JobState.QUEUED,
            submitted_at=None,
            task_id=None,
        )
        log.warning(
            "job=%s moved provider=%s -> %s model=%s cause=%s",
            job.id,
            moved_from,
            job.provider,
            job.model,
            exc,
        )
        self.gates[job.provider].join(job.id)
        await self._progress(job, force=True)
        return True

    def _request_at(
        self, provider_id: str, job: Job, source: ModelSpec | None
    ) -> GenerationRequest | None:
        """The job's request in ``provider_id``'s terms; None when that provider is not
        enabled in this process, or no longer offers the model with these options."""
        provider = self.providers.get(provider_id)
        spec = provider.model(job.model) if provider is not None else None
        if spec is None or provider_id not in self.gates:
            return None
        try:
            return request_for(spec, job.request, source)
        except InvalidRequest:
            return None

    @staticmethod
    def _refused(job: Job, exc: ProviderError) -> str:
        """The member's sentence for a submit that failed for good: which providers were
        tried when the job had several, else what this one said."""
        tried = [r for r in job.routes if r.refused is not None or r.provider == job.provider]
        if len(tried) > 1 and failover.moves_job(exc, math.inf):
            why = failover.refusal_code(exc)
            return failures.no_provider_left(job, [(r.provider, r.refused or why) for r in tried])
        if isinstance(exc, OutcomeUnknown):
            return failures.outcome_unknown(job)
        return failures.for_error(exc, job)

    @staticmethod
    def _observe_window(provider: Provider, gate: ProviderGate) -> None:
        live = provider.live_window()
        if live is not None:
            gate.observe_window(*live)

    async def _follow(self, job: Job, provider: Provider) -> None:
        """Read the task's status whenever the provider's scheduler gives this job its turn
        (jobs/follow.py decides when), until the task ends. At the deadline one last status
        read decides: a task that finished meanwhile (also while the bot was down) is still
        delivered."""
        spec = provider.model(job.model)
        typical = spec.typical_seconds if spec else UNKNOWN_TYPICAL_SECONDS
        plan = FollowPlan(job.submitted_at or self.time.now(), typical, self.policy)
        follower = self.followers[job.provider]
        overdue_on_resume = self.time.now() >= job.deadline_at
        due = plan.first_due()
        errors = 0
        while True:
            await self._await_turn(job, follower, min(due, job.deadline_at), plan)
            now = self.time.now()
            final = now >= job.deadline_at
            self.metrics.status_read(job.id, job.provider)
            try:
                status = await provider.status(job.task_id or "", job.request)
            except ProviderError as exc:
                plan.observe(now, None)
                errors += 1
                retry = isinstance(exc, UpstreamError | RateLimited | OutcomeUnknown)
                if final and retry:
                    failure = failures.deadline(job, self.policy, offline=overdue_on_resume)
                    await self._fail(job, failure, f"deadline passed; last read: {exc}")
                    return
                if not retry or errors > self.policy.status_errors_allowed:
                    await self._fail(job, failures.for_error(exc, job), f"status: {exc}")
                    return
                due = plan.next_due(self.time.now())
                if isinstance(exc, RateLimited) and exc.retry_after:
                    resume = self.time.now() + exc.retry_after
                    follower.pause(resume)  # every job of this account waits, not just this one
                    due = max(due, resume)
                log.warning("job=%s status read failed (%d): %s", job.id, errors, exc)
                continue
            errors = 0
            plan.observe(now, status.progress)
            if status.state.finished:
                log.info("job=%s task ended state=%s reads=%d", job.id, status.state, plan.reads)
                await self._finish_task(job, status)
                return
            if final:
                failure = failures.deadline(job, self.policy, offline=overdue_on_resume)
                await self._fail(job, failure, "deadline passed")
                return
            shown = job.progress
            if status.progress is not None and (shown is None or status.progress > shown):
                await self.jobs.update(job, progress=status.progress)  # shown: never backwards
            await self._progress(job, force=False)
            due = plan.next_due(self.time.now())

    async def _await_turn(
        self, job: Job, follower: StatusScheduler, due: float, plan: FollowPlan
    ) -> None:
        """Wait for the job's next status read. While its card can still be edited and the
        provider reports progress, the card keeps moving meanwhile (every progress_interval
        at most) with the progress the last reports point to; the database keeps what the
        provider said."""
        turn = asyncio.ensure_future(follower.turn(job.id, due))
        came = asyncio.Event()
        turn.add_done_callback(lambda _: came.set())
        try:
            while self._card_editable(job) and plan.estimated_progress(self.time.now()) is not None:
                if await self.time.wait(came, self.policy.progress_interval):
                    break
                estimate = plan.estimated_progress(self.time.now())
                if estimate is not None and estimate > (job.progress or 0):
                    job.progress = estimate
                    await self._progress(job, force=False)
            await turn
        finally:
            turn.cancel()

    def _card_editable(self, job: Job) -> bool:
        return job.ack_expires_at is not None and self.time.now() < job.ack_expires_at

    async def _finish_task(self, job: Job, status: TaskStatus) -> None:
        cost = status.cost if status.cost is not None else job.provider_cost
        if status.state is TaskState.SUCCEEDED and status.media:
            self.metrics.task_done(job.id, self.time.now())
            await self.jobs.update(
                job, state=JobState.DELIVERING, media=status.media, progress=100, provider_cost=cost
            )
            log.info("job=%s task succeeded files=%d", job.id, len(status.media))
        elif status.state is TaskState.SUCCEEDED:
            await self._fail(job, failures.no_media(job), "task succeeded without media")
        else:
            await self._fail(
                job, failures.task_failed(job, status), f"task failed: {status.error or '?'}"
            )

    async def _deliver(self, job: Job, provider: Provider) -> None:
        spec = provider.model(job.model)
        charge = (
            bot_credits(job.provider_cost, self.credit_rate(job.provider))
            if job.provider_cost is not None
            else job.quoted
        )
        if job.result_message_id is None:
            await self._progress(job, force=True)  # "downloading and posting"
            job.charged = min(charge, job.reserved)  # shown in the result; stored when settled
            limit = await self.notifier.upload_limit(job)
            fetched = await self.fetcher.fetch_all(job.id, job.kind, job.media, limit, provider)
            try:
                if not fetched.files and not fetched.links:
                    await self._fail(
                        job, failures.unfetchable(job), "no result file could be fetched or linked"
                    )
                    return
                if job.posting_started_at is None:
                    await self.jobs.update(job, posting_started_at=self.time.now())
                else:
                    log.info("job=%s posting again after a restart (same nonce: once)", job.id)
                message_id = await self._post(job, fetched, spec.media_ttl if spec else None)
            finally:
                fetched.discard()  # temporary files end with the delivery, whatever happened
            if message_id is None:
                return
            await self.jobs.update(job, result_message_id=message_id)
            self.metrics.delivered(job.id, job.provider, self.time.now())
            log.info(
                "job=%s delivered message=%s files=%d links=%d unfetched=%d",
                job.id,
                message_id,
                len(fetched.files),
                len(fetched.links),
                fetched.unfetched,
            )
        async with self.db.transaction() as conn:
            charged = await self.quota.settle(job, charge, conn=conn)
            await self.jobs.update(
                job,
                conn=conn,
                state=JobState.COMPLETED,
                charged=charged,
                finished_at=self.time.now(),
            )
        log.info("job=%s completed charged=%d reserved=%d", job.id, charged, job.reserved)
        try:
            await self.notifier.result_posted(job, job.result_message_id or 0)
        except Exception:  # cosmetic: the result is out, its id stored and the job settled
            log.warning("job=%s could not show the delivery on the card", job.id, exc_info=True)

    async def _post(self, job: Job, fetched: Fetched, link_ttl: timedelta | None) -> int | None:
        """Post the result, retrying passing failures; None when the job failed instead."""
        for attempt in range(self.policy.deliver_attempts):
            try:
                return await self.notifier.deliver(
                    job,
                    fetched.files,
                    fetched.links,
                    link_ttl,
                    oversized=fetched.oversized,
                    unfetched=fetched.unfetched,
                )
            except Undeliverable as exc:
                log.error("job=%s no way to post the result is left: %s", job.id, exc)
                await self._fail(job, failures.undeliverable(), f"delivery: {exc}")
                return None
            except Exception as exc:
                if attempt + 1 >= self.policy.deliver_attempts:
                    log.error("job=%s delivery failed for good: %r", job.id, exc)
                    await self._fail(job, failures.unreachable(), f"delivery: {exc!r}")
                    return None
                log.warning("job=%s delivery failed, retrying: %r", job.id, exc)
                await self.time.sleep(backoff(attempt, self.policy))
        return None

    async def _fail(self, job: Job, failure: Failure, error: str) -> None:
        async with self.db.transaction() as conn:
            await self.quota.refund(job, error, conn=conn)
            await self.jobs.update(
                job,
                conn=conn,
                state=JobState.FAILED,
                failure=failure,
                error=error[:500],
                finished_at=self.time.now(),
            )
        log.warning("job=%s failed refunded=%d cause=%s", job.id, job.reserved, error[:200])
        try:
            await self.notifier.failed(job)
        except Exception:
            log.exception("job=%s could not tell the member about the failure", job.id)

    async def _progress(self, job: Job, *, force: bool) -> None:
        now = self.time.now()
        if not job.interaction_token or job.ack_expires_at is None or now >= job.ack_expires_at:
            return  # no token (cleared, or never stored): no edits
        if not force and now - self._last_progress.get(job.id, 0.0) < self.policy.progress_interval:
            return
        self._last_progress[job.id] = now
        try:
            await self.notifier.progress(job, self.queue_position(job))
        except Exception as exc:  # progress is cosmetic; never let it stop a job
            log.warning("job=%s progress edit failed: %r", job.id, exc)
