"""Failover: a model two enabled providers offer moves to the other when the first refuses the
job before accepting it, and the member is charged once, at most the reservation.

nano-banana is offered by nanobanana (1 credit) and nananobanana (1 credit): the tie goes to
nanobanana, first in the registry. nano-banana-2 by nanobanana (4 credits) and aivideoapi
(16 credits at 1K).
"""

from __future__ import annotations

from db.database import Database
from db.ledger import consistency_problems
from jobs.records import JobState, Route
from jobs.store import JobStore
from tests.e2e.conftest import ALICE, CHANNEL, GUILD
from tests.e2e.stored import store_job
from tests.e2e.test_status import pause_nanobanana

NB_SUBMIT = "/api/v1/images/generate"


async def ledger_kinds(bot, job_id: str) -> list[str]:
    rows = await bot.db.fetchall("SELECT kind FROM ledger WHERE job_id = ? ORDER BY id", (job_id,))
    return [row[0] for row in rows]


async def delivered_job(world, bot, skip: int = 0):
    result = await world.result_message(skip=skip)
    await world.idle(bot)
    job_id = result.embeds[0]["footer"]["text"].split()[-1]
    return result, await bot.engine.jobs.get(job_id)


async def test_a_503_moves_the_job_to_the_other_provider_and_charges_once(world):
    world.nanobanana.break_next("POST", NB_SUBMIT, "status", status=503)
    async with world.bot() as bot:
        rec = await world.slash("image", {"prompt": "a banana boat", "model": "nano-banana"})
        callback = await world.fake.wait_for_callback(rec)
        assert "(nanobanana)" in str(callback.data["embeds"][0]["fields"])  # planned there
        result, job = await delivered_job(world, bot)

        assert result.files
        fields = {f["name"]: f["value"] for f in result.embeds[0]["fields"]}
        assert "(nananobanana)" in fields["Model"] and "1 credit" in fields["Cost"]
        assert "(nananobanana)" in str(rec.original.embeds[0]["fields"])  # the card too
        assert job.state is JobState.COMPLETED and job.provider == "nananobanana"
        assert [r.provider for r in job.routes] == ["nanobanana", "nananobanana"]
        assert world.nanobanana.tasks == {}  # refused: nothing left running there
        assert len(world.nananobanana.records) == 1
        balance = await bot.quota.balance(GUILD, ALICE)
        assert (balance.left, balance.used, balance.reserved) == (99, 1, 0)
        assert await ledger_kinds(bot, job.id) == ["reserve", "settle"]
        assert await consistency_problems(bot.db) == []


async def test_out_of_provider_credits_moves_it_and_a_dearer_provider_costs_no_more(world):
    """402 at nanobanana (4 credits); aivideoapi asks 16: the member pays the 4 reserved."""
    world.nanobanana.credits = 0
    async with world.bot() as bot:
        await world.slash("image", {"prompt": "a banana moon", "model": "nano-banana-2"})
        result, job = await delivered_job(world, bot)

        assert job.provider == "aivideoapi" and job.charged == 4
        assert "(aivideoapi)" in str(result.embeds[0]["fields"])
        assert world.nanobanana.tasks == {} and len(world.aivideoapi.tasks) == 1
        balance = await bot.quota.balance(GUILD, ALICE)
        assert (balance.left, balance.used, balance.reserved) == (96, 4, 0)
        assert await ledger_kinds(bot, job.id) == ["reserve", "settle"]
        assert await consistency_problems(bot.db) == []


async def test_a_pinned_provider_model_never_moves_and_is_refunded(world):
    world.nanobanana.break_next("POST", NB_SUBMIT, "status", status=500)
    async with world.bot() as bot:
        rec = await world.slash("image", {"prompt": "x", "model": "nanobanana:nano-banana"})
        await world.fake.wait_for_callback(rec)
        await world.idle(bot)

        (job_id,) = [r[0] for r in await bot.db.fetchall("SELECT id FROM jobs")]
        job = await bot.engine.jobs.get(job_id)
        assert job.state is JobState.FAILED and job.provider == "nanobanana"
        assert job.routes == ()
        assert world.nananobanana.records == {} and world.nanobanana.tasks == {}
        assert rec.original.embeds[0]["title"].startswith("Could not")
        balance = await bot.quota.balance(GUILD, ALICE)
        assert (balance.left, balance.used, balance.reserved) == (100, 0, 0)
        assert await ledger_kinds(bot, job.id) == ["reserve", "refund"]


async def test_when_every_provider_refuses_the_member_is_refunded_and_told_which(world):
    world.nanobanana.break_next("POST", NB_SUBMIT, "status", status=503, times=10)
    world.nananobanana.credits = 0
    async with world.bot() as bot:
        rec = await world.slash("image", {"prompt": "x", "model": "nano-banana"})
        await world.fake.wait_for_callback(rec)
        await world.idle(bot)

        card = rec.original.embeds[0]
        assert card["title"].startswith("Could not")
        said = card["description"]
        assert "nanobanana: server error (HTTP 503)" in said
        assert "nananobanana: the bot's account there is out of credits" in said
        assert "was returned" in said
        assert world.nanobanana.tasks == {} and world.nananobanana.records == {}
        balance = await bot.quota.balance(GUILD, ALICE)
        assert (balance.left, balance.used, balance.reserved) == (100, 0, 0)
        assert await consistency_problems(bot.db) == []


async def test_a_restart_between_the_refusal_and_the_next_submit_keeps_the_routes(world):
    """The refusal comes while the bot is stopping: the job is stored queued at the next
    provider with its routes, and the next process sends it there, once."""
    world.nanobanana.hold = {NB_SUBMIT: 1.0}
    world.nanobanana.break_next("POST", NB_SUBMIT, "status", status=503)
    async with world.bot() as bot:
        rec = await world.slash("image", {"prompt": "a banana in orbit", "model": "nano-banana"})
        await world.fake.wait_for_callback(rec)
        await world.fake.wait_until(
            lambda: any(r[1] == NB_SUBMIT for r in world.nanobanana.requests), what="a submit"
        )
    # stopped with the submit in flight: its 503 moved the job, which then waited
    db = await Database.open(world.tmp / "bananabot.db")
    try:
        (job,) = await JobStore(db).unfinished()
    finally:
        await db.close()
    assert (job.state, job.provider) == (JobState.QUEUED, "nananobanana")
    assert [(r.provider, r.refused) for r in job.routes] == [
        ("nanobanana", "server_error:503"),
        ("nananobanana", None),
    ]
    assert world.nananobanana.records == {}
    async with world.bot() as bot:
        result, job = await delivered_job(world, bot)
        assert result.files
        assert job.provider == "nananobanana" and job.state is JobState.COMPLETED
        assert len(world.nananobanana.records) == 1 and world.nanobanana.tasks == {}
        balance = await bot.quota.balance(GUILD, ALICE)
        assert (balance.left, balance.used, balance.reserved) == (99, 1, 0)
        assert await ledger_kinds(bot, job.id) == ["reserve", "settle"]


async def test_model_autocomplete_offers_a_shared_model_unpinned_first(world):
    async with world.bot() as bot:
        await bot.price_hints.warm()  # started at login; prices come from the cache
        choices = await world.fake.invoke_autocomplete(
            GUILD, CHANNEL, ALICE, "image", {"model": "banana-2"}, focused="model"
        )
        assert choices[0] == {
            "name": "Nano Banana 2 — any of nanobanana, aivideoapi — from 4 credits",
            "value": "nano-banana-2",
        }
        assert {c["value"] for c in choices[1:]} == {
            "nanobanana:nano-banana-2",
            "aivideoapi:nano-banana-2",
        }


async def test_a_job_caught_mid_submit_moves_to_the_provider_left_instead_of_a_refund(world):
    """A crash while the submit was in flight: the first provider may or may not have the
    task (the operator's cost, logged); the member's job goes on at the next one."""
    async with world.bot() as bot:
        await bot.engine.stop()  # keep the job where we put it
        job = await store_job(
            bot, state=JobState.SUBMITTING, provider="nanobanana", model="nano-banana", cost=1
        )
        routes = (Route("nanobanana", 1), Route("nananobanana", 1))
        await JobStore(bot.db).update(job, routes=routes)  # as the crashed process left it
    async with world.bot() as bot:
        result, stored = await delivered_job(world, bot)
        assert result.files
        assert stored.id == job.id and stored.provider == "nananobanana"
        assert stored.routes[0].refused == "no_answer"
        assert world.nanobanana.tasks == {} and len(world.nananobanana.records) == 1
        balance = await bot.quota.balance(GUILD, ALICE)
        assert (balance.left, balance.used, balance.reserved) == (99, 1, 0)
        assert await ledger_kinds(bot, job.id) == ["reserve", "settle"]


async def test_a_paused_provider_is_not_tried_first(world):
    """After five failures in a row nanobanana is paused: a routed job goes straight to
    nananobanana, and nanobanana sees no submit for it."""
    async with world.bot() as bot:
        await pause_nanobanana(world, bot)
        submits = sum(1 for r in world.nanobanana.requests if r[1] == NB_SUBMIT)
        rec = await world.slash("image", {"prompt": "elsewhere", "model": "nano-banana"})
        callback = await world.fake.wait_for_callback(rec)
        assert "(nananobanana)" in str(callback.data["embeds"][0]["fields"])
        result, job = await delivered_job(world, bot, skip=1)  # after the pausing job's
        assert result.files and job.provider == "nananobanana"
        assert [(r.provider, r.refused) for r in job.routes] == [
            ("nananobanana", None),
            ("nanobanana", None),
        ]
        assert sum(1 for r in world.nanobanana.requests if r[1] == NB_SUBMIT) == submits
        assert len(world.nananobanana.records) == 1
        assert (await bot.quota.balance(GUILD, ALICE)).used == 2  # this one and the 2nd


async def test_the_last_provider_left_retries_a_503_in_place_as_before(world):
    world.nanobanana.break_next("POST", NB_SUBMIT, "status", status=503)
    world.nananobanana.break_next("POST", "/api/v1/generate", "status", status=503)
    async with world.bot() as bot:
        await world.slash("image", {"prompt": "twice lucky", "model": "nano-banana"})
        result, job = await delivered_job(world, bot)
        assert result.files and job.provider == "nananobanana"
        assert [(r.provider, r.refused) for r in job.routes] == [
            ("nanobanana", "server_error:503"),
            ("nananobanana", None),
        ]
        assert job.submit_attempts == 3  # nanobanana once, nananobanana twice
        assert world.nanobanana.tasks == {} and len(world.nananobanana.records) == 1
        assert (await bot.quota.balance(GUILD, ALICE)).used == 1
