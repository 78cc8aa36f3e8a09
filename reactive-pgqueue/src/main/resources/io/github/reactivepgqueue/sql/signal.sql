-- Signals between nodes. They wake nodes up and never carry job data: anyone who may LISTEN on
-- the channel may read them, and anyone who may NOTIFY may forge them.

-- name: SignalSend
-- Sends each payload of $2 on channel $1 (derived from the schema name): signal letters, or
-- 'e:<queue>' when jobs of a queue became due.
SELECT count(pg_notify($1, p)) AS sent FROM unnest($2::text[]) AS p;

-- name: SignalListening
-- The listener's liveness check, run on the listening connection itself: a row when the session
-- still listens on channel $1. A dead or frozen connection times out instead.
SELECT 1 AS listening FROM pg_listening_channels() AS c(name) WHERE c.name = $1;
