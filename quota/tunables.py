"""Every tunable number of the quota package, each with the reason for its value (as
jobs/policy.py and providers/tunables.py are for theirs). The modules that use them import
them by name, so a test may still patch one where it is used."""

from __future__ import annotations

# Server rules (/settings), cached in memory
CACHE_SECONDS = 60.0  # how stale another process's change may be seen
CACHE_SERVERS = 4096  # servers whose rules are kept in memory at once
REFRESH_AHEAD = 0.5  # rules older than this share of CACHE_SECONDS are read again in the
# background when used, so commands in steady use never wait for them to expire
PHRASE_MAX = 100  # characters in one blocked phrase: phrases, not paragraphs
PHRASES_MAX = 200  # blocked phrases per server: every prompt is matched against all of them
COST_PREVIEW_MAX = 1_000_000  # a threshold above any job's cost; bounds the option Discord shows

# Reservations
RESERVE_BATCH_MAX = 200  # reservations written in one transaction at most: a burst of commands
# shares commits, yet one batch holds the write lock for tens of milliseconds at most

# /quota usage
MODELS_SHOWN = 8  # models with their own colour; the rest are stacked as "other"
MEMBERS_SHOWN = 10  # top members listed: what fits the chart and a glance
