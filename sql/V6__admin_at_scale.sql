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
-- clean). So the live table, written on every enqueue, claim and outcome, gets a single partial
-- index; the others are on the archive and the dead-letter table, whose rows are written once.
--
-- IF NOT EXISTS: on large tables, build these beforehand with CREATE INDEX CONCURRENTLY under the
-- same names (writes go on meanwhile); this file then only records the version. Built here, each
-- build blocks writes to its table while it reads the table (see docs/operations.md, version 6).

-- Pending jobs of a queue in id order: pages by queue (or queue and status pending), and the
-- bounded count of each queue's pending jobs. Partial, like jobs_claim_idx: it holds pending rows
-- only. Cost: one entry per pending row version, written by each enqueue and each return to pending
-- (retry, reschedule, rescue, release, requeue). Claims, outcomes, cancels and heartbeats add
-- nothing to it: the versions they write are not pending (heartbeats stay HOT updates, as queue,
-- id and status do not change).
CREATE INDEX IF NOT EXISTS jobs_pending_queue_idx ON jobs (queue, id) WHERE status = 'pending';

-- Archived jobs of a queue in id order: pages by queue. Cost: one entry per archived job, written
-- once by the success write (janitor on) or the janitor's move.
CREATE INDEX IF NOT EXISTS jobs_archive_queue_id_idx ON jobs_archive (queue, id);

-- Dead jobs of a queue, of a status, and of a status and queue, each in id order: pages by each
-- filter, and the bounded count of each (status, queue) group (found one index probe apart). Cost:
-- three entries per dead-lettered job, written once by the janitor's move.
CREATE INDEX IF NOT EXISTS jobs_dead_queue_id_idx ON jobs_dead (queue, id);
CREATE INDEX IF NOT EXISTS jobs_dead_status_id_idx ON jobs_dead (status, id);
CREATE INDEX IF NOT EXISTS jobs_dead_status_queue_idx ON jobs_dead (status, queue, id);

INSERT INTO schema_version (version, description) VALUES (6, 'admin_at_scale');
