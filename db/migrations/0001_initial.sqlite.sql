-- Jobs: one row per generation, stored before anything is sent to a provider.
CREATE TABLE jobs (
    id                TEXT PRIMARY KEY,
    guild_id          INTEGER NOT NULL,
    channel_id        INTEGER NOT NULL,
    user_id           INTEGER NOT NULL,
    command           TEXT NOT NULL,
    kind              TEXT NOT NULL CHECK (kind IN ('image', 'video')),
    provider          TEXT NOT NULL,
    model             TEXT NOT NULL,
    request           TEXT NOT NULL,
    state             TEXT NOT NULL,
    cost              INTEGER NOT NULL,
    charged           INTEGER,
    task_id           TEXT,
    progress          INTEGER,
    provider_cost     REAL,
    media             TEXT,
    failure           TEXT,
    error             TEXT,
    application_id    INTEGER,
    interaction_token TEXT,
    ack_expires_at    REAL,
    result_message_id INTEGER,
    submit_attempts   INTEGER NOT NULL DEFAULT 0,
    created_at        REAL NOT NULL,
    submitted_at      REAL,
    finished_at       REAL,
    deadline_at       REAL NOT NULL,
    updated_at        REAL NOT NULL
);
CREATE INDEX jobs_open ON jobs (state) WHERE state NOT IN ('completed', 'failed');
CREATE INDEX jobs_member ON jobs (guild_id, user_id, state);
CREATE INDEX jobs_provider_submitted ON jobs (provider, submitted_at);

-- The credit ledger: append-only. Balances are sums over it.
-- allowance_delta / bonus_delta: the row's effect on the period allowance and on bonus credits.
-- period: the quota period the allowance part belongs to (settle/refund rows carry the
-- period of the reservation they close, so a job started before midnight UTC and settled after
-- it counts against the day it started).
CREATE TABLE ledger (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id        INTEGER NOT NULL,
    user_id         INTEGER NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('reserve', 'settle', 'refund', 'grant', 'set', 'reset')),
    amount          INTEGER NOT NULL,
    allowance_delta INTEGER NOT NULL DEFAULT 0,
    bonus_delta     INTEGER NOT NULL DEFAULT 0,
    period          TEXT NOT NULL,
    job_id          TEXT REFERENCES jobs (id),
    actor_id        INTEGER,
    reason          TEXT,
    created_at      REAL NOT NULL
);
CREATE INDEX ledger_member ON ledger (guild_id, user_id, period);
CREATE INDEX ledger_member_time ON ledger (guild_id, user_id, id);
CREATE UNIQUE INDEX ledger_one_reserve ON ledger (job_id) WHERE kind = 'reserve';
CREATE UNIQUE INDEX ledger_one_close ON ledger (job_id) WHERE kind IN ('settle', 'refund');

CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;

-- Allowances set by moderators: scope 'user' (target = user id), 'role' (role id),
-- 'guild' (target = guild id: the server default).
CREATE TABLE allowances (
    guild_id   INTEGER NOT NULL,
    scope      TEXT NOT NULL CHECK (scope IN ('user', 'role', 'guild')),
    target_id  INTEGER NOT NULL,
    amount     INTEGER NOT NULL CHECK (amount >= 0),
    updated_by INTEGER,
    updated_at REAL NOT NULL,
    PRIMARY KEY (guild_id, scope, target_id)
);

CREATE TABLE guild_settings (
    guild_id       INTEGER PRIMARY KEY,
    mod_role_id    INTEGER,
    log_channel_id INTEGER,
    updated_at     REAL NOT NULL
);
