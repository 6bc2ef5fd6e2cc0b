"""Cost preview (SPEC §3): a job at or above the server's ``cost_preview`` setting, or costing
more than half of what the member has left (quota.preview), is first shown with its cost, the
balance after and the expected time, with Confirm / Cancel buttons.

Decisions, so a reader knows what to expect:

* The preview is ephemeral: only the member sees it. A job at or above the server's threshold
  is known to need it before any answer, and the preview is the first answer. A job above half
  of what the member has left is known to need it only in the reservation, which follows the
  job card (presentation/launch.py): that card is taken back (deleted) and the preview follows
  as an ephemeral followup. When the price was slow to come and the command had to be
  deferred, the preview replaces the public "thinking…" message instead (Discord keeps a
  deferral's visibility). Either way only the member may press its buttons.
* Nothing is reserved or sent to a provider before Confirm. Confirm checks again what may have
  changed in that minute — the server's channel and model rules and blocked phrases, the bot's
  permissions in the channel, a restart under way — and then reserves exactly as the command
  would have (quota and running jobs are checked there), at the cost shown.
* On Confirm the preview message becomes the job card, edited as the job moves through the
  Confirm press's own interaction; the result is posted in the channel as usual. The card is
  therefore seen by the member only; the result, as always, by everyone.
* One press wins: a preview leaves PENDING before anything is awaited, so a second Confirm
  (double click, two devices) starts nothing; Cancel says nothing was charged.
* After PREVIEW_SECONDS a preview lapses: its buttons answer that it lapsed, and its message
  is edited to say so (while the interaction's token still allows edits).
* Previews live in memory only: a restart forgets them (nothing was reserved for them), and a
  press on one from before the restart says it lapsed.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import discord

from jobs.errors import UserFacingError
from jobs.records import Job
from jobs.ttlcache import TTLCache
from presentation import sentences
from presentation.discord_limits import CONTENT_MAX, clip, fit_embed
from presentation.embeds import COLOUR_WORKING, duration_text, plural, preview, what_was_made
from presentation.sentences import preview as said
from presentation.tunables import ANSWERED_KEPT, PREVIEW_SECONDS, PREVIEWS_KEPT
from quota.preview import PreviewNeeded

log = logging.getLogger(__name__)


class Timebase(Protocol):
    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class State(enum.Enum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    LAPSED = "lapsed"
    REFUSED = "refused"  # Confirm found that something had changed; the refusal was shown


#: Runs the job as the command would have, answering the Confirm press (its interaction).
Start = Callable[[discord.Interaction], Awaitable[Any]]


@dataclass(eq=False)
class Preview:
    id: str  # the id the job gets when confirmed
    user_id: int  # the member who ran the command: the only one who may answer
    expires_at: float  # timebase seconds
    start: Start
    token_expires_at: float  # timebase seconds: past this the preview cannot be edited
    state: State = State.PENDING
    edit: Callable[..., Awaitable[Any]] | None = None  # edits the preview message, once sent


class PreviewBook:
    """The previews waiting for an answer, and the timers that lapse them."""

    def __init__(self, timebase: Timebase) -> None:
        self.timebase = timebase
        self._previews: TTLCache[str, Preview] = TTLCache(
            PREVIEWS_KEPT, ANSWERED_KEPT, clock=timebase.now
        )
        self._timers: set[asyncio.Task[None]] = set()

    def lapse_time(self) -> float:
        """When a preview shown now lapses."""
        return self.timebase.now() + PREVIEW_SECONDS

    def get(self, preview_id: str) -> Preview | None:
        return self._previews.get(preview_id)

    def add(self, preview: Preview) -> None:
        self._previews.set(preview.id, preview)
        timer = asyncio.create_task(self._lapse_later(preview), name=f"preview-{preview.id}")
        self._timers.add(timer)
        timer.add_done_callback(self._timers.discard)

    def answer(self, preview: Preview, state: State) -> bool:
        """Move a pending preview to ``state``: True for the one press that does it. A
        preview past its time lapses here, whether or not its timer has run yet."""
        if preview.state is State.PENDING and self.timebase.now() >= preview.expires_at:
            preview.state = State.LAPSED
        if preview.state is not State.PENDING:
            return False
        preview.state = state
        return True

    async def _lapse_later(self, preview: Preview) -> None:
        await self.timebase.sleep(preview.expires_at - self.timebase.now())
        if preview.state is not State.PENDING:
            return  # answered in time, or a press found it lapsed and said so
        preview.state = State.LAPSED
        if preview.edit is None or self.timebase.now() >= preview.token_expires_at:
            return  # Discord would refuse the edit; a press still says it lapsed
        try:
            await preview.edit(content=said.closed(State.LAPSED.value), embed=None, view=None)
        except discord.HTTPException as exc:
            log.info("preview=%s lapse edit failed status=%s", preview.id, exc.status)

    def close(self) -> None:
        """Stop the timers (the bot is stopping; pending previews are forgotten)."""
        for timer in list(self._timers):
            timer.cancel()


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
    embed = discord.Embed(title=said.preview_title(what), colour=COLOUR_WORKING)
    embed.description = (
        f"{said.why_asked(reason, threshold, left)}\n{said.preview_note(expires_at)}"
    )
    embed.add_field(name="Model", value=f"`{model}` ({provider})", inline=True)
    embed.add_field(name="Cost", value=plural(cost, "credit"), inline=True)
    embed.add_field(name="Balance after", value=plural(left - cost, "credit"), inline=True)
    embed.add_field(name="Expected time", value=f"about {duration_text(typical)}", inline=True)
    embed.add_field(name="Prompt", value=preview(prompt, 200) or "—", inline=False)
    return fit_embed(embed)


class PreviewButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"bb:preview:(?P<action>confirm|cancel):(?P<id>[0-9a-f]{4,32})",
):
    """Confirm or Cancel on a preview. Dynamic (matched by custom id), so a press on a
    preview from before a restart still reaches the bot and is told it lapsed."""

    def __init__(self, action: str, preview_id: str) -> None:
        confirm = action == "confirm"
        super().__init__(
            discord.ui.Button(
                label="Confirm" if confirm else "Cancel",
                style=discord.ButtonStyle.success if confirm else discord.ButtonStyle.secondary,
                custom_id=f"bb:preview:{action}:{preview_id}",
            )
        )
        self.action = action
        self.preview_id = preview_id

    @classmethod
    async def from_custom_id(cls, interaction, item, match):
        return cls(match["action"], match["id"])

    async def callback(self, interaction: discord.Interaction) -> None:
        bot: Any = interaction.client  # bot.BananaBot: its previews and its error replies
        confirm = self.action == "confirm"
        try:
            await press(bot.previews, interaction, self.preview_id, confirm=confirm)
        except Exception as exc:  # refusals and surprises alike get an ephemeral answer
            await bot.report_error(interaction, exc)


def preview_view(preview_id: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(PreviewButton("confirm", preview_id))
    view.add_item(PreviewButton("cancel", preview_id))
    return view


async def offer(
    book: PreviewBook,
    interaction: discord.Interaction,
    job: Job,
    needed: PreviewNeeded,
    *,
    threshold: int,
    typical: float,
    how: str,
    token_expires_at: float,
    start: Start,
) -> None:
    """Show ``job`` (built, priced, not stored) as a preview instead of starting it: ``how``
    is "send" (the first answer, ephemeral), "edit" (it replaces the public "thinking…"
    message of a deferral) or "followup" (an ephemeral followup, the first answer taken)."""
    preview = Preview(
        id=job.id,
        user_id=job.user_id,
        expires_at=book.lapse_time(),
        start=start,
        token_expires_at=token_expires_at,
    )
    embed = preview_embed(
        what=what_was_made(job)[0],
        model=job.model,
        provider=job.provider,
        prompt=job.request.prompt,
        cost=job.reserved,
        left=needed.balance.left,
        reason=needed.reason,
        threshold=threshold,
        typical=typical,
        expires_at=preview.expires_at,
    )
    book.add(preview)  # before the message exists, so no press can come before it
    view = preview_view(preview.id)
    try:
        if how == "edit":
            await interaction.edit_original_response(embed=embed, view=view)
            preview.edit = interaction.edit_original_response
        elif how == "followup":
            message = await interaction.followup.send(
                embed=embed, view=view, ephemeral=True, wait=True
            )
            preview.edit = message.edit
        else:
            await interaction.response.send_message(embed=embed, view=view, ephemeral=True)
            preview.edit = interaction.edit_original_response
    except BaseException:
        preview.state = State.LAPSED  # never shown: nothing can confirm it
        raise
    log.info(
        "job=%s previewed user=%s cost=%d reason=%s",
        job.id,
        job.user_id,
        job.reserved,
        needed.reason,
    )


async def press(
    book: PreviewBook, interaction: discord.Interaction, preview_id: str, *, confirm: bool
) -> None:
    """A press on Confirm or Cancel."""
    preview = book.get(preview_id)
    if preview is None:  # lapsed long ago, or shown before a restart
        await _replace(interaction, said.closed(State.LAPSED.value))
        return
    if interaction.user.id != preview.user_id:
        await interaction.response.send_message(
            said.not_yours(preview.user_id),
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )
        return
    if not book.answer(preview, State.CONFIRMED if confirm else State.CANCELLED):
        if preview.state is State.LAPSED:
            await _replace(interaction, said.closed(State.LAPSED.value))
        else:
            await interaction.response.send_message(
                said.answered(preview.state.value), ephemeral=True
            )
        return
    if not confirm:
        log.info("job=%s preview cancelled", preview.id)
        await _replace(interaction, said.closed(State.CANCELLED.value))
        return
    log.info("job=%s preview confirmed", preview.id)
    try:
        await preview.start(interaction)
    except UserFacingError as refusal:  # something changed since the preview: say what
        preview.state = State.REFUSED
        if interaction.response.is_done():
            raise
        await _replace(interaction, clip(sentences.for_member(refusal) or "", CONTENT_MAX))
    except BaseException:
        preview.state = State.REFUSED
        raise


async def _replace(interaction: discord.Interaction, text: str) -> None:
    """Turn the preview message (the pressed button's message) into ``text``, buttons gone."""
    await interaction.response.edit_message(content=text, embed=None, view=None)
