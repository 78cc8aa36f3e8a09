-- Signals between nodes. They wake nodes up and never carry job data: anyone who may LISTEN on
-- the channel may read them, and anyone who may NOTIFY may forge them.

-- name: SignalSend
-- The channel ($1) is derived from the schema name; the payload ($2) lists signal letters.
SELECT pg_notify($1, $2);
