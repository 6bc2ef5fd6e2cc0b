-- A member's jobs in a server, newest first (/history's pages, /show's autocomplete): the
-- index hands rows over in that order, so a page reads its own rows and no sort is needed.
CREATE INDEX jobs_member_recent ON jobs (guild_id, user_id, created_at);
