"""Every tunable number of the database package, each with the reason for its value. The
modules that use them import them by name, so a test may still patch one where it is used."""

from __future__ import annotations

# PostgreSQL
POOL_MIN = 1  # a connection kept open even when idle, so the next command does not wait
POOL_MAX = 10  # connections per process: transactions and reads in flight at once
CONNECT_TIMEOUT = 10.0  # seconds to reach the server at start

# Reading and copying in pages
EXPORT_PAGE = 500  # ledger rows read per statement while exporting
COPY_PAGE = 1000  # rows read and written per statement by `bananabot migrate --from --to`

# Backups
BUSY_TIMEOUT_MS = 5000  # how long the backup waits for a writer's lock before giving up
