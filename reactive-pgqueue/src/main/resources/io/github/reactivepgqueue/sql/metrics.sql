-- Statements of the metrics (run only when a meter registry is configured). /*schema*/ is replaced
-- by the validated, quoted schema name.

-- name: MetricsQueueDepth
-- The pending jobs of every queue that has some, per priority ('depth' rows): how many are due now
-- and how many scheduled for later, each count stopping at its bound + 1 (due: $1, scheduled: $2,
-- and the store estimates a count that got there), and how long the oldest due one has waited
-- (seconds since its run_at, 0 when none is due). Plus what the store needs for those estimates: the most
-- common queues of the live table with their frequencies ('freq', from pg_stats) and its estimated
-- number of rows ('rows', as in AdminCount). All on the claim index (queue, priority, run_at, id),
-- partial on status = 'pending': the (queue, priority) pairs are found by a loose index scan (one
-- probe each), each count reads at most its bound + 1 entries of one pair's run_at range (ordered
-- by run_at, so that only this index serves it and no plan counts by walking the table), and the
-- oldest due job is the first entry of each pair.
WITH RECURSIVE pairs AS (
    (SELECT queue, priority FROM /*schema*/.jobs WHERE status = 'pending' ORDER BY queue, priority LIMIT 1)
    UNION ALL
    SELECT n.queue, n.priority
    FROM pairs p
    CROSS JOIN LATERAL (SELECT j.queue, j.priority FROM /*schema*/.jobs j
                        WHERE j.status = 'pending' AND (j.queue, j.priority) > (p.queue, p.priority)
                        ORDER BY j.queue, j.priority LIMIT 1) n
)
SELECT 'depth' AS kind, p.queue,
       (SELECT count(*) FROM (SELECT 1 FROM /*schema*/.jobs j
                              WHERE j.queue = p.queue AND j.priority = p.priority AND j.status = 'pending'
                                AND j.run_at <= now()
                              ORDER BY j.run_at LIMIT $1 + 1) s) AS due,
       (SELECT count(*) FROM (SELECT 1 FROM /*schema*/.jobs j
                              WHERE j.queue = p.queue AND j.priority = p.priority AND j.status = 'pending'
                                AND j.run_at > now()
                              ORDER BY j.run_at LIMIT $2 + 1) s) AS scheduled,
       coalesce(extract(epoch FROM now() - (SELECT min(j.run_at) FROM /*schema*/.jobs j
                                            WHERE j.queue = p.queue AND j.priority = p.priority
                                              AND j.status = 'pending' AND j.run_at <= now())), 0)::float8
           AS oldest_due_seconds,
       NULL::float8 AS estimate
FROM pairs p
UNION ALL
SELECT 'freq', v.value, NULL, NULL, NULL, v.freq
FROM pg_stats s
CROSS JOIN LATERAL unnest(s.most_common_vals::text::text[], s.most_common_freqs) AS v(value, freq)
WHERE s.schemaname = (SELECT nspname FROM pg_namespace WHERE oid = '/*schema*/'::regnamespace)
  AND s.tablename = 'jobs' AND s.attname = 'queue'
UNION ALL
SELECT 'rows', NULL, NULL, NULL, NULL,
       CASE WHEN c.reltuples >= 0 AND c.relpages > 0
            THEN c.reltuples / c.relpages * (pg_relation_size(c.oid) / current_setting('block_size')::float8) END
FROM pg_class c
WHERE c.oid = '/*schema*/.jobs'::regclass;
