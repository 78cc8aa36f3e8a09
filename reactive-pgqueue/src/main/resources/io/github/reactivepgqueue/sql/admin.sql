-- Statements of the admin API. /*schema*/ is replaced by the validated, quoted schema name;
-- everything else is bound. None of them reads payloads except where a caller asks for one job.

-- The pages of admin().list: one statement per filter, so no plan has to serve a filter that may
-- be null. All give jobs in id order (ids are time-ordered) after the id $after (null: from the
-- start), at most $limit, without payloads. Pending and running jobs are only in the live table;
-- finished ones are in the live table until the janitor moves them to the archive or the
-- dead-letter table.
--
-- A filtered page first takes at most a page of ids from each place its jobs may be, through an
-- index that gives them in order (index-only where vacuum has marked the pages), keeps the first
-- page of those ids, and only then reads those jobs by id. A branch with a condition that names no
-- column (such as $2 = 'pending') is decided once per execution and skipped when it is false.
--
-- A filter on the leading column of such an index is written as a range of one value, ordered by
-- that column (queue >= $1 AND queue <= $1 ... ORDER BY queue, id), which means queue = $1 in the
-- database's (deterministic) collation: with an equality the planner would take the queue as
-- fixed and the primary key as giving the order too. Ordered so, only the index that leads with
-- the queue and goes on with the id gives the order without a sort; the same for status on
-- jobs_dead. The store runs these statements with sequential scans, bitmap scans and sorts
-- switched off (see Db.walkingIndexes), so the planner takes that index walk even when its
-- statistics wrongly say the queue has next to no jobs (a queue grown since the last ANALYZE),
-- which makes every plan look equally cheap: a plan that reads all the queue's rows and sorts
-- them, or walks the primary key filtering, would read a whole queue or table for one page. The
-- only sort left is the final one over at most a few pages of ids.
-- Running jobs and finished ones in the live table are few by design: their branches read their
-- small partial indexes (jobs_running_idx; jobs_finished_idx, all its matching rows, unordered).

-- fragment: PageRows
-- The rows of a page whose (location, id) pairs the statement's CTE "page" holds, in id order,
-- each read by its table's primary key.
SELECT 'live' AS location, id, queue, status, priority, NULL::text AS payload, unique_key, fingerprint, attempt,
       max_attempts, reprocess_count, created_at, run_at, updated_at, completed_at, last_error
FROM /*schema*/.jobs WHERE id = ANY (ARRAY(SELECT id FROM page WHERE location = 'live'))
UNION ALL
SELECT 'archive', id, queue, status, priority, NULL, unique_key, fingerprint, attempt, max_attempts, reprocess_count,
       created_at, run_at, updated_at, completed_at, last_error
FROM /*schema*/.jobs_archive WHERE id = ANY (ARRAY(SELECT id FROM page WHERE location = 'archive'))
UNION ALL
SELECT 'dead', id, queue, status, priority, NULL, unique_key, fingerprint, attempt, max_attempts, reprocess_count,
       created_at, run_at, updated_at, completed_at, last_error
FROM /*schema*/.jobs_dead WHERE id = ANY (ARRAY(SELECT id FROM page WHERE location = 'dead'))
ORDER BY id

-- name: AdminList
-- One page of all jobs after id $1, at most $2: the first ids of each table's primary key, merged.
SELECT location, id, queue, status, priority, NULL::text AS payload, unique_key, fingerprint, attempt,
       max_attempts, reprocess_count, created_at, run_at, updated_at, completed_at, last_error
FROM (
    (SELECT 'live' AS location, id, queue, status, priority, unique_key, fingerprint, attempt, max_attempts,
            reprocess_count, created_at, run_at, updated_at, completed_at, last_error
     FROM /*schema*/.jobs
     WHERE id > coalesce($1, '00000000-0000-0000-0000-000000000000'::uuid)
     ORDER BY id LIMIT $2)
    UNION ALL
    (SELECT 'archive', id, queue, status, priority, unique_key, fingerprint, attempt, max_attempts,
            reprocess_count, created_at, run_at, updated_at, completed_at, last_error
     FROM /*schema*/.jobs_archive
     WHERE id > coalesce($1, '00000000-0000-0000-0000-000000000000'::uuid)
     ORDER BY id LIMIT $2)
    UNION ALL
    (SELECT 'dead', id, queue, status, priority, unique_key, fingerprint, attempt, max_attempts,
            reprocess_count, created_at, run_at, updated_at, completed_at, last_error
     FROM /*schema*/.jobs_dead
     WHERE id > coalesce($1, '00000000-0000-0000-0000-000000000000'::uuid)
     ORDER BY id LIMIT $2)
) page
ORDER BY id
LIMIT $2;

-- name: AdminListQueue
-- One page of the jobs of queue $1 after id $2, at most $3.
WITH page AS (
    SELECT location, id FROM (
        (SELECT 'live' AS location, x.id FROM (
             -- the queue's pending jobs as the claim index holds them (its order needs no sort,
             -- so the planner reads them there), then the page's ids: reads that queue's pending
             -- jobs, which no index gives in id order (see sql/V6)
             SELECT p.id FROM /*schema*/.jobs p
             WHERE p.status = 'pending' AND p.queue = $1
               AND p.id > coalesce($2, '00000000-0000-0000-0000-000000000000'::uuid)
             ORDER BY p.priority, p.run_at, p.id
             OFFSET 0) x
         ORDER BY x.id LIMIT $3)
        UNION ALL
        (SELECT 'live', r.id FROM /*schema*/.jobs r
         WHERE r.status = 'running' AND r.queue = $1
           AND r.id > coalesce($2, '00000000-0000-0000-0000-000000000000'::uuid)
         ORDER BY r.id LIMIT $3)
        UNION ALL
        SELECT 'live', f.id FROM /*schema*/.jobs f
        WHERE f.status NOT IN ('pending', 'running') AND f.queue = $1
          AND f.id > coalesce($2, '00000000-0000-0000-0000-000000000000'::uuid)
        UNION ALL
        (SELECT 'archive', a.id FROM /*schema*/.jobs_archive a
         WHERE a.queue >= $1 AND a.queue <= $1
           AND a.id > coalesce($2, '00000000-0000-0000-0000-000000000000'::uuid)
         ORDER BY a.queue, a.id LIMIT $3)
        UNION ALL
        (SELECT 'dead', d.id FROM /*schema*/.jobs_dead d
         WHERE d.queue >= $1 AND d.queue <= $1
           AND d.id > coalesce($2, '00000000-0000-0000-0000-000000000000'::uuid)
         ORDER BY d.queue, d.id LIMIT $3)
    ) ids
    ORDER BY id
    LIMIT $3
)
/*fragment PageRows*/;

-- name: AdminListStatus
-- One page of the jobs with status $1 after id $2, at most $3. Pending jobs are read along the
-- live table's primary key, skipping the others: nearly every row there is pending while the
-- janitor runs (the others are the running jobs and about a second of finished ones).
WITH page AS (
    SELECT location, id FROM (
        (SELECT 'live' AS location, p.id FROM /*schema*/.jobs p
         WHERE $1 = 'pending' AND p.status = 'pending'
           AND p.id > coalesce($2, '00000000-0000-0000-0000-000000000000'::uuid)
         ORDER BY p.id LIMIT $3)
        UNION ALL
        (SELECT 'live', r.id FROM /*schema*/.jobs r
         WHERE $1 = 'running' AND r.status = 'running'
           AND r.id > coalesce($2, '00000000-0000-0000-0000-000000000000'::uuid)
         ORDER BY r.id LIMIT $3)
        UNION ALL
        SELECT 'live', f.id FROM /*schema*/.jobs f
        WHERE $1 NOT IN ('pending', 'running') AND f.status NOT IN ('pending', 'running') AND f.status = $1
          AND f.id > coalesce($2, '00000000-0000-0000-0000-000000000000'::uuid)
        UNION ALL
        (SELECT 'archive', a.id FROM /*schema*/.jobs_archive a
         WHERE $1 = 'completed'
           AND a.id > coalesce($2, '00000000-0000-0000-0000-000000000000'::uuid)
         ORDER BY a.id LIMIT $3)
        UNION ALL
        (SELECT 'dead', d.id FROM /*schema*/.jobs_dead d
         WHERE d.status >= $1 AND d.status <= $1
           AND d.id > coalesce($2, '00000000-0000-0000-0000-000000000000'::uuid)
         ORDER BY d.status, d.id LIMIT $3)
    ) ids
    ORDER BY id
    LIMIT $3
)
/*fragment PageRows*/;

-- name: AdminListQueueStatus
-- One page of the jobs of queue $1 with status $2 after id $3, at most $4.
WITH page AS (
    SELECT location, id FROM (
        (SELECT 'live' AS location, x.id FROM (
             -- as in AdminListQueue
             SELECT p.id FROM /*schema*/.jobs p
             WHERE $2 = 'pending' AND p.status = 'pending' AND p.queue = $1
               AND p.id > coalesce($3, '00000000-0000-0000-0000-000000000000'::uuid)
             ORDER BY p.priority, p.run_at, p.id
             OFFSET 0) x
         ORDER BY x.id LIMIT $4)
        UNION ALL
        (SELECT 'live', r.id FROM /*schema*/.jobs r
         WHERE $2 = 'running' AND r.status = 'running' AND r.queue = $1
           AND r.id > coalesce($3, '00000000-0000-0000-0000-000000000000'::uuid)
         ORDER BY r.id LIMIT $4)
        UNION ALL
        SELECT 'live', f.id FROM /*schema*/.jobs f
        WHERE $2 NOT IN ('pending', 'running') AND f.status NOT IN ('pending', 'running') AND f.status = $2
          AND f.queue = $1 AND f.id > coalesce($3, '00000000-0000-0000-0000-000000000000'::uuid)
        UNION ALL
        (SELECT 'archive', a.id FROM /*schema*/.jobs_archive a
         WHERE $2 = 'completed' AND a.queue >= $1 AND a.queue <= $1
           AND a.id > coalesce($3, '00000000-0000-0000-0000-000000000000'::uuid)
         ORDER BY a.queue, a.id LIMIT $4)
        UNION ALL
        (SELECT 'dead', d.id FROM /*schema*/.jobs_dead d
         WHERE d.status = $2 AND d.queue >= $1 AND d.queue <= $1
           AND d.id > coalesce($3, '00000000-0000-0000-0000-000000000000'::uuid)
         ORDER BY d.queue, d.id LIMIT $4)
    ) ids
    ORDER BY id
    LIMIT $4
)
/*fragment PageRows*/;

-- name: AdminCount
-- How many jobs each queue has in each status, and where: one 'count' row per (location, queue,
-- status) group that has jobs, whose count stops at $1 + 1 (cut: it got there), plus what the store
-- needs to estimate the cut ones: each table's most common values of queue and of status with their
-- frequencies ('freq', from pg_stats, which every role that may read the table sees) and its
-- estimated number of rows ('rows': rows per page at the last ANALYZE or VACUUM times the pages it
-- has now, as the planner estimates it; null before the first). No group costs more than $1 + 1
-- index entries:
-- - pending, archived and dead jobs: the groups are found by a loose index scan (one probe of
--   jobs_claim_idx, jobs_archive_queue_id_idx or jobs_dead_status_queue_idx per group) and
--   each is counted on such an index, up to $1 + 1 (its filter written as a range of one value
--   and ordered, as in the pages above, so that no plan counts by walking the table).
-- - running jobs, and finished jobs still in the live table (few by design, and with no index by
--   queue): read in one pass each of at most $2 + 1 rows ($2 >= $1); when a pass is cut, each of
--   its groups is counted only as far as the pass got.
WITH RECURSIVE
pending_queues AS (
    (SELECT queue FROM /*schema*/.jobs WHERE status = 'pending' ORDER BY queue LIMIT 1)
    UNION ALL
    SELECT (SELECT j.queue FROM /*schema*/.jobs j
            WHERE j.status = 'pending' AND j.queue > q.queue ORDER BY j.queue LIMIT 1)
    FROM pending_queues q WHERE q.queue IS NOT NULL
),
archive_queues AS (
    (SELECT queue FROM /*schema*/.jobs_archive ORDER BY queue LIMIT 1)
    UNION ALL
    SELECT (SELECT a.queue FROM /*schema*/.jobs_archive a WHERE a.queue > q.queue ORDER BY a.queue LIMIT 1)
    FROM archive_queues q WHERE q.queue IS NOT NULL
),
dead_groups AS (
    (SELECT status, queue FROM /*schema*/.jobs_dead ORDER BY status, queue LIMIT 1)
    UNION ALL
    SELECT n.status, n.queue
    FROM dead_groups g
    CROSS JOIN LATERAL (SELECT d.status, d.queue FROM /*schema*/.jobs_dead d
                        WHERE (d.status, d.queue) > (g.status, g.queue)
                        ORDER BY d.status, d.queue LIMIT 1) n
),
running AS (
    SELECT queue, status FROM /*schema*/.jobs WHERE status = 'running' LIMIT $2 + 1
),
finished AS (
    SELECT queue, status FROM /*schema*/.jobs WHERE status NOT IN ('pending', 'running') LIMIT $2 + 1
),
counted AS (
    SELECT 'live' AS location, q.queue, 'pending' AS status, c.n AS jobs, c.n > $1 AS cut
    FROM pending_queues q
    CROSS JOIN LATERAL (SELECT count(*) AS n
                        FROM (SELECT 1 FROM /*schema*/.jobs j
                              WHERE j.status = 'pending' AND j.queue >= q.queue AND j.queue <= q.queue
                              ORDER BY j.queue LIMIT $1 + 1) s) c
    WHERE q.queue IS NOT NULL
    UNION ALL
    SELECT 'live', queue, status, count(*), (SELECT count(*) FROM running) > $2
    FROM running GROUP BY queue, status
    UNION ALL
    SELECT 'live', queue, status, count(*), (SELECT count(*) FROM finished) > $2
    FROM finished GROUP BY queue, status
    UNION ALL
    SELECT 'archive', q.queue, 'completed', c.n, c.n > $1
    FROM archive_queues q
    CROSS JOIN LATERAL (SELECT count(*) AS n
                        FROM (SELECT 1 FROM /*schema*/.jobs_archive a
                              WHERE a.queue >= q.queue AND a.queue <= q.queue
                              ORDER BY a.queue LIMIT $1 + 1) s) c
    WHERE q.queue IS NOT NULL
    UNION ALL
    SELECT 'dead', g.queue, g.status, c.n, c.n > $1
    FROM dead_groups g
    CROSS JOIN LATERAL (SELECT count(*) AS n
                        FROM (SELECT 1 FROM /*schema*/.jobs_dead d
                              WHERE d.status = g.status AND d.queue >= g.queue AND d.queue <= g.queue
                              ORDER BY d.queue LIMIT $1 + 1) s) c
)
SELECT 'count' AS kind, location, queue, status, jobs, cut, NULL::float8 AS estimate
FROM counted
UNION ALL
SELECT 'freq', CASE s.tablename WHEN 'jobs' THEN 'live' WHEN 'jobs_archive' THEN 'archive' ELSE 'dead' END,
       CASE s.attname WHEN 'queue' THEN v.value END, CASE s.attname WHEN 'status' THEN v.value END,
       NULL, NULL, v.freq
FROM pg_stats s
CROSS JOIN LATERAL unnest(s.most_common_vals::text::text[], s.most_common_freqs) AS v(value, freq)
WHERE s.schemaname = (SELECT nspname FROM pg_namespace WHERE oid = '/*schema*/'::regnamespace)
  AND s.tablename IN ('jobs', 'jobs_archive', 'jobs_dead') AND s.attname IN ('queue', 'status')
UNION ALL
SELECT 'rows', CASE c.relname WHEN 'jobs' THEN 'live' WHEN 'jobs_archive' THEN 'archive' ELSE 'dead' END,
       NULL, NULL, NULL, NULL,
       CASE WHEN c.reltuples >= 0 AND c.relpages > 0
            THEN c.reltuples / c.relpages * (pg_relation_size(c.oid) / current_setting('block_size')::float8) END
FROM pg_class c
WHERE c.oid IN ('/*schema*/.jobs'::regclass, '/*schema*/.jobs_archive'::regclass, '/*schema*/.jobs_dead'::regclass)
ORDER BY kind, queue, status, location;

-- name: AdminRequeueDead
-- Moves dead-lettered jobs back to the live table as a fresh attempt series (pending now,
-- attempt 0, reprocess count 0; the last error is kept): the job with id $1, or up to $3 jobs of
-- queue $2. A job whose unique key is held meanwhile (by a pending or running job, or a cancelled
-- one whose lease is not let go yet: the predicate of jobs_unique_key_held_idx) stays in the
-- dead-letter table: such jobs are not chosen, so the limit counts only jobs that can be revived
-- (ON CONFLICT still skips a key taken after this statement's snapshot).
WITH chosen AS (
    SELECT d.id, d.queue, d.priority, d.payload, d.unique_key, d.fingerprint, d.max_attempts, d.created_at,
           d.last_error
    FROM /*schema*/.jobs_dead d
    WHERE (d.id = $1 OR d.queue = $2)
      AND NOT EXISTS (SELECT 1 FROM /*schema*/.jobs j
                      WHERE j.unique_key = d.unique_key
                        AND (j.status IN ('pending', 'running') OR (j.status = 'cancelled' AND j.lease IS NOT NULL)))
    ORDER BY d.id
    LIMIT $3
    FOR UPDATE SKIP LOCKED
),
revived AS (
    INSERT INTO /*schema*/.jobs (id, queue, status, priority, payload, unique_key, fingerprint, attempt,
                                 max_attempts, reprocess_count, created_at, run_at, updated_at, last_error)
    SELECT id, queue, 'pending', priority, payload, unique_key, fingerprint, 0, max_attempts, 0, created_at,
           now(), now(), last_error
    FROM chosen
    ON CONFLICT DO NOTHING
    RETURNING id
)
DELETE FROM /*schema*/.jobs_dead d
USING revived
WHERE d.id = revived.id
RETURNING d.id, d.queue;

-- name: AdminDelete
-- Deletes the job with id $1 from whichever table holds it. Returns the status it had; a running
-- job's node finds its lease gone and disposes the handler.
WITH live AS (DELETE FROM /*schema*/.jobs WHERE id = $1 RETURNING status),
     archived AS (DELETE FROM /*schema*/.jobs_archive WHERE id = $1 RETURNING status),
     dead AS (DELETE FROM /*schema*/.jobs_dead WHERE id = $1 RETURNING status)
SELECT status AS previous FROM live
UNION ALL SELECT status FROM archived
UNION ALL SELECT status FROM dead;

-- name: AdminPurge
-- Deletes up to $3 pending and finished jobs of queue $1 from the live table, in id order, those
-- with an id above $2 (null: from the first): one batch of a purge, which goes on from the last id
-- it deleted until a batch deletes nothing, so no statement holds many row locks or runs long.
-- Running jobs finish, and so do cancelled ones whose handler may still run (their lease is not
-- let go yet): deleting them would free their unique key early. The outer condition repeats the
-- test on the locked row. Returns how many it deleted and the last id.
WITH gone AS (
    DELETE FROM /*schema*/.jobs j
    WHERE j.id = ANY (ARRAY(
            SELECT p.id
            FROM /*schema*/.jobs p
            WHERE p.queue = $1 AND ($2::uuid IS NULL OR p.id > $2)
              AND p.status <> 'running' AND NOT (p.status = 'cancelled' AND p.lease IS NOT NULL)
            ORDER BY p.id
            LIMIT $3
            FOR UPDATE))
      AND j.status <> 'running' AND NOT (j.status = 'cancelled' AND j.lease IS NOT NULL)
    RETURNING j.id
)
SELECT count(*) AS deleted, (SELECT g.id FROM gone g ORDER BY g.id DESC LIMIT 1) AS last FROM gone;

-- name: AdminPause
-- Pauses queue $1 on every node: no node claims its jobs until it is resumed.
INSERT INTO /*schema*/.paused_queues (queue) VALUES ($1) ON CONFLICT (queue) DO NOTHING;

-- name: AdminResume
-- Resumes queue $1.
DELETE FROM /*schema*/.paused_queues WHERE queue = $1;

-- name: AdminPaused
-- The paused queues.
SELECT queue FROM /*schema*/.paused_queues ORDER BY queue;
