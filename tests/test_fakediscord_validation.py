"""The emulator refuses what Discord refuses, with Discord's status, code and errors tree.

Route wiring is tested over real HTTP against a started ``FakeDiscord``; the long tail of
rules calls the pure checks in ``tests.fakediscord.validation`` directly. Each case names the
rule (``RULES`` id) it breaks; the rule carries its documentation page.
"""

from __future__ import annotations

import json
import time
from typing import Any

import aiohttp
import discord
import pytest

from tests.fakediscord import FakeDiscord, pointed_at, run_bot
from tests.fakediscord.payloads import APPLICATION_COMMAND, AUTOCOMPLETE
from tests.fakediscord.validation import (
    RULES,
    Refusal,
    check_autocomplete,
    check_command,
    check_commands,
    check_message,
    check_modal,
    command_size,
)

GUILD, CHANNEL, ALICE, NITRO = 1001, 2001, 3001, 3002
KiB, MiB = 1024, 1024 * 1024
LIMIT = 10 * MiB


# ---------------------------------------------------------------------------------------------
# Payload builders


def cmd(**kw: Any) -> dict[str, Any]:
    return {"type": 1, "name": "image", "description": "Make an image", **kw}


def opt(type: int = 3, name: str = "prompt", **kw: Any) -> dict[str, Any]:
    return {"type": type, "name": name, "description": "What to draw", **kw}


def embed(**kw: Any) -> dict[str, Any]:
    return {"embeds": [kw]}


def field(name: Any = "n", value: Any = "v") -> dict[str, Any]:
    return {"name": name, "value": value}


def row(*components: dict[str, Any]) -> dict[str, Any]:
    return {"type": 1, "components": list(components)}


def button(custom_id: str | None = "b", **kw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": 2, "style": 1, "label": "Go", **kw}
    if custom_id is not None:
        out["custom_id"] = custom_id
    return out


def text_input(custom_id: str = "t", **kw: Any) -> dict[str, Any]:
    return {"type": 4, "custom_id": custom_id, "style": 1, "label": "Answer", **kw}


def modal(*components: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return {"title": "Survey", "custom_id": "m", "components": list(components), **kw}


def choices(n: int, **kw: Any) -> list[dict[str, Any]]:
    return [{"name": f"c{i}", "value": f"v{i}", **kw} for i in range(n)]


def message(body: dict[str, Any], files: list[Any] | None = None, creating: bool = True):
    return check_message(body, files or [], creating=creating, upload_limit=LIMIT)


def assert_refused(
    refusal: Refusal | None, path: str, error_code: str, rule: str, status=400, code=50035
) -> None:
    """``refusal`` is Discord's answer, with ``error_code`` at ``path`` of the errors tree."""
    assert refusal is not None, f"expected a refusal at {path}"
    assert (refusal.status, refusal.code) == (status, code), str(refusal)
    if code == 50035:
        assert refusal.message == "Invalid Form Body"
        assert error_code in refusal.paths().get(path, []), str(refusal)
        node = refusal.errors
        for key in path.split(".") if path else []:
            node = node[key]
        assert error_code in [e["code"] for e in node["_errors"]]
    assert rule in refusal.rules and RULES[rule].docs.startswith("https://discord.com/developers")


# ---------------------------------------------------------------------------------------------
# Pure checks: one case per rule, the payload that breaks it and where Discord says so

LONG_NAME = "a" * 33

COMMAND_REFUSALS = [
    ("command.type", cmd(type=7), "type", "BASE_TYPE_CHOICES"),
    ("command.name.length", cmd(name=LONG_NAME), "name", "BASE_TYPE_BAD_LENGTH"),
    ("command.name.length", cmd(name=""), "name", "BASE_TYPE_BAD_LENGTH"),
    ("command.name.chars", cmd(name="Image"), "name", "APPLICATION_COMMAND_INVALID_NAME"),
    ("command.name.chars", cmd(name="make image"), "name", "APPLICATION_COMMAND_INVALID_NAME"),
    (
        "command.name.chars",
        cmd(name_localizations={"de": "Bild Machen"}),
        "name_localizations.de",
        "APPLICATION_COMMAND_INVALID_NAME",
    ),
    (
        "command.name.chars",
        cmd(options=[opt(name="Prompt")]),
        "options.0.name",
        "APPLICATION_COMMAND_INVALID_NAME",
    ),
    ("command.description", cmd(description=""), "description", "BASE_TYPE_BAD_LENGTH"),
    ("command.description", cmd(description="d" * 101), "description", "BASE_TYPE_BAD_LENGTH"),
    (
        "command.description",
        cmd(description_localizations={"fr": "d" * 101}),
        "description_localizations.fr",
        "BASE_TYPE_BAD_LENGTH",
    ),
    (
        "command.description",
        cmd(options=[{"type": 3, "name": "p"}]),
        "options.0.description",
        "BASE_TYPE_REQUIRED",
    ),
    (
        "command.context_menu",
        {"type": 3, "name": "Make Image", "description": "no"},
        "description",
        "APPLICATION_COMMAND_INVALID_DESCRIPTION",
    ),
    (
        "command.context_menu",
        {"type": 2, "name": "Profile", "options": [opt()]},
        "options",
        "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
    ),
    (
        "command.options.count",
        cmd(options=[opt(name=f"o{i}") for i in range(26)]),
        "options",
        "BASE_TYPE_MAX_LENGTH",
    ),
    ("option.type", cmd(options=[opt(type=12)]), "options.0.type", "BASE_TYPE_CHOICES"),
    (
        "option.name.unique",
        cmd(options=[opt(), opt()]),
        "options.1.name",
        "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
    ),
    (
        "option.required_first",
        cmd(options=[opt(name="a"), opt(name="b", required=True)]),
        "options.1",
        "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
    ),
    # the rule the last release broke: Discord allows max_length 1-6000
    (
        "option.string_length",
        cmd(options=[opt(max_length=20000)]),
        "options.0.max_length",
        "NUMBER_TYPE_MAX",
    ),
    (
        "option.string_length",
        cmd(options=[opt(max_length=0)]),
        "options.0.max_length",
        "NUMBER_TYPE_MIN",
    ),
    (
        "option.string_length",
        cmd(options=[opt(min_length=6001)]),
        "options.0.min_length",
        "NUMBER_TYPE_MAX",
    ),
    (
        "option.string_length",
        cmd(options=[opt(min_length=-1)]),
        "options.0.min_length",
        "NUMBER_TYPE_MIN",
    ),
    (
        "option.value_range",
        cmd(options=[opt(4, "n", min_value=-(2**53))]),
        "options.0.min_value",
        "NUMBER_TYPE_MIN",
    ),
    (
        "option.value_range",
        cmd(options=[opt(4, "n", max_value=2**53)]),
        "options.0.max_value",
        "NUMBER_TYPE_MAX",
    ),
    (
        "option.value_range",
        cmd(options=[opt(10, "x", max_value=2.0**53 * 2)]),
        "options.0.max_value",
        "NUMBER_TYPE_MAX",
    ),
    (
        "option.value_range",
        cmd(options=[opt(4, "n", min_value=1.5)]),
        "options.0.min_value",
        "NUMBER_TYPE_COERCE",
    ),
    (
        "option.value_range",
        cmd(options=[opt(4, "n", min_value=5, max_value=1)]),
        "options.0.min_value",
        "NUMBER_TYPE_MAX",
    ),
    (
        "option.choices",
        cmd(options=[opt(choices=choices(26))]),
        "options.0.choices",
        "BASE_TYPE_MAX_LENGTH",
    ),
    (
        "option.choices",
        cmd(options=[opt(choices=choices(2), autocomplete=True)]),
        "options.0.autocomplete",
        "APPLICATION_COMMAND_AUTOCOMPLETE_CHOICES_EXCLUSIVE",
    ),
    (
        "option.choices",
        cmd(options=[opt(5, "flag", choices=[{"name": "yes", "value": True}])]),
        "options.0.choices",
        "APPLICATION_COMMAND_OPTION_CHOICES_INVALID",
    ),
    (
        "choice",
        cmd(options=[opt(choices=[{"name": "", "value": "x"}])]),
        "options.0.choices.0.name",
        "BASE_TYPE_BAD_LENGTH",
    ),
    (
        "choice",
        cmd(options=[opt(choices=[{"name": "n" * 101, "value": "x"}])]),
        "options.0.choices.0.name",
        "BASE_TYPE_BAD_LENGTH",
    ),
    (
        "choice",
        cmd(options=[opt(choices=[{"name": "n", "value": "v" * 101}])]),
        "options.0.choices.0.value",
        "BASE_TYPE_MAX_LENGTH",
    ),
    (
        "choice",
        cmd(options=[opt(4, "n", choices=[{"name": "one", "value": "1"}])]),
        "options.0.choices.0.value",
        "NUMBER_TYPE_COERCE",
    ),
    (
        "choice",
        cmd(options=[opt(choices=[{"name": "one", "value": 1}])]),
        "options.0.choices.0.value",
        "BASE_TYPE_STRING",
    ),
    (
        "choice",
        cmd(
            options=[opt(choices=[{"name": "one", "value": "1", "name_localizations": {"de": ""}}])]
        ),
        "options.0.choices.0.name_localizations.de",
        "BASE_TYPE_BAD_LENGTH",
    ),
    (
        "option.autocomplete",
        cmd(options=[opt(6, "who", autocomplete=True)]),
        "options.0.autocomplete",
        "APPLICATION_COMMAND_OPTION_AUTOCOMPLETE_INVALID",
    ),
    (
        "option.channel_types",
        cmd(options=[opt(channel_types=[0])]),
        "options.0.channel_types",
        "APPLICATION_COMMAND_OPTION_CHANNEL_TYPES_INVALID",
    ),
    (
        "option.nesting",
        cmd(options=[opt(), opt(1, "sub")]),
        "options.1",
        "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
    ),
    (
        "option.nesting",
        cmd(options=[opt(2, "grp", options=[opt(2, "inner", options=[opt(1, "sub")])])]),
        "options.0.options.0",
        "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
    ),
    (
        "option.nesting",
        cmd(options=[opt(2, "grp", options=[opt()])]),
        "options.0.options.0",
        "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
    ),
    (
        "option.nesting",
        cmd(options=[opt(1, "sub", options=[opt(1, "deeper")])]),
        "options.0.options.0",
        "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
    ),
    (
        "option.nesting",
        cmd(options=[opt(1, "sub", required=True)]),
        "options.0.required",
        "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
    ),
    (
        "command.options.count",
        cmd(options=[opt(1, "sub", options=[opt(name=f"o{i}") for i in range(26)])]),
        "options.0.options",
        "BASE_TYPE_MAX_LENGTH",
    ),
]


@pytest.mark.parametrize(
    ("rule", "payload", "path", "error_code"),
    COMMAND_REFUSALS,
    ids=[f"{c[0]}:{c[2]}:{c[3]}" for c in COMMAND_REFUSALS],
)
def test_command_rule_refuses(rule: str, payload: dict, path: str, error_code: str) -> None:
    assert_refused(check_command(payload), path, error_code, rule)


COMMANDS_ACCEPTED = [
    cmd(),
    cmd(name="größe-2_x'"),  # \p{L}, \p{N}, -, _ and ' are all allowed; uncased letters too
    cmd(name="画像"),
    cmd(name="a" * 32, description="d" * 100),
    cmd(options=[opt(min_length=0, max_length=6000)]),  # the documented ceiling
    cmd(options=[opt(max_length=1, min_length=6000 - 1)]),
    cmd(options=[opt(4, "n", min_value=-(2**53) + 1, max_value=2**53 - 1)]),
    cmd(options=[opt(10, "x", min_value=-(2.0**53), max_value=2.0**53)]),
    cmd(
        options=[
            opt(choices=choices(25, name="n" * 100)),
            opt(4, "n", choices=[{"name": "one", "value": 1}]),
        ]
    ),
    cmd(
        options=[
            opt(10, "x", choices=[{"name": "half", "value": 0.5}, {"name": "one", "value": 1}])
        ]
    ),
    cmd(options=[opt(required=True), opt(name="b"), opt(4, "n", autocomplete=True)]),
    cmd(options=[opt(7, "where", channel_types=[0, 5])]),
    cmd(options=[opt(name=f"o{i}") for i in range(25)]),
    cmd(options=[opt(2, "grp", options=[opt(1, "sub", options=[opt()])]), opt(1, "top")]),
    {"type": 3, "name": "Make Image", "description": ""},
    {"type": 2, "name": "User Info"},
]


@pytest.mark.parametrize("payload", COMMANDS_ACCEPTED, ids=range(len(COMMANDS_ACCEPTED)))
def test_command_boundaries_accepted(payload: dict) -> None:
    assert check_command(payload) is None


def _sized_command(size: int) -> dict[str, Any]:
    """A command of exactly ``size`` characters as Discord counts them: choice values are
    padded (up to 100 each) until the total is reached."""
    options = [opt(name=f"o{i}", choices=choices(25, name="n" * 100, value="")) for i in range(3)]
    command = cmd(options=options)
    missing = size - command_size(command)
    for choice in (c for o in options for c in o["choices"]):
        pad = min(100, missing)
        choice["value"], missing = "v" * pad, missing - pad
    assert missing == 0 and command_size(command) == size
    return command


def test_command_size_8000_characters() -> None:
    """command.size: 8000 characters pass, 8001 are APPLICATION_COMMAND_TOO_LARGE at the root."""
    assert check_command(_sized_command(8000)) is None
    refusal = check_command(_sized_command(8001))
    assert_refused(refusal, "", "APPLICATION_COMMAND_TOO_LARGE", "command.size")
    assert refusal.errors == {
        "_errors": [
            {
                "code": "APPLICATION_COMMAND_TOO_LARGE",
                "message": "Command exceeds maximum size (8000)",
            }
        ]
    }


def test_command_size_counts_the_longest_localization() -> None:
    """command.size: a localization longer than its default counts instead of it."""
    command = _sized_command(7990)
    command["description_localizations"] = {"de": command["description"] + "x" * 11}
    assert_refused(check_command(command), "", "APPLICATION_COMMAND_TOO_LARGE", "command.size")


def test_bulk_overwrite_limits() -> None:
    """commands.count and commands.unique: 130 at most, 100 chat-input / 15 user / 15
    message, names unique per type (errors under the command's index)."""
    chat = [cmd(name=f"c{i}") for i in range(100)]
    users = [{"type": 2, "name": f"U{i}"} for i in range(15)]
    messages = [{"type": 3, "name": f"M{i}"} for i in range(15)]
    assert check_commands(chat + users + messages) is None
    too_many = check_commands([*chat, *users, *messages, cmd(name="extra")])
    assert_refused(too_many, "", "BASE_TYPE_MAX_LENGTH", "commands.count")
    assert too_many.errors["_errors"][0]["message"] == "Must be 130 or fewer in length."
    over_type = check_commands([*chat, cmd(name="extra")])
    assert_refused(over_type, "", "", "commands.count", code=30032)
    assert over_type.body() == {
        "message": "Maximum number of application commands reached (100)",
        "code": 30032,
    }
    assert check_commands([*users, {"type": 2, "name": "U15"}]).code == 30032
    duplicate = check_commands([cmd(), cmd(), {"type": 3, "name": "image"}])
    assert_refused(duplicate, "1", "APPLICATION_COMMANDS_DUPLICATE_NAME", "commands.unique")
    assert "2" not in duplicate.errors  # same name, other type: allowed
    nested = check_commands([cmd(), cmd(name="x", options=[opt(max_length=6001)])])
    assert_refused(nested, "1.options.0.max_length", "NUMBER_TYPE_MAX", "option.string_length")


MESSAGE_REFUSALS = [
    ("message.content", {"content": "x" * 2001}, "content", "BASE_TYPE_MAX_LENGTH"),
    ("message.nonce", {"content": "x", "nonce": "n" * 26}, "nonce", "BASE_TYPE_MAX_LENGTH"),
    ("message.embeds.count", {"embeds": [{"title": "t"}] * 11}, "embeds", "BASE_TYPE_MAX_LENGTH"),
    ("embed.limits", embed(title="t" * 257), "embeds.0.title", "BASE_TYPE_MAX_LENGTH"),
    ("embed.limits", embed(description="d" * 4097), "embeds.0.description", "BASE_TYPE_MAX_LENGTH"),
    ("embed.limits", embed(fields=[field()] * 26), "embeds.0.fields", "BASE_TYPE_MAX_LENGTH"),
    (
        "embed.limits",
        embed(fields=[field(name="n" * 257)]),
        "embeds.0.fields.0.name",
        "BASE_TYPE_MAX_LENGTH",
    ),
    (
        "embed.limits",
        embed(fields=[field(name=None)]),
        "embeds.0.fields.0.name",
        "BASE_TYPE_REQUIRED",
    ),
    (
        "embed.limits",
        embed(fields=[field(), field(), field(value="v" * 1025)]),
        "embeds.0.fields.2.value",
        "BASE_TYPE_MAX_LENGTH",
    ),
    (
        "embed.limits",
        embed(fields=[field(value="")]),
        "embeds.0.fields.0.value",
        "BASE_TYPE_REQUIRED",
    ),
    (
        "embed.limits",
        embed(fields=[field(value=" \n ")]),
        "embeds.0.fields.0.value",
        "BASE_TYPE_REQUIRED",
    ),
    (
        "embed.limits",
        embed(footer={"text": "f" * 2049}),
        "embeds.0.footer.text",
        "BASE_TYPE_MAX_LENGTH",
    ),
    (
        "embed.limits",
        embed(author={"name": "a" * 257}),
        "embeds.0.author.name",
        "BASE_TYPE_MAX_LENGTH",
    ),
    (
        "embed.total",
        {"embeds": [{"description": "d" * 4000}, {"description": "d" * 2001}]},
        "embeds",
        "MAX_EMBED_SIZE_EXCEEDED",
    ),
    ("embed.url", embed(url="ftp://example.com/x"), "embeds.0.url", "URL_TYPE_INVALID_SCHEME"),
    ("embed.url", embed(url="not a url"), "embeds.0.url", "URL_TYPE_INVALID_URL"),
    ("embed.url", embed(url="https://e.com/" + "x" * 2035), "embeds.0.url", "BASE_TYPE_MAX_LENGTH"),
    (
        "embed.url",
        embed(author={"name": "a", "url": "attachment://a.png"}),
        "embeds.0.author.url",
        "URL_TYPE_INVALID_SCHEME",
    ),
    (
        "embed.media_url",
        embed(image={"url": "/relative/a.png"}),
        "embeds.0.image.url",
        "URL_TYPE_INVALID_URL",
    ),
    (
        "embed.media_url",
        embed(thumbnail={"url": "javascript://alert(1)"}),
        "embeds.0.thumbnail.url",
        "URL_TYPE_INVALID_SCHEME",
    ),
    (
        "embed.media_url",
        embed(footer={"text": "f", "icon_url": "//cdn.example/i.png"}),
        "embeds.0.footer.icon_url",
        "URL_TYPE_INVALID_URL",
    ),
    (
        "embed.media_url",
        embed(author={"name": "a", "icon_url": "data://x"}),
        "embeds.0.author.icon_url",
        "URL_TYPE_INVALID_SCHEME",
    ),
    ("embed.color", embed(color=0x1000000), "embeds.0.color", "NUMBER_TYPE_MAX"),
    (
        "message.files",
        {"content": "x", "attachments": [{"id": i} for i in range(11)]},
        "attachments",
        "BASE_TYPE_MAX_LENGTH",
    ),
    (
        "message.files",
        {"content": "x", "attachments": [{"id": 0, "description": "d" * 1025}]},
        "attachments.0.description",
        "BASE_TYPE_MAX_LENGTH",
    ),
    (
        "components.rows",
        {"components": [row(button(f"b{i}")) for i in range(6)]},
        "components",
        "BASE_TYPE_MAX_LENGTH",
    ),
    ("components.rows", {"components": [button()]}, "components.0.type", "COMPONENT_TYPE_INVALID"),
    (
        "components.rows",
        {
            "flags": 1 << 15,
            "components": [{"type": 17, "components": [row(button(f"b{i}")) for i in range(20)]}],
        },
        "components",
        "BASE_TYPE_MAX_LENGTH",
    ),
    (
        "components.action_row",
        {"components": [row(*[button(f"b{i}") for i in range(6)])]},
        "components.0.components",
        "BASE_TYPE_BAD_LENGTH",
    ),
    (
        "components.action_row",
        {"components": [row()]},
        "components.0.components",
        "BASE_TYPE_BAD_LENGTH",
    ),
    (
        "components.action_row",
        {
            "components": [
                row(
                    {"type": 3, "custom_id": "s", "options": [{"label": "a", "value": "a"}]},
                    button(),
                )
            ]
        },
        "components.0.components.1",
        "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
    ),
    (
        "components.custom_id",
        {"components": [row(button("c" * 101))]},
        "components.0.components.0.custom_id",
        "BASE_TYPE_BAD_LENGTH",
    ),
    (
        "components.custom_id",
        {"components": [row(button(""))]},
        "components.0.components.0.custom_id",
        "BASE_TYPE_BAD_LENGTH",
    ),
    (
        "components.custom_id",
        {"components": [row(button("same")), row(button("other"), button("same"))]},
        "components.1.components.1.custom_id",
        "COMPONENT_CUSTOM_ID_DUPLICATED",
    ),
    (
        "components.custom_id",
        {"components": [row(button(None))]},
        "components.0.components.0.custom_id",
        "BUTTON_COMPONENT_CUSTOM_ID_REQUIRED",
    ),
    (
        "components.button",
        {"components": [row(button(label="l" * 81))]},
        "components.0.components.0.label",
        "BASE_TYPE_MAX_LENGTH",
    ),
    (
        "components.button",
        {"components": [row(button(style=9))]},
        "components.0.components.0.style",
        "BASE_TYPE_CHOICES",
    ),
    (
        "components.button",
        {"components": [row(button(url="https://e.com"))]},
        "components.0.components.0.url",
        "BUTTON_COMPONENT_CUSTOM_ID_URL_MUTUALLY_EXCLUSIVE",
    ),
    (
        "components.button",
        {"components": [row(button(None, style=5))]},
        "components.0.components.0.url",
        "BUTTON_COMPONENT_URL_REQUIRED",
    ),
    (
        "components.button",
        {"components": [row(button("b", style=5, url="https://e.com"))]},
        "components.0.components.0.custom_id",
        "BUTTON_COMPONENT_CUSTOM_ID_URL_MUTUALLY_EXCLUSIVE",
    ),
    (
        "components.button",
        {"components": [row(button(None, style=5, url="https://e.com/" + "x" * 500))]},
        "components.0.components.0.url",
        "BASE_TYPE_MAX_LENGTH",
    ),
    (
        "components.select",
        {"components": [row({"type": 3, "custom_id": "s", "options": []})]},
        "components.0.components.0.options",
        "BASE_TYPE_BAD_LENGTH",
    ),
    (
        "message.allowed_mentions",
        {"content": "x", "allowed_mentions": {"parse": ["here"]}},
        "allowed_mentions.parse.0",
        "BASE_TYPE_CHOICES",
    ),
    (
        "message.allowed_mentions",
        {"content": "x", "allowed_mentions": {"users": [str(i) for i in range(101)]}},
        "allowed_mentions.users",
        "BASE_TYPE_MAX_LENGTH",
    ),
    (
        "message.allowed_mentions",
        {"content": "x", "allowed_mentions": {"roles": [str(i) for i in range(101)]}},
        "allowed_mentions.roles",
        "BASE_TYPE_MAX_LENGTH",
    ),
    (
        "message.allowed_mentions",
        {"content": "x", "allowed_mentions": {"parse": ["users"], "users": ["1"]}},
        "allowed_mentions",
        "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
    ),
    (
        "message.allowed_mentions",
        {"content": "x", "allowed_mentions": {"parse": ["roles"], "roles": ["1"]}},
        "allowed_mentions",
        "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
    ),
]


@pytest.mark.parametrize(
    ("rule", "body", "path", "error_code"),
    MESSAGE_REFUSALS,
    ids=[f"{c[0]}:{c[2]}:{c[3]}" for c in MESSAGE_REFUSALS],
)
def test_message_rule_refuses(rule: str, body: dict, path: str, error_code: str) -> None:
    assert_refused(message(body), path, error_code, rule)


MESSAGES_ACCEPTED = [
    {"content": "x" * 2000},
    {"embeds": [{"title": "t"}] * 10},
    embed(
        title="t" * 256,
        description="d" * 1744,
        fields=[field("n" * 256, "v" * 1024)] * 3 + [field("n", "v")] * 22,
    ),
    embed(fields=[field(" n ", " v ")]),  # trimmed, still present
    embed(title="t" * 256 + "   "),  # trailing whitespace is trimmed before counting
    {"embeds": [{"description": "d" * 4000}, {"description": "d" * 2000}]},  # 6000 in all
    embed(
        footer={"text": "f" * 2048, "icon_url": "attachment://i.png"}, author={"name": "a" * 256}
    ),
    embed(
        url="https://e.com/" + "x" * 2034,
        image={"url": "attachment://out.png"},
        thumbnail={"url": "http://e.com/t.png"},
        author={"name": "a", "url": "https://e.com", "icon_url": "https://e.com/i.png"},
        color=0xFFFFFF,
    ),
    {"content": "x", "attachments": [{"id": i} for i in range(10)]},
    {"components": [row(*[button(f"b{r}{i}") for i in range(5)]) for r in range(5)]},
    {
        "components": [
            row(button("c" * 100, label="l" * 80), button(None, style=5, url="https://e.com"))
        ]
    },
    {
        "components": [
            row({"type": 3, "custom_id": "s", "options": [{"label": "a", "value": "a"}] * 1})
        ]
    },
    {"flags": 1 << 15, "components": [{"type": 10, "content": "hi"}] * 40},
    {"content": "x", "allowed_mentions": {"parse": ["users"], "users": []}},  # falsy: allowed
    {"content": "x", "allowed_mentions": {"parse": [], "users": [str(i) for i in range(100)]}},
    {"content": "x", "allowed_mentions": {"parse": ["everyone", "roles"], "users": ["1"]}},
]


@pytest.mark.parametrize("body", MESSAGES_ACCEPTED, ids=range(len(MESSAGES_ACCEPTED)))
def test_message_boundaries_accepted(body: dict) -> None:
    assert message(body) is None


def test_uploads_files_and_empty_message() -> None:
    """message.upload_limit (413 40005), message.files (30015 for 11 files) and
    message.empty (50006, only when creating)."""
    assert check_message({}, [b"x" * 10], creating=True, upload_limit=10) is None
    too_big = check_message({"content": "x"}, [b"x" * 11], creating=True, upload_limit=10)
    assert_refused(too_big, "", "", "message.upload_limit", status=413, code=40005)
    assert too_big.body() == {"message": "Request entity too large", "code": 40005}
    assert too_big.errors is None
    eleven = message({"content": "x"}, [b"x"] * 11)
    assert_refused(eleven, "", "", "message.files", code=30015)
    assert eleven.message == "Maximum number of attachments in a message reached (10)"
    assert message({"content": "x"}, [b"x"] * 10) is None
    empty = message({"content": "", "embeds": []})
    assert_refused(empty, "", "", "message.empty", code=50006)
    assert empty.body() == {"message": "Cannot send an empty message", "code": 50006}
    assert message({}, creating=False) is None


def test_refusal_reads_like_discord() -> None:
    """The brief's example, as str() and as JSON body."""
    refusal = message(embed(fields=[field(), field(), field(value="v" * 1025)]))
    assert str(refusal) == (
        "400 50035 embeds.0.fields.2.value: Must be 1024 or fewer in length. "
        "(https://discord.com/developers/docs/resources/message#embed-object-embed-limits)"
    )
    assert refusal.body() == {
        "message": "Invalid Form Body",
        "code": 50035,
        "errors": {
            "embeds": {
                "0": {
                    "fields": {
                        "2": {
                            "value": {
                                "_errors": [
                                    {
                                        "code": "BASE_TYPE_MAX_LENGTH",
                                        "message": "Must be 1024 or fewer in length.",
                                    }
                                ]
                            }
                        }
                    }
                }
            }
        },
    }
    assert refusal.docs == RULES["embed.limits"].docs
    assert refusal.nested("data").paths() == {
        "data.embeds.0.fields.2.value": ["BASE_TYPE_MAX_LENGTH"]
    }


def test_every_problem_is_reported_at_once() -> None:
    """Like Discord, one 50035 lists every broken field, not just the first."""
    refusal = message({"content": "x" * 2001, **embed(title="t" * 257)})
    assert set(refusal.paths()) == {"content", "embeds.0.title"}
    assert refusal.rules == {"message.content", "embed.limits"}


AUTOCOMPLETE_REFUSALS = [
    ({"choices": choices(26)}, None, "choices", "BASE_TYPE_MAX_LENGTH"),
    (
        {"choices": [*choices(3), {"name": "", "value": "x"}]},
        3,
        "choices.3.name",
        "BASE_TYPE_BAD_LENGTH",
    ),
    ({"choices": [{"name": "n" * 101, "value": "x"}]}, 3, "choices.0.name", "BASE_TYPE_BAD_LENGTH"),
    (
        {"choices": [{"name": "n", "value": "v" * 101}]},
        3,
        "choices.0.value",
        "BASE_TYPE_MAX_LENGTH",
    ),
    (
        {"choices": [{"name": "n", "value": "v" * 101}]},
        None,
        "choices.0.value",
        "BASE_TYPE_MAX_LENGTH",
    ),
    ({"choices": [{"name": "n", "value": "5"}]}, 4, "choices.0.value", "NUMBER_TYPE_COERCE"),
    ({"choices": [{"name": "n", "value": 2**53}]}, 4, "choices.0.value", "NUMBER_TYPE_MAX"),
    ({"choices": [{"name": "n", "value": "x"}]}, 10, "choices.0.value", "NUMBER_TYPE_COERCE"),
    ({"choices": [{"name": "n"}]}, 3, "choices.0.value", "BASE_TYPE_REQUIRED"),
]


@pytest.mark.parametrize(
    ("data", "option_type", "path", "error_code"),
    AUTOCOMPLETE_REFUSALS,
    ids=[f"autocomplete.choices:{c[2]}:{c[3]}:type{c[1]}" for c in AUTOCOMPLETE_REFUSALS],
)
def test_autocomplete_rule_refuses(
    data: dict, option_type: int | None, path: str, error_code: str
) -> None:
    refusal = check_autocomplete(data, option_type)
    assert_refused(
        refusal, path, error_code, "autocomplete.choices" if path == "choices" else "choice"
    )


def test_autocomplete_boundaries_accepted() -> None:
    """autocomplete.choices: 25 choices of 100-character names and values; typed values."""
    assert check_autocomplete({"choices": choices(25, name="n" * 100)}, 3) is None
    assert check_autocomplete({"choices": [{"name": "n", "value": "v" * 100}]}, 3) is None
    assert check_autocomplete({"choices": [{"name": "n", "value": 2**53 - 1}]}, 4) is None
    assert check_autocomplete({"choices": [{"name": "n", "value": 0.5}]}, 10) is None
    assert check_autocomplete({"choices": [{"name": "n", "value": 3}]}) is None
    assert check_autocomplete({"choices": []}) is None


MODAL_REFUSALS = [
    ("modal", modal(row(text_input()), title=""), "title", "BASE_TYPE_BAD_LENGTH"),
    ("modal", modal(row(text_input()), title="t" * 46), "title", "BASE_TYPE_BAD_LENGTH"),
    ("modal", modal(row(text_input()), custom_id="m" * 101), "custom_id", "BASE_TYPE_BAD_LENGTH"),
    ("modal", modal(), "components", "BASE_TYPE_BAD_LENGTH"),
    (
        "modal",
        modal(*[row(text_input(f"t{i}")) for i in range(6)]),
        "components",
        "BASE_TYPE_BAD_LENGTH",
    ),
    (
        "modal.row",
        modal(row(text_input("a"), text_input("b"))),
        "components.0.components.1",
        "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
    ),
    ("modal.row", modal(row(button())), "components.0.components.0.type", "COMPONENT_TYPE_INVALID"),
    ("modal.row", modal(text_input()), "components.0.type", "COMPONENT_TYPE_INVALID"),
    (
        "modal.text_input",
        modal(row(text_input("c" * 101))),
        "components.0.components.0.custom_id",
        "BASE_TYPE_BAD_LENGTH",
    ),
    (
        "modal.text_input",
        modal(row(text_input(style=3))),
        "components.0.components.0.style",
        "BASE_TYPE_CHOICES",
    ),
    (
        "modal.text_input",
        modal(row(text_input(label="l" * 46))),
        "components.0.components.0.label",
        "BASE_TYPE_BAD_LENGTH",
    ),
    (
        "modal.text_input",
        modal(row(text_input(label=None))),
        "components.0.components.0.label",
        "BASE_TYPE_REQUIRED",
    ),
    (
        "modal.text_input",
        modal(row(text_input(value="v" * 4001))),
        "components.0.components.0.value",
        "BASE_TYPE_MAX_LENGTH",
    ),
    (
        "modal.text_input",
        modal(row(text_input(placeholder="p" * 101))),
        "components.0.components.0.placeholder",
        "BASE_TYPE_MAX_LENGTH",
    ),
    (
        "modal.text_input",
        modal(row(text_input(min_length=4001))),
        "components.0.components.0.min_length",
        "NUMBER_TYPE_MAX",
    ),
    (
        "modal.text_input",
        modal(row(text_input(max_length=0))),
        "components.0.components.0.max_length",
        "NUMBER_TYPE_MIN",
    ),
    (
        "modal.text_input",
        modal(row(text_input(max_length=4001))),
        "components.0.components.0.max_length",
        "NUMBER_TYPE_MAX",
    ),
    (
        "components.custom_id",
        modal(row(text_input("same")), row(text_input("same"))),
        "components.1.components.0.custom_id",
        "COMPONENT_CUSTOM_ID_DUPLICATED",
    ),
    (
        "modal.label",
        modal({"type": 18, "label": "l" * 46, "component": text_input(label=None)}),
        "components.0.label",
        "BASE_TYPE_BAD_LENGTH",
    ),
    (
        "modal.label",
        modal({"type": 18, "label": "l", "description": "d" * 101, "component": text_input()}),
        "components.0.description",
        "BASE_TYPE_BAD_LENGTH",
    ),
    (
        "modal.label",
        modal({"type": 18, "label": "l"}),
        "components.0.component",
        "BASE_TYPE_REQUIRED",
    ),
    (
        "modal.text_input",
        modal({"type": 18, "label": "l", "component": text_input(value="v" * 4001)}),
        "components.0.component.value",
        "BASE_TYPE_MAX_LENGTH",
    ),
]


@pytest.mark.parametrize(
    ("rule", "data", "path", "error_code"),
    MODAL_REFUSALS,
    ids=[f"{c[0]}:{c[2]}:{c[3]}" for c in MODAL_REFUSALS],
)
def test_modal_rule_refuses(rule: str, data: dict, path: str, error_code: str) -> None:
    assert_refused(check_modal(data), path, error_code, rule)


def test_modal_boundaries_accepted() -> None:
    """modal, modal.text_input, modal.label at their limits, in both layouts."""
    full = text_input(
        "c" * 100,
        label="l" * 45,
        value="v" * 4000,
        placeholder="p" * 100,
        min_length=4000,
        max_length=4000,
        style=2,
    )
    assert check_modal(modal(row(full), title="t" * 45, custom_id="m" * 100)) is None
    assert check_modal(modal(*[row(text_input(f"t{i}")) for i in range(5)])) is None
    label = {
        "type": 18,
        "label": "l" * 45,
        "description": "d" * 100,
        "component": text_input(label=None),
    }
    assert check_modal(modal(label, {"type": 10, "content": "Tell us"})) is None


def test_every_rule_has_a_refusal_case() -> None:
    """Each rule in RULES is broken by at least one case above (add a case with a new rule)."""
    tabled = {c[0] for c in (*COMMAND_REFUSALS, *MESSAGE_REFUSALS, *MODAL_REFUSALS)}
    explicit = {"command.size", "commands.count", "commands.unique", "autocomplete.choices"}
    explicit |= {"choice", "message.upload_limit", "message.files", "message.empty"}
    assert set(RULES) == tabled | explicit
    assert all(
        rule.docs.startswith("https://discord.com/developers/docs/") for rule in RULES.values()
    )


def test_discord_py_payloads_pass() -> None:
    """What discord.py 2.x builds from ordinary objects is accepted as is."""
    em = discord.Embed(title="t", description="d", url="https://e.com", colour=0x123456)
    em.add_field(name="a", value="b").set_footer(text="f", icon_url="https://e.com/i.png")
    em.set_author(name="n", icon_url="attachment://a.png").set_image(url="attachment://a.png")
    view = discord.ui.View()
    view.add_item(discord.ui.Button(label="Go", custom_id="go"))
    view.add_item(discord.ui.Button(label="Docs", url="https://e.com"))
    mentions = discord.AllowedMentions(users=[discord.Object(1)], roles=False, everyone=False)
    body = {
        "content": "hi",
        "embeds": [em.to_dict()],
        "components": view.to_components(),
        "allowed_mentions": mentions.to_dict(),
    }
    assert message(body) is None

    class Survey(discord.ui.Modal, title="Survey"):
        answer = discord.ui.TextInput(label="Answer", max_length=4000)
        more = discord.ui.Label(
            text="More", component=discord.ui.TextInput(style=discord.TextStyle.long)
        )

    assert check_modal(Survey().to_dict()) is None


# ---------------------------------------------------------------------------------------------
# Over HTTP: every route uses the checks


@pytest.fixture
async def fake():
    fake = FakeDiscord(app_id=4242, bot_user={"id": 4242, "username": "testbot"})
    fake.add_guild(GUILD, "plain", premium_tier=0)
    fake.add_channel(GUILD, CHANNEL, "general")
    fake.add_member(GUILD, ALICE, "alice")
    fake.add_member(GUILD, NITRO, "nitro", upload_limit=500 * MiB)
    async with fake:
        yield fake


@pytest.fixture
async def http(fake: FakeDiscord):
    headers = {"Authorization": f"Bot {fake.token}"}
    async with aiohttp.ClientSession(fake.api_base + "/", headers=headers) as session:
        yield session


async def answer(response: aiohttp.ClientResponse) -> tuple[int, Any]:
    body = await response.read()
    return response.status, json.loads(body) if body else None


def multipart(payload: dict[str, Any], *files: tuple[str, bytes]) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("payload_json", json.dumps(payload), content_type="application/json")
    for i, (name, data) in enumerate(files):
        form.add_field(f"files[{i}]", data, filename=name, content_type="application/octet-stream")
    return form


def interaction(fake: FakeDiscord, type: int = APPLICATION_COMMAND, user: int = ALICE, data=None):
    return fake.register_interaction(
        type, "image", GUILD, CHANNEL, user, data or {"id": "1", "name": "image", "type": 1}
    )


async def test_bulk_overwrite_refuses_max_length_20000(fake: FakeDiscord, http) -> None:
    """option.string_length over PUT: the bug of the last release now fails at sync."""
    url = "applications/4242/commands"
    status, body = await answer(await http.put(url, json=[cmd(options=[opt(max_length=20000)])]))
    assert status == 400 and body["code"] == 50035 and body["message"] == "Invalid Form Body"
    assert body["errors"] == {
        "0": {
            "options": {
                "0": {
                    "max_length": {
                        "_errors": [
                            {
                                "code": "NUMBER_TYPE_MAX",
                                "message": "int value should be less than or equal to 6000.",
                            }
                        ]
                    }
                }
            }
        }
    }
    assert fake.global_commands == [] and fake.command_syncs == []
    status, stored = await answer(await http.put(url, json=[cmd(options=[opt(max_length=6000)])]))
    assert status == 200 and stored[0]["options"][0]["max_length"] == 6000


async def test_bulk_overwrite_too_many_of_a_type(http) -> None:
    """commands.count over PUT: 101 chat-input commands is 30032."""
    status, body = await answer(
        await http.put(
            "applications/4242/guilds/1001/commands", json=[cmd(name=f"c{i}") for i in range(101)]
        )
    )
    assert (status, body["code"]) == (400, 30032)


async def test_create_command_is_checked(fake: FakeDiscord, http) -> None:
    """command.name.chars over POST; and POST adds to the per-type count (30032)."""
    status, body = await answer(
        await http.post("applications/4242/commands", json=cmd(name="Bad Name"))
    )
    assert (
        status == 400
        and body["errors"]["name"]["_errors"][0]["code"] == "APPLICATION_COMMAND_INVALID_NAME"
    )
    fake.global_commands[:] = [{"id": str(i), "type": 1, "name": f"c{i}"} for i in range(100)]
    status, body = await answer(await http.post("applications/4242/commands", json=cmd()))
    assert (status, body["code"]) == (400, 30032)
    status, _ = await answer(await http.post("applications/4242/commands", json=cmd(name="c5")))
    assert status == 201  # same name: an overwrite, not a 101st command


async def test_patch_validates_the_merged_command(fake: FakeDiscord, http) -> None:
    """PATCH is checked as the command it would produce, and a refused PATCH changes nothing."""
    url = "applications/4242/commands"
    _, created = await answer(await http.post(url, json=cmd(options=[opt()])))
    _, other = await answer(await http.post(url, json=cmd(name="video")))
    path = f"{url}/{created['id']}"
    status, body = await answer(await http.patch(path, json={"options": [opt(max_length=20000)]}))
    assert status == 400
    assert body["errors"]["options"]["0"]["max_length"]["_errors"][0]["code"] == "NUMBER_TYPE_MAX"
    status, body = await answer(await http.patch(path, json={"description": ""}))
    assert status == 400 and "description" in body["errors"]
    status, body = await answer(await http.patch(path, json={"name": "video"}))
    assert (status, body["code"]) == (400, 40041)
    assert fake.get_command("image")["options"][0].get("max_length") is None
    status, body = await answer(await http.patch(path, json={"options": [opt(max_length=6000)]}))
    assert status == 200 and body["options"][0]["max_length"] == 6000 and other["name"] == "video"


async def test_channel_message_and_edit_are_checked(fake: FakeDiscord, http) -> None:
    """embed.limits over POST and PATCH /channels/{id}/messages: 1024 passes, 1025 doesn't."""
    url = f"channels/{CHANNEL}/messages"
    status, body = await answer(await http.post(url, json=embed(fields=[field(value="v" * 1025)])))
    assert status == 400
    assert body["errors"]["embeds"]["0"]["fields"]["0"]["value"]["_errors"][0] == {
        "code": "BASE_TYPE_MAX_LENGTH",
        "message": "Must be 1024 or fewer in length.",
    }
    status, sent = await answer(await http.post(url, json=embed(fields=[field(value="v" * 1024)])))
    assert status == 200
    status, body = await answer(
        await http.patch(f"{url}/{sent['id']}", json={"content": "x" * 2001})
    )
    assert status == 400 and "content" in body["errors"]
    status, body = await answer(await http.post(url, json={}))
    assert (status, body["code"]) == (400, 50006)
    assert [m.embeds[0]["fields"][0]["value"] for m in fake.channel_messages(CHANNEL)] == [
        "v" * 1024
    ]


async def test_callback_errors_are_under_data(fake: FakeDiscord, http) -> None:
    """message rules on callback type 4 report under ``data``; a refused callback does not
    acknowledge, so a corrected one is still accepted."""
    rec = interaction(fake)
    url = f"interactions/{rec.id}/{rec.token}/callback"
    status, body = await answer(
        await http.post(url, json={"type": 4, "data": embed(title="t" * 257)})
    )
    assert status == 400 and body["errors"]["data"]["embeds"]["0"]["title"]["_errors"][0][
        "code"
    ] == ("BASE_TYPE_MAX_LENGTH")
    assert rec.callback is None
    status, _ = await answer(await http.post(url, json={"type": 4, "data": embed(title="t" * 256)}))
    assert status == 204 and rec.callback is not None


async def test_unknown_interaction_is_404_10062(fake: FakeDiscord, http) -> None:
    """A callback with a token Discord never issued: 404 10062 "Unknown interaction"."""
    rec = interaction(fake)
    status, body = await answer(
        await http.post(f"interactions/{rec.id}/wrong/callback", json={"type": 5})
    )
    assert (status, body) == (404, {"message": "Unknown interaction", "code": 10062})


async def test_autocomplete_callback_is_checked_against_the_option_type(
    fake: FakeDiscord, http
) -> None:
    """autocomplete.choices over the callback route: the focused option's type decides the
    value type, one bad choice refuses the whole answer."""
    data = {
        "id": "1",
        "name": "image",
        "type": 1,
        "options": [{"type": 4, "name": "n", "value": "1", "focused": True}],
    }
    rec = interaction(fake, AUTOCOMPLETE, data=data)
    url = f"interactions/{rec.id}/{rec.token}/callback"
    bad = {
        "type": 8,
        "data": {"choices": [{"name": "one", "value": 1}, {"name": "two", "value": "2"}]},
    }
    status, body = await answer(await http.post(url, json=bad))
    assert status == 400 and "1" in body["errors"]["data"]["choices"]
    status, body = await answer(
        await http.post(url, json={"type": 8, "data": {"choices": choices(26)}})
    )
    assert body["errors"]["data"]["choices"]["_errors"][0]["code"] == "BASE_TYPE_MAX_LENGTH"
    good = {"type": 8, "data": {"choices": [{"name": "one", "value": 1}]}}
    status, _ = await answer(await http.post(url, json=good))
    assert status == 204 and rec.choices == [{"name": "one", "value": 1}]


async def test_modal_callback_is_checked(fake: FakeDiscord, http) -> None:
    """modal over the callback route (type 9)."""
    rec = interaction(fake)
    url = f"interactions/{rec.id}/{rec.token}/callback"
    status, body = await answer(
        await http.post(url, json={"type": 9, "data": modal(row(text_input()), title="t" * 46)})
    )
    assert (
        status == 400
        and body["errors"]["data"]["title"]["_errors"][0]["code"] == "BASE_TYPE_BAD_LENGTH"
    )
    status, _ = await answer(
        await http.post(url, json={"type": 9, "data": modal(row(text_input()))})
    )
    assert status == 204 and rec.modal["title"] == "Survey"


async def test_followups_and_webhook_edits_are_checked(fake: FakeDiscord, http) -> None:
    """message rules over POST /webhooks/{app}/{token} and PATCH .../messages/@original."""
    rec = interaction(fake)
    await http.post(f"interactions/{rec.id}/{rec.token}/callback", json={"type": 5})
    hook = f"webhooks/4242/{rec.token}"
    mentions = {"parse": ["users"], "users": [str(ALICE)]}
    status, body = await answer(
        await http.post(hook, json={"content": "hi", "allowed_mentions": mentions})
    )
    assert status == 400 and body["errors"]["allowed_mentions"]["_errors"][0]["code"] == (
        "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE"
    )
    status, body = await answer(
        await http.patch(
            f"{hook}/messages/@original", json={"components": [row(button("a"), button("a"))]}
        )
    )
    assert status == 400
    assert "custom_id" in body["errors"]["components"]["0"]["components"]["1"]
    status, _ = await answer(await http.patch(f"{hook}/messages/@original", json={"content": "ok"}))
    assert status == 200 and rec.original.content == "ok"


async def test_nitro_member_uploads_more_in_interactions_only(fake: FakeDiscord, http) -> None:
    """message.upload_limit: interactions are bound by attachment_size_limit (max of the
    server's and the member's own limit); the bot's channel messages by the server's."""
    fake.guilds[GUILD].upload_limit = 1 * KiB  # keeps the uploads small
    fake.users[NITRO].upload_limit = 4 * KiB
    plain, nitro = interaction(fake), interaction(fake, user=NITRO)
    assert plain.payload["attachment_size_limit"] == 1 * KiB
    assert nitro.payload["attachment_size_limit"] == 4 * KiB
    mid, big = ("m.bin", b"x" * (2 * KiB)), ("b.bin", b"x" * (4 * KiB + 1))

    async def callback(rec, file) -> int:
        url = f"interactions/{rec.id}/{rec.token}/callback"
        return (
            await http.post(url, data=multipart({"type": 4, "data": {"content": "f"}}, file))
        ).status

    assert await callback(plain, mid) == 413
    assert await callback(nitro, big) == 413
    assert await callback(nitro, mid) == 204
    hook = f"webhooks/4242/{nitro.token}"
    assert (await http.post(hook, data=multipart({"content": "f"}, mid))).status == 204
    assert (await http.patch(f"{hook}/messages/@original", data=multipart({}, mid))).status == 200
    assert (await http.post(hook, data=multipart({"content": "f"}, big))).status == 413
    status, body = await answer(
        await http.post(f"channels/{CHANNEL}/messages", data=multipart({"content": "f"}, mid))
    )
    assert (status, body) == (413, {"message": "Request entity too large", "code": 40005})


async def test_nitro_limit_reaches_discord_py(fake: FakeDiscord) -> None:
    """discord.py reports the personal limit as ``Interaction.filesize_limit``."""
    rec = interaction(fake, user=NITRO)
    client = discord.Client(intents=discord.Intents.none())
    async with run_bot(client, fake):
        seen = discord.Interaction(data=rec.payload, state=client._connection)
    assert seen.filesize_limit == 500 * MiB
    assert client.get_guild(GUILD).filesize_limit == LIMIT


# ---------------------------------------------------------------------------------------------
# 429s


async def test_rate_limit_body_and_headers(fake: FakeDiscord, http) -> None:
    """429 exactly like topics/rate-limits#exceeding-a-rate-limit shows it."""
    fake.rate_limit_next("GET", r"/channels/\d+$", retry_after=1.5)
    response = await http.get(f"channels/{CHANNEL}")
    assert response.status == 429
    assert await response.json() == {
        "message": "You are being rate limited.",
        "retry_after": 1.5,
        "global": False,
    }
    headers = response.headers
    assert headers["Retry-After"] == "2" and headers["X-RateLimit-Scope"] == "user"
    assert headers["X-RateLimit-Remaining"] == "0" and headers["X-RateLimit-Reset-After"] == "1.500"
    assert {"X-RateLimit-Limit", "X-RateLimit-Reset", "X-RateLimit-Bucket", "Via"} <= set(headers)
    assert response.headers["Content-Type"] == "application/json"
    assert (await http.get(f"channels/{CHANNEL}")).status == 200  # only the next one
    fake.rate_limit_next("GET", r"/channels/\d+$", retry_after=3, scope="global")
    response = await http.get(f"channels/{CHANNEL}")
    assert (await response.json())["global"] is True
    assert response.headers["X-RateLimit-Global"] == "true"
    assert response.headers["X-RateLimit-Scope"] == "global"


async def test_discord_py_waits_out_a_429_and_retries(fake: FakeDiscord) -> None:
    """discord.py sleeps ``retry_after`` and repeats the request, on REST and on the
    interaction webhook (followups)."""
    fake.rate_limit_next("POST", r"/channels/\d+/messages$", retry_after=0.3)
    client = discord.Client(intents=discord.Intents.none())
    async with run_bot(client, fake):
        started = time.monotonic()
        await client.get_channel(CHANNEL).send("after 429")
        waited = time.monotonic() - started
    assert waited >= 0.3
    posts = [r.status for r in fake.requests if r.method == "POST" and r.path.endswith("/messages")]
    assert posts == [429, 200]

    rec = interaction(fake)
    async with aiohttp.ClientSession() as session:
        await session.post(
            f"{fake.api_base}/interactions/{rec.id}/{rec.token}/callback", json={"type": 5}
        )
        fake.rate_limit_next("POST", rf"/webhooks/4242/{rec.token}$", retry_after=0.3)
        with pointed_at(fake):
            webhook = discord.Webhook.partial(fake.app_id, rec.token, session=session)
            started = time.monotonic()
            await webhook.send("followup after 429")
            waited = time.monotonic() - started
    assert waited >= 0.3 and rec.followups[0].content == "followup after 429"


async def test_fail_next_429_still_works(fake: FakeDiscord, http) -> None:
    """fail_next(..., 429) is a rate_limit_next with the body's retry_after."""
    fake.fail_next("GET", r"/channels/\d+$", 429, {"retry_after": 0.2})
    response = await http.get(f"channels/{CHANNEL}")
    assert response.status == 429 and (await response.json())["retry_after"] == 0.2
    assert response.headers["X-RateLimit-Scope"] == "user"


async def test_a_repeated_nonce_with_enforce_nonce_returns_the_first_message(
    fake: FakeDiscord, http
) -> None:
    """message.nonce: with enforce_nonce, Discord creates one message per nonce."""
    url = f"channels/{CHANNEL}/messages"
    body = {"content": "once", "nonce": "job1c00", "enforce_nonce": True}
    status, first = await answer(await http.post(url, json=body))
    status2, again = await answer(await http.post(url, json=body))
    assert (status, status2) == (200, 200) and again["id"] == first["id"]
    status, other = await answer(await http.post(url, json={**body, "enforce_nonce": False}))
    assert status == 200 and other["id"] != first["id"]  # without enforce_nonce: a new one
    assert [m.content for m in fake.channel_messages(CHANNEL)] == ["once", "once"]
    assert fake.nonce_repeats == 1
