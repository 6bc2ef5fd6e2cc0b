"""What a cost preview says (presentation/preview.py shows it): why the member is asked, the
note under it, and the answers to its Confirm / Cancel buttons."""

from __future__ import annotations

from presentation.embeds import plural

LAPSED = (
    "This cost preview lapsed, so nothing was started and nothing was charged. "
    "Run the command again if you still want it."
)
CANCELLED = "Cancelled: nothing was started and nothing was charged."
ALREADY_CONFIRMED = "You already confirmed this job: it runs once and is charged once."
ALREADY_CANCELLED = "You already cancelled this job; nothing was charged."
ALREADY_ANSWERED = "This cost preview was already answered, so nothing more was started."


def preview_title(what: str) -> str:
    """``what``: "image", "images" or "video"."""
    return f"Confirm this {what}?"


def why_asked(reason: str, threshold: int, left: int) -> str:
    """Why the member is asked (``reason`` from quota.preview.preview_reason)."""
    if reason == "threshold":
        return f"This server asks members to confirm jobs of {plural(threshold, 'credit')} or more."
    return f"That is more than half of the {plural(left, 'credit')} you have left."


def preview_note(expires_at: float) -> str:
    return (
        "Nothing is reserved or sent to the provider until you press **Confirm**; "
        f"this preview lapses <t:{int(expires_at)}:R>."
    )


def closed(state: str) -> str:
    """What the preview message becomes when it is cancelled or lapses."""
    if state == "cancelled":
        return CANCELLED
    return LAPSED


def not_yours(user_id: int) -> str:
    return f"Only <@{user_id}>, who asked for this job, can confirm or cancel it."


def answered(state: str) -> str:
    """A second press on a preview that was already answered."""
    if state == "confirmed":
        return ALREADY_CONFIRMED
    if state == "cancelled":
        return ALREADY_CANCELLED
    if state == "lapsed":
        return LAPSED
    return ALREADY_ANSWERED
