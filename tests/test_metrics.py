"""The metrics registry's text format, read back by Prometheus' own parser; endpoint labels
without ids; METRICS_LISTEN's validation; the Dockerfile's HEALTHCHECK command."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from jobs.metrics import Metrics, endpoint_of
from settings import ConfigError, load_settings

ROOT = Path(__file__).resolve().parent.parent


def families(text: str) -> dict:
    return {family.name: family for family in text_string_to_metric_families(text)}


def sample(found: dict, family: str, name: str, **labels) -> float:
    for s in found[family].samples:
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    raise LookupError(f"no {name} {labels}")


def test_every_metric_renders_in_prometheus_text_format():
    metrics = Metrics()
    metrics.provider_request("nanobanana", "get", "/api/v1/images/status", 200, 0.3)
    metrics.provider_request("aivideoapi", "GET", "/v1/tasks/task_8f3a91c2", 503, 1.2)
    metrics.provider_request("aivideoapi", "POST", "/v1/images/generations", "timeout", 60.5)
    for _ in range(3):
        metrics.status_read("job1", "nanobanana")
    metrics.task_done("job1", 100.0)
    metrics.delivered("job1", "nanobanana", 101.25)
    metrics.job_ended("job1", "nanobanana", "completed", submitted=True)
    metrics.credits.inc(5, kind="reserved")
    metrics.discord_rate_limits.inc(scope="user")
    metrics.jobs.set_all({("sandbox", "queued"): 2.0})
    metrics.gateway_connected.set_all({(): 1.0})
    text = metrics.render()
    found = families(text)

    assert found["bananabot_jobs"].type == "gauge"
    assert sample(found, "bananabot_jobs", "bananabot_jobs", state="queued") == 2
    assert (
        sample(
            found,
            "bananabot_provider_requests",
            "bananabot_provider_requests_total",
            endpoint="GET /v1/tasks/{id}",
            status="503",
        )
        == 1
    )
    errors = {s.labels["status"] for s in found["bananabot_provider_errors"].samples}
    assert errors == {"503", "timeout"}
    latency = "bananabot_provider_request_seconds"
    assert sample(found, latency, latency + "_bucket", provider="nanobanana", le="0.5") == 1
    assert sample(found, latency, latency + "_bucket", provider="aivideoapi", le="+Inf") == 1
    reads = "bananabot_status_reads_per_job"
    assert sample(found, reads, reads + "_sum") == 3 and sample(found, reads, reads + "_count") == 1
    overhead = "bananabot_delivery_overhead_seconds"
    assert sample(found, overhead, overhead + "_sum") == 1.25
    assert sample(found, "bananabot_credits", "bananabot_credits_total", kind="reserved") == 5
    assert found["bananabot_discord_rate_limits"].type == "counter"
    assert sample(found, "bananabot_gateway_connected", "bananabot_gateway_connected") == 1
    assert text.endswith("\n") and "\n\n" not in text


def test_label_values_are_escaped_and_series_are_bounded():
    metrics = Metrics()
    metrics.discord_rate_limits.inc(scope='a "quoted"\\ \nvalue')
    found = families(metrics.render())
    (s,) = found["bananabot_discord_rate_limits"].samples
    assert s.labels["scope"] == 'a "quoted"\\ \nvalue'
    for i in range(2000):
        metrics.status_reads.inc(provider=f"p{i}")
    assert len(metrics.status_reads.values) == 1000


@pytest.mark.parametrize(
    ("path", "endpoint"),
    [
        ("/api/v1/images/generate", "/api/v1/images/generate"),
        ("/v1/tasks/task_8f3a91c2", "/v1/tasks/{id}"),
        ("/v1/tasks/0b6c1c36-5d33-4f0e-9c47-7a2f1c0f1a7e?x=1", "/v1/tasks/{id}"),
        ("/api/v1/text-to-video.php", "/api/v1/text-to-video.php"),
    ],
)
def test_endpoints_lose_their_ids(path, endpoint):
    assert endpoint_of(path) == endpoint


def test_metrics_listen_is_off_unless_set_and_checked():
    assert load_settings({}).metrics_port is None
    settings = load_settings({"METRICS_LISTEN": "0.0.0.0:9090"})
    assert (settings.metrics_host, settings.metrics_port) == ("0.0.0.0", 9090)
    for bad in ("9090", "host:", "host:99999", "host:port"):
        with pytest.raises(ConfigError) as err:
            load_settings({"METRICS_LISTEN": bad})
        assert err.value.variable == "METRICS_LISTEN" and "host:port" in str(err.value)
    with pytest.raises(ConfigError, match="callback listener's port"):
        load_settings(
            {
                "METRICS_LISTEN": "0.0.0.0:8080",
                "CALLBACK_URL": "https://bot.example",
                "CALLBACK_SECRET": "s" * 32,
            }
        )


def healthcheck_code() -> str:
    """The Python the Dockerfile's HEALTHCHECK runs, as Docker joins its lines."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", "")
    (line,) = [line for line in text.splitlines() if line.startswith("HEALTHCHECK")]
    return re.search(r'CMD python -c "(.*)"$', line).group(1)


def run_check(env: dict[str, str]) -> int:
    return subprocess.run(
        [sys.executable, "-c", healthcheck_code()], env=env, capture_output=True, timeout=30
    ).returncode


def test_the_docker_healthcheck_passes_without_a_listener_and_fails_on_a_closed_port():
    assert run_check({}) == 0  # METRICS_LISTEN set empty: nothing to ask
    assert run_check({"METRICS_LISTEN": "127.0.0.1:1"}) != 0  # nothing listens there
