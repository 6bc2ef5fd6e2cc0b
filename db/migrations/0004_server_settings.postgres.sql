-- PostgreSQL's half of 0004_server_settings.sqlite.sql (what /settings stores).
ALTER TABLE guild_settings ADD COLUMN default_image_model TEXT COLLATE "C";
ALTER TABLE guild_settings ADD COLUMN default_video_model TEXT COLLATE "C";
ALTER TABLE guild_settings ADD COLUMN default_animate_model TEXT COLLATE "C";
ALTER TABLE guild_settings ADD COLUMN cost_preview BIGINT NOT NULL DEFAULT 0;

CREATE TABLE guild_models (
    guild_id   BIGINT NOT NULL,
    model      TEXT COLLATE "C" NOT NULL,
    enabled    BIGINT NOT NULL CHECK (enabled IN (0, 1)),
    updated_by BIGINT,
    updated_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (guild_id, model)
);

CREATE TABLE guild_channels (
    guild_id   BIGINT NOT NULL,
    channel_id BIGINT NOT NULL,
    added_by   BIGINT,
    added_at   DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (guild_id, channel_id)
);

CREATE TABLE guild_blocklist (
    guild_id BIGINT NOT NULL,
    phrase   TEXT COLLATE "C" NOT NULL,
    added_by BIGINT,
    added_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (guild_id, phrase)
);

CREATE INDEX ledger_guild_time ON ledger (guild_id, created_at);
