-- See 0002_job_upload_limit.sqlite.sql.
ALTER TABLE jobs ADD COLUMN upload_limit BIGINT;
