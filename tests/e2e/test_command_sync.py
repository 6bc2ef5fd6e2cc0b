"""Command sync against Discord's rules: the bot's own tree passes them, and a refusal stops
the bot with one line that names the command, the option and the rule."""

from __future__ import annotations

import logging

import pytest

import bot as bot_module
import cli
from bot import StartupError, run
from tests.fakediscord import pointed_at

REFUSAL = {
    "code": 50035,
    "message": "Invalid Form Body",
    "errors": {
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
    },
}


async def test_the_bots_commands_sync_under_discords_rules(world):
    async with world.bot():
        synced = {c["name"] for c in world.fake.global_commands}
    assert synced == {
        "image",
        "video",
        "animate",
        "credits",
        "quota",
        "settings",
        "status",
        "history",
        "show",
    }
    assert not world.fake.unknown_routes


@pytest.mark.filterwarnings("ignore:coroutine 'Client._run_event' was never awaited")
async def test_a_refused_sync_stops_the_bot_naming_command_option_and_rule(world):
    world.fake.fail_next("PUT", r"/applications/\d+/commands$", 400, REFUSAL)
    with pointed_at(world.fake), pytest.raises(StartupError) as refused:
        await run(world.settings())
    line = str(refused.value)
    assert "\n" not in line
    assert "/image option prompt: max_length" in line
    assert "less than or equal to 6000" in line
    assert not world.fake.gateway.identifies  # it stopped before connecting


def test_main_turns_a_startup_error_into_one_line_and_exit_2(monkeypatch, caplog):
    async def refused(settings):
        raise StartupError("Discord refused the commands: /image option prompt: max_length")

    monkeypatch.setenv("DISCORD_TOKEN", "x")
    monkeypatch.setenv("SANDBOX_PROVIDER", "1")
    monkeypatch.setattr(bot_module, "run", refused)
    monkeypatch.setattr(bot_module, "configure_logging", lambda settings: None)
    with caplog.at_level(logging.ERROR, logger="bananabot"):
        assert cli.main([]) == 2
    (record,) = caplog.records
    assert record.getMessage() == (
        "cannot start: Discord refused the commands: /image option prompt: max_length"
    )
    assert record.exc_info is None
