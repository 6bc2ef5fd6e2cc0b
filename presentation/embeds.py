"""How jobs and balances look in Discord. Pure functions from data to embeds/text, so the
wording lives in one place and tests can read it."""

from __future__ import annotations

import discord

from jobs.errors import InsufficientCredits, TooManyJobs
from jobs.records import Job, JobState
from presentation.discord_limits import fit_embed
from presentation.sentences.failures import job_failure
from presentation.tunables import SLOW_FACTOR
from quota.service import Balance

COLOUR_WORKING = discord.Colour.gold()
COLOUR_DONE = discord.Colour.green()
COLOUR_FAILED = discord.Colour.red()
PROMPT_PREVIEW = 300


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def preview(text: str, limit: int = PROMPT_PREVIEW) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def progress_bar(percent: int | None, width: int = 12) -> str:
    if percent is None:
        return ""
    percent = max(0, min(100, percent))
    filled = round(width * percent / 100)
    return f"`{'█' * filled}{'░' * (width - filled)}` {percent}%"


def duration_text(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, sec = divmod(seconds, 60)
    return f"{minutes}m {sec:02d}s"


def what_was_made(job: Job) -> tuple[str, str]:
    """("image" / "images" / "video", "is" / "are") for sentences about the result."""
    if job.kind == "video":
        return "video", "is"
    return ("images", "are") if job.request.count > 1 else ("image", "is")


def _stage(job: Job, queue_position: int | None, now: float | None, typical: float | None) -> str:
    """The job's step in the member's words: where it waits, and how long a generation has
    been running against how long this model usually takes (when the provider gives no
    percentage), so a slow job can be told from a stuck one."""
    refused = [r.provider for r in job.routes if r.refused is not None]
    moved = f"{' and '.join(refused)} could not take it; " if refused else ""
    if job.state is JobState.QUEUED:
        if queue_position:
            return f"{moved}Waiting for {job.provider} — {plural(queue_position, 'job')} ahead"
        return f"{moved}Sending to {job.provider}…" if moved else "Starting…"
    if job.state is JobState.SUBMITTING:
        return f"{moved}Sending to {job.provider}…"
    if job.state is JobState.RUNNING:
        if job.progress is not None:
            return f"Generating… {progress_bar(job.progress)}"
        if now is None or job.submitted_at is None:
            return f"Submitted to {job.provider}, generating…"
        elapsed = max(0.0, now - job.submitted_at)
        text = f"Generating… {duration_text(elapsed)} so far"
        if typical:
            if elapsed <= typical * SLOW_FACTOR:
                text += f" (usually about {duration_text(typical)})"
            else:
                text += f" — taking longer than the usual {duration_text(typical)}"
        return text
    if job.state is JobState.DELIVERING:
        return "Downloading the result and posting it…"
    if job.state is JobState.COMPLETED:
        return "Done."
    return "Failed."


def job_card(
    job: Job,
    queue_position: int | None = None,
    *,
    result_url: str | None = None,
    now: float | None = None,
    typical: float | None = None,
) -> discord.Embed:
    """The acknowledgement shown while a job runs (edited as it progresses). ``now`` (the
    engine's clock) and ``typical`` (the model's usual seconds) show a running job's time."""
    what, verb = what_was_made(job)
    if job.state is JobState.FAILED:
        embed = discord.Embed(title=f"Could not make your {what}", colour=COLOUR_FAILED)
        held = job.reserved
        embed.description = (
            f"{job_failure(job.failure)}\n"
            f"Your {plural(held, 'credit')} {'was' if held == 1 else 'were'} returned."
        )
    elif job.state is JobState.COMPLETED:
        embed = discord.Embed(title=f"Your {what} {verb} ready", colour=COLOUR_DONE)
        embed.description = f"[Jump to the result]({result_url})" if result_url else "Posted below."
    else:
        embed = discord.Embed(title=f"Making your {what}", colour=COLOUR_WORKING)
        embed.description = _stage(job, queue_position, now, typical)
    embed.add_field(name="Model", value=f"`{job.model}` ({job.provider})", inline=True)
    cost = job.charged if job.charged is not None else job.quoted
    embed.add_field(name="Cost", value=plural(cost, "credit"), inline=True)
    if job.state is JobState.QUEUED and queue_position is not None:
        embed.add_field(
            name="Queue", value="next" if queue_position == 0 else f"#{queue_position + 1}"
        )
    embed.add_field(name="Prompt", value=preview(job.request.prompt, 200) or "—", inline=False)
    embed.set_footer(text=f"job {job.id}")
    return fit_embed(embed)


def not_started_card(job: Job, refusal: Exception) -> discord.Embed:
    """The job card once the reservation that follows the reply refused the job. It is public,
    so it says why in general words; the member alone gets the full sentence (their balance)."""
    what, _verb = what_was_made(job)
    if isinstance(refusal, InsufficientCredits):
        why = "There were not enough credits left for it."
    elif isinstance(refusal, TooManyJobs):
        why = "Too many generations of this member were already running."
    else:
        why = "It could not be started."
    this = "these" if what == "images" else "this"
    embed = discord.Embed(title=f"Did not start {this} {what}", colour=COLOUR_FAILED)
    embed.description = f"{why} Nothing was charged."
    embed.add_field(name="Model", value=f"`{job.model}` ({job.provider})", inline=True)
    embed.add_field(name="Prompt", value=preview(job.request.prompt, 200) or "—", inline=False)
    embed.set_footer(text=f"job {job.id}")
    return fit_embed(embed)


def balance_embed(member: discord.abc.User, balance: Balance, *, own: bool) -> discord.Embed:
    whose = "Your" if own else f"{member.display_name}'s"
    embed = discord.Embed(title=f"{whose} credits", colour=discord.Colour.blurple())
    embed.description = f"**{balance.left} / {balance.allowance}** credits left"
    embed.add_field(name="Allowance", value=f"{balance.allowance} per period", inline=True)
    embed.add_field(name="Used this period", value=str(balance.used), inline=True)
    embed.add_field(name="Reserved by running jobs", value=str(balance.reserved), inline=True)
    embed.add_field(name="Bonus", value=str(balance.bonus), inline=True)
    if balance.resets_at:
        stamp = int(balance.resets_at.timestamp())
        embed.add_field(name="Resets", value=f"<t:{stamp}:R> (<t:{stamp}:f>)", inline=True)
    else:
        embed.add_field(name="Resets", value="never (no quota period)", inline=True)
    embed.add_field(name="Running jobs", value=str(balance.running_jobs), inline=True)
    return fit_embed(embed)


def running_jobs_text(jobs: list[Job]) -> str:
    lines = []
    for job in jobs[:10]:
        state = {
            JobState.QUEUED: "waiting",
            JobState.SUBMITTING: "starting",
            JobState.RUNNING: "generating",
            JobState.DELIVERING: "uploading",
        }.get(job.state, job.state.value)
        bar = f" {job.progress}%" if job.progress is not None else ""
        held = plural(job.reserved, "credit")
        lines.append(f"`{job.id}` /{job.command} `{job.model}` — {state}{bar} ({held})")
    return "\n".join(lines)


def balance_lines(balances) -> str:
    """The bot's provider accounts, one line each; accounts whose API offers no balance are
    left out (``balances``: (provider, credits, or a word such as "unavailable right now"))."""
    lines = []
    for provider_id, value in balances:
        if isinstance(value, str):
            lines.append(f"{provider_id}: {value}")
        elif value is not None:
            lines.append(f"{provider_id}: {value:g} provider credits")
    return "\n".join(lines)
