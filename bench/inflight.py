"""Part c: memory and CPU with many jobs in flight.

The engine process is a child of the bench (``python -m bench.inflight``), so its figures are
its own: it imports the bot's modules as a running bot does, reserves and submits ``jobs``
image jobs through the real QuotaService and JobEngine to the aivideoapi emulator (served
by the parent over HTTP; tasks that never finish during the wait), waits until every job is
running, then measures resident memory and CPU seconds over ``wait`` seconds of real time
while the engine follows them.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import secrets
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.common import cpu_seconds, rss_mib

REPO = Path(__file__).resolve().parent.parent
BATCH = 250  # jobs handed to the engine at a time while building up
FILL_TIMEOUT = 300.0  # real seconds to get every job running; then measured as it is
CHILD_MARGIN = 120.0  # real seconds past fill and wait before the child is given up


async def run(jobs: int, wait: float) -> dict[str, Any]:
    """Serve the emulator here and run the engine in a child process."""
    from tests.emulators.aivideoapi import AIVideoAPIEmulator
    from tests.emulators.base import serve

    emu = AIVideoAPIEmulator(task_seconds=10**7)  # nothing finishes while we watch
    emu.credits = 10**12
    async with serve(emu):
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.inflight",
            "--jobs",
            str(jobs),
            "--wait",
            str(wait),
            "--base-url",
            emu.base_url,
            "--api-key",
            emu.api_key,
            stdout=asyncio.subprocess.PIPE,
            cwd=str(REPO),
        )
        try:
            out, _ = await asyncio.wait_for(child.communicate(), FILL_TIMEOUT + wait + CHILD_MARGIN)
        except TimeoutError:
            child.kill()
            await child.wait()
            return {"jobs": jobs, "wait_seconds": wait, "error": "did not finish in time"}
    if child.returncode != 0:
        return {"jobs": jobs, "wait_seconds": wait, "error": f"exit code {child.returncode}"}
    result = json.loads(out.decode().strip().splitlines()[-1])
    result["emulator_status_reads"] = sum(
        1 for method, path, _ in emu.requests if method == "GET" and path.startswith("/v1/tasks/")
    )
    return result


class QuietNotifier:
    async def progress(self, job: Any, queue_position: int | None) -> None:
        return None

    async def upload_limit(self, job: Any) -> int:
        return 10 * 1024 * 1024

    async def deliver(self, job: Any, files: Any, links: Any, link_ttl: timedelta | None, **_: Any):
        raise AssertionError("nothing finishes during this benchmark")

    async def result_posted(self, job: Any, message_id: int) -> None:
        return None

    async def failed(self, job: Any) -> None:
        return None


async def _child(jobs: int, wait: float, base_url: str, api_key: str) -> dict[str, Any]:
    import bot  # noqa: F401 - a running bot has all of its modules loaded
    from db.database import Database
    from jobs.download import MediaFetcher
    from jobs.engine import EnginePolicy, JobEngine
    from jobs.records import Job, JobState
    from providers.aivideoapi import AIVideoAPIProvider
    from providers.base import GenerationRequest, Kind, ProviderConfig
    from quota.service import QuotaService

    gc.collect()
    rss_imported = rss_mib()
    request = GenerationRequest(kind=Kind.IMAGE, model="nano-banana-2", prompt="a banana")
    with tempfile.TemporaryDirectory(prefix="bench-inflight-") as tmp:
        db = await Database.open(Path(tmp) / "bench.db")
        quota = QuotaService(db, period="daily", default_credits=10**6, max_jobs_per_user=10**6)
        provider = AIVideoAPIProvider(ProviderConfig(api_key=api_key, base_url=base_url))
        reads: Counter[str] = Counter()
        original = provider.status

        async def counted(task_id: str, req: GenerationRequest) -> Any:
            reads["all"] += 1
            return await original(task_id, req)

        provider.status = counted  # type: ignore[method-assign]
        policy = EnginePolicy(image_deadline=6 * 3600.0)  # no deadline ends a job meanwhile
        engine = JobEngine(
            db=db,
            quota=quota,
            providers={provider.id: provider},
            notifier=QuietNotifier(),
            policy=policy,
            fetcher=MediaFetcher(trusted_origins=[base_url]),
        )
        fill_started = time.perf_counter()
        live: list[Job] = []
        for start in range(0, jobs, BATCH):
            if time.perf_counter() - fill_started > FILL_TIMEOUT:
                break  # measured with the jobs that did start; "running" says how many
            for i in range(start, min(jobs, start + BATCH)):
                now = time.time()
                job = Job(
                    id=secrets.token_hex(6),
                    guild_id=1,
                    channel_id=2,
                    user_id=1000 + i,
                    command="image",
                    kind="image",
                    provider=provider.id,
                    model="nano-banana-2",
                    request=request,
                    state=JobState.QUEUED,
                    reserved=16,
                    created_at=now,
                    deadline_at=now + 7 * 3600,
                    updated_at=now,
                )
                await quota.reserve_job(job)
                engine.enqueue(job)
                live.append(job)
            while any(j.state in (JobState.QUEUED, JobState.SUBMITTING) for j in live):
                if time.perf_counter() - fill_started > FILL_TIMEOUT:
                    break
                await asyncio.sleep(0.05)
        fill_seconds = time.perf_counter() - fill_started

        started_running = sum(1 for j in live if j.state is JobState.RUNNING)
        gc.collect()
        rss_before, cpu_before, reads_before = rss_mib(), cpu_seconds(), reads["all"]
        rss_peak = rss_before
        until = time.perf_counter() + wait
        while (left := until - time.perf_counter()) > 0:
            await asyncio.sleep(min(1.0, left))
            rss_peak = max(rss_peak, rss_mib())
        cpu_after, rss_after = cpu_seconds(), rss_mib()
        running = sum(1 for j in live if j.state is JobState.RUNNING)
        await engine.stop()
        await provider.aclose()
        await db.close()
    return {
        "jobs": jobs,
        "running_at_start": started_running,
        "running": running,
        "wait_seconds": wait,
        "fill_seconds": fill_seconds,
        "rss_imported_mib": rss_imported,
        "rss_mib": max(rss_after, rss_peak),
        "cpu_seconds": cpu_after - cpu_before,
        "status_reads": reads["all"] - reads_before,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, required=True)
    parser.add_argument("--wait", type=float, required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--api-key", required=True)
    args = parser.parse_args(argv)
    logging.disable(logging.ERROR)
    result = asyncio.run(_child(args.jobs, args.wait, args.base_url, args.api_key))
    print(json.dumps(result))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
