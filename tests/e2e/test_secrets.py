"""Keys and tokens never reach a log line, a Discord message or an error text."""

from __future__ import annotations

import io
import logging

from bot import RedactingFilter, configure_logging
from tests.e2e.conftest import TOKEN


async def test_no_secret_in_logs_or_messages_through_a_failing_and_a_working_job(world):
    stream = io.StringIO()
    settings = world.settings(LOG_LEVEL="DEBUG")
    handler = configure_logging(settings, stream=stream)
    try:
        async with world.bot(LOG_LEVEL="DEBUG") as bot:
            world.nanobanana.fail_next_request = (401, "UNAUTHORIZED")  # echoes the key sent
            rec = await world.slash("image", {"prompt": "a", "model": "nanobanana:nano-banana"})
            await world.fake.wait_for_callback(rec)
            await world.fake.wait_for_original(
                rec, lambda m: m.embeds and "Could not" in m.embeds[0]["title"]
            )
            rec = await world.slash("image", {"prompt": "b", "model": "aivideoapi:nano-banana-2"})
            await world.fake.wait_for_callback(rec)
            await world.result_message()
            await world.idle(bot)
    finally:
        logging.getLogger().removeHandler(handler)
    logs = stream.getvalue()
    assert "job=" in logs  # the log really captured the jobs
    secrets = [
        TOKEN,
        world.nanobanana.api_key,
        world.aivideoapi.api_key,
        world.nananobanana.api_key,
    ]
    for secret in secrets:
        assert secret not in logs
    sent = " ".join(repr(m.raw) for msgs in world.fake.messages.values() for m in msgs)
    sent += " ".join(repr(c.data) for c in world.fake.callbacks)
    sent += " ".join(repr(e.data) for e in world.fake.webhook_edits)
    for secret in secrets:
        assert secret not in sent


def test_redacting_filter_hides_secrets_in_messages_arguments_and_tracebacks():
    stream = io.StringIO()
    logger = logging.getLogger("redaction-test")
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter(["sk-very-secret", "tok.en"]))
    logger.addHandler(handler)
    try:
        logger.error("key %s and %s", "sk-very-secret", "tok.en")
        try:
            raise RuntimeError("failed with sk-very-secret")
        except RuntimeError:
            logger.exception("boom")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "sk-very-secret" not in text and "tok.en" not in text
    assert text.count("***") >= 3
