"""The /status embed fits Discord's limits by construction, whatever the providers say."""

from __future__ import annotations

from jobs.health import ProviderHealthReport
from jobs.status import ProviderStatus
from presentation.discord_limits import (
    EMBED_FIELD_VALUE_MAX,
    EMBED_FIELDS_MAX,
    EMBEDS_TOTAL_MAX,
)
from presentation.status import status_embed


def report(provider: str, **changes) -> ProviderHealthReport:
    values = dict(
        provider=provider,
        requests=0,
        failures=0,
        rate_limited=0,
        latency_p50=None,
        latency_p95=None,
        paused_for=0.0,
        last_failure=None,
    )
    return ProviderHealthReport(**(values | changes))


def test_a_quiet_provider_says_so_and_a_paused_one_says_for_how_long():
    quiet = ProviderStatus("sandbox", report("sandbox"), queued=0, running=0)
    paused = ProviderStatus(
        "nanobanana",
        report(
            "nanobanana",
            requests=8,
            failures=6,
            rate_limited=1,
            latency_p50=0.25,
            latency_p95=1.5,
            paused_for=12.4,
            last_failure="503 on /api/v1/images/generate",
        ),
        queued=2,
        running=1,
    )
    embed = status_embed([paused, quiet], None)
    fields = {f.name: f.value for f in embed.fields}
    assert fields["sandbox"] == "No requests in the last 5 minutes.\nJobs: 0 queued, 0 running"
    assert fields["nanobanana (paused)"].splitlines() == [
        "**Paused** for 12 s more: no new job goes here while another provider can take it "
        "(last failure: 503 on /api/v1/images/generate)",
        "Errors: 6 of 8 requests (75%), 1 rate-limited",
        "Latency: p50 250 ms · p95 1.5 s",
        "Jobs: 2 queued, 1 running",
    ]
    assert "Bot's provider accounts" not in fields  # members see no balances


def test_the_worst_case_fits():
    long_failure = "503 on /" + "x" * 5000
    statuses = [
        ProviderStatus(
            f"provider{n}" * 20,
            report("p", requests=10**9, failures=10**9, paused_for=1e9, last_failure=long_failure),
            queued=10**6,
            running=10**6,
        )
        for n in range(40)
    ]
    accounts = [(f"provider{n}", 1e12) for n in range(40)] + [("x" * 300, "unavailable right now")]
    embed = status_embed(statuses, accounts)
    assert len(embed.fields) <= EMBED_FIELDS_MAX
    assert all(len(f.value) <= EMBED_FIELD_VALUE_MAX and len(f.name) <= 256 for f in embed.fields)
    assert len(embed) <= EMBEDS_TOTAL_MAX
    assert embed.fields[-1].name == "Bot's provider accounts"  # kept, not crowded out
