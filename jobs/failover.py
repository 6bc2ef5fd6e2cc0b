"""A model that several enabled providers offer (nano-banana on nanobanana and nananobanana,
nano-banana-2 on nanobanana and aivideoapi) is not bound to one of them: the job is planned
with every provider that can take the same request, in the order jobs/routing.py gives, and
stored with that list (``Job.routes``). When a provider refuses the job before accepting it,
the engine moves it to the next one on the list.

Money: the member's reservation is made once, at the first provider's price, and never
grows. A job that moves is charged at most that reservation: the next provider's own price
when it is lower (the difference is the member's), the reservation when it is higher (the
operator pays the rest: the member was promised that price). A job that no provider takes is
refunded in full. A possibly orphaned task at a provider that failed without saying whether
it started the task is the operator's cost; the engine logs it with the job id.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace

from jobs.errors import InvalidRequest, UserFacingError
from jobs.health import ProviderHealth
from jobs.policy import RATE_LIMITED_WAIT_BEFORE_MOVING
from jobs.records import Job, Route
from jobs.routing import route
from jobs.validation import request_for
from providers.base import GenerationRequest, ModelSpec
from providers.errors import (
    AuthError,
    OutcomeUnknown,
    OutOfProviderCredits,
    ProviderError,
    RateLimited,
    RequestNotSent,
    UpstreamError,
)


def moves_job(exc: ProviderError, waited: float = 0.0) -> bool:
    """The one rule of which submit errors move a job to the next provider: the provider
    (or the bot's account there) could not take it, not the request. ``waited``: engine
    seconds the job has already waited on 429s from this provider.

    Moves: any 5xx or upstream failure, no answer before a task id (read timeout, dropped
    connection), no connection at all, out of provider credits (402), the key refused
    (401/403: the account, not the request), and a 429 past RATE_LIMITED_WAIT_BEFORE_MOVING.
    Stays: a request the provider rejects (400/422, content filter, not found): another
    provider would say the same, and the member is told why.
    """
    if isinstance(exc, RateLimited):
        return waited + (exc.retry_after or 0.0) >= RATE_LIMITED_WAIT_BEFORE_MOVING
    return isinstance(exc, UpstreamError | OutOfProviderCredits | AuthError)


GONE = "gone"  # the provider no longer offers the model with these options


def refusal_code(exc: ProviderError) -> str:
    """Why a provider did not take the job, as a short code stored on its route
    (presentation/sentences/ words it for the member): busy, out_of_credits, key_refused,
    unreachable, no_answer, server_error (``server_error:<status>`` when one came back) or
    refused."""
    if isinstance(exc, RateLimited):
        return "busy"
    if isinstance(exc, OutOfProviderCredits):
        return "out_of_credits"
    if isinstance(exc, AuthError):
        return "key_refused"
    if isinstance(exc, RequestNotSent):
        return "unreachable"
    if isinstance(exc, OutcomeUnknown):
        return "no_answer"
    if isinstance(exc, UpstreamError):
        return f"server_error:{exc.status}" if exc.status else "server_error"
    return "refused"


def refuse(routes: Sequence[Route], provider: str, why: str) -> tuple[Route, ...]:
    """``routes`` with ``provider`` marked as having refused the job."""
    return tuple(replace(r, refused=why) if r.provider == provider else r for r in routes)


def untried(job: Job) -> list[Route]:
    """The providers the job may still move to, in order."""
    return [r for r in job.routes if r.refused is None and r.provider != job.provider]


def pinned(
    spec: ModelSpec,
    named: str | None,
    server_default: str | None = None,
    operator_default: str | None = None,
) -> bool:
    """Whether the model was asked for as ``provider:model`` (by the member, else by the
    default that chose it), which binds the job to that provider."""
    written = [named] if named and named.strip() else [server_default, operator_default]
    for text in written:
        if not text or not text.strip():
            continue
        provider, _, model = text.strip().rpartition(":")
        if model.lower() == spec.id.lower() and provider.lower() in ("", spec.provider):
            return bool(provider)
    return False


@dataclass(frozen=True)
class Option:
    """One provider's way to run the job: its model entry and the request in its terms."""

    spec: ModelSpec
    request: GenerationRequest


def options(
    spec: ModelSpec,
    request: GenerationRequest,
    offered: Sequence[ModelSpec],
    allowed: Callable[[ModelSpec], bool] | None = None,
) -> list[Option]:
    """``spec`` first, then each other enabled provider's entry for the same model (from
    ``offered``, in registry order) that the server allows and that takes every option of
    ``request`` (same options: nothing the member asked for is dropped or changed)."""
    found = [Option(spec, request)]
    for other in offered:
        if other.id != spec.id or other.kind is not spec.kind or other.provider == spec.provider:
            continue
        if allowed is not None and not allowed(other):
            continue
        try:
            found.append(Option(other, request_for(other, request, spec)))
        except InvalidRequest:
            continue
    return found


@dataclass(frozen=True)
class Plan:
    """Where a new job goes first, its price there (the reservation), and the routes stored
    with it (empty when only one provider can take it)."""

    spec: ModelSpec
    request: GenerationRequest
    cost: int
    routes: tuple[Route, ...]


async def plan(
    choices: Sequence[Option],
    price: Callable[[str, GenerationRequest], Awaitable[int]],
    health: ProviderHealth,
    price_now: Callable[[str, GenerationRequest], int | None] | None = None,
) -> Plan:
    """Price every option (the pricer's cache or printed tables; together, so the slowest
    decides) and order them by jobs/routing.route. An option that cannot be priced is left
    out; when none can be, the first one's refusal is raised (nothing is charged).

    With ``price_now`` (the price if known, else None with its lookup started), the lookups
    that are needed start together and only their prices are then awaited one by one: a price
    already known costs no await, which a burst of commands would feel."""
    prices: list[int | BaseException]
    if price_now is None:
        prices = await asyncio.gather(
            *(price(o.spec.provider, o.request) for o in choices), return_exceptions=True
        )
    else:
        known = [price_now(option.spec.provider, option.request) for option in choices]
        prices = []
        for option, now in zip(choices, known, strict=True):
            if now is not None:
                prices.append(now)
                continue
            try:
                prices.append(await price(option.spec.provider, option.request))
            except UserFacingError as refusal:
                prices.append(refusal)
    priced = {}
    for option, found in zip(choices, prices, strict=True):
        if isinstance(found, UserFacingError):
            continue
        if isinstance(found, BaseException):
            raise found
        priced[option.spec.provider] = (option, found)
    if not priced:
        first = prices[0]
        assert isinstance(first, BaseException)
        raise first
    costs = {provider: cost for provider, (_, cost) in priced.items()}
    ordered = route([option.spec for option, _ in priced.values()], health, costs)
    first, cost = priced[ordered[0].provider]
    routes = (
        tuple(Route(s.provider, priced[s.provider][1]) for s in ordered) if len(ordered) > 1 else ()
    )
    return Plan(first.spec, first.request, cost, routes)
