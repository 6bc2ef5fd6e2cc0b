"""Two real bot processes, one shard each, on one PostgreSQL database: 200 jobs across them,
one process killed (SIGKILL) half-way. The survivor takes over the dead one's jobs when their
leases lapse and posts their results over REST (it does not serve that server). Every job is
submitted at most once (once, unless the kill caught its submit in flight, which is refunded
rather than risked twice), ends with exactly one message in its channel, and its reservation
is closed exactly once: charged if delivered, refunded otherwise.

PostgreSQL only (BANANABOT_TEST_POSTGRES_URL): SQLite serves one process at a time."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from db.database import Database
from db.ledger import consistency_problems
from jobs.records import JobState
from jobs.store import JobStore
from tests.databases import SKIP_REASON, postgres_schema, postgres_url
from tests.e2e.conftest import TOKEN, World

ROOT = Path(__file__).resolve().parents[2]
JOBS = 200
USERS = 20  # per server, 5 jobs each
GUILDS = {  # server -> (its channel, the shard of two that serves it: (id >> 22) % 2)
    900_000_000_004_194_305: (900_000_000_004_194_306, 0),
    900_000_000_008_388_609: (900_000_000_008_388_610, 1),
}
DOOMED_SHARD = 1
FACTOR = 20.0  # engine seconds per real second, shared by both processes
LEASE_SECONDS = 40.0  # engine seconds: 2 s of real time
COMMAND_GAP = 0.03  # real seconds between two commands: 200 in 6 s, on a busy 2-core machine
# that also runs this test's Discord and provider emulators


def _env(world: World, url: str, shard: int, sync: bool, epoch: float) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    return {
        **keep,
        "PYTHONPATH": str(ROOT),
        "DISCORD_TOKEN": TOKEN,
        "DATABASE_URL": url,
        "SHARD_COUNT": "2",
        "SHARD_IDS": str(shard),
        "SYNC_COMMANDS": "1" if sync else "0",
        "AIVIDEOAPI_API_KEY": world.aivideoapi.api_key,
        "AIVIDEOAPI_BASE_URL": world.aivideoapi.base_url,
        "AIVIDEOAPI_REQUESTS_PER_MINUTE": "600000",  # the emulator sets no limit
        "QUOTA_DEFAULT_CREDITS": "1000",
        "MAX_JOBS_PER_USER": "10",
        "LOG_LEVEL": "INFO",
        "FAKE_DISCORD_API": world.fake.api_base,
        "FAKE_DISCORD_GATEWAY": world.fake.gateway_url,
        "FAST_TIME_EPOCH": str(epoch),
        "FAST_TIME_FACTOR": str(FACTOR),
        "LEASE_SECONDS": str(LEASE_SECONDS),
    }


def _start(env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.bot_process"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


async def _wait(what: str, condition, seconds: float, procs=()) -> None:
    until = time.monotonic() + seconds
    while not await condition():
        for proc in procs:
            if proc.poll() is not None:
                raise AssertionError(f"a bot process ended ({proc.returncode}) waiting for {what}")
        if time.monotonic() > until:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@pytest.mark.skipif(postgres_url() is None, reason=SKIP_REASON)
async def test_two_processes_share_200_jobs_and_one_dies_half_way(world, tmp_path):
    fake, emulator = world.fake, world.aivideoapi
    emulator.task_seconds = 1.5
    emulator.credits = 100_000  # the account can pay for every job
    members = {}
    for n, (guild, (channel, _shard)) in enumerate(GUILDS.items()):
        fake.add_guild(guild, f"Club {n}", premium_tier=0)
        fake.add_channel(guild, channel, "general")
        members[guild] = [guild + 1000 + u for u in range(USERS)]
        for user in members[guild]:
            fake.add_member(guild, user, f"member{user % 1000}")

    async with postgres_schema(postgres_url()) as url:
        epoch = time.time()
        survivor = _start(_env(world, url, 1 - DOOMED_SHARD, True, epoch), tmp_path / "shard0.log")
        doomed = _start(_env(world, url, DOOMED_SHARD, False, epoch), tmp_path / "shard1.log")
        procs = (survivor, doomed)
        db = None
        try:

            async def both_up() -> bool:
                return len(fake.gateway.live_sessions()) == 2 and bool(fake.command_syncs)

            await _wait("both shards and the command sync", both_up, 30, procs)
            db = await Database.open(url, migrate=False)

            cards = {}  # prompt -> the interaction, whose original message is the job card
            for i in range(JOBS):
                guild = list(GUILDS)[i % 2]
                channel, _ = GUILDS[guild]
                user = members[guild][(i // 2) % USERS]
                options = {"prompt": f"job {i:03d}", "model": "aivideoapi:nano-banana-2"}
                cards[options["prompt"]] = await fake.invoke_slash(
                    guild, channel, user, "image", options
                )
                await asyncio.sleep(COMMAND_GAP)
            # Every command becomes one job. (Its card may come too late for Discord's 3 s
            # on a machine this busy; the job runs all the same and its result is posted.)

            async def all_stored() -> bool:
                return (await db.fetchone("SELECT COUNT(*) FROM jobs"))[0] == JOBS

            await _wait("a job for every command", all_stored, 30, procs)

            async def some_done() -> bool:
                row = await db.fetchone("SELECT COUNT(*) FROM jobs WHERE state = 'completed'")
                return row[0] >= JOBS // 4

            await _wait("a quarter of the jobs", some_done, 60, procs)
            doomed.send_signal(signal.SIGKILL)  # no clean stop: its leases must lapse
            doomed.wait(10)

            async def all_finished() -> bool:
                row = await db.fetchone(
                    "SELECT COUNT(*) FROM jobs WHERE state IN ('completed', 'failed')"
                )
                return row[0] == JOBS

            await _wait("every job to end", all_finished, 120, (survivor,))
            await asyncio.sleep(0.5)  # a duplicate post would show by now

            jobs = {job.id: job for job in await _all_jobs(db)}
            assert len(jobs) == JOBS
            prompts = {job.request.prompt: job for job in jobs.values()}
            assert len(prompts) == JOBS

            # submitted at most once each, and once for every completed job
            sent = Counter(body["input"]["prompt"] for body in _submits(emulator))
            assert all(count == 1 for count in sent.values()), sent.most_common(3)
            completed = [j for j in jobs.values() if j.state is JobState.COMPLETED]
            assert all(sent[j.request.prompt] == 1 for j in completed)
            # the only jobs given up: those whose submit the kill caught in flight (refunded,
            # never sent twice)
            given_up = [j for j in jobs.values() if j.state is not JobState.COMPLETED]
            interrupted = "restarted while the submit request was in flight"
            assert all(j.error == interrupted for j in given_up)
            assert len(completed) >= JOBS // 2

            # each member told once: a completed job's result posted once in its channel; a
            # given-up job's failure on its card, or (no card) once in the channel
            posted = Counter()
            for channel, _ in GUILDS.values():
                for message in fake.messages.get(channel, []):
                    if message.interaction_id is not None or not message.embeds:
                        continue
                    text = message.embeds[0].get("description", "") or ""
                    posted.update(p for p in prompts if p in text)
            for job in completed:
                assert posted[job.request.prompt] == 1, job
                assert job.result_message_id is not None
            for job in given_up:
                card = cards[job.request.prompt].original
                told_on_card = card is not None and "Could not" in card.embeds[0]["title"]
                assert posted[job.request.prompt] == (0 if told_on_card else 1), job

            # charged once: one reservation, one settle or refund, books balanced
            rows = await db.fetchall("SELECT job_id, kind, amount FROM ledger")
            kinds = Counter((r["job_id"], r["kind"]) for r in rows)
            for job in jobs.values():
                closing = "settle" if job.state is JobState.COMPLETED else "refund"
                assert kinds[(job.id, "reserve")] == 1 and kinds[(job.id, closing)] == 1
            assert len(rows) == 2 * JOBS
            assert await consistency_problems(db) == []

            # jobs of the dead process's server were finished by the survivor, over REST
            doomed_guild = next(g for g, (_, shard) in GUILDS.items() if shard == DOOMED_SHARD)
            owners = await db.fetchall(
                "SELECT lease_owner, COUNT(*) FROM jobs WHERE guild_id = ? GROUP BY lease_owner",
                (doomed_guild,),
            )
            assert len(owners) == 2  # some finished before the kill, the rest by the survivor
        finally:
            if db is not None:
                await db.close()
            for proc in procs:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in procs:
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()


async def _all_jobs(db: Database):
    rows = await db.fetchall("SELECT id FROM jobs")
    store = JobStore(db)
    return [await store.get(r[0]) for r in rows]


def _submits(emulator) -> list[dict]:
    return [
        body
        for method, path, body in emulator.requests
        if method == "POST" and path == "/v1/images/generations" and body
    ]
