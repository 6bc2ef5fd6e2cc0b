"""/status as an embed: one field per enabled provider (how it has been answering, whether the
bot has paused it, this bot's jobs there), and for moderators the bot's provider accounts.
At most a handful of providers, each field a few short lines: within Discord's limits by
construction, and fit_embed clips anything a provider's words make longer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import discord

from presentation.discord_limits import EMBED_FIELD_VALUE_MAX, clip, fit_embed
from presentation.embeds import balance_lines, plural

PROVIDERS_SHOWN = 10  # five providers exist; room for more without crowding out the accounts
PROVIDER_NAME_MAX = 64
PROVIDER_TEXT_MAX = 400  # four short lines; a provider's long words (its failure path) clipped
# 10 x (64 + 400) + the accounts field (1024) + title and description: under Discord's 6000
COLOUR_OK = discord.Colour.green()
COLOUR_PAUSED = discord.Colour.orange()


class HealthShown(Protocol):
    """What is shown of a provider's recent record (jobs.health.ProviderHealthReport)."""

    requests: int
    failures: int
    rate_limited: int
    latency_p50: float | None
    latency_p95: float | None
    paused_for: float
    last_failure: str | None

    @property
    def error_rate(self) -> float | None: ...

    @property
    def paused(self) -> bool: ...


class StatusShown(Protocol):
    """One provider's line of /status (jobs.status.ProviderStatus)."""

    provider: str
    health: HealthShown
    queued: int
    running: int
    window_seconds: float  # how far back ``health`` looks


def _seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.1f} s"


def _minutes(seconds: float) -> str:
    return plural(round(seconds / 60), "minute")


def provider_lines(status: StatusShown) -> str:
    health = status.health
    lines = []
    if health.paused:
        lines.append(
            f"**Paused** for {round(health.paused_for)} s more: no new job goes here while "
            "another provider can take it"
            + (f" (last failure: {health.last_failure})" if health.last_failure else "")
        )
    if health.requests == 0:
        lines.append(f"No requests in the last {_minutes(status.window_seconds)}.")
    else:
        rate = health.error_rate or 0.0
        line = f"Errors: {health.failures} of {plural(health.requests, 'request')} ({rate:.0%})"
        if health.rate_limited:
            line += f", {health.rate_limited} rate-limited"
        lines.append(line)
        if health.latency_p50 is not None and health.latency_p95 is not None:
            lines.append(
                f"Latency: p50 {_seconds(health.latency_p50)} · p95 {_seconds(health.latency_p95)}"
            )
    lines.append(f"Jobs: {status.queued} queued, {status.running} running")
    return "\n".join(lines)


def status_embed(
    statuses: Sequence[StatusShown], accounts: list[tuple[str, float | str | None]] | None
) -> discord.Embed:
    """``accounts``: the bot's provider balances, for moderators only (None for members)."""
    paused = [s.provider for s in statuses if s.health.paused]
    embed = discord.Embed(
        title="Provider status",
        colour=COLOUR_PAUSED if paused else COLOUR_OK,
        description=(
            f"How each provider answered the bot over the last "
            f"{_minutes(statuses[0].window_seconds)}, and the jobs there now."
            if statuses
            else "No provider is enabled on this bot."
        ),
    )
    for status in statuses[:PROVIDERS_SHOWN]:
        paused = " (paused)" if status.health.paused else ""
        name = clip(status.provider, PROVIDER_NAME_MAX - len(paused)) + paused
        value = clip(provider_lines(status), PROVIDER_TEXT_MAX)
        embed.add_field(name=name, value=value, inline=False)
    if len(statuses) > PROVIDERS_SHOWN:
        hidden = len(statuses) - PROVIDERS_SHOWN
        embed.description = f"{embed.description} ({hidden} more not shown.)"
    balances = balance_lines(accounts or [])
    if balances:
        value = clip(balances, EMBED_FIELD_VALUE_MAX)
        embed.add_field(name="Bot's provider accounts", value=value, inline=False)
    return fit_embed(embed)
