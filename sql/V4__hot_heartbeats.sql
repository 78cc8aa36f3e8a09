-- reactive-pgqueue schema, version 4: heartbeats as HOT updates.
-- Applied like V1: unqualified, in the first schema of search_path.
--
-- A node refreshes heartbeat_at of every job it runs at every heartbeat. While an index names
-- that column, each beat writes a new version of every running row to another page as needed and
-- a new entry into every index of the table (jobs_pkey included); measured on 2,000 running jobs
-- beaten 20 times, none of the 40,000 updates was HOT and the table grew to 8.4 MB. With no index
-- on heartbeat_at and a fifth of each page kept free, PostgreSQL updates the row on its own page
-- without touching an index (a heap-only tuple): 86% of the same updates were HOT and the table
-- stayed at 2.3 MB (docs/performance.md).

-- The reaper's scans find the few running (or cancelled and still held) rows by status and test
-- their heartbeat on the rows themselves: running rows are as many as the nodes' permits.
DROP INDEX jobs_running_heartbeat_idx;
CREATE INDEX jobs_running_idx ON jobs (id) WHERE status = 'running';
DROP INDEX jobs_cancelled_lease_idx;
CREATE INDEX jobs_cancelled_held_idx ON jobs (id) WHERE status = 'cancelled' AND lease IS NOT NULL;

-- Room on each page for new versions of its rows. Pages written before this keep their fill
-- until they are rewritten; rows come and go fast in a queue table, so that is soon.
ALTER TABLE jobs SET (fillfactor = 80);

INSERT INTO schema_version (version, description) VALUES (4, 'hot_heartbeats');
