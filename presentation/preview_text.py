"""How a cost preview and the answers to its buttons read. Pure functions from data to text
and embeds, kept apart from the flow (presentation/preview.py) so every sentence a member can
meet here is quoted in docs/operating.md (tests/messages.py reads this module's returns)."""

from __future__ import annotations

import discord

from presentation.discord_limits import fit_embed
from presentation.embeds import COLOUR_WORKING, duration_text, plural, preview

LAPSED = (
    "This cost preview lapsed, so nothing was started and nothing was charged. "
    "Run the command again if you still want it."
)
CANCELLED = "Cancelled: nothing was started and nothing was charged."
ALREADY_CONFIRMED = "You already confirmed this job: it runs once and is charged once."
ALREADY_CANCELLED = "You already cancelled this job; nothing was charged."
ALREADY_ANSWERED = "This cost preview was already answered, so nothing more was started."


def why_text(reason: str, threshold: int, left: int) -> str:
    """Why the member is asked, in their words (reason from quota.preview.preview_reason)."""
    if reason == "threshold":
        return f"This server asks members to confirm jobs of {plural(threshold, 'credit')} or more."
    return f"That is more than half of the {plural(left, 'credit')} you have left."


def preview_embed(
    *,
    what: str,
    model: str,
    provider: str,
    prompt: str,
    cost: int,
    left: int,
    reason: str,
    threshold: int,
    typical: float,
    expires_at: float,
) -> discord.Embed:
    """The question: what the job (``what``: "image", "video", …) costs, what the member
    keeps of the ``left`` credits they have, how long it usually takes, and until when
    Confirm works."""
    embed = discord.Embed(title=f"Confirm this {what}?", colour=COLOUR_WORKING)
    embed.description = (
        f"{why_text(reason, threshold, left)}\n"
        "Nothing is reserved or sent to the provider until you press **Confirm**; "
        f"this preview lapses <t:{int(expires_at)}:R>."
    )
    embed.add_field(name="Model", value=f"`{model}` ({provider})", inline=True)
    embed.add_field(name="Cost", value=plural(cost, "credit"), inline=True)
    embed.add_field(name="Balance after", value=plural(left - cost, "credit"), inline=True)
    embed.add_field(name="Expected time", value=f"about {duration_text(typical)}", inline=True)
    embed.add_field(name="Prompt", value=preview(prompt, 200) or "—", inline=False)
    return fit_embed(embed)


def closed_text(state: str) -> str:
    """What the preview message becomes when it is cancelled or lapses."""
    if state == "cancelled":
        return CANCELLED
    return LAPSED


def not_yours_text(user_id: int) -> str:
    return f"Only <@{user_id}>, who asked for this job, can confirm or cancel it."


def answered_text(state: str) -> str:
    """A second press on a preview that was already answered."""
    if state == "confirmed":
        return ALREADY_CONFIRMED
    if state == "cancelled":
        return ALREADY_CANCELLED
    if state == "lapsed":
        return LAPSED
    return ALREADY_ANSWERED
