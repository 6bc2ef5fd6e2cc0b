"""/quota usage drawn: one PNG (credits charged per bar stacked by model, top members, jobs
by outcome) and the same figures as text, for screen readers and for anyone who cannot see
the picture. Pure functions from a UsageReport; rendering is CPU work for a worker thread
(``asyncio.to_thread``), never the event loop.

The picture fits Discord's upload limit by construction: its size in pixels is fixed, and a
PNG is never much larger than its raw pixels (zlib's stored blocks add a few bytes per 64 KiB),
so WORST_PNG_BYTES bounds every file; the import-time check keeps that below the limit.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Mapping
from datetime import datetime

from presentation.discord_limits import DEFAULT_UPLOAD_LIMIT, EMBED_DESCRIPTION_MAX, clip
from quota.usage import OTHER, UsageReport

WIDTH_PX, HEIGHT_PX, DPI = 1200, 850, 100
WORST_PNG_BYTES = WIDTH_PX * HEIGHT_PX * 4 * 101 // 100 + 64 * 1024  # RGBA, deflate overhead
assert WORST_PNG_BYTES < DEFAULT_UPLOAD_LIMIT, "the usage chart could outgrow Discord's limit"
ALT_TEXT_MAX = 1024  #: an attachment's description (alt text), as Discord limits it
NAME_MAX = 24  # characters of a member's name on the chart
OTHER_COLOUR = "#9e9e9e"
OUTCOME_COLOURS = {"completed": "#43a047", "failed": "#e53935", "running": "#fb8c00"}
PERIOD_WORDS = {"day": "today", "week": "the last 7 days", "month": "the last 30 days"}

_render_lock = threading.Lock()  # matplotlib's font cache and text layout are not thread-safe


def _bar_label(report: UsageReport, start: datetime) -> str:
    if report.bucket_seconds < 86_400:
        return start.strftime("%H:00")
    return start.strftime("%a %d" if report.bars <= 7 else "%d %b")


def member_name(names: Mapping[int, str], user_id: int) -> str:
    return names.get(user_id) or f"member …{str(user_id)[-4:]}"


def title(report: UsageReport, names: Mapping[int, str]) -> str:
    who = f" by {member_name(names, report.user_id)}" if report.user_id is not None else ""
    return f"Credits charged{who}, {PERIOD_WORDS[report.period]} (UTC)"


def render_png(report: UsageReport, names: Mapping[int, str]) -> bytes:
    """The chart as PNG bytes (WIDTH_PX x HEIGHT_PX). Blocking: run it in a thread."""
    from matplotlib.figure import Figure  # imported on first use: the bot starts without it

    with _render_lock:
        figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
        grid = figure.add_gridspec(
            2, 2, height_ratios=(3, 2), hspace=0.45, wspace=0.3, left=0.15, right=0.97
        )
        _draw_spending(figure.add_subplot(grid[0, :]), report)
        _draw_members(figure.add_subplot(grid[1, 0]), report, names)
        _draw_outcomes(figure.add_subplot(grid[1, 1]), report)
        figure.suptitle(clip(title(report, names), 120), fontsize=14)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=DPI)  # no bbox_inches: the size stays fixed
    return buffer.getvalue()


def _draw_spending(axes, report: UsageReport) -> None:
    labels = [_bar_label(report, start) for start in report.bar_starts()]
    positions = list(range(len(labels)))
    bottom = [0] * len(labels)
    palette = [f"C{i}" for i in range(10)]
    for index, (model, series) in enumerate(report.by_model.items()):
        colour = OTHER_COLOUR if model == OTHER else palette[index % len(palette)]
        axes.bar(positions, series, bottom=bottom, label=clip(model, 40), color=colour)
        bottom = [b + v for b, v in zip(bottom, series, strict=True)]
    step = max(1, len(labels) // 12)
    axes.set_xticks(positions[::step], labels[::step], fontsize=8)
    axes.set_ylabel("credits")
    per = "hour" if report.bucket_seconds < 86_400 else "day"
    axes.set_title(f"Credits charged per {per}, by model", fontsize=11)
    if report.by_model:
        axes.set_ylim(0, max([*bottom, 1]) * 1.3)  # headroom: the legend never hides a bar
        axes.legend(fontsize=8, loc="upper left", ncols=3)
    else:
        _empty(axes, "No credits charged")


def _draw_members(axes, report: UsageReport, names: Mapping[int, str]) -> None:
    members = list(reversed(report.top_members))  # the top spender drawn at the top
    labels = [clip(member_name(names, uid), NAME_MAX) for uid, _ in members]
    axes.barh(range(len(members)), [credits for _, credits in members], color="C0")
    axes.set_yticks(range(len(members)), labels, fontsize=8)
    axes.set_xlabel("credits")
    axes.set_title("Top members", fontsize=11)
    if not members:
        _empty(axes, "Nobody yet")


def _empty(axes, text: str) -> None:
    axes.text(0.5, 0.5, text, ha="center", va="center", transform=axes.transAxes)


def _draw_outcomes(axes, report: UsageReport) -> None:
    names = list(report.outcomes)
    counts = [report.outcomes[n] for n in names]
    colours = [OUTCOME_COLOURS.get(n, "C1") for n in names]
    axes.bar(names, counts, color=colours)
    for x, count in enumerate(counts):
        axes.annotate(str(count), (x, count), ha="center", va="bottom", fontsize=9)
    axes.set_title("Jobs by outcome", fontsize=11)
    axes.set_ylabel("jobs")
    axes.set_ylim(0, max([*counts, 1]) * 1.2)


def summary_lines(report: UsageReport, names: Mapping[int, str]) -> list[str]:
    """The chart's figures as sentences, in the order the chart shows them."""
    first, *_ = report.bar_starts()
    last = datetime.fromtimestamp(report.until - 1, first.tzinfo)
    span = first.strftime("%Y-%m-%d")
    if last.date() != first.date():
        span += f" to {last.strftime('%Y-%m-%d')}"
    credits = f"{report.total} credit{'' if report.total == 1 else 's'}"
    lines = [f"**{title(report, names)}**: {credits} ({span})."]
    totals = report.model_totals()
    lines.append(
        "By model: " + ", ".join(f"{model} {credits}" for model, credits in totals) + "."
        if totals
        else "No credits were charged."
    )
    if totals:
        per = "hour" if report.bucket_seconds < 86_400 else "day"
        columns = [sum(values) for values in zip(*report.by_model.values(), strict=True)]
        bars = [
            f"{_bar_label(report, start)}: {credits}"
            for start, credits in zip(report.bar_starts(), columns, strict=True)
            if credits or per == "day"
        ]
        lines.append(f"Per {per}: " + ", ".join(bars) + ".")
    if report.top_members:
        lines.append(
            "Top members: "
            + ", ".join(f"<@{uid}> {credits}" for uid, credits in report.top_members)
            + "."
        )
    outcome = ", ".join(f"{count} {name}" for name, count in report.outcomes.items())
    lines.append(f"Jobs: {outcome}.")
    return lines


def summary(report: UsageReport, names: Mapping[int, str]) -> str:
    """For the embed's description (Discord shows mentions as names there)."""
    return clip("\n".join(summary_lines(report, names)), EMBED_DESCRIPTION_MAX)


def alt_text(report: UsageReport, names: Mapping[int, str]) -> str:
    """The picture's alt text: the same figures, members by name."""
    text = "\n".join(summary_lines(report, names))
    for uid, _ in report.top_members:
        text = text.replace(f"<@{uid}>", member_name(names, uid))
    return clip(text.replace("**", ""), ALT_TEXT_MAX)
