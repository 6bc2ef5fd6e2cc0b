"""The words members read are written in presentation/sentences/: every refusal the bot can
raise and every reason a job can fail has its sentence there, and a job that failed before
failures were stored as facts still shows the sentence it was stored with."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from pathlib import Path

import pytest

import cogs
import jobs
import presentation
import providers
import quota
from db.database import Database
from jobs.records import Failure, FailureCode, JobState
from jobs.store import JobStore
from presentation.embeds import job_card
from presentation.sentences import for_member, job_failure
from presentation.sentences._words import worder
from presentation.sentences.failures import SENTENCES
from providers.errors import UserFacingError
from tests.presentation.test_job_card import job

OLD_SENTENCE = "nanobanana refused the bot's API key. Please let a server admin know."


def _every_refusal() -> list[type[UserFacingError]]:
    for package in (providers, jobs, quota, presentation, cogs):
        for found in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            importlib.import_module(found.name)
    seen, stack = [], [UserFacingError]
    while stack:
        cls = stack.pop()
        seen.append(cls)
        stack += cls.__subclasses__()
    return seen


def test_every_refusal_the_bot_defines_has_its_sentence():
    abstract = {"UserFacingError", "InvalidRequest", "NotAllowed", "UnknownModel"}
    abstract.add("ModelNotAllowed")  # families: only their members are raised
    unworded = [
        f"{cls.__module__}.{cls.__name__}"
        for cls in _every_refusal()
        if cls.__name__ not in abstract and worder(cls.__new__(cls)) is None
    ]
    assert unworded == []


def test_every_failure_code_has_its_sentence():
    assert set(FailureCode) - set(SENTENCES) == {FailureCode.WORDED}


def test_a_refusal_is_worded_from_its_facts():
    from jobs.errors import PromptTooLong

    error = PromptTooLong(model="nano-banana", length=20001, limit=20000)
    assert for_member(error) == (
        "The prompt is 20001 characters; `nano-banana` accepts at most 20000."
    )
    assert "20001" in str(error) and "accepts" not in str(error)  # the log gets the facts


def test_a_refusal_names_its_facts_or_is_refused():
    from jobs.errors import PromptTooLong

    with pytest.raises(TypeError, match="missing facts"):
        PromptTooLong(model="nano-banana", length=3)
    with pytest.raises(TypeError, match="unknown facts"):
        PromptTooLong(model="m", length=3, limit=2, colour="red")
    with pytest.raises(TypeError):
        PromptTooLong("The prompt is too long.")  # a sentence is no fact


async def test_a_failure_is_stored_as_facts_and_worded_when_shown(tmp_path: Path):
    db = await Database.open(tmp_path / "bot.db")
    try:
        store = JobStore(db)
        failure = Failure(FailureCode.DEADLINE, {"provider": "nanobanana", "seconds": 600.0})
        failed = dataclasses.replace(job(), state=JobState.FAILED, failure=failure)
        async with db.transaction() as conn:
            await JobStore.insert(conn, failed)
        row = await db.fetchall("SELECT failure FROM jobs WHERE id = ?", (failed.id,))
        assert "did not finish" not in row[0][0]  # facts in the column, not words
        stored = await store.get(failed.id)
        assert stored is not None and stored.failure == failure
        assert job_failure(stored.failure) == (
            "The generation did not finish within 10 minutes, so the bot stopped waiting for it."
        )
    finally:
        await db.close()


async def test_a_failure_stored_as_a_sentence_by_an_older_bot_still_shows(tmp_path: Path):
    db = await Database.open(tmp_path / "bot.db")
    try:
        failed = dataclasses.replace(job(), state=JobState.FAILED)
        async with db.transaction() as conn:
            await JobStore.insert(conn, failed)
            sql = "UPDATE jobs SET failure = ? WHERE id = ?"  # as an older bot wrote it
            await conn.execute(sql, (OLD_SENTENCE, failed.id))
        stored = await JobStore(db).get(failed.id)
        assert stored is not None
        assert job_failure(stored.failure) == OLD_SENTENCE
        assert OLD_SENTENCE in job_card(stored).description
    finally:
        await db.close()


def test_a_failure_this_bot_cannot_word_still_says_the_job_failed():
    newer = Failure.from_stored('{"code": "a_reason_from_a_newer_bot", "provider": "x"}')
    assert job_failure(newer) == "The job failed."
    assert job_failure(Failure(FailureCode.DEADLINE, {})) == "The job failed."  # facts missing
