"""Waiting for the bot: every record change calls ``FakeDiscord.notify``, and waiters
re-check their condition then (and every 20 ms, for bot-side state). A timeout raises with a
digest of recent traffic, bot errors and unknown routes, which is usually the diagnosis.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from .model import CallbackRecord, InteractionRecord, MessageRecord

if TYPE_CHECKING:
    from .server import FakeDiscord

T = TypeVar("T")


class Waiting:
    """Mixed into ``FakeDiscord``."""

    async def wait_until(
        self: FakeDiscord,
        check: Callable[[], T | None],
        timeout: float = 5.0,  # noqa: ASYNC109 - tests want a plain timeout argument
        what: str = "condition",
    ) -> T:
        """Return ``check()``'s first truthy result, re-evaluated whenever a record changes
        and every 20 ms (so it may also watch bot-side state); TimeoutError with a traffic
        digest otherwise."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = check()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(self.report(f"timed out after {timeout}s waiting for {what}"))
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), min(remaining, 0.02))
            except TimeoutError:
                pass

    async def wait_for_callback(
        self: FakeDiscord,
        interaction: InteractionRecord,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> CallbackRecord:
        return await self.wait_until(
            lambda: interaction.callback, timeout, f"a callback to interaction {interaction.name!r}"
        )

    async def wait_for_message(
        self: FakeDiscord,
        channel_id: int,
        predicate: Callable[[MessageRecord], bool] | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> MessageRecord:
        """The first message in the channel (already there or to come, ephemeral included)
        that satisfies ``predicate``, re-checked after every edit. Without a predicate:
        the first that is not a "thinking" placeholder or deleted."""
        check = predicate or (lambda m: not m.loading)

        def find() -> MessageRecord | None:
            return next(
                (m for m in self.messages.get(channel_id, []) if not m.deleted and check(m)), None
            )

        return await self.wait_until(find, timeout, f"a message in channel {channel_id}")

    async def wait_for_original(
        self: FakeDiscord,
        interaction: InteractionRecord,
        predicate: Callable[[MessageRecord], bool] | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> MessageRecord:
        """The interaction's original response once it satisfies ``predicate`` (default: it
        exists and is no longer the "thinking" placeholder)."""
        check = predicate or (lambda m: not m.loading)

        def find() -> MessageRecord | None:
            original = interaction.original
            return original if original is not None and check(original) else None

        return await self.wait_until(
            find, timeout, f"the original response of {interaction.name!r}"
        )

    async def wait_for_followup(
        self: FakeDiscord,
        interaction: InteractionRecord,
        index: int = 0,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> MessageRecord:
        def find() -> MessageRecord | None:
            return interaction.followups[index] if len(interaction.followups) > index else None

        return await self.wait_until(find, timeout, f"followup #{index} of {interaction.name!r}")

    def report(self: FakeDiscord, headline: str) -> str:
        """A digest of recent traffic, appended to timeouts to show what the bot did instead."""
        lines = [headline]
        if self.bot_errors:
            lines.append("bot errors:")
            lines += [f"  {e}" for e in self.bot_errors[-5:]]
        if self.unknown_routes:
            lines.append(f"unknown routes: {self.unknown_routes[-10:]}")
        lines.append("recent requests:")
        lines += [f"  {r.method} {r.path} -> {r.status}" for r in self.requests[-12:]]
        return "\n".join(lines)
