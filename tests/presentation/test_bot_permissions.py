"""The invite's permissions and the per-channel check, against Discord's documented bits
(docs/topics/permissions.md: Bitwise Permission Flags; docs/topics/oauth2.md: Bot
Authorization Flow)."""

from __future__ import annotations

import discord

from presentation.bot_permissions import (
    REQUIRED_PERMISSIONS,
    BotLacksPermissions,
    invite_url,
    missing_permissions,
)
from presentation.sentences import for_member

VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
SEND_MESSAGES_IN_THREADS = 1 << 38
ADMINISTRATOR = 1 << 3


def test_the_invite_asks_for_exactly_what_posting_a_result_takes():
    wanted = VIEW_CHANNEL | SEND_MESSAGES | SEND_MESSAGES_IN_THREADS | EMBED_LINKS | ATTACH_FILES
    assert REQUIRED_PERMISSIONS.value == wanted == 274877959168
    assert not REQUIRED_PERMISSIONS.read_message_history  # the bot never replies to a message


def test_the_invite_url_has_the_documented_shape():
    assert invite_url(157730590492196864) == (
        "https://discord.com/oauth2/authorize?client_id=157730590492196864"
        "&scope=bot%20applications.commands&permissions=274877959168"
    )


def test_a_channel_with_everything_misses_nothing():
    assert missing_permissions(REQUIRED_PERMISSIONS) == []
    assert missing_permissions(discord.Permissions(ADMINISTRATOR)) == []


def test_each_missing_permission_is_named_in_discords_words():
    assert missing_permissions(discord.Permissions(0)) == [
        "View Channel",
        "Send Messages",
        "Embed Links",
        "Attach Files",
    ]
    only_text = discord.Permissions(VIEW_CHANNEL | SEND_MESSAGES)
    assert missing_permissions(only_text) == ["Embed Links", "Attach Files"]


def test_a_thread_needs_send_messages_in_threads_not_send_messages():
    channel_only = discord.Permissions(VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES)
    assert missing_permissions(channel_only, in_thread=True) == ["Send Messages in Threads"]
    thread_only = discord.Permissions(
        VIEW_CHANNEL | SEND_MESSAGES_IN_THREADS | EMBED_LINKS | ATTACH_FILES
    )
    assert missing_permissions(thread_only, in_thread=True) == []
    assert missing_permissions(thread_only) == ["Send Messages"]


def test_the_refusal_names_one_or_several_permissions():
    one = for_member(BotLacksPermissions(missing=("Attach Files",)))
    assert "missing the **Attach Files** permission here" in one and "give it to me" in one
    two = for_member(BotLacksPermissions(missing=("Embed Links", "Attach Files")))
    assert "**Embed Links** and **Attach Files** permissions" in two and "give them" in two
    assert "Nothing was charged" in two
