"""How a member's past jobs look: /history's pages, /show's re-post and its autocomplete.

Every piece is bounded before it is put together, so a page of ten jobs with the longest
prompts, model ids and media links still fits one embed (EMBEDS_TOTAL_MAX) without a field
being dropped."""

from __future__ import annotations

import discord

from jobs.records import HistoryPage, Job, JobState
from presentation.discord_limits import (
    CHOICE_NAME_MAX,
    EMBED_FIELD_VALUE_MAX,
    clip,
    fit_embed,
    is_web_url,
)
from presentation.embeds import plural, preview
from presentation.sentences import job_failure

PROMPT_SHOWN = 100  #: characters of a prompt on a /history line
FAILURE_SHOWN = 100  #: characters of why a job failed
MODEL_SHOWN = 60  #: characters of a model id (ids are short; a provider could send a long one)
LINK_SHOWN = 200  #: a media link longer than this is left to /show, not printed in the page
CHOICE_PROMPT_MIN = 10  #: prompt characters an autocomplete name keeps at the least

STATE_WORDS = {
    JobState.QUEUED: "⏳ waiting",
    JobState.SUBMITTING: "⏳ starting",
    JobState.RUNNING: "⏳ generating",
    JobState.DELIVERING: "⏳ posting",
    JobState.COMPLETED: "✅ done",
    JobState.FAILED: "❌ failed",
}
BUTTON_COMMANDS = {"reroll": "Re-roll", "edit": "Edit"}  # jobs started by a result button


def jump_url(guild_id: int, channel_id: int, message_id: int) -> str:
    return f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"


def command_label(job: Job) -> str:
    button = BUTTON_COMMANDS.get(job.command)
    return f"{button} button" if button else f"/{job.command}"


def cost_text(job: Job) -> str:
    """What the job cost the member: the charge once settled, nothing once refunded, and the
    credits held while it runs."""
    if job.charged is not None:
        return plural(job.charged, "credit")
    if job.state is JobState.FAILED:
        return "0 credits (refunded)"
    return f"{plural(job.reserved, 'credit')} held"


def result_link(job: Job) -> str:
    """Where the result is: the delivered message, else the first media link short enough to
    print; empty when there is neither (a failed job, or media only /show can fetch)."""
    if job.state is not JobState.COMPLETED:
        return ""
    if job.result_message_id:
        url = jump_url(job.guild_id, job.channel_id, job.result_message_id)
        return f"[Jump to the result]({url})"
    for media in job.media:
        if is_web_url(media.url, limit=LINK_SHOWN):
            return f"[Media link](<{media.url}>)"
    return f"`/show job:{job.id}` posts it again"


def _job_field(job: Job, number: int) -> tuple[str, str]:
    name = f"{number}. {STATE_WORDS.get(job.state, job.state.value)} · {command_label(job)}"
    model = clip(job.model, MODEL_SHOWN)
    lines = [
        f"“{preview(job.request.prompt, PROMPT_SHOWN)}”" if job.request.prompt else "(no prompt)",
        f"`{model}` ({job.provider}) · {cost_text(job)} · <t:{int(job.created_at)}:R>",
    ]
    if job.state is JobState.FAILED and job.failure:
        lines.append(preview(job_failure(job.failure), FAILURE_SHOWN))
    link = result_link(job)
    lines.append(f"job `{job.id}`" + (f" · {link}" if link else ""))
    return name, clip("\n".join(lines), EMBED_FIELD_VALUE_MAX)


def history_embed(page: HistoryPage, *, whose: str = "Your") -> discord.Embed:
    """One page of jobs, newest first."""
    embed = discord.Embed(title=f"{whose} jobs in this server", colour=discord.Colour.blurple())
    embed.description = (
        f"Page {page.number} of {page.pages} · {plural(page.total, 'job')}, newest first"
    )
    for offset, job in enumerate(page.jobs):
        name, value = _job_field(job, page.first + offset)
        embed.add_field(name=name, value=value, inline=False)
    embed.set_footer(text="/show job:<id> posts a finished job again, with its buttons.")
    return fit_embed(embed)


def no_history_text() -> str:
    return "You have no jobs in this server yet. /image, /video and /animate start one."


def job_choice_name(job: Job) -> str:
    """An autocomplete label: id · prompt preview · model, within CHOICE_NAME_MAX."""
    model = clip(job.model, MODEL_SHOWN)
    room = CHOICE_NAME_MAX - len(job.id) - len(model) - len(" ·  · ")
    prompt = preview(" ".join(job.request.prompt.split()), max(room, CHOICE_PROMPT_MIN))
    return clip(f"{job.id} · {prompt} · {model}", CHOICE_NAME_MAX)


def show_headline(job: Job, shown_by: int, *, public: bool) -> str:
    """The first line of a re-posted job. Mentions are written, never pinged (the message's
    allowed_mentions is none)."""
    made = f"<t:{int(job.created_at)}:R>"
    if not public:
        return f"Job `{job.id}`, made {made}."
    if shown_by == job.user_id:
        return f"<@{shown_by}> shows their job `{job.id}`, made {made}."
    return f"<@{shown_by}> shows job `{job.id}` by <@{job.user_id}>, made {made}."


def posted_text(url: str) -> str:
    return f"Posted in the channel: [jump to it]({url})"
