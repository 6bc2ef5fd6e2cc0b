"""A server's rules (/settings) as the commands read them: blocked phrases on word boundaries
in any case, provider:model rules over a model id's, channels with threads, the registry's
choice of model under a server's default and its allowed models."""

from __future__ import annotations

import asyncio

import pytest

from db import server_settings as stored_settings
from db.database import Database
from presentation.sentences import for_member
from providers.base import Kind
from providers.registry import ModelNotAllowed, ProviderRegistry, UnknownModel
from providers.sandbox import SandboxProvider
from quota.server_settings import (
    ChannelNotAllowed,
    GuildPolicy,
    PromptBlocked,
    ServerSettings,
    _phrase_pattern,
    normalise_phrase,
)
from tests.providers.test_registry import registry


def policy(**values) -> GuildPolicy:
    phrases = tuple(normalise_phrase(p) for p in values.pop("phrases", ()))
    return GuildPolicy(guild_id=1, phrases=phrases, _pattern=_phrase_pattern(phrases), **values)


@pytest.mark.parametrize(
    ("prompt", "blocked"),
    [
        ("a Purple Monkey", True),
        ("PURPLE\t\nmonkey!", True),
        ("purple monkeys", False),
        ("apurple monkey", False),
        ("(purple monkey)", True),
        ("straße", True),  # case-folded: ß is ss
        ("strasse", True),
        ("grass", False),
        ("c++ code", True),  # phrases may hold any character
        ("c++code", True),  # ...and a non-word end needs no word boundary after it
    ],
)
def test_blocked_phrases_match_whole_words_in_any_case(prompt, blocked):
    rules = policy(phrases=["purple  monkey", "STRASSE", "c++", "ass"])
    assert rules.blocked(prompt) is blocked


def test_a_blocked_prompt_is_refused_without_naming_the_phrase():
    with pytest.raises(PromptBlocked) as refusal:
        policy(phrases=["secret word"]).check_prompt("ok", None, "a Secret Word")
    assert "secret" not in for_member(refusal.value).lower()
    policy().check_prompt("anything at all")  # no list, no refusal


def test_channels_none_listed_means_everywhere_and_threads_follow_their_parent():
    assert policy().channel_allowed(5)
    rules = policy(channels=frozenset({10, 11}))
    assert rules.channel_allowed(10) and not rules.channel_allowed(5)
    assert rules.channel_allowed(99, parent_id=11)
    with pytest.raises(ChannelNotAllowed) as refusal:
        rules.check_channel(5)
    sentence = for_member(refusal.value)  # what the member reads
    assert "<#10>" in sentence and "<#11>" in sentence


def test_provider_rules_beat_the_model_ids_rule():
    (spec,) = [s for s in SandboxProvider().models() if s.id == "sandbox-image"]
    assert policy().allows(spec)
    assert not policy(model_rules={"sandbox-image": False}).allows(spec)
    assert policy(model_rules={"sandbox-image": False, "sandbox:sandbox-image": True}).allows(spec)
    assert not policy(model_rules={"sandbox:sandbox-image": False}).allows(spec)


def test_resolve_prefers_the_server_default_then_the_bots_and_skips_refused_models():
    reg = registry()
    both = dict(default="nananobanana:nano-banana", server_default="sandbox:sandbox-image")
    assert reg.resolve(None, Kind.IMAGE, **both).provider == "sandbox"
    refused = policy(model_rules={"sandbox-image": False})
    assert reg.resolve(None, Kind.IMAGE, **both, allowed=refused.allows).provider == "nananobanana"
    nothing_named = reg.resolve(None, Kind.IMAGE, allowed=refused.allows)
    assert refused.allows(nothing_named)


def test_a_named_model_the_server_refuses_is_refused_naming_what_is_allowed():
    reg = registry("nananobanana", "sandbox")
    refused = policy(model_rules={"nano-banana": False})
    with pytest.raises(ModelNotAllowed) as refusal:
        reg.resolve("nano-banana", Kind.IMAGE, allowed=refused.allows)
    assert "not allowed in this server" in for_member(refusal.value)
    assert "sandbox-image" in for_member(refusal.value)
    with pytest.raises(UnknownModel):
        reg.resolve(None, Kind.IMAGE, allowed=lambda spec: False)


def test_unknown_model_lists_only_the_models_the_server_allows():
    reg = registry("nananobanana", "sandbox")
    refused = policy(model_rules={"nano-banana": False})
    with pytest.raises(UnknownModel) as refusal:
        reg.resolve("no-such-model", Kind.IMAGE, allowed=refused.allows)
    assert "nano-banana," not in for_member(refusal.value) and "sandbox-image" in for_member(
        refusal.value
    )


async def test_changes_are_stored_and_never_served_stale(database_target):
    db = await Database.open(database_target)
    try:
        service = ServerSettings(db, clock=lambda: 100.0)
        known = list(ProviderRegistry([SandboxProvider()]).models(Kind.IMAGE))
        assert (await service.policy(7)).phrases == ()  # cached empty
        await service.add_phrase(7, "Bad  Word", actor_id=1)
        await service.set_channel(7, 42, True, actor_id=1)
        await service.set_cost_preview(7, 30)
        assert await service.set_default(7, "image", "sandbox-image") is None
        await service.set_model(7, "sandbox:sandbox-image", False, actor_id=1, known=known)
        fresh = await ServerSettings(db).policy(7)  # another process's view: from the database
        for seen in (await service.policy(7), fresh):
            assert seen.phrases == ("bad word",) and seen.blocked("a BAD word")
            assert seen.channels == frozenset({42}) and seen.cost_preview == 30
            assert seen.defaults == {"image": "sandbox-image"}
            assert seen.model_rules == {"sandbox:sandbox-image": False}
        assert (await service.policy(8)).channels == frozenset()  # servers apart
        with pytest.raises(Exception) as refused:
            await service.set_model(7, "veo-9", False, actor_id=1, known=known)
        assert "not an enabled model" in for_member(refused.value)
    finally:
        await db.close()


async def test_commands_arriving_together_read_the_servers_rules_once(tmp_path, monkeypatch):
    """A burst of commands shares one read of the rules (each would otherwise queue its own
    reads on the database before its reply)."""
    db = await Database.open(tmp_path / "bot.db")
    try:
        reads = 0
        real_load = stored_settings.load

        async def counting_load(*args):
            nonlocal reads
            reads += 1
            return await real_load(*args)

        await ServerSettings(db).add_phrase(7, "bad word", actor_id=1)
        monkeypatch.setattr(stored_settings, "load", counting_load)
        service = ServerSettings(db)
        policies = await asyncio.gather(*(service.policy(7) for _ in range(50)))
        assert reads == 1
        assert all(p.phrases == ("bad word",) for p in policies)
    finally:
        await db.close()


async def test_a_change_made_while_the_rules_are_read_is_never_hidden_by_that_read(
    tmp_path, monkeypatch
):
    db = await Database.open(tmp_path / "bot.db")
    try:
        real_load = stored_settings.load
        read_started, finish_read = asyncio.Event(), asyncio.Event()

        async def slow_first_load(*args):
            loaded = await real_load(*args)
            if not read_started.is_set():
                read_started.set()
                await finish_read.wait()  # the change lands after the read, before its caching
            return loaded

        monkeypatch.setattr(stored_settings, "load", slow_first_load)
        service = ServerSettings(db)
        before = asyncio.create_task(service.policy(7))
        await read_started.wait()
        assert await service.set_channel(7, 42, True, actor_id=1) == frozenset({42})
        finish_read.set()
        assert (await before).channels == frozenset()  # what it read: from before the change
        assert (await service.policy(7)).channels == frozenset({42})  # never cached over it
    finally:
        await db.close()
