-- Statements of the reaper and the janitor. /*schema*/ is replaced by the validated, quoted schema
-- name; everything else is bound. Each is one auto-committed statement over a bounded batch of
-- rows locked with SKIP LOCKED, so any number of nodes may run them at once: they never wait for
-- each other, never take the same row twice and cannot deadlock.

-- name: MaintenanceRescueStalled
-- Running jobs whose heartbeat is older than $1 microseconds (at most $3 of them) are rescued:
-- back to pending at once with the attempt restored and the reprocess count raised; failed when
-- the stalled run was the job's last attempt (it may have run, so it is not run again); bad_job
-- when the reprocess count reaches the limit $2. The outer condition repeats the stall test on
-- the locked row, so a job completed, released or re-claimed meanwhile is left alone.
-- The ids are chosen by ARRAY(subquery), which runs once: joined as a FROM item, the locking
-- subquery can be planned as the inner side of a nested loop and re-run for every row.
-- SET sees the row as it was, so each CASE below decides on the same values.
UPDATE /*schema*/.jobs j
SET status = CASE WHEN j.reprocess_count + 1 >= $2 THEN 'bad_job'
                  WHEN j.attempt >= j.max_attempts THEN 'failed'
                  ELSE 'pending' END,
    attempt = CASE WHEN j.reprocess_count + 1 >= $2 OR j.attempt >= j.max_attempts THEN j.attempt
                   ELSE greatest(j.attempt - 1, 0) END,
    reprocess_count = j.reprocess_count + 1,
    run_at = CASE WHEN j.reprocess_count + 1 >= $2 OR j.attempt >= j.max_attempts THEN j.run_at ELSE now() END,
    completed_at = CASE WHEN j.reprocess_count + 1 >= $2 OR j.attempt >= j.max_attempts THEN now() END,
    last_error = 'Stalled: no heartbeat since ' || j.heartbeat_at
                 || CASE WHEN j.reprocess_count + 1 >= $2
                              THEN '; reprocess limit of ' || $2 || ' reached: the job is poison'
                         WHEN j.attempt >= j.max_attempts THEN '; it was the last attempt'
                         ELSE '' END,
    updated_at = now(), lease = NULL, heartbeat_at = NULL
WHERE j.id = ANY (ARRAY(
        SELECT r.id
        FROM /*schema*/.jobs r
        WHERE r.status = 'running' AND r.heartbeat_at < now() - $1 * interval '1 microsecond'
        ORDER BY r.heartbeat_at
        LIMIT $3
        FOR UPDATE SKIP LOCKED))
  AND j.status = 'running' AND j.heartbeat_at < now() - $1 * interval '1 microsecond'
RETURNING j.id, j.queue, j.status;

-- name: MaintenanceLetGoStalled
-- Lets go of the leases of up to $2 cancelled jobs whose heartbeat is older than $1 microseconds:
-- no node let go of them after disposing their handlers (it died, or lost the database), so their
-- unique keys are freed here. The node running a job stops beating it once it is cancelled, so
-- this happens at most one stall timeout after its last beat. Returns how many.
UPDATE /*schema*/.jobs j
SET lease = NULL, heartbeat_at = NULL
WHERE j.id = ANY (ARRAY(
        SELECT c.id
        FROM /*schema*/.jobs c
        WHERE c.status = 'cancelled' AND c.lease IS NOT NULL AND c.heartbeat_at < now() - $1 * interval '1 microsecond'
        ORDER BY c.heartbeat_at
        LIMIT $2
        FOR UPDATE SKIP LOCKED))
  AND j.status = 'cancelled' AND j.lease IS NOT NULL AND j.heartbeat_at < now() - $1 * interval '1 microsecond';

-- name: MaintenanceMoveFinished
-- Moves up to $1 finished jobs out of the live table in one statement: completed ones to the
-- archive, dead ones (failed, cancelled, critical, unprocessable, bad_job) to the dead-letter table.
-- A cancelled job whose lease is not let go yet stays: it holds its unique key until its handler
-- has stopped (see JobCancel). The outer condition repeats the test on the locked row.
WITH moved AS (
    DELETE FROM /*schema*/.jobs j
    WHERE j.id = ANY (ARRAY(
        SELECT f.id
        FROM /*schema*/.jobs f
        WHERE f.status NOT IN ('pending', 'running') AND NOT (f.status = 'cancelled' AND f.lease IS NOT NULL)
        ORDER BY f.completed_at
        LIMIT $1
        FOR UPDATE SKIP LOCKED))
      AND j.status NOT IN ('pending', 'running') AND NOT (j.status = 'cancelled' AND j.lease IS NOT NULL)
    RETURNING j.id, j.queue, j.status, j.priority, j.payload, j.unique_key, j.fingerprint, j.attempt,
              j.max_attempts, j.reprocess_count, j.created_at, j.run_at, j.updated_at, j.completed_at,
              j.last_error
),
archived AS (
    INSERT INTO /*schema*/.jobs_archive (id, queue, status, priority, payload, unique_key, fingerprint, attempt,
                                         max_attempts, reprocess_count, created_at, run_at, updated_at,
                                         completed_at, last_error)
    SELECT id, queue, status, priority, payload, unique_key, fingerprint, attempt, max_attempts,
           reprocess_count, created_at, run_at, updated_at, completed_at, last_error
    FROM moved WHERE status = 'completed'
    RETURNING 1
),
dead AS (
    INSERT INTO /*schema*/.jobs_dead (id, queue, status, priority, payload, unique_key, fingerprint, attempt,
                                      max_attempts, reprocess_count, created_at, run_at, updated_at,
                                      completed_at, last_error)
    SELECT id, queue, status, priority, payload, unique_key, fingerprint, attempt, max_attempts,
           reprocess_count, created_at, run_at, updated_at, completed_at, last_error
    FROM moved WHERE status <> 'completed'
    RETURNING 1
)
SELECT (SELECT count(*) FROM archived) AS archived, (SELECT count(*) FROM dead) AS dead;

-- name: MaintenanceDeleteArchived
-- Deletes up to $2 archived jobs older than $1 microseconds.
DELETE FROM /*schema*/.jobs_archive a
WHERE a.id = ANY (ARRAY(
    SELECT o.id FROM /*schema*/.jobs_archive o
    WHERE o.archived_at < now() - $1 * interval '1 microsecond'
    ORDER BY o.archived_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED));

-- name: MaintenanceDeleteDead
-- Deletes up to $2 dead-lettered jobs older than $1 microseconds.
DELETE FROM /*schema*/.jobs_dead d
WHERE d.id = ANY (ARRAY(
    SELECT o.id FROM /*schema*/.jobs_dead o
    WHERE o.dead_at < now() - $1 * interval '1 microsecond'
    ORDER BY o.dead_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED));

-- name: MaintenanceProbe
-- Whether the database answers: the reaper asks before it rescues again after an outage.
SELECT 1 AS answered;
