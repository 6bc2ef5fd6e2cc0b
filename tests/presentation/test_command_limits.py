"""The bot's own check of command definitions, run before every sync."""

from __future__ import annotations

import pytest

from presentation.command_limits import describe_refusal, problems


def command(**changes):
    base = {
        "type": 1,
        "name": "image",
        "description": "Make an image",
        "options": [
            {"type": 3, "name": "prompt", "description": "What to draw", "required": True},
        ],
    }
    return base | changes


def with_option(**changes):
    cmd = command()
    cmd["options"] = [cmd["options"][0] | changes]
    return cmd


def test_a_valid_command_has_no_problems():
    assert problems([command()]) == []


@pytest.mark.parametrize(
    ("cmd", "expected"),
    [
        (with_option(max_length=20000), "/image option prompt: max_length 20000 is outside"),
        (with_option(min_length=6001), "/image option prompt: min_length 6001 is outside"),
        (command(name="Image"), "/Image: name 'Image' must be"),
        (command(description=""), "/image: description is 0 characters"),
        (command(description="d" * 101), "/image: description is 101 characters"),
        (with_option(description="d" * 101), "/image option prompt: description is 101"),
        (with_option(choices=[{"name": str(i), "value": str(i)} for i in range(26)]), "26 choices"),
        (with_option(choices=[{"name": "x" * 101, "value": "x"}]), "choice name"),
        (with_option(choices=[{"name": "x", "value": "v" * 101}]), "choice value longer"),
        (with_option(autocomplete=True, choices=[{"name": "a", "value": "a"}]), "together"),
        (with_option(type=4, min_value=5, max_value=1), "min_value 5 is above max_value 1"),
        (with_option(type=4, max_value=2**60), "max_value"),
        (
            command(options=[{"type": 5, "name": f"o{i}", "description": "d"} for i in range(26)]),
            "26 options",
        ),
    ],
)
def test_each_rule_is_caught_and_named(cmd, expected):
    found = problems([cmd])
    assert any(expected in line for line in found), found


def test_a_whole_command_may_hold_8000_characters():
    options = [
        {
            "type": 3,
            "name": f"opt{i}",
            "description": "d" * 100,
            "choices": [{"name": "n" * 100, "value": "v" * 100} for _ in range(2)],
        }
        for i in range(25)
    ]
    found = problems([command(options=options)])
    assert any("characters in names, descriptions and choices" in line for line in found)


def test_subcommand_options_are_checked_too():
    group = command(
        name="quota",
        options=[
            {
                "type": 1,
                "name": "grant",
                "description": "Give credits",
                "options": [{"type": 3, "name": "reason", "description": "", "max_length": 9000}],
            }
        ],
    )
    found = problems([group])
    assert "/quota grant option reason: description is 0 characters; Discord allows 1-100" in found
    assert any(line.startswith("/quota grant option reason: max_length 9000") for line in found)


def test_discords_refusal_is_named_by_command_and_option():
    text = (
        "Invalid Form Body\n"
        "In 0.options.0.max_length: int value should be less than or equal to 6000."
    )
    assert describe_refusal(text, [command()]) == (
        "Invalid Form Body; /image option prompt: max_length: int value should be less "
        "than or equal to 6000."
    )
