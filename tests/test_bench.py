"""The benchmark still runs: its smallest mode, end to end, in a child process. Figures are
read for their presence and consistency only, never for their size (benchmarks print numbers;
tests do not time things)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RUN_TIMEOUT = 120.0  # real seconds; the tiny run takes a few


def test_the_benchmark_runs_in_its_tiny_mode_and_writes_every_part(tmp_path):
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--tiny", "--json", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(out.read_text())

    assert [burst["bot"] for burst in results["ack"]] == ["bananabot", "plain discord.py"]
    for burst in results["ack"]:  # both bots answer every command, each in its own process
        assert burst["answered"] == burst["commands"] == burst["latency"]["n"]
        assert burst["job_cards"] == burst["commands"]
        assert burst["bot_cpu_seconds"] >= 0 and burst["emulators_cpu_seconds"] >= 0
    assert {row["strategy"] for row in results["follow"]} == {"engine", "fixed 1 s", "fixed 5 s"}
    assert all(row["completed"] == row["jobs"] for row in results["follow"])
    assert all(row["reads_mean"] >= 1 for row in results["follow"])
    (inflight,) = results["inflight"]
    assert inflight["running"] == inflight["jobs"]
    assert results["ledger"]["overspent_members"] == 0
    assert results["ledger"]["ledger_problems"] == []
    for heading in ("a. Acknowledgement", "b. Delivery overhead", "c. Jobs in flight", "d. "):
        assert heading in done.stdout
