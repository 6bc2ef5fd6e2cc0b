"""The providers' branch of the one error family (errors.BotError), so the engine and the cogs
never see a wire format.

Each adapter maps its own error envelope onto these classes. ``retryable`` tells the engine
whether repeating the *same* request is safe and useful; the engine still decides whether a
retry could create a second paid task (it never repeats a submit whose outcome is unknown).
"""

from __future__ import annotations

from errors import Audience, BotError


class ProviderError(BotError):
    """A provider refused or failed a request. The member is told in plain words
    (jobs/failures.py), the operator gets the provider's own words in the log."""

    audience = Audience.MEMBER
    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.status = status
        self.code = code

    def __str__(self) -> str:
        where = f"{self.provider} " if self.provider else ""
        status = f"HTTP {self.status} " if self.status else ""
        code = f"{self.code}: " if self.code else ""
        return f"{where}{status}{code}{self.message}".strip()


class BadRequest(ProviderError):
    """The provider rejected the parameters (HTTP 400, unknown model, ...)."""


class AuthError(ProviderError):
    """The API key is missing, invalid, disabled, or not allowed (HTTP 401/403)."""

    audience = Audience.MODERATOR  # the member is asked to tell a server admin


class OutOfProviderCredits(ProviderError):
    """The bot's account at the provider cannot pay for this (HTTP 402, spend limits)."""

    audience = Audience.MODERATOR  # a server admin tops the account up


class ContentFiltered(ProviderError):
    """The prompt or image was rejected by the provider's safety filter (HTTP 451, ...)."""

    refusal = True  # nothing broke: the member rewords the prompt


class NotFound(ProviderError):
    """The task or model does not exist at the provider (HTTP 404)."""


class RateLimited(ProviderError):
    """Too many requests or tasks right now (HTTP 429); wait ``retry_after`` seconds if known."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class UpstreamError(ProviderError):
    """A transient failure: 5xx, the provider's own upstream failing, or the network."""

    retryable = True


class RequestNotSent(UpstreamError):
    """The connection failed before the request reached the provider, so a retry cannot
    duplicate work (connect errors, connect timeouts)."""


class OutcomeUnknown(UpstreamError):
    """The request may have reached the provider but no answer came back (read timeout,
    dropped connection). Repeating a submit after this could create a second paid task."""

    retryable = False


# Refusals a member can meet before a job starts. They are defined here, the lowest layer that
# raises one (the registry refuses a model that is not enabled or allowed), so that providers/
# need not import jobs/; jobs/errors.py adds the ones the other layers raise.


class UserFacingError(BotError):
    """A member's refusal (the errors family's MEMBER audience). It carries the facts, never
    the words: presentation/sentences/ writes the sentence the member reads.

    Each refusal is its own class and names its facts as annotations; they are given as
    keywords and become attributes (``PromptTooLong(model=..., length=..., limit=...)``). A
    fact without a class default must be given and an unknown one is refused, so a raise site
    cannot drift from what its sentence reads. ``str()`` is the class and its facts, for logs.
    """

    audience = Audience.MEMBER
    refusal = True

    def __init__(self, **facts: object) -> None:
        expected = _fact_names(type(self))
        unknown = set(facts) - expected
        missing = {name for name in expected - set(facts) if not hasattr(type(self), name)}
        if unknown or missing:
            raise TypeError(
                f"{type(self).__name__}: unknown facts {sorted(unknown)}, "
                f"missing facts {sorted(missing)}"
            )
        shown = ", ".join(f"{name}={value!r}" for name, value in facts.items())
        super().__init__(f"{type(self).__name__}({shown})")
        self.__dict__.update(facts)

    @property
    def facts(self) -> dict[str, object]:
        """Every fact, given or defaulted (what the sentence may read)."""
        return {name: getattr(self, name) for name in _fact_names(type(self))}


def _fact_names(cls: type) -> set[str]:
    return {
        name
        for klass in cls.__mro__
        if isinstance(klass, type) and issubclass(klass, UserFacingError)
        for name, hint in vars(klass).get("__annotations__", {}).items()
        if not str(hint).startswith(("ClassVar", "typing.ClassVar"))
    }


class InvalidRequest(UserFacingError):
    """An option, attachment or value the request may not have."""
