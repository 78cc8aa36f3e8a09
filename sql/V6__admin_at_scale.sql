-- reactive-pgqueue schema, version 6: admin pages and counts that do not read whole tables.
-- Applied like V1: unqualified, in the first schema of search_path.
--
-- admin().list pages by queue and/or status in id order, and admin().counts and the queue-depth
-- sample count each (queue, status) group through an index only up to a bound (above it they
-- estimate from PostgreSQL's column statistics). Each page and each bounded count needs an index
-- that leads with its filter and then gives the rows in id order; these are the ones that were
-- missing. The rows that stay small by design are read without a new index: running jobs (as many
-- as the nodes' permits, jobs_running_idx) and finished jobs waiting in the live table for the
-- janitor (about a second of them while it runs, jobs_finished_idx).
--
-- Every index costs each insert of a row it covers one more entry (and vacuum one more index to
-- clean). So the live table, written on every enqueue, claim and outcome, gets none: a partial
-- (queue, id) index on its pending rows was tried and cut the bulk enqueue of the benchmark's floor
-- from about 330,000 to 190,000 jobs/s (docs/performance.md). The pending jobs of a queue are read
-- through the claim index, which holds exactly them: a page of them reads every pending job of
-- that queue and sorts the ids (tens of milliseconds per 100,000), and their bounded count walks
-- the claim index. The new indexes are on the archive and the dead-letter table, whose rows are
-- written once, and the archive's and dead-letter table's (queue, archived_at) and (queue, dead_at)
-- indexes, which no statement uses any more, make room for them.
--
-- IF NOT EXISTS: on large tables, build these beforehand with CREATE INDEX CONCURRENTLY under the
-- same names (writes go on meanwhile); this file then only records the version. Built here, each
-- build blocks writes to its table while it reads the table (see docs/operations.md, version 6).

-- Archived jobs of a queue in id order: pages by queue. Cost: one entry per archived job, written
-- once by the success write (janitor on) or the janitor's move.
CREATE INDEX IF NOT EXISTS jobs_archive_queue_id_idx ON jobs_archive (queue, id);
DROP INDEX IF EXISTS jobs_archive_queue_idx;

-- Dead jobs of a queue, of a status, and of a status and queue, each in id order: pages by each
-- filter, and the bounded count of each (status, queue) group (found one index probe apart). Cost:
-- two entries more per dead-lettered job than before, written once by the janitor's move.
CREATE INDEX IF NOT EXISTS jobs_dead_queue_id_idx ON jobs_dead (queue, id);
CREATE INDEX IF NOT EXISTS jobs_dead_status_id_idx ON jobs_dead (status, id);
CREATE INDEX IF NOT EXISTS jobs_dead_status_queue_idx ON jobs_dead (status, queue, id);
DROP INDEX IF EXISTS jobs_dead_queue_idx;

INSERT INTO schema_version (version, description) VALUES (6, 'admin_at_scale');
