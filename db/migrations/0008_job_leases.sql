-- Leases: which process runs a job, and until when. A process renews the leases of the jobs
-- it runs; a job whose lease lapsed (its process died) is claimed by another. Written in the
-- SQL both dialects share (DOUBLE PRECISION is REAL to SQLite).
ALTER TABLE jobs ADD COLUMN lease_owner TEXT;
ALTER TABLE jobs ADD COLUMN lease_expires_at DOUBLE PRECISION;
