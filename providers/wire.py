"""What every adapter reads off the wire the same way: numbers in JSON, HTTP's own meaning of a
status, the typed error a refusal becomes, and words that say a content filter refused.

Each adapter keeps only what its document says differently (its code table, its envelope, the
words its document uses for a filter refusal); tests/providers/ hold each mapping to its table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import httpx

from providers.errors import (
    AuthError,
    BadRequest,
    NotFound,
    OutOfProviderCredits,
    ProviderError,
    RateLimited,
    UpstreamError,
)
from providers.http import parse_retry_after

# What HTTP itself says a status means; every document here agrees where it has a table.
STATUS_ERRORS: Mapping[int, type[ProviderError]] = {
    400: BadRequest,
    401: AuthError,
    402: OutOfProviderCredits,
    403: AuthError,
    404: NotFound,
    429: RateLimited,
}
# Words by which a refusal says the prompt or image was judged unacceptable, in every adapter's
# list; each adds the words its document or its provider's answers use.
FILTER_WORDS = ("safety", "nsfw")


def filter_words(*words: str) -> re.Pattern[str]:
    """A case-blind pattern for FILTER_WORDS and an adapter's own ``words`` (regex pieces)."""
    return re.compile("|".join((*FILTER_WORDS, *words)), re.IGNORECASE)


def number(value: Any) -> float | None:
    """A JSON number or numeric string as a float; None for anything else (true/false too,
    which Python would read as 1 and 0)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def first_number(*values: Any) -> float | None:
    """The first of ``values`` that reads as a number."""
    return next((n for n in map(number, values) if n is not None), None)


def error_class(
    status: int | None, documented: Mapping[int, type[ProviderError]] | None = None
) -> type[ProviderError]:
    """The class a status stands for: the document's own table first, then STATUS_ERRORS; any
    other 4xx is BadRequest, everything else (5xx, a failure inside a 2xx, no status at all)
    UpstreamError."""
    cls = (documented or {}).get(status or 0) or STATUS_ERRORS.get(status or 0)
    if cls is not None:
        return cls
    return BadRequest if status is not None and 400 <= status < 500 else UpstreamError


def build_error(
    cls: type[ProviderError],
    message: str,
    *,
    provider: str,
    status: int | None = None,
    code: str | None = None,
    headers: httpx.Headers | Mapping[str, str] | None = None,
) -> ProviderError:
    """One error of ``cls``; a RateLimited one carries the wait its headers ask for."""
    if cls is RateLimited:
        return RateLimited(
            message,
            retry_after=parse_retry_after(headers or {}),  # type: ignore[arg-type]
            provider=provider,
            status=status,
            code=code,
        )
    return cls(message, provider=provider, status=status, code=code)
