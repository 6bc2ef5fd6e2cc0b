"""docs/operating.md stays true to the code: the invite it describes, the command line it
documents, and a troubleshooting table that quotes every message an operator may be asked
about (tests/messages.py reads them out of the source)."""

from __future__ import annotations

import re

import pytest

from bot import BananaBot
from cli import COMMANDS, build_parser
from presentation.bot_permissions import PERMISSION_NAMES, REQUIRED_PERMISSIONS, SCOPES
from settings import load_settings
from tests.messages import ROOT, collect

GUIDE = ROOT / "docs" / "operating.md"


def flat(text: str) -> str:
    return " ".join(text.split())


def guide() -> str:
    return GUIDE.read_text(encoding="utf-8")


def troubleshooting() -> str:
    text = guide()
    return flat(text[text.index("## 10. Troubleshooting") :])


def test_every_message_in_the_code_is_quoted_in_the_troubleshooting_tables():
    messages, unreadable = collect()
    assert unreadable == [], (
        "message arguments the collector cannot read; word them in place, or list the "
        "forwarding site in tests/messages.py FORWARDS: " + "; ".join(unreadable)
    )
    tables = troubleshooting()
    missing = sorted(
        {
            f"{message.where}: {message.shown()!r} (missing {fragment!r})"
            for message in messages
            for fragment in message.fragments()
            if fragment not in tables
        }
    )
    assert missing == [], "docs/operating.md section 10 does not quote:\n" + "\n".join(missing)


def test_the_collector_reads_every_kind_of_message():
    shown = {message.shown() for message in collect()[0]}
    for expected in (
        "DISCORD_TOKEN is not set: put the bot token from the Discord developer portal in the "
        "environment or in .env (see .env.example)",  # settings.py, ConfigError
        "Discord rejected DISCORD_TOKEN; check the token in the developer portal",  # LoginFailure
        "a command breaks Discord's limits: …",  # StartupError
        "The bot is restarting, so nothing was started and nothing was charged. Please try "
        "again in a minute.",  # a constant, raised in presentation/launch.py
        "Only moderators can use /quota (Manage Server permission or a moderator role).",
        "… lost track of this generation.",  # jobs/failures.py
        "This command only works in a server.",  # bot.py's error handler
        "… would not price `…` with these options",  # forwarded through PriceUnavailable
    ):
        assert expected in shown
    assert any(m.startswith("I can't post results in this channel") for m in shown)
    assert any("newer than this bananabot knows" in m for m in shown)  # SchemaTooNew.__init__


def test_the_guide_states_the_invite_the_code_asks_for():
    text = guide()
    value = REQUIRED_PERMISSIONS.value
    assert f"**{value}**" in text
    assert (
        "https://discord.com/oauth2/authorize?client_id=<application id>"
        f"&scope={'%20'.join(SCOPES)}&permissions={value}"
    ) in text
    for scope in SCOPES:
        assert f"| `{scope}` |" in text
    rows = re.findall(r"^\| ([A-Z][\w ]+?) \| `1 << (\d+)` = (\d+) \|", text, re.M)
    assert {name for name, _, _ in rows} == set(PERMISSION_NAMES.values())
    assert sum(1 << int(bit) for _, bit, _ in rows) == value
    assert all(int(decimal) == 1 << int(bit) for _, bit, decimal in rows)


async def test_the_guide_is_right_that_no_privileged_intent_is_needed():
    bot = BananaBot(load_settings({"SANDBOX_PROVIDER": "1"}))
    try:
        intents = bot.intents
        assert not (intents.members or intents.presences or intents.message_content)
        assert intents.guilds
    finally:
        await bot.fetcher.aclose()
        await bot.registry.aclose()
    assert "leave all three **Privileged Gateway Intents**" in flat(guide())


def test_the_guide_shows_the_current_help_and_every_command(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")  # argparse wraps to the terminal's width
    help_text = build_parser().format_help()
    assert help_text.strip() in guide()
    for command in COMMANDS:
        assert f"`bananabot {command}" in guide()


@pytest.mark.parametrize("document", ["README.md"])
def test_the_readme_links_the_guide(document):
    assert "(docs/operating.md)" in (ROOT / document).read_text(encoding="utf-8")
