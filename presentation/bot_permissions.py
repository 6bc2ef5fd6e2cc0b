"""What the bot needs from Discord in a server: the invite's scopes and permissions, the invite
URL, and the check that a channel lets the bot post a result before a job is charged.

Results are new channel messages (see presentation/delivery.py): content that mentions the
requester, an embed, the files and the buttons. Posting them takes View Channel, Send Messages
(Send Messages in Threads inside a thread: Discord does not let Send Messages carry into
threads), Embed Links and Attach Files. Nothing else: the bot never replies to a message or
reads history (no Read Message History), pings nobody but the requester (no Mention Everyone)
and uses only Unicode emoji on its buttons (no Use External Emojis). Interaction answers
(the job card, refusals) need no channel permission at all.

Discord sends the bot's permissions in the channel with every interaction (``app_permissions``),
so the check costs no request.
"""

from __future__ import annotations

from urllib.parse import quote

import discord
from discord import app_commands

from jobs.errors import UserFacingError

#: The OAuth2 scopes of the invite: the bot user, and its slash commands.
SCOPES = ("bot", "applications.commands")

#: Every permission the bot uses, in the words of Discord's client (Server Settings > Roles),
#: by discord.py's flag name. The invite asks for all of them.
PERMISSION_NAMES = {
    "view_channel": "View Channel",
    "send_messages": "Send Messages",
    "send_messages_in_threads": "Send Messages in Threads",
    "embed_links": "Embed Links",
    "attach_files": "Attach Files",
}

#: The invite's permissions integer (274877959168): the log line at start and the operator
#: guide both come from this one value.
REQUIRED_PERMISSIONS = discord.Permissions(**dict.fromkeys(PERMISSION_NAMES, True))

AUTHORIZE_URL = "https://discord.com/oauth2/authorize"
THREAD_TYPES = frozenset(
    {
        discord.ChannelType.public_thread,
        discord.ChannelType.private_thread,
        discord.ChannelType.news_thread,
    }
)


def invite_url(client_id: int, permissions: discord.Permissions = REQUIRED_PERMISSIONS) -> str:
    """The bot authorization URL: client id, both scopes (space-separated, as %20) and the
    permissions integer."""
    scope = quote(" ".join(SCOPES))
    return f"{AUTHORIZE_URL}?client_id={client_id}&scope={scope}&permissions={permissions.value}"


def needed_here(in_thread: bool) -> tuple[str, ...]:
    """The flags a result post needs in a channel (a thread takes Send Messages in Threads
    instead of Send Messages)."""
    send = "send_messages_in_threads" if in_thread else "send_messages"
    return ("view_channel", send, "embed_links", "attach_files")


def missing_permissions(permissions: discord.Permissions, *, in_thread: bool = False) -> list[str]:
    """The names (as Discord's client shows them) of what ``permissions`` lacks to post a
    result; empty when nothing is missing. Administrator has everything."""
    if permissions.administrator:
        return []
    return [
        PERMISSION_NAMES[flag] for flag in needed_here(in_thread) if not getattr(permissions, flag)
    ]


def _in_thread(interaction: discord.Interaction) -> bool:
    return getattr(interaction.channel, "type", None) in THREAD_TYPES


class BotLacksPermissions(app_commands.CheckFailure, UserFacingError):
    """The bot could not post a result in this channel; raised before anything is charged.
    A CheckFailure, so discord.py stops a command before its callback, and a UserFacingError,
    so the error handler words it (naming each of ``missing``)."""

    missing: tuple[str, ...]  # the permissions' names as Discord's client shows them

    def __init__(self, **facts: object) -> None:
        UserFacingError.__init__(self, **facts)


def require_channel_permissions(interaction: discord.Interaction) -> None:
    """Raise BotLacksPermissions when the bot could not post this interaction's result in its
    channel. Interactions outside a server have nothing to check."""
    if interaction.guild_id is None:
        return
    missing = missing_permissions(interaction.app_permissions, in_thread=_in_thread(interaction))
    if missing:
        raise BotLacksPermissions(missing=tuple(missing))


def bot_can_post():
    """A slash-command check: the bot's permissions are checked before the command's options
    are, so a member is not asked to fix options for a command that cannot run here."""

    def predicate(interaction: discord.Interaction) -> bool:
        require_channel_permissions(interaction)
        return True

    return app_commands.check(predicate)
