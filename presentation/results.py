"""The messages that carry a finished result, built to fit Discord's limits whatever the input.

A result is one main message (mention, result embed, up to ten files, the buttons) plus, when
needed, follow-up messages: files past the tenth, and links that do not fit the embed. Three
shapes, each smaller than the one before, so that a message Discord refuses can be sent again
in a form it takes, and what was made is never thrown away:

* ``FULL``  — files attached, links for what could not be attached;
* ``LINKS`` — no uploads: every file as a link (Discord refused the upload);
* ``PLAIN`` — text only, no embeds or buttons (Discord refused the embeds).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import timedelta

import discord

from jobs.media import MediaFile
from jobs.records import Job
from presentation.discord_limits import (
    CONTENT_MAX,
    EMBED_FIELD_VALUE_MAX,
    EMBEDS_MAX,
    EMBEDS_TOTAL_MAX,
    FILES_MAX,
    chunk_lines,
    clip,
    embed_text_length,
    fit_embed,
    is_web_url,
)
from presentation.embeds import COLOUR_DONE, duration_text, plural, preview, what_was_made
from providers.base import Media

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif")
LINK_FIELDS_MAX = 3  #: Download fields in the result embed before links move to a follow-up
FIELD_NAME_ROOM = 10  #: characters a Download field's name takes at most


class Shape(enum.Enum):
    FULL = "full"
    LINKS = "links"
    PLAIN = "plain"


@dataclass
class Outgoing:
    """One message to post; ``buttons`` asks for the result's Re-roll / Animate view."""

    content: str = ""
    embeds: list[discord.Embed] = field(default_factory=list)
    files: list[MediaFile] = field(default_factory=list)
    buttons: bool = False


@dataclass(frozen=True)
class Result:
    """What the engine hands over: downloaded files and the media left as links."""

    job: Job
    elapsed: float
    files: list[MediaFile]
    links: list[Media]
    link_ttl: timedelta | None
    oversized: bool = False
    unfetched: int = 0  # files neither attached nor linked: refused, and not safe to link


def build(
    result: Result, shape: Shape, *, note: str = "", headline: str | None = None
) -> list[Outgoing]:
    """The messages of ``result`` in ``shape``; the first is the main message. ``note``
    tells the member why the result looks the way it does (a fallback's true reason);
    ``headline`` replaces the opening "@member your image is ready!" (/show)."""
    job = result.job
    what, verb = what_was_made(job)
    mention = headline if headline is not None else f"<@{job.user_id}> your {what} {verb} ready!"
    content = clip(" ".join(p for p in (mention, _unfetched_note(result), note) if p), CONTENT_MAX)
    files = result.files if shape is Shape.FULL else []
    links = [m.url for m in result.links]
    if shape is not Shape.FULL:
        links = [f.source_url for f in result.files if f.source_url] + links
    if shape is Shape.PLAIN:
        return _plain(result, content, links)

    embed = _result_embed(result)
    thumbnail = next((m.thumbnail_url for m in result.links if is_web_url(m.thumbnail_url)), None)
    if thumbnail:
        embed.set_image(url=thumbnail)
    elif files and files[0].filename.lower().endswith(IMAGE_SUFFIXES):
        embed.set_image(url=f"attachment://{files[0].filename}")
    overflow = _add_link_fields(embed, _link_header(result, shape), links) if links else []
    main = Outgoing(content=content, embeds=[fit_embed(embed)], files=files[:FILES_MAX])
    main.buttons = True
    messages = [main]
    for start in range(FILES_MAX, len(files), FILES_MAX):
        messages.append(Outgoing(files=files[start : start + FILES_MAX]))
    messages.extend(_link_messages(overflow, job))
    return messages


def _unfetched_note(result: Result) -> str:
    """The member's words for files the bot would not download and cannot link."""
    if not result.unfetched:
        return ""
    files = plural(result.unfetched, "file")
    return (
        f"({files} of this result could not be fetched safely from the provider, so "
        f"{'it is' if result.unfetched == 1 else 'they are'} not shown.)"
    )


def _result_embed(result: Result) -> discord.Embed:
    job = result.job
    embed = discord.Embed(description=preview(job.request.prompt), colour=COLOUR_DONE)
    embed.add_field(name="Model", value=f"`{job.model}` ({job.provider})", inline=True)
    cost = job.charged if job.charged is not None else job.reserved
    embed.add_field(name="Cost", value=plural(cost, "credit"), inline=True)
    embed.add_field(name="Time", value=duration_text(result.elapsed), inline=True)
    embed.set_footer(text=f"job {job.id}")
    return fit_embed(embed)


def _link_header(result: Result, shape: Shape) -> str:
    if shape is Shape.FULL:
        why = "too large to upload in this server" if result.oversized else "not downloadable"
        header = f"The file was {why}, so it is linked here."
    else:
        header = "Here are the links to your files."
    ttl = result.link_ttl
    if ttl and ttl.days:
        header += f" Links stay valid for {plural(ttl.days, 'day')}."
    elif ttl:
        header += " Links may expire."
    return header


def _add_link_fields(embed: discord.Embed, header: str, urls: list[str]) -> list[str]:
    """Put as many links as fit into Download fields; returns the links left over."""
    budget = EMBEDS_TOTAL_MAX - embed_text_length(embed)
    values = [header]
    overflow = []
    for url in urls:
        line = f"<{url}>"
        if len(values[-1]) + 1 + len(line) <= EMBED_FIELD_VALUE_MAX:
            candidate = [*values[:-1], f"{values[-1]}\n{line}"]
        elif len(line) <= EMBED_FIELD_VALUE_MAX and len(values) < LINK_FIELDS_MAX:
            candidate = [*values, line]
        else:
            overflow.append(url)
            continue
        if sum(map(len, candidate)) + FIELD_NAME_ROOM * len(candidate) > budget:
            overflow.append(url)
            continue
        values = candidate
    for index, value in enumerate(values):
        embed.add_field(name=_field_name(index), value=value, inline=False)
    return overflow


def _field_name(index: int) -> str:
    return "Download" if index == 0 else "More links"


def _link_messages(urls: list[str], job: Job) -> list[Outgoing]:
    """Links that did not fit the result embed: one titled link embed each, ten a message.
    A URL Discord cannot link (not http(s), or over its URL limit) is named, not dropped."""
    linkable = [u for u in urls if is_web_url(u)]
    messages = []
    for start in range(0, len(linkable), EMBEDS_MAX):
        embeds = [
            discord.Embed(title=f"Download {start + i + 1}", url=url, colour=COLOUR_DONE)
            for i, url in enumerate(linkable[start : start + EMBEDS_MAX])
        ]
        messages.append(Outgoing(embeds=embeds))
    unlinkable = len(urls) - len(linkable)
    if unlinkable:
        messages.append(Outgoing(content=_unlinkable_text(unlinkable, job)))
    return messages


def _unlinkable_text(count: int, job: Job) -> str:
    return (
        f"{plural(count, 'file link')} of job `{job.id}` {'is' if count == 1 else 'are'} too "
        "long for Discord to show. The bot keeps the link with the job."
    )


def _plain(result: Result, content: str, urls: list[str]) -> list[Outgoing]:
    job = result.job
    summary = f"“{preview(job.request.prompt, 200)}” · `{job.model}` · job {job.id}"
    lines = [summary] + [f"<{u}>" for u in urls if len(u) + 2 <= CONTENT_MAX]
    unshown = sum(1 for u in urls if len(u) + 2 > CONTENT_MAX)
    if unshown:
        lines.append(_unlinkable_text(unshown, job))
    first, *rest = chunk_lines([content, *lines], CONTENT_MAX)
    return [Outgoing(content=first)] + [Outgoing(content=text) for text in rest]
