-- jobs.cost held the credits reserved for a job, beside charged (what was settled) and
-- provider_cost (the provider's own figure): named for what it is.
ALTER TABLE jobs RENAME COLUMN cost TO reserved;
