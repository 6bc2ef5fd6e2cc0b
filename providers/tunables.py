"""Every tunable number of the provider adapters, each with the reason for its value.

What a provider's document fixes (prompt lengths, prices, its own limits) stays with its adapter:
those are facts, not choices. These are the bot's choices about talking to any provider.
"""

from __future__ import annotations

CONNECT_TIMEOUT = 10.0  # a provider that does not accept a connection by then is down
READ_TIMEOUT = 60.0  # a submit's answer can take this long while the provider queues it
WRITE_TIMEOUT = 30.0  # request bodies are small JSON; a stuck write is a dead connection
POOL_TIMEOUT = 30.0  # waiting for a free connection of the adapter's own pool
MAX_RETRY_AFTER = 15 * 60.0  # never trust a Retry-After longer than this
STATUS_DEADLINE = 15.0  # a status read needs no more; a hung one is abandoned and read again
LOOKUP_DEADLINE = 10.0  # prices, balances and model lists are answered from caches meanwhile
LOOKUP_SHARE = 0.5  # lookups may fill at most this share of an account's request window
LOOKUP_WAIT = 0.05  # how often a lookup held back by job requests looks again
MESSAGE_LIMIT = 300  # characters of a provider's message kept in an exception (and the log)
