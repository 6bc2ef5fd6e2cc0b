"""A server's own rules for generation (/settings): default models per command, which models
and channels are allowed, phrases refused in prompts, and the cost-preview threshold.

The cogs read a server's rules as one frozen ``GuildPolicy`` (cached: every generation
command and every autocomplete keystroke asks for it) and change them through
``ServerSettings``, which never lets a cached policy outlive a change made by this process.
Another process sharing the database sees a change within ``CACHE_SECONDS``.

Refusals carry their facts (UserFacingError; presentation/sentences/ words them): a refused
prompt never echoes the server's list of phrases, so the list cannot be read out by trying
prompts.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from db import server_settings as stored
from db.database import Database
from jobs.errors import InvalidRequest, NotAllowed
from jobs.ttlcache import TTLCache
from providers.base import ModelSpec
from quota.tunables import (
    CACHE_SECONDS,
    CACHE_SERVERS,
    COST_PREVIEW_MAX,
    PHRASE_MAX,
    PHRASES_MAX,
    REFRESH_AHEAD,
)

log = logging.getLogger(__name__)

COMMAND_KINDS = ("image", "video", "animate")


class ChannelNotAllowed(NotAllowed):
    """Generation is not allowed in this channel; ``channels`` are where it is."""

    channels: frozenset[int]


class PromptBlocked(InvalidRequest):
    """The prompt contains one of the server's blocked phrases (never named)."""


class NotAModel(InvalidRequest):
    """/settings model named a model no enabled provider offers."""

    name: str
    known: tuple[str, ...]  # the enabled models' ids


class PhraseEmpty(InvalidRequest):
    """A phrase to block that is only whitespace."""


class PhraseTooLong(InvalidRequest):
    limit: int  # characters


class TooManyPhrases(InvalidRequest):
    limit: int  # phrases per server


class CostPreviewOutOfRange(InvalidRequest):
    limit: int  # the highest threshold


def normalise_phrase(phrase: str) -> str:
    """Case-folded, with runs of whitespace as one space: how phrases are stored and compared."""
    return " ".join(phrase.casefold().split())


def _phrase_pattern(phrases: Iterable[str]) -> re.Pattern[str] | None:
    """One pattern for every phrase, any whitespace between its words, on word boundaries:
    an end of the phrase that is a letter or digit must not run on into a longer word
    ("ass" is not found in "grass"), an end that is punctuation needs no boundary ("c++")."""
    parts = []
    for phrase in phrases:
        if not phrase:
            continue
        body = r"\s+".join(re.escape(word) for word in phrase.split(" "))
        start = r"(?<!\w)" if re.match(r"\w", phrase) else ""
        end = r"(?!\w)" if re.search(r"\w$", phrase) else ""
        parts.append(f"{start}{body}{end}")
    return re.compile("|".join(parts)) if parts else None


@dataclass(frozen=True)
class GuildPolicy:
    """One server's rules, as read at one moment."""

    guild_id: int
    defaults: Mapping[str, str] = field(default_factory=dict)  # command kind -> model
    model_rules: Mapping[str, bool] = field(default_factory=dict)  # lower-case id -> allowed
    channels: frozenset[int] = frozenset()
    phrases: tuple[str, ...] = ()
    cost_preview: int = 0
    _pattern: re.Pattern[str] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_stored(cls, guild_id: int, settings: stored.StoredSettings) -> GuildPolicy:
        return cls(
            guild_id=guild_id,
            defaults=dict(settings.defaults),
            model_rules=dict(settings.model_rules),
            channels=settings.channels,
            phrases=settings.phrases,
            cost_preview=settings.cost_preview,
            _pattern=_phrase_pattern(settings.phrases),
        )

    # --- models ---------------------------------------------------------------------------

    def allows(self, spec: ModelSpec) -> bool:
        """A provider:model rule first, then the model id's rule; no rule: allowed."""
        rule = self.model_rules.get(spec.qualified_id.lower())
        if rule is None:
            rule = self.model_rules.get(spec.id.lower())
        return True if rule is None else rule

    def default_for(self, command_kind: str) -> str | None:
        return self.defaults.get(command_kind)

    # --- channels -------------------------------------------------------------------------

    def channel_allowed(self, channel_id: int | None, parent_id: int | None = None) -> bool:
        """No channel listed: everywhere. A thread counts as its parent channel too."""
        if not self.channels:
            return True
        return channel_id in self.channels or (parent_id is not None and parent_id in self.channels)

    def check_channel(self, channel_id: int | None, parent_id: int | None = None) -> None:
        if self.channel_allowed(channel_id, parent_id):
            return
        raise ChannelNotAllowed(channels=self.channels)

    # --- prompts --------------------------------------------------------------------------

    def blocked(self, *texts: str | None) -> bool:
        if self._pattern is None:
            return False
        return any(text and self._pattern.search(text.casefold()) for text in texts)

    def check_prompt(self, *texts: str | None) -> None:
        if self.blocked(*texts):
            raise PromptBlocked()


@dataclass(frozen=True)
class ModelChange:
    """What /settings model changed: the rule key stored and the models now (dis)allowed."""

    key: str
    enabled: bool
    affected: tuple[ModelSpec, ...]


class ServerSettings:
    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], float] = time.time,
        cache_seconds: float = CACHE_SECONDS,
    ) -> None:
        self.db = db
        self.clock = clock
        # guild -> (when its read began, monotonic; the rules)
        self._cache: TTLCache[int, tuple[float, GuildPolicy]] = TTLCache(
            CACHE_SERVERS, cache_seconds
        )
        self._refresh_after = cache_seconds * REFRESH_AHEAD
        self._loading: dict[int, asyncio.Task[GuildPolicy]] = {}

    async def policy(self, guild_id: int) -> GuildPolicy:
        """The server's rules, from the cache. Commands that miss it together share one read
        (a burst of 100 commands would otherwise queue 100 reads before their replies), and
        rules in steady use are read again in the background before they expire, so a
        command seldom waits on the database for them."""
        cached = self._cache.get(guild_id)
        if cached is not None:
            read_at, policy = cached
            if time.monotonic() - read_at > self._refresh_after:
                self.prefetch(guild_id)
            return policy
        loading = self._loading.get(guild_id) or self._start_read(guild_id)
        return await asyncio.shield(loading)  # one waiter cancelled stops no one else's read

    def prefetch(self, guild_id: int) -> None:
        """Read the server's rules in the background unless a read is on its way (start-up
        warms the cache with this for every server the bot is in)."""
        if guild_id not in self._loading:
            self._start_read(guild_id)

    def _start_read(self, guild_id: int) -> asyncio.Task[GuildPolicy]:
        task = asyncio.create_task(self._load(guild_id), name=f"server-rules-{guild_id}")
        self._loading[guild_id] = task
        task.add_done_callback(_retrieve)
        return task

    async def _load(self, guild_id: int) -> GuildPolicy:
        this = asyncio.current_task()
        began = time.monotonic()
        try:
            policy = GuildPolicy.from_stored(guild_id, await stored.load(self.db, guild_id))
        finally:
            current = self._loading.get(guild_id) is this  # else a change came meanwhile
            if current:
                del self._loading[guild_id]
        if current:
            self._cache.set(guild_id, (began, policy))
        return policy

    def _changed(self, guild_id: int) -> None:
        """A change was stored: forget the cached rules, and keep a read that may have begun
        before the change from filling the cache (its waiters still get what it read)."""
        self._cache.discard(guild_id)
        self._loading.pop(guild_id, None)

    async def set_default(self, guild_id: int, command_kind: str, model: str | None) -> str | None:
        """Store the server's default model for ``command_kind`` (None clears it); returns the
        one it replaced. Whether the model can do the job is the caller's check."""
        if command_kind not in COMMAND_KINDS:
            raise ValueError(f"unknown command kind {command_kind!r}")
        before = (await self.policy(guild_id)).default_for(command_kind)
        await stored.set_default(self.db, guild_id, command_kind, model, self.clock())
        self._changed(guild_id)
        return before

    async def set_model(
        self,
        guild_id: int,
        name: str,
        enabled: bool,
        *,
        actor_id: int,
        known: Iterable[ModelSpec],
    ) -> ModelChange:
        """Allow or refuse a model in this server. ``name`` is a model id (every provider's:
        it replaces any provider:model rule for that id) or provider:model (that provider's
        only). Raises NotAModel when ``name`` matches none of ``known``."""
        key = name.strip().lower()
        provider_id, _, model_id = key.rpartition(":")
        matches = tuple(
            spec
            for spec in known
            if spec.id.lower() == model_id and (not provider_id or spec.provider == provider_id)
        )
        if not matches:
            raise NotAModel(name=name.strip(), known=tuple(sorted({spec.id for spec in known})))
        now = self.clock()
        if not provider_id:
            await stored.replace_model_rules(
                self.db, guild_id, model_id, None if enabled else False, actor_id, now
            )
        else:
            broad = (await self.policy(guild_id)).model_rules.get(model_id, True)
            rule = None if enabled == broad else enabled  # no rule where the id's rule says it
            await stored.set_model_rule(self.db, guild_id, key, rule, actor_id, now)
        self._changed(guild_id)
        return ModelChange(key, enabled, matches)

    async def set_channel(
        self, guild_id: int, channel_id: int, allowed: bool, *, actor_id: int
    ) -> frozenset[int]:
        """Add or remove a channel where generation is allowed; returns the channels now."""
        await stored.set_channel(self.db, guild_id, channel_id, allowed, actor_id, self.clock())
        self._changed(guild_id)
        return (await self.policy(guild_id)).channels

    async def add_phrase(self, guild_id: int, phrase: str, *, actor_id: int) -> tuple[str, bool]:
        """Block ``phrase`` in prompts; (the phrase as stored, whether it was new)."""
        normal = normalise_phrase(phrase)
        if not normal:
            raise PhraseEmpty()
        if len(normal) > PHRASE_MAX:
            raise PhraseTooLong(limit=PHRASE_MAX)
        policy = await self.policy(guild_id)
        if normal in policy.phrases:
            return normal, False
        if len(policy.phrases) >= PHRASES_MAX:
            raise TooManyPhrases(limit=PHRASES_MAX)
        added = await stored.add_phrase(self.db, guild_id, normal, actor_id, self.clock())
        self._changed(guild_id)
        return normal, added

    async def remove_phrase(self, guild_id: int, phrase: str) -> tuple[str, bool]:
        normal = normalise_phrase(phrase)
        removed = await stored.remove_phrase(self.db, guild_id, normal)
        self._changed(guild_id)
        return normal, removed

    async def set_cost_preview(self, guild_id: int, credits: int) -> int:
        """Store the cost-preview threshold (0 = off); returns the one it replaced."""
        if not 0 <= credits <= COST_PREVIEW_MAX:
            raise CostPreviewOutOfRange(limit=COST_PREVIEW_MAX)
        before = (await self.policy(guild_id)).cost_preview
        await stored.set_cost_preview(self.db, guild_id, credits, self.clock())
        self._changed(guild_id)
        return before


def _retrieve(task: asyncio.Task[GuildPolicy]) -> None:
    """A background read's failure is not lost: it is logged (a waiting command gets it too)."""
    if not task.cancelled() and task.exception() is not None:
        log.warning("reading a server's rules failed: %r", task.exception())
