"""The fault matrix: one fault per row, the real bot against the emulators, and for each row
what the member sees, the credits, the provider tasks created and the results posted.

Provider faults are injected on nananobanana (one credit a job, one record per task):
``POST /api/v1/generate`` submits, ``GET /api/v1/generate`` reads a task's status, and
``GET /files/`` serves the result. Discord faults are injected on the result's channel post.
Stopping is covered at each job state in ``test_stopping_at_each_state``; a kill between the
result's post and storing its id is in ``test_exactly_once.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from db.database import Database
from db.ledger import consistency_problems
from jobs.download import MediaFetcher
from jobs.records import JobState
from jobs.store import JobStore
from providers import http
from tests.e2e.conftest import ALICE, CHANNEL, GUILD

MODEL = "nananobanana:nano-banana"
SUBMIT = "/api/v1/generate"
STATUS = "/api/v1/generate"
FILES = "/files/"
CHANNEL_POST = rf"/channels/{CHANNEL}/messages$"
MiB = 1024 * 1024


@dataclass(frozen=True)
class Row:
    id: str
    arrange: Callable  # (world, monkeypatch) -> dict of world.bot() keyword arguments
    delivered: bool
    says: str  # what the member reads, in the result or on the failed job's card
    tasks: tuple[int, ...] = (1,)  # provider tasks that may exist at the end
    where: str = "channel"  # where the result is posted: channel or followup


def discord_refuses(status: int, body: dict | None = None, times: int = 1):
    def arrange(world, monkeypatch):
        world.fake.fail_next("POST", CHANNEL_POST, status, body, times=times)

    return arrange


def provider_breaks(method: str, path: str, kind: str, **kwargs):
    def arrange(world, monkeypatch):
        world.nananobanana.break_next(method, path, kind, **kwargs)

    return arrange


def submit_times_out(world, monkeypatch):
    monkeypatch.setattr(http, "READ_TIMEOUT", 0.5)  # the submit's read timeout
    world.nananobanana.break_next("POST", SUBMIT, "hang", seconds=1.5)


def status_hangs(world, monkeypatch):
    monkeypatch.setattr(http, "STATUS_DEADLINE", 0.3)
    world.nananobanana.break_next("GET", STATUS, "hang", seconds=1.0)


def media_is_slow(world, monkeypatch):
    world.nananobanana.break_next("GET", FILES, "hang", seconds=1.0)
    trusted = world.settings().media_trusted_origins
    return {"fetcher": MediaFetcher(trusted_origins=trusted, deadline=0.3)}


def media_is_oversize(world, monkeypatch):
    world.nananobanana.pad_results_to = 11 * MiB  # the server allows 10 MiB


def media_redirects_to_loopback(world, monkeypatch):
    world.nananobanana.redirect_file = lambda name: "http://127.0.0.1:9/internal.png"


ROWS = [
    # submit
    Row("submit-500", provider_breaks("POST", SUBMIT, "status", status=500), False,
        "did not confirm that the job started (no answer, or an error)", tasks=(0,)),
    Row("submit-503", provider_breaks("POST", SUBMIT, "status", status=503), True, "ready"),
    Row("submit-timeout", submit_times_out, False,
        "did not confirm that the job started (no answer, or an error), so it was not charged",
        tasks=(0, 1)),
    Row("submit-reset", provider_breaks("POST", SUBMIT, "reset"), False,
        "did not confirm that the job started", tasks=(0,)),
    Row("submit-lost-answer", provider_breaks("POST", SUBMIT, "lost"), False,
        "did not confirm that the job started", tasks=(1,)),
    # status
    Row("status-500", provider_breaks("GET", STATUS, "status", status=500), True, "ready"),
    Row("status-malformed-json", provider_breaks("GET", STATUS, "malformed"), True, "ready"),
    Row("status-hang", status_hangs, True, "ready"),
    # media
    Row("media-404", provider_breaks("GET", FILES, "status", status=404), True,
        "not downloadable, so it is linked here"),
    Row("media-slow", media_is_slow, True, "not downloadable, so it is linked here"),
    Row("media-oversize", media_is_oversize, True, "too large to upload in this server"),
    Row("media-wrong-content-type", provider_breaks("GET", FILES, "malformed"), True,
        "not downloadable, so it is linked here"),
    Row("media-redirect-to-loopback", media_redirects_to_loopback, False,
        "could not be fetched safely"),
    # Discord, on the result's post
    Row("discord-401", discord_refuses(401, {"code": 0, "message": "401: Unauthorized"}, 3),
        True, "I could not post in", where="followup"),
    Row("discord-403", discord_refuses(403, {"code": 50013, "message": "Missing Permissions"}, 3),
        True, "I could not post in", where="followup"),
    Row("discord-404", discord_refuses(404, {"code": 10003, "message": "Unknown Channel"}, 3),
        True, "I could not post in", where="followup"),
    Row("discord-413", discord_refuses(413, {"code": 40005, "message": "Request entity too large"}),
        True, "Discord would not take the file upload here"),
    Row("discord-429", discord_refuses(429, {"retry_after": 0.1}), True, "ready"),
    Row("discord-500", discord_refuses(500), True, "ready"),
]  # fmt: skip


def member_sees(world, rec, row: Row) -> tuple[str, int]:
    """The text the member reads, and how many results were posted."""
    mine = f"<@{ALICE}> your"
    if row.where == "followup":
        posted = [m for m in rec.followups if (m.content or "").startswith(mine)]
    else:
        posted = [
            m
            for m in world.fake.channel_messages(CHANNEL)
            if m.interaction_id is None and (m.content or "").startswith(mine)
        ]
    if row.delivered and posted:
        return str(posted[0].content) + str(posted[0].embeds), len(posted)
    return str(rec.original.embeds), len(posted)


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.id)
async def test_fault(world, monkeypatch, row: Row):
    options = row.arrange(world, monkeypatch) or {}
    async with world.bot(**options) as bot:
        rec = await world.slash("image", {"prompt": "a fig", "model": MODEL})
        await world.fake.wait_for_callback(rec)
        await world.idle(bot)

        text, posted = member_sees(world, rec, row)
        assert row.says in text
        assert posted == (1 if row.delivered else 0)
        balance = await bot.quota.balance(GUILD, ALICE)
        assert (balance.used, balance.reserved) == ((1 if row.delivered else 0), 0)
        assert await consistency_problems(bot.db) == []
    submits = [r for r in world.nananobanana.requests if r[0] == "POST" and r[1] == SUBMIT]
    assert len(world.nananobanana.records) in row.tasks
    assert len(submits) == (2 if row.id == "submit-503" else 1)  # never resent after a maybe


# -- stopping -----------------------------------------------------------------------------


async def job_states(world) -> list[JobState]:
    db = await Database.open(world.tmp / "bananabot.db")
    try:
        rows = await db.fetchall("SELECT id FROM jobs ORDER BY created_at")
        jobs = [await JobStore(db).get(row[0]) for row in rows]
        return [job.state for job in jobs if job is not None]
    finally:
        await db.close()


@pytest.mark.parametrize("kill", [False, True], ids=["sigterm", "sigkill"])
@pytest.mark.parametrize("state", ["queued", "submitting", "running"])
async def test_stopping_at_each_state(world, state: str, kill: bool):
    """SIGTERM stops with a grace for a request in flight; SIGKILL (no grace) cuts it. Either
    way the next start finishes what it can, and nothing runs or is charged twice."""
    emulator = world.nananobanana
    prompts = ["a fig"]
    if state == "queued":  # nananobanana runs one task at a time: the second job waits
        emulator.task_seconds = 1.5
        prompts = ["first", "a fig"]
    elif state == "submitting":
        emulator.break_next("POST", SUBMIT, "hang", seconds=1.0)
    else:
        emulator.task_seconds = 1.5
    async with world.bot(stop_grace=0.0 if kill else 5.0):
        for prompt in prompts:
            rec = await world.slash("image", {"prompt": prompt, "model": MODEL})
            await world.fake.wait_for_callback(rec)
        if state == "submitting":
            await world.fake.wait_until(lambda: emulator.requests[-1][0] == "POST", what="POST")
        else:
            await world.fake.wait_until(lambda: emulator.records, what="a task")
        await asyncio.sleep(0.1)
    stopped = await job_states(world)
    if state == "submitting" and kill:
        assert stopped == [JobState.SUBMITTING]  # cut mid-POST: it may or may not exist
    elif state == "queued":
        assert stopped[-1] is JobState.QUEUED
    else:
        assert stopped == [JobState.RUNNING]

    emulator.task_seconds = 0.2
    async with world.bot() as bot:
        await world.idle(bot)
        finished = await job_states(world)
        balance = await bot.quota.balance(GUILD, ALICE)
        assert balance.reserved == 0 and await consistency_problems(bot.db) == []
    submits = [r for r in emulator.requests if r[0] == "POST" and r[1] == SUBMIT]
    assert len(submits) == len(prompts)  # each job submitted once, across both processes
    if state == "submitting" and kill:
        assert finished == [JobState.FAILED]  # refunded rather than risk a second paid task
        assert balance.used == 0
    else:
        assert finished == [JobState.COMPLETED] * len(prompts)
        assert balance.used == len(prompts)
