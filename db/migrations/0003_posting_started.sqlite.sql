-- When the bot began posting the job's result. With the message id stored only after the
-- post, a job found with this set and no message id may already be in the channel: it is
-- posted again with the same nonce, which Discord answers with the message it already has.
ALTER TABLE jobs ADD COLUMN posting_started_at REAL;
