-- Statements of the admin API. /*schema*/ is replaced by the validated, quoted schema name;
-- everything else is bound. None of them reads payloads except where a caller asks for one job.

-- name: AdminList
-- One page of jobs of queue $1 (null: every queue) with status $2 (null: every status), in id
-- order (ids are time-ordered) after id $3 (null: from the start), at most $4; without payloads.
-- Pending and running jobs are only in the live table; finished ones are in the live table until
-- the janitor moves them to the archive or the dead-letter table.
SELECT location, id, queue, status, priority, NULL::text AS payload, unique_key, fingerprint, attempt,
       max_attempts, reprocess_count, created_at, run_at, updated_at, completed_at, last_error
FROM (
    SELECT 'live' AS location, id, queue, status, priority, unique_key, fingerprint, attempt, max_attempts,
           reprocess_count, created_at, run_at, updated_at, completed_at, last_error
    FROM /*schema*/.jobs
    WHERE ($1::text IS NULL OR queue = $1) AND ($2::text IS NULL OR status = $2) AND ($3::uuid IS NULL OR id > $3)
    UNION ALL
    SELECT 'archive', id, queue, status, priority, unique_key, fingerprint, attempt, max_attempts,
           reprocess_count, created_at, run_at, updated_at, completed_at, last_error
    FROM /*schema*/.jobs_archive
    WHERE ($1::text IS NULL OR queue = $1) AND ($2::text IS NULL OR status = $2) AND ($3::uuid IS NULL OR id > $3)
    UNION ALL
    SELECT 'dead', id, queue, status, priority, unique_key, fingerprint, attempt, max_attempts,
           reprocess_count, created_at, run_at, updated_at, completed_at, last_error
    FROM /*schema*/.jobs_dead
    WHERE ($1::text IS NULL OR queue = $1) AND ($2::text IS NULL OR status = $2) AND ($3::uuid IS NULL OR id > $3)
) page
ORDER BY id
LIMIT $4;

-- name: AdminCount
-- How many jobs each queue has in each status, and where they are.
SELECT 'live' AS location, queue, status, count(*) AS jobs FROM /*schema*/.jobs GROUP BY queue, status
UNION ALL
SELECT 'archive', queue, status, count(*) FROM /*schema*/.jobs_archive GROUP BY queue, status
UNION ALL
SELECT 'dead', queue, status, count(*) FROM /*schema*/.jobs_dead GROUP BY queue, status
ORDER BY 2, 3, 1;

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
