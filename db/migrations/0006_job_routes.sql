-- The providers a job may run on, in the order they are tried, with the price there and why a
-- provider refused it (JSON; NULL for a job bound to one provider). A job that a provider
-- refuses before accepting it moves to the next one; stored, so a restart keeps the list.
ALTER TABLE jobs ADD COLUMN routes TEXT;
