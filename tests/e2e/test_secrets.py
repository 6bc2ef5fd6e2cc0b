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


async def test_interaction_tokens_never_reach_the_log_even_at_debug(world):
    """discord.py logs the URLs of interaction callbacks and webhook edits at DEBUG; those URLs
    carry the interaction's token, which lets anyone answer as the bot for 15 minutes."""
    stream = io.StringIO()
    handler = configure_logging(world.settings(LOG_LEVEL="DEBUG"), stream=stream)
    # Every logger at DEBUG, including those configure_logging quiets today.
    chatty = [
        logging.getLogger(name)
        for name in ("discord.http", "discord.gateway", "discord.webhook.async_")
    ]
    levels = [logger.level for logger in chatty]
    for logger in chatty:
        logger.setLevel(logging.DEBUG)
    try:
        async with world.bot(LOG_LEVEL="DEBUG") as bot:
            rec = await world.slash("image", {"prompt": "a", "model": "sandbox:sandbox-image"})
            await world.fake.wait_for_callback(rec)
            await world.result_message()
            await world.idle(bot)
            world.nanobanana.fail_next_request = (500, "INTERNAL")
            rec = await world.slash("image", {"prompt": "b", "model": "nanobanana:nano-banana"})
            await world.fake.wait_for_callback(rec)
            await world.fake.wait_until(lambda: world.fake.webhook_edits, what="an edit")
            await world.idle(bot)
    finally:
        logging.getLogger().removeHandler(handler)
        for logger, level in zip(chatty, levels, strict=True):
            logger.setLevel(level)
    logs = stream.getvalue()
    tokens = [i.token for i in world.fake.interactions]
    assert tokens and all(len(token) > 40 for token in tokens)
    for token in tokens:
        assert token not in logs
        assert token[:24] not in logs  # not even a recognisable part of it
    # The lines are there, with the token replaced: the redaction did the work.
    assert "/webhooks/" in logs and "/interactions/" in logs
    assert "INTERACTION_CREATE" in logs and "'token': '***'" in logs  # the gateway's events
    assert all(
        line.split("/webhooks/", 1)[1].split("/")[1].startswith("***")
        for line in logs.splitlines()
        if "/webhooks/" in line
    )


def test_the_filter_redacts_interaction_tokens_it_was_never_told_about():
    stream = io.StringIO()
    logger = logging.getLogger("redaction-test-urls")
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter([]))
    logger.addHandler(handler)
    token = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDEyMzQ1Njc4OmFiY2RlZg.x-y_z"
    try:
        logger.warning(
            "Webhook ID %s with %s %s has returned status code %s",
            123,
            "PATCH",
            f"https://discord.com/api/v10/webhooks/123/{token}/messages/@original",
            200,
        )
        logger.warning("POST https://discord.com/api/v10/interactions/456/%s/callback", token)
        logger.warning("https://discord.com/api/webhooks/789/%s?wait=true", token)
        logger.warning("event %s", {"t": "INTERACTION_CREATE", "d": {"id": "1", "token": token}})
        logger.warning('payload {"token": "%s", "type": 2}', token)
        try:
            raise RuntimeError(f"PATCH /webhooks/123/{token}/messages/1 failed")
        except RuntimeError:
            logger.exception("edit failed")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert token not in text and token[:10] not in text
    assert "/webhooks/123/***/messages/@original" in text
    assert "/interactions/456/***/callback" in text
    assert "/webhooks/789/***?wait=true" in text
    assert "/webhooks/123/***/messages/1 failed" in text
    assert "'token': '***'" in text and '"token": "***"' in text
