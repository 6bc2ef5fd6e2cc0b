-- What a server's moderators set with /settings (quota/server_settings.py decides, db/
-- server_settings.py stores). Defaults per command kind and the cost-preview threshold live
-- with the other per-server settings; models, channels and blocked phrases are lists.
ALTER TABLE guild_settings ADD COLUMN default_image_model TEXT;
ALTER TABLE guild_settings ADD COLUMN default_video_model TEXT;
ALTER TABLE guild_settings ADD COLUMN default_animate_model TEXT;
-- 0: off; else jobs costing at least this many credits ask for confirmation first.
ALTER TABLE guild_settings ADD COLUMN cost_preview INTEGER NOT NULL DEFAULT 0;

-- Which models a server allows. model: a model id (every provider's) or provider:model (one
-- provider's); a provider:model rule beats a plain id's. No rule: allowed.
CREATE TABLE guild_models (
    guild_id   INTEGER NOT NULL,
    model      TEXT NOT NULL,
    enabled    INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    updated_by INTEGER,
    updated_at REAL NOT NULL,
    PRIMARY KEY (guild_id, model)
);

-- Channels where generation commands are allowed; none listed: everywhere.
CREATE TABLE guild_channels (
    guild_id   INTEGER NOT NULL,
    channel_id INTEGER NOT NULL,
    added_by   INTEGER,
    added_at   REAL NOT NULL,
    PRIMARY KEY (guild_id, channel_id)
);

-- Phrases refused in prompts (stored case-folded, single-spaced).
CREATE TABLE guild_blocklist (
    guild_id INTEGER NOT NULL,
    phrase   TEXT NOT NULL,
    added_by INTEGER,
    added_at REAL NOT NULL,
    PRIMARY KEY (guild_id, phrase)
);

-- /quota usage and /quota export read a server's ledger by time.
CREATE INDEX ledger_guild_time ON ledger (guild_id, created_at);
