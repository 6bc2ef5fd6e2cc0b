"""Discord's validation of what a bot sends, as pure functions over JSON payloads.

The emulator's routes call these checks so a payload Discord would refuse is refused in the
tests too, with the status, JSON error code and nested ``errors`` tree Discord answers with.
They take plain dicts and need no server, so a contract test can run them on the payloads
discord.py builds. Every rule is a :class:`Rule` in :data:`RULES` with the documentation page
it comes from; a :class:`Refusal` names the rules it broke.

Error codes and messages are the ones Discord sends where they could be confirmed from its
documentation (``reference#error-messages``, the opcodes page) or from real responses quoted
in public bug reports; the few marked ``# unconfirmed code`` are plausible stand-ins.

Public API: :func:`check_command`, :func:`check_commands`, :func:`check_message`,
:func:`check_autocomplete`, :func:`check_modal`, :class:`Refusal`, :data:`RULES`.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

DOCS = "https://discord.com/developers/docs"
_COMMANDS = f"{DOCS}/interactions/application-commands"
_RESPONDING = f"{DOCS}/interactions/receiving-and-responding"
_MESSAGE = f"{DOCS}/resources/message"
_COMPONENTS = f"{DOCS}/components/reference"
_CODES = f"{DOCS}/topics/opcodes-and-status-codes#json"

# Option types (application-commands#application-command-object-application-command-option-type).
SUB_COMMAND, SUB_COMMAND_GROUP, STRING, INTEGER, NUMBER, CHANNEL = 1, 2, 3, 4, 10, 7
OPTION_TYPES = tuple(range(1, 12))
INT53 = 2**53 - 1  #: INTEGER options: "Any integer between -2^53+1 and 2^53-1"
DOUBLE53 = 2**53  #: NUMBER options: "Any double between -2^53 and 2^53"
FLAG_COMPONENTS_V2 = 1 << 15
_SELECTS = (3, 5, 6, 7, 8)


# ---------------------------------------------------------------------------------------------
# Rules, problems, refusals


@dataclass(frozen=True)
class Rule:
    """One documented limit: what it says and the page that says it."""

    id: str
    text: str
    docs: str


#: Every rule the emulator enforces, by id.
RULES: dict[str, Rule] = {}


def _rule(id: str, text: str, docs: str) -> Rule:
    rule = RULES[id] = Rule(id, text, docs)
    return rule


Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One entry of Discord's ``errors`` tree: where, which code, what it says, which rule."""

    path: Path
    code: str
    message: str
    rule: Rule

    @property
    def dotted(self) -> str:
        return ".".join(str(p) for p in self.path)


@dataclass(frozen=True)
class Refusal:
    """What Discord answers instead of doing what was asked.

    ``errors`` is the nested ``errors`` tree of a 50035 "Invalid Form Body"; ``docs`` is the
    documentation page of the (first) rule broken; ``problems`` lists every broken rule.
    """

    status: int
    code: int
    message: str
    errors: dict[str, Any] | None = None
    docs: str = ""
    problems: tuple[Problem, ...] = field(default=(), repr=False)
    #: The rule behind a refusal that has no ``errors`` tree (413, 30015, 50006, ...).
    rule: Rule | None = field(default=None, repr=False)

    def body(self) -> dict[str, Any]:
        """The JSON body, key for key as Discord sends it."""
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors is not None:
            body["errors"] = self.errors
        return body

    def response(self) -> web.Response:
        """The aiohttp response (``application/json`` without charset, as discord.py wants)."""
        return web.Response(
            status=self.status,
            body=json.dumps(self.body()).encode(),
            headers={"Content-Type": "application/json"},
        )

    def nested(self, *prefix: str | int) -> Refusal:
        """The same refusal with its errors moved under ``prefix`` (callbacks nest ``data``)."""
        if self.code != 50035:
            return self
        problems = tuple(
            Problem((*prefix, *p.path), p.code, p.message, p.rule) for p in self.problems
        )
        return _form_refusal(problems)

    def paths(self) -> dict[str, list[str]]:
        """Error codes by dotted path, e.g. ``{"embeds.0.title": ["BASE_TYPE_MAX_LENGTH"]}``."""
        out: dict[str, list[str]] = {}
        for p in self.problems:
            out.setdefault(p.dotted, []).append(p.code)
        return out

    @property
    def rules(self) -> set[str]:
        """Ids of the rules broken."""
        return {p.rule.id for p in self.problems} | ({self.rule.id} if self.rule else set())

    def __str__(self) -> str:
        if not self.problems:
            return f"{self.status} {self.code} {self.message} ({self.docs})"
        parts = [
            f"{p.dotted + ': ' if p.path else ''}{p.message} ({p.rule.docs})" for p in self.problems
        ]
        return f"{self.status} {self.code} " + "; ".join(parts)


def _errors_tree(problems: Iterable[Problem]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for p in problems:
        node = tree
        for key in p.path:
            node = node.setdefault(str(key), {})
        node.setdefault("_errors", []).append({"code": p.code, "message": p.message})
    return tree


def _form_refusal(problems: Sequence[Problem]) -> Refusal:
    return Refusal(
        400,
        50035,
        "Invalid Form Body",
        _errors_tree(problems),
        problems[0].rule.docs,
        tuple(problems),
    )


def _plain(status: int, code: int, message: str, rule: Rule) -> Refusal:
    return Refusal(status, code, message, None, rule.docs, rule=rule)


class _Form:
    """Collects every form error of one payload, like Discord's 50035 does."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, rule: Rule, path: Path, code: str, message: str) -> None:
        self.problems.append(Problem(path, code, message, rule))

    def refusal(self) -> Refusal | None:
        return _form_refusal(self.problems) if self.problems else None

    def text(
        self,
        rule: Rule,
        path: Path,
        value: Any,
        hi: int,
        lo: int = 0,
        *,
        required: bool = False,
        trimmed: bool = False,
    ) -> None:
        """A string field ``lo``..``hi`` characters long.

        ``trimmed``: Discord strips leading/trailing whitespace first and calls an empty
        value missing (embed fields).
        """
        if value is None:
            if required:
                self.add(rule, path, "BASE_TYPE_REQUIRED", "This field is required")
            return
        if not isinstance(value, str):
            self.add(rule, path, "BASE_TYPE_STRING", f'Could not interpret "{value!r}" as string.')
            return
        n = len(value.strip()) if trimmed else len(value)
        if trimmed and n == 0 and required:
            self.add(rule, path, "BASE_TYPE_REQUIRED", "This field is required")
        elif lo and (n < lo or n > hi):
            self.add(
                rule, path, "BASE_TYPE_BAD_LENGTH", f"Must be between {lo} and {hi} in length."
            )
        elif n > hi:
            self.add(rule, path, "BASE_TYPE_MAX_LENGTH", f"Must be {hi} or fewer in length.")

    def count(self, rule: Rule, path: Path, items: Any, hi: int, lo: int = 0) -> list[Any]:
        """An array of ``lo``..``hi`` items; returns it (empty when absent or not a list)."""
        if items is None:
            items = []
        if not isinstance(items, list):
            self.add(rule, path, "BASE_TYPE_ARRAY", "Must be an array.")  # unconfirmed code
            return []
        n = len(items)
        if lo and (n < lo or n > hi):
            self.add(
                rule, path, "BASE_TYPE_BAD_LENGTH", f"Must be between {lo} and {hi} in length."
            )
        elif n > hi:
            self.add(rule, path, "BASE_TYPE_MAX_LENGTH", f"Must be {hi} or fewer in length.")
        return items

    def number(
        self, rule: Rule, path: Path, value: Any, lo: float, hi: float, *, kind: str = "int"
    ) -> bool:
        """An ``int`` (or ``float`` number) within ``lo``..``hi``; True when it is one."""
        ok_type = isinstance(value, int) if kind == "int" else isinstance(value, int | float)
        if isinstance(value, bool) or not ok_type:
            self.add(rule, path, "NUMBER_TYPE_COERCE", f'Value "{value}" is not {kind}.')
            return False
        if value < lo:
            self.add(
                rule,
                path,
                "NUMBER_TYPE_MIN",
                f"{kind} value should be greater than or equal to {lo}.",
            )
            return False
        if value > hi:
            self.add(
                rule, path, "NUMBER_TYPE_MAX", f"{kind} value should be less than or equal to {hi}."
            )
            return False
        return True

    def choice(self, rule: Rule, path: Path, value: Any, allowed: Sequence[Any]) -> bool:
        if value in allowed and not isinstance(value, bool):
            return True
        shown = ", ".join(repr(a) if isinstance(a, str) else str(a) for a in allowed)
        self.add(rule, path, "BASE_TYPE_CHOICES", f"Value must be one of ({shown}).")
        return False


# ---------------------------------------------------------------------------------------------
# Application commands

R_COMMAND_TYPE = _rule(
    "command.type",
    "command type is 1 (chat input), 2 (user), 3 (message) or 4 (entry point)",
    f"{_COMMANDS}#application-command-object-application-command-types",
)
R_NAME_LENGTH = _rule(
    "command.name.length",
    "command, subcommand and option names (and their localizations) are 1-32 characters",
    f"{_COMMANDS}#application-command-object-application-command-structure",
)
R_NAME_CHARS = _rule(
    "command.name.chars",
    r"chat-input command and option names match ^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$"
    " and use the lowercase variant of every letter that has one",
    f"{_COMMANDS}#application-command-object-application-command-naming",
)
R_DESCRIPTION = _rule(
    "command.description",
    "chat-input commands and every option have a 1-100 character description (localizations too)",
    f"{_COMMANDS}#application-command-object-application-command-structure",
)
R_CONTEXT_MENU = _rule(
    "command.context_menu",
    "user and message commands have an empty description and no options",
    f"{_COMMANDS}#application-command-object-application-command-structure",
)
R_OPTIONS_COUNT = _rule(
    "command.options.count",
    "at most 25 options (or subcommands) per command, group and subcommand",
    f"{_COMMANDS}#application-command-object-application-command-option-structure",
)
R_OPTION_TYPE = _rule(
    "option.type",
    "option type is one of 1-11",
    f"{_COMMANDS}#application-command-object-application-command-option-type",
)
R_OPTION_UNIQUE = _rule(
    "option.name.unique",
    "option names are unique within one options array",
    f"{_COMMANDS}#application-command-object-application-command-option-structure",
)
R_REQUIRED_FIRST = _rule(
    "option.required_first",
    "required options come before optional ones",
    f"{_COMMANDS}#application-command-object-application-command-option-structure",
)
R_NESTING = _rule(
    "option.nesting",
    "a command holds either subcommands/groups or plain options; groups hold only "
    "subcommands; subcommands hold only plain options; subcommands and groups are never "
    "'required'",
    f"{_COMMANDS}#subcommands-and-subcommand-groups",
)
R_STRING_LENGTH = _rule(
    "option.string_length",
    "a string option's min_length is 0-6000 and max_length 1-6000",
    f"{_COMMANDS}#application-command-object-application-command-option-structure",
)
R_VALUE_RANGE = _rule(
    "option.value_range",
    "integer min_value/max_value within -2^53+1..2^53-1, number within -2^53..2^53, "
    "and min_value <= max_value",
    f"{_COMMANDS}#application-command-object-application-command-option-type",
)
R_CHOICES = _rule(
    "option.choices",
    "choices only on string/integer/number options, at most 25, never together with autocomplete",
    f"{_COMMANDS}#application-command-object-application-command-option-structure",
)
R_CHOICE = _rule(
    "choice",
    "choice name 1-100 characters; value of the option's type, a string value at most 100",
    f"{_COMMANDS}#application-command-object-application-command-option-choice-structure",
)
R_AUTOCOMPLETE_TYPE = _rule(
    "option.autocomplete",
    "autocomplete only on string, integer and number options",
    f"{_COMMANDS}#application-command-object-application-command-option-structure",
)
R_CHANNEL_TYPES = _rule(
    "option.channel_types",
    "channel_types only on channel options",
    f"{_COMMANDS}#application-command-object-application-command-option-structure",
)
R_COMMAND_SIZE = _rule(
    "command.size",
    "a command's names, descriptions and choice names/values together (longest localization "
    "of each field) are at most 8000 characters",
    f"{_COMMANDS}#slash-commands",
)
R_BULK_COUNT = _rule(
    "commands.count",
    "a bulk overwrite holds at most 130 commands: 100 chat-input, 15 user, 15 message",
    f"{_COMMANDS}#registering-a-command",
)
R_BULK_UNIQUE = _rule(
    "commands.unique",
    "command names are unique per type within a scope",
    f"{_COMMANDS}#registering-a-command",
)

COMMAND_TYPE_LIMITS = {1: 100, 2: 15, 3: 15, 4: 1}
BULK_MAX = 130
_SCRIPTS_ALLOWED = ((0x0900, 0x097F), (0xA8E0, 0xA8FF), (0x0E00, 0x0E7F))  # Deva, Thai


def _name_char_ok(c: str) -> bool:
    if c in "-_'":
        return True
    if unicodedata.category(c)[0] in "LN":
        return True
    return any(lo <= ord(c) <= hi for lo, hi in _SCRIPTS_ALLOWED)


def _chat_input_name_ok(name: str) -> bool:
    """Discord's naming regex with the unicode flag, plus 'lowercase where a variant exists'."""
    return all(_name_char_ok(c) for c in name) and all(c.lower() == c for c in name)


def _check_name(form: _Form, path: Path, name: Any, *, chat_input: bool) -> None:
    before = len(form.problems)
    form.text(R_NAME_LENGTH, path, name, 32, 1, required=True)
    if chat_input and len(form.problems) == before and not _chat_input_name_ok(name):
        form.add(R_NAME_CHARS, path, "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")


def _check_localized(form: _Form, obj: Mapping[str, Any], key: str, path: Path, check) -> None:
    """Apply ``check(path, value)`` to ``obj[key]`` and each of its localizations."""
    check((*path, key), obj.get(key))
    locs = obj.get(f"{key}_localizations")
    if isinstance(locs, Mapping):
        for locale, value in locs.items():
            check((*path, f"{key}_localizations", locale), value)


def check_command(cmd: Mapping[str, Any]) -> Refusal | None:
    """Why Discord refuses this application command (create, a bulk element, or the result
    of a PATCH merged onto the stored command), or None."""
    form = _Form()
    _command_problems(form, cmd, ())
    return form.refusal()


def check_commands(cmds: Any) -> Refusal | None:
    """Why Discord refuses this bulk overwrite (PUT), or None.

    Form errors of each command are under its index; too many of one type is 30032.
    """
    form = _Form()
    if not isinstance(cmds, list):
        form.add(R_BULK_COUNT, (), "BASE_TYPE_ARRAY", "Must be an array.")  # unconfirmed code
        return form.refusal()
    form.count(R_BULK_COUNT, (), cmds, BULK_MAX)
    seen: set[tuple[int, str]] = set()
    for index, cmd in enumerate(cmds):
        _command_problems(form, cmd, (index,))
        if not isinstance(cmd, Mapping):
            continue
        key = (cmd.get("type") or 1, cmd.get("name"))
        if key in seen:
            form.add(
                R_BULK_UNIQUE,
                (index,),
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                "Application command names must be unique",
            )
        seen.add(key)
    if form.problems:
        return form.refusal()
    return check_command_count(cmds)


def check_command_count(cmds: Iterable[Mapping[str, Any]]) -> Refusal | None:
    """30032 when a scope would hold more commands of one type than Discord allows."""
    per_type: dict[int, int] = {}
    for cmd in cmds:
        ctype = (cmd.get("type") if isinstance(cmd, Mapping) else None) or 1
        per_type[ctype] = per_type.get(ctype, 0) + 1
    for ctype, n in per_type.items():
        limit = COMMAND_TYPE_LIMITS.get(ctype)
        if limit is not None and n > limit:
            message = f"Maximum number of application commands reached ({limit})"
            return _plain(400, 30032, message, R_BULK_COUNT)
    return None


def _command_problems(form: _Form, cmd: Any, path: Path) -> None:
    if not isinstance(cmd, Mapping):
        form.add(R_COMMAND_TYPE, path, "DICT_TYPE_CONVERT", "Only dictionaries may be used.")
        return
    ctype = cmd.get("type") or 1
    if not form.choice(R_COMMAND_TYPE, (*path, "type"), ctype, (1, 2, 3, 4)):
        return
    chat_input = ctype == 1
    _check_localized(
        form, cmd, "name", path, lambda p, v: _check_name(form, p, v, chat_input=chat_input)
    )
    options = cmd.get("options")
    if chat_input:
        _check_localized(
            form,
            cmd,
            "description",
            path,
            lambda p, v: form.text(R_DESCRIPTION, p, v, 100, 1, required=True),
        )
        _check_options(form, options, (*path, "options"), parent=None)
        if not form.problems and command_size(cmd) > 8000:
            form.add(
                R_COMMAND_SIZE,
                path,
                "APPLICATION_COMMAND_TOO_LARGE",
                "Command exceeds maximum size (8000)",
            )
        return
    if cmd.get("description"):
        form.add(  # unconfirmed code
            R_CONTEXT_MENU,
            (*path, "description"),
            "APPLICATION_COMMAND_INVALID_DESCRIPTION",
            "Context menu commands cannot have description",
        )
    if options:
        form.add(  # unconfirmed code
            R_CONTEXT_MENU,
            (*path, "options"),
            "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
            "Context menu commands cannot have options",
        )


def _check_options(form: _Form, options: Any, path: Path, *, parent: int | None) -> None:
    """One options array, of the command (``parent`` None), a subcommand or a group."""
    options = form.count(R_OPTIONS_COUNT, path, options, 25)
    # The first option decides whether this array holds subcommands/groups or plain options.
    first = options[0] if options and isinstance(options[0], Mapping) else {}
    holds_nested = first.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP)
    names: set[str] = set()
    seen_optional = False
    for i, opt in enumerate(options):
        where = (*path, i)
        if not isinstance(opt, Mapping):
            form.add(R_OPTION_TYPE, where, "DICT_TYPE_CONVERT", "Only dictionaries may be used.")
            continue
        otype = opt.get("type")
        if not form.choice(R_OPTION_TYPE, (*where, "type"), otype, OPTION_TYPES):
            continue
        _check_localized(
            form, opt, "name", where, lambda p, v: _check_name(form, p, v, chat_input=True)
        )
        _check_localized(
            form,
            opt,
            "description",
            where,
            lambda p, v: form.text(R_DESCRIPTION, p, v, 100, 1, required=True),
        )
        name = opt.get("name")
        if name in names:
            form.add(  # unconfirmed code
                R_OPTION_UNIQUE,
                (*where, "name"),
                "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
                "Option names must be unique",
            )
        names.add(name)
        is_nested = otype in (SUB_COMMAND, SUB_COMMAND_GROUP)
        if _nesting_wrong(otype, parent, is_nested != holds_nested):
            form.add(
                R_NESTING,
                where,
                "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                "Sub-command and sub-command group option types are mutually exclusive to all "
                "other types",
            )
            continue
        if is_nested:
            if opt.get("required"):
                form.add(  # unconfirmed code
                    R_NESTING,
                    (*where, "required"),
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Sub-commands and sub-command groups cannot be required",
                )
            _check_options(form, opt.get("options"), (*where, "options"), parent=otype)
            continue
        if opt.get("required"):
            if seen_optional:
                form.add(
                    R_REQUIRED_FIRST,
                    where,
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
        else:
            seen_optional = True
        _check_option_fields(form, opt, otype, where)


def _nesting_wrong(otype: int, parent: int | None, mixed: bool) -> bool:
    """Discord's only nesting: command > group > subcommand > options, or command >
    subcommand > options, or command > options."""
    if parent == SUB_COMMAND_GROUP:
        return otype != SUB_COMMAND
    if parent == SUB_COMMAND:
        return otype in (SUB_COMMAND, SUB_COMMAND_GROUP)
    return mixed


def _check_option_fields(form: _Form, opt: Mapping[str, Any], otype: int, where: Path) -> None:
    """min/max, choices, autocomplete and channel_types of one plain option."""
    if otype == STRING:
        if opt.get("min_length") is not None:
            form.number(R_STRING_LENGTH, (*where, "min_length"), opt["min_length"], 0, 6000)
        if opt.get("max_length") is not None:
            form.number(R_STRING_LENGTH, (*where, "max_length"), opt["max_length"], 1, 6000)
    if otype in (INTEGER, NUMBER):
        kind, bound = ("int", INT53) if otype == INTEGER else ("float", DOUBLE53)
        lo, hi = opt.get("min_value"), opt.get("max_value")
        ok_lo = lo is None or form.number(
            R_VALUE_RANGE, (*where, "min_value"), lo, -bound, bound, kind=kind
        )
        ok_hi = hi is None or form.number(
            R_VALUE_RANGE, (*where, "max_value"), hi, -bound, bound, kind=kind
        )
        if ok_lo and ok_hi and lo is not None and hi is not None and lo > hi:
            form.add(  # unconfirmed code
                R_VALUE_RANGE,
                (*where, "min_value"),
                "NUMBER_TYPE_MAX",
                f"{kind} value should be less than or equal to {hi}.",
            )
    choices = opt.get("choices")
    if choices:
        if otype not in (STRING, INTEGER, NUMBER):
            form.add(  # unconfirmed code
                R_CHOICES,
                (*where, "choices"),
                "APPLICATION_COMMAND_OPTION_CHOICES_INVALID",
                "Choices are only allowed on string, integer and number options",
            )
        elif opt.get("autocomplete"):
            form.add(  # unconfirmed code
                R_CHOICES,
                (*where, "autocomplete"),
                "APPLICATION_COMMAND_AUTOCOMPLETE_CHOICES_EXCLUSIVE",
                "Autocomplete and choices are mutually exclusive",
            )
        else:
            _check_choices(form, choices, (*where, "choices"), otype)
    if opt.get("autocomplete") and otype not in (STRING, INTEGER, NUMBER):
        form.add(  # unconfirmed code
            R_AUTOCOMPLETE_TYPE,
            (*where, "autocomplete"),
            "APPLICATION_COMMAND_OPTION_AUTOCOMPLETE_INVALID",
            "Autocomplete is only allowed on string, integer and number options",
        )
    if opt.get("channel_types") and otype != CHANNEL:
        form.add(  # unconfirmed code
            R_CHANNEL_TYPES,
            (*where, "channel_types"),
            "APPLICATION_COMMAND_OPTION_CHANNEL_TYPES_INVALID",
            "Channel types are only allowed on channel options",
        )


def _check_choices(
    form: _Form, choices: Any, path: Path, otype: int | None, rule: Rule = R_CHOICES
) -> None:
    """Declared choices and autocomplete answers: at most 25, each a valid choice.

    ``otype`` None (an autocomplete answer whose option is unknown) takes any value type.
    """
    choices = form.count(rule, path, choices, 25)
    for i, choice in enumerate(choices):
        where = (*path, i)
        if not isinstance(choice, Mapping):
            form.add(R_CHOICE, where, "DICT_TYPE_CONVERT", "Only dictionaries may be used.")
            continue
        _check_localized(
            form,
            choice,
            "name",
            where,
            lambda p, v: form.text(R_CHOICE, p, v, 100, 1, required=True),
        )
        _check_choice_value(form, choice.get("value"), (*where, "value"), otype)


def _check_choice_value(form: _Form, value: Any, path: Path, otype: int | None) -> None:
    if value is None:
        form.add(R_CHOICE, path, "BASE_TYPE_REQUIRED", "This field is required")
    elif otype == INTEGER:
        form.number(R_CHOICE, path, value, -INT53, INT53)
    elif otype == NUMBER:
        form.number(R_CHOICE, path, value, -DOUBLE53, DOUBLE53, kind="float")
    elif otype == STRING or isinstance(value, str):
        form.text(R_CHOICE, path, value, 100)
    elif isinstance(value, bool) or not isinstance(value, int | float):
        form.add(R_CHOICE, path, "BASE_TYPE_STRING", f'Could not interpret "{value!r}" as string.')


def _longest(obj: Mapping[str, Any], key: str) -> int:
    """Length Discord counts for a localizable field: the longest of default and locales."""
    values = [obj.get(key)]
    locs = obj.get(f"{key}_localizations")
    if isinstance(locs, Mapping):
        values += list(locs.values())
    return max((len(str(v)) for v in values if v is not None), default=0)


def command_size(node: Mapping[str, Any]) -> int:
    """Characters of names, descriptions and choice names/values, recursively."""
    total = _longest(node, "name") + _longest(node, "description")
    for choice in node.get("choices") or []:
        total += _longest(choice, "name") + len(str(choice.get("value", "")))
    for opt in node.get("options") or []:
        total += command_size(opt)
    return total


# ---------------------------------------------------------------------------------------------
# Messages: channel messages, interaction responses, followups and edits

R_CONTENT = _rule(
    "message.content",
    "message content is at most 2000 characters",
    f"{_MESSAGE}#create-message-jsonform-params",
)
R_NONCE = _rule(
    "message.nonce",
    "a nonce is an integer or a string of at most 25 characters",
    f"{_MESSAGE}#create-message-jsonform-params",
)
R_EMPTY = _rule(
    "message.empty",
    "a new message has content, embeds, components, files, a poll or stickers",
    f"{_MESSAGE}#create-message-jsonform-params",
)
R_EMBEDS_COUNT = _rule(
    "message.embeds.count",
    "at most 10 embeds per message",
    f"{_MESSAGE}#create-message-jsonform-params",
)
R_EMBED_LIMITS = _rule(
    "embed.limits",
    "embed title 256, description 4096, at most 25 fields, field name 1-256 and value 1-1024 "
    "(both required), footer text 2048, author name 256 characters, after trimming",
    f"{_MESSAGE}#embed-object-embed-limits",
)
R_EMBEDS_TOTAL = _rule(
    "embed.total",
    "all embeds of a message together hold at most 6000 characters of title, description, "
    "field names and values, footer text and author name",
    f"{_MESSAGE}#embed-object-embed-limits",
)
R_EMBED_URL = _rule(
    "embed.url",
    "embed url and author.url are absolute http(s) URLs of at most 2048 characters",
    f"{_MESSAGE}#embed-object-embed-author-structure",
)
R_EMBED_MEDIA_URL = _rule(
    "embed.media_url",
    "image, thumbnail, author icon and footer icon URLs are http(s) or attachment://<file>, "
    "at most 2048 characters",
    f"{_MESSAGE}#embed-object-embed-image-structure",
)
R_EMBED_COLOR = _rule(
    "embed.color",
    "embed color is 0-16777215",
    f"{_MESSAGE}#embed-object-embed-structure",
)
R_FILES = _rule(
    "message.files",
    "at most 10 attachments per message (uploaded files and the attachments array); "
    "attachment description at most 1024 characters",
    _CODES,
)
R_UPLOAD_LIMIT = _rule(
    "message.upload_limit",
    "each uploaded file is within the upload limit: the server's for a bot's channel "
    "message, the interaction's attachment_size_limit for interaction responses (413 40005)",
    f"{DOCS}/reference#uploading-files",
)
R_ROWS = _rule(
    "components.rows",
    "legacy messages hold at most 5 top-level components, each an action row; "
    "Components V2 messages at most 40 components in all",
    f"{_COMPONENTS}#legacy-message-component-behavior",
)
R_ROW = _rule(
    "components.action_row",
    "an action row holds 1-5 buttons or a single select",
    f"{_COMPONENTS}#action-row",
)
R_CUSTOM_ID = _rule(
    "components.custom_id",
    "an interactive component's custom_id is 1-100 characters and unique within the message",
    f"{_COMPONENTS}#anatomy-of-a-component-custom-id",
)
R_BUTTON = _rule(
    "components.button",
    "button label at most 80 characters; non-link buttons have a custom_id and no url; link "
    "buttons (style 5) a url of at most 512 characters and no custom_id",
    f"{_COMPONENTS}#button-button-structure",
)
R_SELECT = _rule(
    "components.select",
    "a string select has 1-25 options, each with a 1-100 character label and value; "
    "placeholder at most 150 characters",
    f"{_COMPONENTS}#string-select-string-select-structure",
)
R_MENTIONS = _rule(
    "message.allowed_mentions",
    "allowed_mentions.parse only 'roles', 'users', 'everyone'; at most 100 users and 100 "
    "roles; parse 'users' excludes a users list and parse 'roles' a roles list",
    f"{_MESSAGE}#allowed-mentions-object",
)

_URL_SCHEMES = ("http", "https")
_MEDIA_SCHEMES = ("http", "https", "attachment")
_TEXT_LIMITS = (("title", 256), ("description", 4096))


def check_message(
    body: Mapping[str, Any],
    files: Sequence[Any] = (),
    *,
    creating: bool,
    upload_limit: int,
) -> Refusal | None:
    """Why Discord refuses this message body, or None.

    For channel messages, interaction responses (type 4/7 ``data``), webhook followups and
    edits. ``files`` are the uploaded ``files[n]`` (bytes, sizes, or objects with ``data``,
    ``size`` or ``fp``); ``upload_limit`` is the per-file limit of the route. ``creating``
    adds the "empty message" check edits don't have.
    """
    for f in files:
        if _file_size(f) > upload_limit:
            return _plain(413, 40005, "Request entity too large", R_UPLOAD_LIMIT)
    form = _Form()
    form.text(R_CONTENT, ("content",), body.get("content"), 2000)
    if isinstance(body.get("nonce"), str):
        form.text(R_NONCE, ("nonce",), body.get("nonce"), 25)
    _check_embeds(form, body.get("embeds"))
    _check_components(form, body.get("components"), int(body.get("flags") or 0))
    _check_allowed_mentions(form, body.get("allowed_mentions"))
    attachments = form.count(R_FILES, ("attachments",), body.get("attachments"), 10)
    for i, att in enumerate(attachments):
        if isinstance(att, Mapping):
            form.text(R_FILES, ("attachments", i, "description"), att.get("description"), 1024)
    refusal = form.refusal()
    if refusal is not None:
        return refusal
    if len(files) > 10:
        return _plain(
            400, 30015, "Maximum number of attachments in a message reached (10)", R_FILES
        )
    if creating and not _has_something(body, files):
        return _plain(400, 50006, "Cannot send an empty message", R_EMPTY)
    return None


def _file_size(f: Any) -> int:
    if isinstance(f, int):
        return f
    if isinstance(f, bytes | bytearray | memoryview):
        return len(f)
    if getattr(f, "data", None) is not None:
        return len(f.data)
    if getattr(f, "size", None) is not None:
        return int(f.size)
    fp = getattr(f, "fp", None)
    if fp is not None:
        here = fp.tell()
        size = fp.seek(0, 2)
        fp.seek(here)
        return size - here
    raise TypeError(f"cannot tell the size of {f!r}")


def _has_something(body: Mapping[str, Any], files: Sequence[Any]) -> bool:
    return bool(
        body.get("content")
        or body.get("embeds")
        or files
        or body.get("components")
        or body.get("poll")
        or body.get("sticker_ids")
        or int(body.get("flags") or 0) & FLAG_COMPONENTS_V2
    )


def _check_embeds(form: _Form, embeds: Any) -> None:
    embeds = form.count(R_EMBEDS_COUNT, ("embeds",), embeds, 10)
    total = 0
    for i, embed in enumerate(embeds):
        if not isinstance(embed, Mapping):
            form.add(
                R_EMBED_LIMITS, ("embeds", i), "DICT_TYPE_CONVERT", "Only dictionaries may be used."
            )
            continue
        total += _check_embed(form, embed, ("embeds", i))
    if total > 6000:
        form.add(
            R_EMBEDS_TOTAL,
            ("embeds",),
            "MAX_EMBED_SIZE_EXCEEDED",
            "Embed size exceeds maximum size of 6000",
        )


def _check_embed(form: _Form, embed: Mapping[str, Any], path: Path) -> int:
    """Checks one embed; returns the characters it counts toward the 6000 total."""
    total = 0
    for key, limit in _TEXT_LIMITS:
        form.text(R_EMBED_LIMITS, (*path, key), embed.get(key), limit, trimmed=True)
        total += _trimmed_len(embed.get(key))
    fields = form.count(R_EMBED_LIMITS, (*path, "fields"), embed.get("fields"), 25)
    for j, fld in enumerate(fields):
        fld = fld if isinstance(fld, Mapping) else {}
        for key, limit in (("name", 256), ("value", 1024)):
            form.text(
                R_EMBED_LIMITS,
                (*path, "fields", j, key),
                fld.get(key),
                limit,
                required=True,
                trimmed=True,
            )
            total += _trimmed_len(fld.get(key))
    for part, key, limit in (("footer", "text", 2048), ("author", "name", 256)):
        sub = embed.get(part)
        if isinstance(sub, Mapping):
            form.text(R_EMBED_LIMITS, (*path, part, key), sub.get(key), limit, trimmed=True)
            total += _trimmed_len(sub.get(key))
    _check_url(form, R_EMBED_URL, (*path, "url"), embed.get("url"), _URL_SCHEMES)
    for part, key, rule, schemes in (
        ("author", "url", R_EMBED_URL, _URL_SCHEMES),
        ("author", "icon_url", R_EMBED_MEDIA_URL, _MEDIA_SCHEMES),
        ("footer", "icon_url", R_EMBED_MEDIA_URL, _MEDIA_SCHEMES),
        ("image", "url", R_EMBED_MEDIA_URL, _MEDIA_SCHEMES),
        ("thumbnail", "url", R_EMBED_MEDIA_URL, _MEDIA_SCHEMES),
    ):
        sub = embed.get(part)
        if isinstance(sub, Mapping):
            _check_url(form, rule, (*path, part, key), sub.get(key), schemes)
    if embed.get("color") is not None:
        form.number(R_EMBED_COLOR, (*path, "color"), embed["color"], 0, 0xFFFFFF)
    return total


def _trimmed_len(value: Any) -> int:
    return len(value.strip()) if isinstance(value, str) else 0


def _check_url(
    form: _Form, rule: Rule, path: Path, url: Any, schemes: Sequence[str], limit: int = 2048
) -> None:
    if url is None:
        return
    before = len(form.problems)
    form.text(rule, path, url, limit)
    if len(form.problems) != before:
        return
    parts = urlsplit(url) if not any(c.isspace() for c in url) else None
    if parts is None or not parts.scheme or not parts.netloc:
        form.add(rule, path, "URL_TYPE_INVALID_URL", "Not a well formed URL.")
    elif parts.scheme.lower() not in schemes:
        allowed = ", ".join(repr(s) for s in schemes)
        form.add(
            rule,
            path,
            "URL_TYPE_INVALID_SCHEME",
            f'Scheme "{parts.scheme}" is not supported. Scheme must be one of ({allowed}).',
        )


def _check_components(form: _Form, components: Any, flags: int) -> None:
    v2 = bool(flags & FLAG_COMPONENTS_V2)
    top = form.count(R_ROWS, ("components",), components, 40 if v2 else 5)
    if v2 and _count_components(top) > 40:
        form.add(R_ROWS, ("components",), "BASE_TYPE_MAX_LENGTH", "Must be 40 or fewer in length.")
    custom_ids: set[str] = set()
    for i, comp in enumerate(top):
        path: Path = ("components", i)
        if not isinstance(comp, Mapping):
            form.add(R_ROWS, path, "DICT_TYPE_CONVERT", "Only dictionaries may be used.")
        elif not v2 and comp.get("type") != 1:
            form.add(  # unconfirmed code
                R_ROWS,
                (*path, "type"),
                "COMPONENT_TYPE_INVALID",
                "The specified component type is invalid in this context",
            )
        else:
            _check_component(form, comp, path, custom_ids)


def _children(comp: Mapping[str, Any]) -> list[tuple[str | int, ...]]:
    """Relative paths of a component's child components (rows, containers, sections)."""
    out: list[tuple[str | int, ...]] = [
        ("components", j) for j in range(len(comp.get("components") or []))
    ]
    if isinstance(comp.get("accessory"), Mapping):
        out.append(("accessory",))
    return out


def _child(comp: Mapping[str, Any], rel: tuple[str | int, ...]) -> Any:
    return comp["accessory"] if rel == ("accessory",) else comp["components"][rel[1]]


def _count_components(components: list[Any]) -> int:
    total = 0
    for comp in components:
        if isinstance(comp, Mapping):
            total += 1 + _count_components([_child(comp, rel) for rel in _children(comp)])
    return total


def _check_component(
    form: _Form, comp: Mapping[str, Any], path: Path, custom_ids: set[str]
) -> None:
    ctype = comp.get("type")
    if ctype == 1:
        _check_row(form, comp, path)
    elif ctype == 2:
        _check_button(form, comp, path, custom_ids)
    elif ctype in _SELECTS:
        _check_select(form, comp, path, custom_ids)
    for rel in _children(comp):
        child = _child(comp, rel)
        if isinstance(child, Mapping):
            _check_component(form, child, (*path, *rel), custom_ids)


def _check_row(form: _Form, row: Mapping[str, Any], path: Path) -> None:
    children = form.count(R_ROW, (*path, "components"), row.get("components"), 5, 1)
    types = [c.get("type") if isinstance(c, Mapping) else None for c in children]
    if any(t in _SELECTS for t in types) and len(children) > 1:
        for j in range(1, len(children)):
            form.add(
                R_ROW,
                (*path, "components", j),
                "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                "The specified component exceeds the maximum width",
            )


def _check_custom_id(
    form: _Form, comp: Mapping[str, Any], path: Path, custom_ids: set[str], *, required: bool
) -> None:
    cid = comp.get("custom_id")
    if cid is None:
        if required:
            form.add(
                R_CUSTOM_ID,
                (*path, "custom_id"),
                "BUTTON_COMPONENT_CUSTOM_ID_REQUIRED",
                "A custom id is required",
            )
        return
    before = len(form.problems)
    form.text(R_CUSTOM_ID, (*path, "custom_id"), cid, 100, 1)
    if len(form.problems) == before and cid in custom_ids:
        form.add(
            R_CUSTOM_ID,
            (*path, "custom_id"),
            "COMPONENT_CUSTOM_ID_DUPLICATED",
            "Component custom id was already specified",
        )
    custom_ids.add(cid)


def _check_button(form: _Form, button: Mapping[str, Any], path: Path, custom_ids: set[str]) -> None:
    style = button.get("style")
    if not form.choice(R_BUTTON, (*path, "style"), style, (1, 2, 3, 4, 5, 6)):
        return
    form.text(R_BUTTON, (*path, "label"), button.get("label"), 80)
    exclusive = (
        "BUTTON_COMPONENT_CUSTOM_ID_URL_MUTUALLY_EXCLUSIVE",
        "A custom id and url cannot both be specified",
    )
    if style == 5:
        url = button.get("url")
        if url is None:
            form.add(R_BUTTON, (*path, "url"), "BUTTON_COMPONENT_URL_REQUIRED", "A url is required")
        else:
            _check_url(form, R_BUTTON, (*path, "url"), url, ("http", "https", "discord"), 512)
        if button.get("custom_id") is not None:
            form.add(R_BUTTON, (*path, "custom_id"), *exclusive)
    elif style == 6:
        if button.get("sku_id") is None:  # unconfirmed code
            form.add(
                R_BUTTON,
                (*path, "sku_id"),
                "BUTTON_COMPONENT_SKU_ID_REQUIRED",
                "A sku id is required",
            )
    else:
        if button.get("url") is not None:
            form.add(R_BUTTON, (*path, "url"), *exclusive)
        _check_custom_id(form, button, path, custom_ids, required=True)


def _check_select(form: _Form, select: Mapping[str, Any], path: Path, custom_ids: set[str]) -> None:
    _check_custom_id(form, select, path, custom_ids, required=True)
    form.text(R_SELECT, (*path, "placeholder"), select.get("placeholder"), 150)
    if select.get("type") == 3:
        options = form.count(R_SELECT, (*path, "options"), select.get("options"), 25, 1)
        for k, option in enumerate(options):
            option = option if isinstance(option, Mapping) else {}
            for key in ("label", "value"):
                form.text(
                    R_SELECT, (*path, "options", k, key), option.get(key), 100, 1, required=True
                )
            form.text(
                R_SELECT, (*path, "options", k, "description"), option.get("description"), 100
            )


def _check_allowed_mentions(form: _Form, mentions: Any) -> None:
    if not isinstance(mentions, Mapping):
        return
    parse = mentions.get("parse") or []
    for i, kind in enumerate(parse):
        form.choice(
            R_MENTIONS, ("allowed_mentions", "parse", i), kind, ("roles", "users", "everyone")
        )
    for kind in ("users", "roles"):
        ids = form.count(R_MENTIONS, ("allowed_mentions", kind), mentions.get(kind), 100)
        if ids and kind in parse:
            form.add(
                R_MENTIONS,
                ("allowed_mentions",),
                "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                f'parse:["{kind}"] and {kind}: [ids...] are mutually exclusive.',
            )


# ---------------------------------------------------------------------------------------------
# Autocomplete answers (callback type 8)

R_AUTOCOMPLETE = _rule(
    "autocomplete.choices",
    "an autocomplete answer has at most 25 choices, each a valid choice for the option's type",
    f"{_RESPONDING}#interaction-response-object-autocomplete",
)


def check_autocomplete(data: Mapping[str, Any], option_type: int | None = None) -> Refusal | None:
    """Why Discord refuses this autocomplete answer (callback ``data``), or None.

    ``option_type`` is the focused option's type (3 string, 4 integer, 10 number); None
    accepts any value type. One bad choice refuses the whole answer.
    """
    form = _Form()
    _check_choices(form, data.get("choices"), ("choices",), option_type, R_AUTOCOMPLETE)
    return form.refusal()


# ---------------------------------------------------------------------------------------------
# Modals (callback type 9)

R_MODAL = _rule(
    "modal",
    "a modal has a 1-45 character title, a 1-100 character custom_id and 1-5 components",
    f"{_RESPONDING}#interaction-response-object-modal",
)
R_MODAL_ROW = _rule(
    "modal.row",
    "a modal's top-level components are action rows holding one text input, labels or text "
    "displays",
    f"{_COMPONENTS}#action-row",
)
R_TEXT_INPUT = _rule(
    "modal.text_input",
    "text input: custom_id 1-100, style 1 or 2, label 1-45 (required in an action row), "
    "value at most 4000, placeholder at most 100, min_length 0-4000, max_length 1-4000",
    f"{_COMPONENTS}#text-input-text-input-structure",
)
R_LABEL = _rule(
    "modal.label",
    "label component: label 1-45 characters, description at most 100, one child component",
    f"{_COMPONENTS}#label-label-structure",
)
_LABEL_CHILDREN = (3, 4, 5, 6, 7, 8, 19, 21, 22, 23)


def check_modal(data: Mapping[str, Any]) -> Refusal | None:
    """Why Discord refuses this modal (callback ``data``), or None.

    Accepts both layouts discord.py sends: an action row around each text input (with the
    text input's own ``label``) and the newer label component (type 18).
    """
    form = _Form()
    form.text(R_MODAL, ("title",), data.get("title"), 45, 1, required=True)
    form.text(R_MODAL, ("custom_id",), data.get("custom_id"), 100, 1, required=True)
    top = form.count(R_MODAL, ("components",), data.get("components"), 5, 1)
    custom_ids: set[str] = set()
    for i, comp in enumerate(top):
        path: Path = ("components", i)
        ctype = comp.get("type") if isinstance(comp, Mapping) else None
        if ctype == 1:
            children = form.count(R_MODAL_ROW, (*path, "components"), comp.get("components"), 5, 1)
            for j, child in enumerate(children):
                where = (*path, "components", j)
                if not isinstance(child, Mapping) or child.get("type") != 4:
                    form.add(  # unconfirmed code
                        R_MODAL_ROW,
                        (*where, "type"),
                        "COMPONENT_TYPE_INVALID",
                        "The specified component type is invalid in this context",
                    )
                elif j > 0:  # a text input is as wide as the row
                    form.add(
                        R_MODAL_ROW,
                        where,
                        "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                        "The specified component exceeds the maximum width",
                    )
                else:
                    _check_text_input(form, child, where, custom_ids, in_row=True)
        elif ctype == 18:
            _check_label(form, comp, path, custom_ids)
        elif ctype != 10:
            form.add(  # unconfirmed code
                R_MODAL_ROW,
                (*path, "type"),
                "COMPONENT_TYPE_INVALID",
                "The specified component type is invalid in this context",
            )
    return form.refusal()


def _check_label(form: _Form, label: Mapping[str, Any], path: Path, custom_ids: set[str]) -> None:
    form.text(R_LABEL, (*path, "label"), label.get("label"), 45, 1, required=True)
    form.text(R_LABEL, (*path, "description"), label.get("description"), 100, 1)
    child = label.get("component")
    if not isinstance(child, Mapping):
        form.add(R_LABEL, (*path, "component"), "BASE_TYPE_REQUIRED", "This field is required")
    elif child.get("type") == 4:
        _check_text_input(form, child, (*path, "component"), custom_ids, in_row=False)
    elif child.get("type") in _LABEL_CHILDREN:
        _check_custom_id(form, child, (*path, "component"), custom_ids, required=True)
    else:
        form.add(  # unconfirmed code
            R_LABEL,
            (*path, "component", "type"),
            "COMPONENT_TYPE_INVALID",
            "The specified component type is invalid in this context",
        )


def _check_text_input(
    form: _Form, text_input: Mapping[str, Any], path: Path, custom_ids: set[str], *, in_row: bool
) -> None:
    before = len(form.problems)
    form.text(
        R_TEXT_INPUT, (*path, "custom_id"), text_input.get("custom_id"), 100, 1, required=True
    )
    if len(form.problems) == before:
        _check_custom_id(form, text_input, path, custom_ids, required=True)
    form.choice(R_TEXT_INPUT, (*path, "style"), text_input.get("style"), (1, 2))
    form.text(R_TEXT_INPUT, (*path, "label"), text_input.get("label"), 45, 1, required=in_row)
    form.text(R_TEXT_INPUT, (*path, "value"), text_input.get("value"), 4000)
    form.text(R_TEXT_INPUT, (*path, "placeholder"), text_input.get("placeholder"), 100)
    for key, lo in (("min_length", 0), ("max_length", 1)):
        if text_input.get(key) is not None:
            form.number(R_TEXT_INPUT, (*path, key), text_input[key], lo, 4000)
