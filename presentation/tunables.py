"""Every tunable number of the Discord side (presentation/ and the cogs), each with the reason
for its value; Discord's own limits are facts and live in discord_limits.py. The modules that
use them import them by name, so a test may still patch one where it is used."""

from __future__ import annotations

# Answering an interaction
PRICE_DEFER_AFTER = 1.0  # a price not known by then is awaited behind a deferral (3 s in all)
TOKEN_MARGIN = 30.0  # stop editing a little before Discord would refuse

# Cost previews
PREVIEW_SECONDS = 60.0  # an unanswered preview lapses after this long, nothing charged
PREVIEWS_KEPT = 10_000  # previews remembered at once (a flood cannot grow memory past this)
ANSWERED_KEPT = 15 * 60.0  # how long a preview is remembered, to answer a late second press

# Delivery
READY_WAIT = 30.0  # how long delivery waits for the gateway cache after a restart
UPLOADS_AT_ONCE = 8  # posts with files in flight at once: uploads are slow and large, and
# must leave most of the DISCORD_CONNECTIONS to replies, which Discord drops after 3 s

# Discord's HTTP API
DISCORD_CONNECTIONS = 64  # kept-alive connections to Discord's API host. A burst of replies
# reuses them instead of opening one per reply (in production a TLS handshake each, costing
# more CPU than the reply itself; discord.py's default pool has no bound, and in the bench a
# burst of 500 then overflowed the listener's backlog: 1 s TCP retries). Not fewer: at
# Discord's ~0.1 s per answer, 64 carry ~600 replies a second, so 1,000 at once are out in
# under 2 s, inside Discord's 3 (32 measured a few ms faster in the bench, on loopback)

# The job card
SLOW_FACTOR = 1.5  # past this many times the usual duration, the card says it is slow

# /quota and /history
NAMES_TIMEOUT = 2.0  # looking up the top members' names for the chart; ids do meanwhile
HISTORY_PAGE = 10  # /quota history entries per answer: one screen, well inside an embed
MAX_AMOUNT = 1_000_000  # the largest allowance or grant a moderator may type; stops typos
PAGE_MAX = 100_000  # the page option's bound; far past any member's history
