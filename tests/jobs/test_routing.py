"""The routing rule for a model several providers offer, and the health record it reads:
a provider that keeps failing is paused and tried last; among healthy ones the cheaper
wins; a pause runs out and one more failure brings it back at once."""

from __future__ import annotations

from jobs.health import PAUSE_AFTER_FAILURES, PAUSE_SECONDS, RECENT_SECONDS, ProviderHealth
from jobs.routing import route
from providers.base import Kind, ModelSpec


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def spec(provider: str) -> ModelSpec:
    return ModelSpec(id="nano-banana", name="Nano Banana", provider=provider, kind=Kind.IMAGE)


A, B, C = spec("nanobanana"), spec("aivideoapi"), spec("nananobanana")


def answer(health: ProviderHealth, provider: str, outcome, times: int = 1, seconds=0.2):
    for _ in range(times):
        health.observe(provider, "POST", "/api/v1/generate", outcome, seconds)


def test_the_cheaper_of_two_healthy_providers_comes_first_then_registry_order():
    health = ProviderHealth(Clock())
    assert route([A, B, C], health, {"nanobanana": 8, "aivideoapi": 5, "nananobanana": 5}) == [
        B,
        C,
        A,
    ]
    assert route([A, B], health, {"nanobanana": 8, "aivideoapi": None}) == [A, B]


def test_a_provider_failing_in_a_row_is_paused_and_tried_last_however_cheap():
    clock = Clock()
    health = ProviderHealth(clock)
    answer(health, "aivideoapi", 503, PAUSE_AFTER_FAILURES - 1)
    assert not health.paused("aivideoapi")
    answer(health, "aivideoapi", "timeout")
    assert health.paused("aivideoapi")
    report = health.report("aivideoapi")
    assert report.paused and report.failures == PAUSE_AFTER_FAILURES
    assert report.last_failure == "timeout on /api/v1/generate"
    assert route([A, B], health, {"nanobanana": 8, "aivideoapi": 1}) == [A, B]

    clock.now += PAUSE_SECONDS + 1  # the pause runs out: cheaper again, but failing a lot
    assert not health.paused("aivideoapi")
    assert route([B, A], health, {"nanobanana": 8, "aivideoapi": 1}) == [A, B]
    answer(health, "aivideoapi", 502)  # still failing in a row: paused again at once
    assert health.paused("aivideoapi")


def test_request_errors_and_rate_limits_are_not_the_provider_failing():
    health = ProviderHealth(Clock())
    for outcome in (400, 404, 422, 429, 429, 429, 429, 429):
        answer(health, "nanobanana", outcome)
    report = health.report("nanobanana")
    assert not health.paused("nanobanana")
    assert (report.failures, report.rate_limited, report.error_rate) == (0, 5, 0.0)
    answer(health, "nanobanana", 402, PAUSE_AFTER_FAILURES)  # out of provider credits
    assert health.paused("nanobanana")


def test_one_success_ends_the_run_of_failures():
    health = ProviderHealth(Clock())
    for _ in range(3):
        answer(health, "nanobanana", 500, PAUSE_AFTER_FAILURES - 1)
        answer(health, "nanobanana", 200)
    assert not health.paused("nanobanana")
    assert health.report("nanobanana").error_rate == 12 / 15


def test_the_report_counts_recent_requests_only_with_latency_of_answers():
    clock = Clock()
    health = ProviderHealth(clock)
    answer(health, "nanobanana", 200, 10, seconds=0.1)
    clock.now += RECENT_SECONDS + 1
    answer(health, "nanobanana", 200, 19, seconds=0.3)
    answer(health, "nanobanana", 200, 1, seconds=2.0)
    answer(health, "nanobanana", "timeout", 1, seconds=15.0)
    report = health.report("nanobanana")
    assert (report.requests, report.failures) == (21, 1)
    assert (report.latency_p50, report.latency_p95) == (0.3, 2.0)
    empty = health.report("aivideoapi")
    assert (empty.requests, empty.error_rate, empty.latency_p50, empty.paused) == (
        0,
        None,
        None,
        False,
    )
