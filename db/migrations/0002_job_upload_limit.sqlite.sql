-- The upload limit Discord reported with the interaction (attachment_size_limit): the
-- authoritative size for attaching the result in that channel, kept for after a restart.
ALTER TABLE jobs ADD COLUMN upload_limit INTEGER;
