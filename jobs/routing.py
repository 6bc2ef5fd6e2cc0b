"""Which provider a job goes to when several enabled providers offer the model it asks for
(nano-banana, nano-banana-2 and nano-banana-pro are each offered by more than one), and in
what order the others are tried when one refuses the job before accepting it.

One rule, in one function: providers that are not paused come first; among them, the ones
that have been failing less (in coarse bands, so one stray error does not reorder them),
then the cheaper for the member, then the registry's order. A pinned ``provider:model``
never reaches here: it has one candidate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from jobs.health import ProviderHealth
from jobs.policy import ERROR_RATE_BANDS  # the package's tunables
from providers.base import ModelSpec


def _band(error_rate: float | None) -> int:
    if error_rate is None:
        return 0
    return sum(1 for edge in ERROR_RATE_BANDS if error_rate >= edge)


def route(
    candidates: Sequence[ModelSpec],
    health: ProviderHealth,
    prices: Mapping[str, int | None],
) -> list[ModelSpec]:
    """``candidates`` (one model on several providers, in registry order) in the order to
    try them. ``prices`` maps a provider id to the job's bot credits there (None: unknown,
    tried after the priced ones of the same health)."""

    def key(indexed: tuple[int, ModelSpec]) -> tuple[bool, int, bool, int, int]:
        position, spec = indexed
        price = prices.get(spec.provider)
        return (
            health.paused(spec.provider),
            _band(health.error_rate(spec.provider)),
            price is None,
            price or 0,
            position,
        )

    return [spec for _, spec in sorted(enumerate(candidates), key=key)]
