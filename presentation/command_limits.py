"""Application command definitions checked against Discord's limits before they are synced.

Discord refuses a whole sync for one bad option (400, 50035) and the bot cannot work without
its commands, so the bot checks the payloads it is about to send and, when Discord still
refuses, names the command, the option and the rule in one line.
(interactions/application-commands#application-command-object, and its option and choice
structures.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from presentation.discord_limits import (
    CHOICE_NAME_MAX,
    CHOICE_VALUE_MAX,
    CHOICES_MAX,
    COMMAND_DESCRIPTION_MAX,
    COMMAND_NAME_PATTERN,
    COMMAND_OPTIONS_MAX,
    COMMAND_TOTAL_MAX,
    OPTION_LENGTH_MAX,
)

CHAT_INPUT = 1
SUBCOMMAND_TYPES = (1, 2)
STRING, INTEGER, NUMBER = 3, 4, 10
NUMBER_BOUND = 2**53  #: min_value / max_value lie within ±2^53


def problems(commands: Iterable[dict[str, Any]]) -> list[str]:
    """Every rule the command payloads break, one readable line each."""
    found: list[str] = []
    for command in commands:
        found += _command_problems(command)
    return found


def _command_problems(command: dict[str, Any]) -> list[str]:
    name = command.get("name", "")
    where = f"/{name}"
    found = _name_and_description(where, command, chat_input=command.get("type", 1) == CHAT_INPUT)
    found += _options_problems(where, command.get("options") or [])
    total = _characters(command)
    if total > COMMAND_TOTAL_MAX:
        found.append(
            f"{where}: {total} characters in names, descriptions and choices; "
            f"Discord allows {COMMAND_TOTAL_MAX}"
        )
    return found


def _name_and_description(where: str, item: dict[str, Any], *, chat_input: bool) -> list[str]:
    found = []
    name = item.get("name", "")
    if chat_input and (not COMMAND_NAME_PATTERN.match(name) or name != name.lower()):
        found.append(f"{where}: name {name!r} must be 1-32 lowercase letters, digits, - or _")
    description = item.get("description") or ""
    if chat_input and not 1 <= len(description) <= COMMAND_DESCRIPTION_MAX:
        found.append(
            f"{where}: description is {len(description)} characters; "
            f"Discord allows 1-{COMMAND_DESCRIPTION_MAX}"
        )
    return found


def _options_problems(where: str, options: list[dict[str, Any]]) -> list[str]:
    found = []
    if len(options) > COMMAND_OPTIONS_MAX:
        found.append(f"{where}: {len(options)} options; Discord allows {COMMAND_OPTIONS_MAX}")
    for option in options:
        here = f"{where} option {option.get('name', '?')}"
        if option.get("type") in SUBCOMMAND_TYPES:
            here = f"{where} {option.get('name', '?')}"
        found += _name_and_description(here, option, chat_input=True)
        if option.get("type") in SUBCOMMAND_TYPES:
            found += _options_problems(here, option.get("options") or [])
            continue
        for key, low in (("min_length", 0), ("max_length", 1)):
            value = option.get(key)
            if value is not None and not low <= value <= OPTION_LENGTH_MAX:
                found.append(
                    f"{here}: {key} {value} is outside {low}-{OPTION_LENGTH_MAX}, "
                    "the range Discord allows"
                )
        for key in ("min_value", "max_value"):
            value = option.get(key)
            if value is not None and not -NUMBER_BOUND <= value <= NUMBER_BOUND:
                found.append(f"{here}: {key} {value} is outside ±2^53")
        low, high = option.get("min_value"), option.get("max_value")
        if low is not None and high is not None and low > high:
            found.append(f"{here}: min_value {low} is above max_value {high}")
        choices = option.get("choices") or []
        if len(choices) > CHOICES_MAX:
            found.append(f"{here}: {len(choices)} choices; Discord allows {CHOICES_MAX}")
        for choice in choices:
            if not 1 <= len(choice.get("name", "")) <= CHOICE_NAME_MAX:
                found.append(f"{here}: choice name {choice.get('name')!r} is not 1-100 characters")
            value = choice.get("value")
            if isinstance(value, str) and len(value) > CHOICE_VALUE_MAX:
                found.append(f"{here}: choice value longer than {CHOICE_VALUE_MAX} characters")
        if choices and option.get("autocomplete"):
            found.append(f"{here}: choices and autocomplete cannot be used together")
    return found


def _characters(item: dict[str, Any]) -> int:
    """What Discord counts toward COMMAND_TOTAL_MAX: names, descriptions and values, with
    their localizations, of the command, its options and their choices."""
    total = len(item.get("name") or "") + len(item.get("description") or "")
    for key in ("name_localizations", "description_localizations"):
        total += sum(len(v) for v in (item.get(key) or {}).values())
    for choice in item.get("choices") or []:
        total += len(str(choice.get("name", ""))) + len(str(choice.get("value", "")))
        total += sum(len(v) for v in (choice.get("name_localizations") or {}).values())
    return total + sum(_characters(option) for option in item.get("options") or [])


_ERROR_PATH = re.compile(r"^In (?P<path>[\w.]+): (?P<message>.+)$")


def describe_refusal(error_text: str, commands: list[dict[str, Any]]) -> str:
    """Discord's flattened refusal ("In 0.options.2.max_length: Must be 6000 or fewer") as
    "/image option prompt: max_length: Must be 6000 or fewer"."""
    lines = []
    for line in error_text.splitlines():
        match = _ERROR_PATH.match(line.strip())
        if match is None:
            if line.strip():
                lines.append(line.strip())
            continue
        parts = match["path"].split(".")
        where, item, rest = "", None, parts
        if parts and parts[0].isdigit() and int(parts[0]) < len(commands):
            item = commands[int(parts[0])]
            where = f"/{item.get('name')}"
            rest = parts[1:]
        while len(rest) >= 2 and rest[0] == "options" and rest[1].isdigit() and item is not None:
            options = item.get("options") or []
            index = int(rest[1])
            if index >= len(options):
                break
            item = options[index]
            kind = "" if item.get("type") in SUBCOMMAND_TYPES else "option "
            where += f" {kind}{item.get('name')}"
            rest = rest[2:]
        rule = ".".join(rest)
        lines.append(f"{where}: {rule + ': ' if rule else ''}{match['message']}".strip(": "))
    return "; ".join(lines) or error_text
