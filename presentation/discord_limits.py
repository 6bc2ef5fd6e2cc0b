"""Discord's documented limits, each named once, and the helpers that make text fit them.

Every builder of a Discord payload imports these names; nothing else hard-codes 2000 or 1024.
Sources (Discord developer documentation, confirmed against Discord's OpenAPI request schemas):
application commands — interactions/application-commands#application-command-object;
messages — resources/message#create-message; embeds — resources/message#embed-object-embed-limits;
components — components/reference; autocomplete and modals —
interactions/receiving-and-responding#interaction-response-object.
"""

from __future__ import annotations

import re

import discord

# --- application commands ----------------------------------------------------------------
COMMAND_NAME_PATTERN = re.compile(r"^[-_\w]{1,32}$")  #: lowercase letters, digits, - and _
COMMAND_NAME_MAX = 32  #: command, subcommand and option names
COMMAND_DESCRIPTION_MAX = 100  #: command and option descriptions (at least 1 character)
COMMAND_OPTIONS_MAX = 25  #: options (or subcommands) per command or subcommand
OPTION_LENGTH_MAX = 6000  #: a string option's min_length / max_length may be 0-6000
CHOICES_MAX = 25  #: declared choices per option, and autocomplete choices per answer
CHOICE_NAME_MAX = 100  #: choice name (declared or autocomplete)
CHOICE_VALUE_MAX = 100  #: a string choice's value
COMMAND_TOTAL_MAX = 8000  #: names, descriptions and choice names/values of one command together

# --- messages and embeds -----------------------------------------------------------------
CONTENT_MAX = 2000  #: message content of a bot
EMBEDS_MAX = 10  #: embeds per message
EMBED_TITLE_MAX = 256
EMBED_DESCRIPTION_MAX = 4096
EMBED_FIELDS_MAX = 25
EMBED_FIELD_NAME_MAX = 256
EMBED_FIELD_VALUE_MAX = 1024
EMBED_FOOTER_MAX = 2048
EMBED_AUTHOR_MAX = 256
EMBED_URL_MAX = 2048  #: embed url, image url, thumbnail url
EMBEDS_TOTAL_MAX = 6000  #: title, description, field names/values, footer and author together
FILES_MAX = 10  #: attachments per message
ALLOWED_MENTIONS_USERS_MAX = 100  #: ids in allowed_mentions.users (and .roles)

# --- components ------------------------------------------------------------------------------
ACTION_ROWS_MAX = 5  #: action rows per message
ROW_BUTTONS_MAX = 5  #: buttons per action row
CUSTOM_ID_MAX = 100  #: a component's custom_id
BUTTON_LABEL_MAX = 80

# --- modals ----------------------------------------------------------------------------------
MODAL_TITLE_MAX = 45
TEXT_INPUT_LABEL_MAX = 45
TEXT_INPUT_VALUE_MAX = 4000

#: Upload limit of a server without boosts, and of any channel whose server is unknown.
DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024

ELLIPSIS = "…"


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, marking a cut with an ellipsis."""
    if len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    return text[: limit - 1].rstrip() + ELLIPSIS


def is_web_url(url: str | None, *, limit: int = EMBED_URL_MAX) -> bool:
    """Whether Discord takes ``url`` as an embed link or image: absolute http(s), short enough."""
    if not url or len(url) > limit or any(c.isspace() for c in url):
        return False
    return re.match(r"^https?://[^/\s?#]+", url, re.IGNORECASE) is not None


def chunk_lines(lines: list[str], limit: int) -> list[str]:
    """Join ``lines`` with newlines into as few texts of at most ``limit`` characters as
    possible; a line longer than ``limit`` is clipped on its own."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        line = clip(line, limit)
        if current and len(current) + 1 + len(line) > limit:
            chunks.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return chunks


def embed_text_length(embed: discord.Embed) -> int:
    """Characters that count toward EMBEDS_TOTAL_MAX."""
    total = len(embed.title or "") + len(embed.description or "")
    total += len(embed.footer.text or "") + len(embed.author.name or "")
    return total + sum(len(f.name or "") + len(f.value or "") for f in embed.fields)


def fit_embed(embed: discord.Embed, budget: int = EMBEDS_TOTAL_MAX) -> discord.Embed:
    """Clip every part of ``embed`` to its limit and the whole to ``budget`` characters:
    past the budget the description shrinks first, then trailing fields go. Links Discord
    would refuse (not absolute http(s)) are dropped. Returns the same embed.

    Every job card passes through here, so each part is read once (discord.py builds a new
    proxy object at every read of ``footer``, ``author``, ``fields``…) and set again only
    when it changes."""
    if embed.title and len(embed.title) > EMBED_TITLE_MAX:
        embed.title = clip(embed.title, EMBED_TITLE_MAX)
    if embed.description and len(embed.description) > EMBED_DESCRIPTION_MAX:
        embed.description = clip(embed.description, EMBED_DESCRIPTION_MAX)
    footer = embed.footer.text or ""
    if len(footer) > EMBED_FOOTER_MAX:
        footer = clip(footer, EMBED_FOOTER_MAX)
        embed.set_footer(text=footer)
    author = embed.author
    author_name = author.name or ""
    if len(author_name) > EMBED_AUTHOR_MAX:
        author_name = clip(author_name, EMBED_AUTHOR_MAX)
        embed.set_author(name=author_name, url=author.url)
    if embed.url and not is_web_url(embed.url):
        embed.url = None
    for url, setter in (
        (embed.image.url, embed.set_image),
        (embed.thumbnail.url, embed.set_thumbnail),
    ):
        if url and not (is_web_url(url) or _is_attachment_url(url)):
            setter(url=None)
    present = embed.fields
    fields = [
        (
            clip(f.name or "\u200b", EMBED_FIELD_NAME_MAX) or "\u200b",
            clip(f.value or "\u200b", EMBED_FIELD_VALUE_MAX) or "\u200b",
            bool(f.inline),
        )
        for f in present[:EMBED_FIELDS_MAX]
    ]
    if len(fields) != len(present) or any(
        (was.name, was.value) != (name, value)
        for was, (name, value, _) in zip(present, fields, strict=True)
    ):
        embed.clear_fields()
        for name, value, inline in fields:
            embed.add_field(name=name, value=value, inline=inline)
    fixed = len(embed.title or "") + len(footer) + len(author_name)
    field_lengths = [len(name) + len(value) for name, value, _ in fields]
    excess = fixed + len(embed.description or "") + sum(field_lengths) - budget
    if excess > 0 and embed.description:
        embed.description = clip(embed.description, max(0, len(embed.description) - excess))
        excess = fixed + len(embed.description) + sum(field_lengths) - budget
    while excess > 0 and field_lengths:
        embed.remove_field(len(field_lengths) - 1)
        excess -= field_lengths.pop()
    if excess > 0 and footer:
        embed.set_footer(text=clip(footer, max(0, len(footer) - excess)))
    return embed


def _is_attachment_url(url: str) -> bool:
    return url.startswith("attachment://") and len(url) > len("attachment://")
