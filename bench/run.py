"""The benchmark: ``python -m bench`` (``--quick`` for a short run; see README, Performance).

Runs against the in-repo emulators (tests/emulators for the providers, tests/fakediscord for
Discord), prints one table per part and writes every figure to JSON. Four parts:

  a  acknowledgement latency of /image bursts, real bot in its own process, beside a plain
     discord.py bot measured the same way                     (SPEC §8: p95 ≤ 100 ms / 1 s)
  b  delivery overhead and status reads per job, engine vs fixed polling
                                            (p95 ≤ max(1.5 s, 10 % of the task), ≤ 8 reads)
  c  resident memory and CPU with 1,000 / 5,000 jobs in flight  (≤ 150 MiB, ≤ 10 CPU s / 60 s)
  d  credit reservations per second, 50 members competing      (≥ 2,000/s, zero overspend)

Figures are printed, never asserted: the only test runs ``--tiny`` to prove this still runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench import ack, follow, inflight, ledger
from bench.common import fmt, machine, table

REPO = Path(__file__).resolve().parent.parent
DEFAULT_JSON = REPO / "bench" / "results.json"


@dataclass(frozen=True)
class Sizes:
    mode: str
    bursts: tuple[int, ...]
    durations: tuple[float, ...]
    follow_jobs: int
    follow_speed: float  # multiplies part b's time scale (1 = the most faithful)
    inflight: tuple[int, ...]
    inflight_wait: float
    ledger: ledger.LedgerSize


FULL = Sizes(
    "full", (100, 500, 1000), (3.0, 30.0, 180.0, 600.0), 20, 1.0, (1000, 5000), 60.0,
    ledger.LedgerSize(members=50, allowance=400, max_cost=3),
)  # fmt: skip
QUICK = Sizes(
    "quick", (100, 1000), (3.0, 30.0, 180.0, 600.0), 4, 3.0, (1000,), 15.0,
    ledger.LedgerSize(members=50, allowance=100, max_cost=3),
)  # fmt: skip
TINY = Sizes(
    "tiny", (3,), (3.0,), 1, 10.0, (5,), 0.5,
    ledger.LedgerSize(members=3, allowance=6, max_cost=3),
)  # fmt: skip


PART_KEYS = {"a": "ack", "b": "follow", "c": "inflight", "d": "ledger"}


def measure(sizes: Sizes, parts: str, save: Path, *, in_process: bool) -> dict[str, Any]:
    """Run the parts asked for, each in a process of its own (so no part measures what an
    earlier one left behind) unless ``in_process``; the JSON is rewritten after each part,
    so a run cut short keeps what it measured."""
    results: dict[str, Any] = {
        "mode": sizes.mode,
        "machine": machine(),
        "python": platform.python_version(),
        "load_average_before": os.getloadavg(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "sizes": asdict(sizes),
    }
    for part in (p for p in "abcd" if p in parts):
        if in_process:
            results[PART_KEYS[part]] = asyncio.run(measure_part(sizes, part))
        else:
            results[PART_KEYS[part]] = _in_child(sizes, part, save)
        _save(results, save)
    results["load_average_after"] = os.getloadavg()
    _save(results, save)
    return results


async def measure_part(sizes: Sizes, part: str) -> Any:
    if part == "a":
        return await ack.run(list(sizes.bursts))
    if part == "b":
        return await follow.run(list(sizes.durations), sizes.follow_jobs, sizes.follow_speed)
    if part == "c":
        return [await inflight.run(jobs, sizes.inflight_wait) for jobs in sizes.inflight]
    return await ledger.run(sizes.ledger)


def _in_child(sizes: Sizes, part: str, save: Path) -> Any:
    out = save.with_name(f".{save.stem}-{part}.json")
    mode = [] if sizes is FULL else ["--quick" if sizes is QUICK else "--tiny"]
    command = [sys.executable, "-m", "bench", "--in-process", "--parts", part, *mode]
    done = subprocess.run(
        [*command, "--json", str(out)], cwd=REPO, stdout=subprocess.DEVNULL, check=False
    )
    try:
        if done.returncode != 0:
            return {"error": f"part {part} failed with exit code {done.returncode}"}
        return json.loads(out.read_text(encoding="utf-8"))[PART_KEYS[part]]
    finally:
        out.unlink(missing_ok=True)


def _save(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


def report(results: dict[str, Any]) -> str:
    m = results["machine"]
    out = [
        f"bananabot bench ({results['mode']}) on {m['cpu']}, {m['cores']} cores, "
        f"Python {results['python']}, {results['started']}; load average before "
        + ", ".join(f"{x:.2f}" for x in results["load_average_before"])
        + (
            "; after " + ", ".join(f"{x:.2f}" for x in results["load_average_after"])
            if "load_average_after" in results
            else ""
        )
        + " (other work on the machine makes wall-clock figures slower; CPU seconds less so)"
    ]
    failed = {
        key: value["error"]
        for key, value in results.items()
        if key in PART_KEYS.values() and isinstance(value, dict) and "error" in value
    }
    for key, error in failed.items():
        out.append(f"part {key}: {error} (its figures are missing)")
        del results[key]
    if "ack" in results:
        out += [
            "",
            "a. Acknowledgement: INTERACTION_CREATE sent on the gateway → callback accepted "
            "(real time; the bot in a process of its own, the emulators in the bench's; fresh "
            "database per burst; CPU: seconds each process used during the burst)",
            table(
                [
                    "bot",
                    "/image at once",
                    "answered in 3 s",
                    "p50",
                    "p95",
                    "p99",
                    "max",
                    "bot CPU",
                    "emulators CPU",
                ],
                [
                    [
                        r.get("bot", ack.BANANABOT),
                        r["commands"],
                        r["answered"],
                        *(fmt(r["latency"][k], " s", 3) for k in ("p50", "p95", "p99", "max")),
                        fmt(r.get("bot_cpu_seconds"), " s"),
                        fmt(r.get("emulators_cpu_seconds"), " s"),
                    ]
                    for r in results["ack"]
                ],
            ),
        ]
    if "follow" in results:
        out += [
            "",
            "b. Delivery overhead: provider task done → result posted in the channel "
            "(nanobanana emulator over HTTP, account limit raised to "
            f"{follow.RAISED_RPM}/min; time scaled ×factor, waits in engine seconds, "
            "work in real seconds)",
            table(
                [
                    "task",
                    "model",
                    "following",
                    "×",
                    "jobs",
                    "p50",
                    "p95",
                    "target",
                    "reads/job",
                    "max reads",
                ],
                [
                    [
                        _duration(r["duration"]),
                        r["model"],
                        r["strategy"],
                        fmt(r["factor"], "", 0),
                        f"{r['completed']}/{r['jobs']}",
                        fmt(r["overhead_p50"], " s"),
                        fmt(r["overhead_p95"], " s"),
                        fmt(r["target_overhead"], " s", 1),
                        fmt(r["reads_mean"], "", 1),
                        r["reads_max"],
                    ]
                    for r in results["follow"]
                ],
            ),
        ]
    if "inflight" in results:
        out += [
            "",
            "c. Jobs in flight (engine in its own process, aivideoapi emulator over HTTP, "
            "real time)",
            table(
                ["jobs", "running", "wait", "RSS", "RSS after imports", "CPU", "status reads"],
                [
                    [r["jobs"], r["error"], "", "", "", "", ""]
                    if "error" in r
                    else [
                        r["jobs"],
                        r["running"],
                        f"{r['wait_seconds']:g} s",
                        fmt(r["rss_mib"], " MiB", 1),
                        fmt(r["rss_imported_mib"], " MiB", 1),
                        fmt(r["cpu_seconds"], " s"),
                        r["status_reads"],
                    ]
                    for r in results["inflight"]
                ],
            ),
        ]
    if "ledger" in results:
        r = results["ledger"]
        out += [
            "",
            "d. Credit reservations (QuotaService on a real SQLite file)",
            table(
                [
                    "members",
                    "reservations",
                    "refused",
                    "seconds",
                    "per second",
                    "overspent",
                    "ledger problems",
                ],
                [
                    [
                        r["members"],
                        r["reservations"],
                        r["refused"],
                        fmt(r["seconds"]),
                        fmt(r["per_second"], "", 0),
                        r["overspent_members"],
                        len(r["ledger_problems"]),
                    ]
                ],
            ),
        ]
    return "\n".join(out)


def _duration(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="smaller sizes and waits (~2 min)")
    size.add_argument("--tiny", action="store_true", help="the smallest run (for the test)")
    parser.add_argument("--parts", default="abcd", help="which parts to run (default abcd)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write JSON")
    parser.add_argument("--verbose", action="store_true", help="keep the bench's log output")
    parser.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sizes = TINY if args.tiny else QUICK if args.quick else FULL
    if not args.verbose:
        logging.disable(logging.ERROR)  # a log line per job would measure the terminal
    results = measure(sizes, args.parts, args.json, in_process=args.in_process)
    print(report(results))
    print(f"\nJSON: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
