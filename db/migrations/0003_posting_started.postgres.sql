-- See 0003_posting_started.sqlite.sql.
ALTER TABLE jobs ADD COLUMN posting_started_at DOUBLE PRECISION;
