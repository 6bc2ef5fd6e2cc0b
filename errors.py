"""The root of every error the bot raises on purpose, and what it says about who is told what.

A top-level module, not providers/errors.py or jobs/errors.py: every layer raises these
(settings.py a bad variable, db/ a schema too new, providers/ a refused request, jobs/ and
quota/ a member's refusal), and the dependency rules let providers/ import nothing of jobs/ and
db/ no other bot package. A leaf that imports nothing of the bot sits below all of them, so no
rule bends to reach it; it holds no sentences (presentation/sentences.py words them for members,
and an operator's one line is the error's own message).
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar


class Audience(StrEnum):
    """Who is told about an error, and so who writes the words."""

    MEMBER = "member"  # the member who asked: a sentence from presentation/sentences.py
    MODERATOR = "moderator"  # the member is told, but only a moderator or admin can fix it
    OPERATOR = "operator"  # whoever runs the bot: one line on stderr or in the log


class BotError(Exception):
    """Base of every error family: settings (ConfigError), start-up, the database, providers
    (ProviderError) and members' refusals (UserFacingError).

    ``audience`` says who is told; ``refusal`` tells an expected "no" (the request broke a
    rule and nothing went wrong: not logged as an error) from a failure (something broke on
    the way: logged for the operator, apologised for to the member).
    """

    audience: ClassVar[Audience] = Audience.OPERATOR
    refusal: ClassVar[bool] = False
