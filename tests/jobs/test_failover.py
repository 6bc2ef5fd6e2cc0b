"""The failover rules on their own: which submit errors move a job, which providers can take
the same request, when a model is pinned, and what a moved job costs."""

from __future__ import annotations

import pytest

from jobs.failover import (
    moves_job,
    options,
    pinned,
)
from jobs.policy import RATE_LIMITED_WAIT_BEFORE_MOVING
from jobs.records import Job, JobState, Route
from jobs.validation import build_request
from providers.aivideoapi import AIVideoAPIProvider
from providers.base import GenerationRequest, Kind, ProviderConfig
from providers.errors import (
    AuthError,
    BadRequest,
    ContentFiltered,
    NotFound,
    OutcomeUnknown,
    OutOfProviderCredits,
    RateLimited,
    RequestNotSent,
    UpstreamError,
)
from providers.nananobanana import NanaNoBananaProvider
from providers.nanobanana import NanoBananaProvider

MOVES = [
    (UpstreamError("busy", status=503), 0.0, True),
    (UpstreamError("internal", status=500), 0.0, True),  # may have made a task: moved anyway
    (UpstreamError("bad gateway", status=502), 0.0, True),
    (UpstreamError("gateway timeout", status=504), 0.0, True),
    (OutcomeUnknown("no answer within 60s"), 0.0, True),  # no task id came back
    (RequestNotSent("could not connect"), 0.0, True),
    (OutOfProviderCredits("insufficient credits", status=402), 0.0, True),
    (AuthError("invalid key", status=401), 0.0, True),
    (RateLimited("slow down", retry_after=2.0), 0.0, False),  # waited out where it is
    (RateLimited("slow down", retry_after=2.0), RATE_LIMITED_WAIT_BEFORE_MOVING - 1, True),
    (RateLimited("slow down", retry_after=RATE_LIMITED_WAIT_BEFORE_MOVING), 0.0, True),
    (RateLimited("slow down"), 0.0, False),
    (BadRequest("bad aspect ratio", status=400), 0.0, False),  # the request: same anywhere
    (ContentFiltered("blocked", status=451), 0.0, False),
    (NotFound("no such model", status=404), 0.0, False),
]


@pytest.mark.parametrize(("error", "waited", "moves"), MOVES, ids=lambda v: repr(v)[:40])
def test_which_submit_errors_move_a_job(error, waited, moves):
    assert moves_job(error, waited) is moves


def providers():
    config = ProviderConfig(api_key="k", base_url="http://127.0.0.1:9")
    return [
        NanoBananaProvider(config),
        AIVideoAPIProvider(config),
        NanaNoBananaProvider(config),
    ]


def offered(kind=Kind.IMAGE):
    return [spec for p in providers() for spec in p.models() if spec.kind is kind]


def spec_of(provider: str, model: str):
    return next(s for s in offered() if s.provider == provider and s.id == model)


def test_the_same_model_on_other_providers_that_take_the_same_options():
    nb2 = spec_of("nanobanana", "nano-banana-2")
    plain = build_request(nb2, prompt="a pear")
    found = options(nb2, plain, offered())
    assert [o.spec.provider for o in found] == ["nanobanana", "aivideoapi"]
    moved = found[1].request
    # the member chose nothing: aivideoapi's own defaults, not nanobanana's
    assert (moved.aspect_ratio, moved.resolution, moved.prompt) == ("auto", "1K", "a pear")

    asked = build_request(nb2, prompt="a pear", quality="hd", resolution="4K")
    assert [o.spec.provider for o in options(nb2, asked, offered())] == ["nanobanana"]
    two = build_request(nb2, prompt="a pear", count=2)  # aivideoapi makes one image a task
    assert [o.spec.provider for o in options(nb2, two, offered())] == ["nanobanana"]

    nb = spec_of("nanobanana", "nano-banana")
    request = build_request(nb, prompt="x", aspect_ratio="16:9")
    assert [o.spec.provider for o in options(nb, request, offered())] == [
        "nanobanana",
        "nananobanana",
    ]
    not_here = options(nb, request, offered(), allowed=lambda s: s.provider != "nananobanana")
    assert [o.spec.provider for o in not_here] == ["nanobanana"]


@pytest.mark.parametrize(
    ("named", "server", "operator", "is_pinned"),
    [
        ("nano-banana-2", None, None, False),
        ("aivideoapi:nano-banana-2", None, None, True),
        (None, "aivideoapi:nano-banana-2", None, True),
        (None, "nano-banana-2", "aivideoapi:nano-banana-2", False),  # the server's wins
        (None, None, "aivideoapi:nano-banana-2", True),
        (None, "seedream4", None, False),  # a default that did not choose this model
        (None, None, None, False),
    ],
)
def test_a_model_is_pinned_only_when_written_as_provider_model(named, server, operator, is_pinned):
    spec = spec_of("aivideoapi", "nano-banana-2")
    assert pinned(spec, named, server, operator) is is_pinned


def job_with(routes, provider="aivideoapi", reserved=4) -> Job:
    return Job(
        id="j",
        guild_id=1,
        channel_id=2,
        user_id=3,
        command="image",
        kind="image",
        provider=provider,
        model="nano-banana-2",
        request=GenerationRequest(kind=Kind.IMAGE, model="nano-banana-2", prompt="x"),
        state=JobState.DELIVERING,
        reserved=reserved,
        created_at=0,
        deadline_at=1,
        updated_at=0,
        routes=routes,
    )


def test_a_moved_job_costs_the_price_where_it_ran_never_more_than_the_reservation():
    dearer = (Route("nanobanana", 4, "server_error:503"), Route("aivideoapi", 16))
    assert job_with(dearer).quoted == 4
    cheaper = (Route("nanobanana", 8, "no_answer"), Route("aivideoapi", 5))
    assert job_with(cheaper, reserved=8).quoted == 5
    assert job_with((), reserved=7).quoted == 7
