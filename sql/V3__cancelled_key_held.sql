-- reactive-pgqueue schema, version 3: a running job that is cancelled keeps its unique key until
-- its handler has stopped.
-- Applied like V1: unqualified, in the first schema of search_path.
--
-- Until version 2, cancelling a running job ended its hold on the unique key at once, while the
-- node running it had not yet stopped its handler: a new job with the same key could run at the
-- same time. From version 3, cancelling a running job keeps its lease (see JobCancel); the job
-- holds its key while it is cancelled under a lease, and the node lets go of the lease once the
-- handler's subscription is disposed (the reaper does it after the stall timeout when no node
-- does). Every statement that asks whether a key is held uses the predicate of the index below.

-- Version 2 never left a lease on a cancelled job; clear any that someone left by hand, so that
-- the new index below cannot meet two holders of one key.
UPDATE jobs SET lease = NULL WHERE status = 'cancelled' AND lease IS NOT NULL;

-- At most one job per unique key among the pending, the running, and the cancelled ones whose
-- handler may still run (their lease is not let go yet). Built before the old index is dropped, in
-- the migration's transaction: enqueues wait for the build (it locks out writes to jobs while it
-- reads the live table) but never find the key unguarded.
CREATE UNIQUE INDEX jobs_unique_key_held_idx ON jobs (unique_key)
    WHERE unique_key IS NOT NULL
      AND (status IN ('pending', 'running') OR (status = 'cancelled' AND lease IS NOT NULL));
DROP INDEX jobs_unique_key_live_idx;

-- The reaper's scan for cancelled jobs whose lease no node let go of (the node died or lost the
-- database): it lets go of those whose heartbeat is older than the stall timeout. Nearly empty.
CREATE INDEX jobs_cancelled_lease_idx ON jobs (heartbeat_at) WHERE status = 'cancelled' AND lease IS NOT NULL;

INSERT INTO schema_version (version, description) VALUES (3, 'cancelled_key_held');
