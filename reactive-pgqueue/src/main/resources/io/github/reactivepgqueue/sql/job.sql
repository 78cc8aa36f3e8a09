-- Statements on the jobs table. /*schema*/ is replaced by the validated, quoted schema name;
-- everything else is bound.
--
-- Row locks: claims, the heartbeat and the reaper never wait for a row lock (SKIP LOCKED). Outcome
-- writes lock the rows of their own leases in whatever order their plan reads them; the only
-- statements that may wait on those rows are the rare writes of other sessions (cancel, admin,
-- the stale write of a node whose lease was taken over), so a lock-order deadlock needs two such
-- writes at once, and PostgreSQL breaks it: outcome writes are retried, cancel retries too. An
-- earlier version locked every outcome write's rows in id order first (ARRAY(SELECT ... ORDER BY
-- id FOR UPDATE)); that second pass over the rows cost more than the update itself.

-- fragment: Notified
-- The insert statements' notifications (the CTE "inserted" returns queue, run_at and due; $10 is
-- the channel, none when null): see JobInsertMany.
notified AS (
    SELECT count(pg_notify($10, n.payload)) AS n
    FROM (
        SELECT CASE WHEN octet_length(d.queue) <= 1000 THEN 'e:' || d.queue ELSE 'e' END AS payload
        FROM (SELECT DISTINCT queue FROM inserted WHERE due) d
        UNION ALL
        SELECT 't:' || ceil(extract(epoch FROM min(f.run_at) - now()) * 1000000)::bigint
               || CASE WHEN octet_length(f.queue) <= 1000 THEN ':' || f.queue ELSE '' END
        FROM inserted f WHERE NOT f.due GROUP BY f.queue
    ) n
    WHERE $10::text IS NOT NULL
)

-- name: JobInsertMany
-- Inserts a batch of jobs in one statement. A job whose unique key is held (by a pending or
-- running job, by a cancelled one whose lease is not let go yet, or by an earlier job of the same
-- batch) is skipped, and the holder's id is returned instead: jobs_unique_key_held_idx (sql/V3)
-- decides the conflict, and the holder lookup spells its predicate. The conflict target names only
-- the pending/running half of that predicate: PostgreSQL takes as arbiter every unique index on
-- unique_key whose predicate the target's implies, which is jobs_unique_key_held_idx, and on a
-- schema still at version 2 its jobs_unique_key_live_idx, so that a node upgraded before the
-- migration still enqueues. The arbiter index, not the target, decides what conflicts: a
-- cancelled job under its lease is a holder. Rows come
-- back in input order (ord starts at 1). holder_id is NULL only when the holder committed after
-- this statement's snapshot was taken; the caller retries those rows.
-- Rows are inserted in input order, and the caller passes keyed jobs in unique-key order, so that
-- two concurrent inserts sharing keys take them in the same order and cannot deadlock.
-- run_at: the absolute time if given, else now() plus the delay in microseconds (database clock).
-- Unless $10 (the signal channel) is null, sends one notification per queue that got a job due
-- now ('e:' and the queue; 'e' alone when the name is too long for a notification), and one per
-- queue that got jobs due later, with how long until the earliest of them is due, in microseconds
-- by the database clock ('t:<micros>:' and the queue, or 't:<micros>'): a node whose timer is
-- later claims then (Worker's due timer). NOTIFY is delivered at commit, and identical
-- notifications of one transaction are delivered once.
WITH input AS (
    SELECT *
    FROM unnest($1::uuid[], $2::text[], $3::text[], $4::integer[], $5::text[], $6::text[],
                $7::integer[], $8::timestamptz[], $9::bigint[])
         WITH ORDINALITY AS t(id, queue, payload, priority, unique_key, fingerprint, max_attempts,
                              run_at, delay_us, ord)
),
inserted AS (
    INSERT INTO /*schema*/.jobs (id, queue, payload, priority, unique_key, fingerprint, max_attempts, run_at)
    SELECT id, queue, payload::jsonb, priority, unique_key, fingerprint, max_attempts,
           coalesce(run_at, now() + delay_us * interval '1 microsecond')
    FROM input
    ORDER BY ord
    ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL AND status IN ('pending', 'running')
    DO NOTHING
    RETURNING id, unique_key, queue, run_at, run_at <= now() AS due
),
/*fragment Notified*/
SELECT i.ord,
       ins.id IS NOT NULL AS inserted,
       coalesce(ins.id, same_batch.id, live.id) AS holder_id
FROM input i
CROSS JOIN notified
LEFT JOIN inserted ins ON ins.id = i.id
LEFT JOIN inserted same_batch ON ins.id IS NULL AND same_batch.unique_key = i.unique_key
LEFT JOIN LATERAL (
    SELECT j.id FROM /*schema*/.jobs j
    WHERE ins.id IS NULL AND j.unique_key = i.unique_key
      AND (j.status IN ('pending', 'running') OR (j.status = 'cancelled' AND j.lease IS NOT NULL))
) live ON true
ORDER BY i.ord;

-- name: JobInsertManyNoKeys
-- JobInsertMany for a batch in which no job has a unique key, which is the common case: no row
-- can be a duplicate, so every row is inserted and nothing is joined back to the input. Returns
-- how many rows were inserted. Same parameters ($5 is all nulls) and notifications.
WITH inserted AS (
    INSERT INTO /*schema*/.jobs (id, queue, payload, priority, unique_key, fingerprint, max_attempts, run_at)
    SELECT id, queue, payload::jsonb, priority, unique_key, fingerprint, max_attempts,
           coalesce(run_at, now() + delay_us * interval '1 microsecond')
    FROM unnest($1::uuid[], $2::text[], $3::text[], $4::integer[], $5::text[], $6::text[],
                $7::integer[], $8::timestamptz[], $9::bigint[])
         AS t(id, queue, payload, priority, unique_key, fingerprint, max_attempts, run_at, delay_us)
    RETURNING queue, run_at, run_at <= now() AS due
),
/*fragment Notified*/
SELECT count(*) AS inserted FROM inserted CROSS JOIN notified;

-- fragment: QueuePriorities
-- The priorities of queue q.name's pending jobs, for a statement that then reads one bounded range
-- of the claim index per priority: one index probe each (a loose index scan; the recursive part).
WITH RECURSIVE priorities (priority) AS (
    (SELECT p.priority FROM /*schema*/.jobs p
     WHERE p.queue = q.name AND p.status = 'pending'
     ORDER BY p.priority
     LIMIT 1)
    UNION ALL
    SELECT (SELECT p.priority FROM /*schema*/.jobs p
            WHERE p.queue = q.name AND p.status = 'pending' AND p.priority > r.priority
            ORDER BY p.priority
            LIMIT 1)
    FROM priorities r
    WHERE r.priority IS NOT NULL
)

-- name: JobClaim
-- Claims due pending jobs in one statement: at most $2[i] of queue $1[i] (the caller has already
-- split what is free globally into these shares, see ClaimShares). Each queue's jobs are taken in
-- (priority, run_at, id) order. Each claimed row gets a fresh lease token (every later write about
-- this attempt is fenced by it), attempt + 1 and a heartbeat. Rows locked by other claimers are
-- skipped, never waited for. Paused queues are skipped.
-- The claim index is (queue, priority, run_at, id): run_at <= now() bounds a scan only within one
-- priority. Scanned as one range from the queue's first entry, a claim that finds fewer due jobs
-- than it asks for would read every future-scheduled row of the queue (9 ms for 990,000 such rows
-- of one queue, on every poll of every idle node). So the queue's priorities are found first, one
-- index probe each (a loose index scan: the recursive part), and each priority's due rows are one
-- bounded range: an idle queue's claim reads a few index entries whatever waits in the future.
-- Rows are locked as the outer LIMIT pulls them, lowest priority first, so the statement locks
-- only the rows it claims (an earlier version ranked every locked row of every queue before a
-- global limit, and locked up to ten times the rows it claimed).
-- ClaimedRow reads the columns by position. The numbers travel together as one text column:
-- attempt, max_attempts, priority and reprocess_count in decimal, then created_at, run_at and the
-- claim time as PostgreSQL holds them (8 bytes: microseconds since 2000-01-01), in hex. The driver
-- looks up a codec, under a lock, for every value it decodes, which made decoding the claim's rows
-- the largest client cost of a drain; and the time's own bytes are exact and cost the database a
-- fifth of (extract(epoch FROM t) * 1000000)::bigint, which computes in numeric.
UPDATE /*schema*/.jobs j
SET status = 'running', attempt = j.attempt + 1, lease = gen_random_uuid(), heartbeat_at = now(),
    updated_at = now()
WHERE j.id = ANY (ARRAY(
    SELECT c.id
    FROM unnest($1::text[], $2::integer[]) AS q(name, n)
    CROSS JOIN LATERAL (
        /*fragment QueuePriorities*/
        SELECT d.id
        FROM priorities r
        CROSS JOIN LATERAL (
            SELECT p.id
            FROM /*schema*/.jobs p
            WHERE p.queue = q.name AND p.status = 'pending' AND p.priority = r.priority AND p.run_at <= now()
            ORDER BY p.run_at, p.id
            LIMIT q.n
            FOR UPDATE SKIP LOCKED) d
        LIMIT q.n
    ) c
    WHERE NOT EXISTS (SELECT 1 FROM /*schema*/.paused_queues pq WHERE pq.queue = q.name)))
RETURNING j.id, j.lease, j.queue, j.payload::text AS payload, j.fingerprint, j.unique_key,
          concat_ws(',', j.attempt, j.max_attempts, j.priority, j.reprocess_count,
                    encode(timestamptz_send(j.created_at), 'hex'), encode(timestamptz_send(j.run_at), 'hex'),
                    encode(timestamptz_send(now()), 'hex')) AS numbers;

-- name: JobNextDue
-- How long until the earliest pending job of the queues $1 that is not due yet becomes due, in
-- microseconds by the database clock; NULL when there is none. Found as the claim finds its rows
-- (see JobClaim): the queue's priorities by a loose index scan, then in each priority the first
-- entry of the claim index after now(). Paused queues are skipped.
SELECT ceil(extract(epoch FROM min(n.run_at) - now()) * 1000000)::bigint AS due_in_us
FROM unnest($1::text[]) AS q(name)
CROSS JOIN LATERAL (
    /*fragment QueuePriorities*/
    SELECT (SELECT p.run_at FROM /*schema*/.jobs p
            WHERE p.queue = q.name AND p.status = 'pending' AND p.priority = r.priority AND p.run_at > now()
            ORDER BY p.run_at
            LIMIT 1) AS run_at
    FROM priorities r
    WHERE r.priority IS NOT NULL
) n
WHERE NOT EXISTS (SELECT 1 FROM /*schema*/.paused_queues pq WHERE pq.queue = q.name);

-- name: JobCompleteMany
-- Success. Fenced: only rows still running under the given lease change. Unless $3 (the signal
-- channel) is null, tells awaiting nodes that jobs finished ($4, the FINISHED payload), once, at
-- commit: no statement of its own is needed for it.
-- Returns one row: the ids of the given jobs it did not change (stale: their lease is no longer
-- current), nearly always none. Every changed row is completed, so listing those would only cost
-- a row per job to send and to decode.
WITH done AS (
    UPDATE /*schema*/.jobs j
    SET status = 'completed', completed_at = now(), updated_at = now(), lease = NULL, heartbeat_at = NULL
    FROM unnest($1::uuid[], $2::uuid[]) AS t(id, lease)
    WHERE j.id = t.id AND j.lease = t.lease AND j.status = 'running'
    RETURNING j.id
),
notified AS (
    SELECT count(pg_notify($3, $4)) AS n
    FROM (SELECT 1 FROM done LIMIT 1) d
    WHERE $3::text IS NOT NULL
)
SELECT ARRAY(SELECT t.id FROM unnest($1::uuid[]) AS t(id) WHERE t.id NOT IN (SELECT id FROM done)) AS stale
FROM notified;

-- name: JobCompleteArchiveMany
-- Success when the janitor is on: the row leaves the live table for the archive in this statement,
-- written once instead of updated here and moved by the janitor later. Fenced, signalled and
-- answered as JobCompleteMany.
WITH done AS (
    DELETE FROM /*schema*/.jobs j
    USING unnest($1::uuid[], $2::uuid[]) AS t(id, lease)
    WHERE j.id = t.id AND j.lease = t.lease AND j.status = 'running'
    RETURNING j.id, j.queue, j.priority, j.payload, j.unique_key, j.fingerprint, j.attempt, j.max_attempts,
              j.reprocess_count, j.created_at, j.run_at, j.last_error
),
archived AS (
    INSERT INTO /*schema*/.jobs_archive (id, queue, status, priority, payload, unique_key, fingerprint, attempt,
                                         max_attempts, reprocess_count, created_at, run_at, updated_at,
                                         completed_at, last_error)
    SELECT id, queue, 'completed', priority, payload, unique_key, fingerprint, attempt, max_attempts,
           reprocess_count, created_at, run_at, now(), now(), last_error
    FROM done
),
notified AS (
    SELECT count(pg_notify($3, $4)) AS n
    FROM (SELECT 1 FROM done LIMIT 1) d
    WHERE $3::text IS NOT NULL
)
SELECT ARRAY(SELECT t.id FROM unnest($1::uuid[]) AS t(id) WHERE t.id NOT IN (SELECT id FROM done)) AS stale
FROM notified;

-- name: JobRetryMany
-- A failed attempt: pending again no sooner than the backoff ($3, microseconds) allows and no
-- sooner than a requested time ($4) or delay ($5); failed when the attempts are spent.
UPDATE /*schema*/.jobs j
SET status = CASE WHEN j.attempt >= j.max_attempts THEN 'failed' ELSE 'pending' END,
    run_at = CASE WHEN j.attempt >= j.max_attempts THEN j.run_at
                  ELSE greatest(now() + t.backoff_us * interval '1 microsecond',
                                coalesce(t.at, now() + coalesce(t.after_us, 0) * interval '1 microsecond')) END,
    completed_at = CASE WHEN j.attempt >= j.max_attempts THEN now() END,
    last_error = coalesce(t.error, j.last_error),
    updated_at = now(), lease = NULL, heartbeat_at = NULL
FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::timestamptz[], $5::bigint[], $6::text[])
     AS t(id, lease, backoff_us, at, after_us, error)
WHERE j.id = t.id AND j.lease = t.lease AND j.status = 'running'
RETURNING j.id, j.status;

-- name: JobRescheduleMany
-- Run again at a time ($3) or after a delay ($4) without using the attempt; counts a reprocess.
-- A job whose reprocess count reaches the limit ($5) is poison: it ends bad_job instead.
UPDATE /*schema*/.jobs j
SET status = CASE WHEN j.reprocess_count + 1 >= $5 THEN 'bad_job' ELSE 'pending' END,
    attempt = greatest(j.attempt - 1, 0), reprocess_count = j.reprocess_count + 1,
    run_at = CASE WHEN j.reprocess_count + 1 >= $5 THEN j.run_at
                  ELSE coalesce(t.at, now() + t.after_us * interval '1 microsecond') END,
    completed_at = CASE WHEN j.reprocess_count + 1 >= $5 THEN now() END,
    last_error = CASE WHEN j.reprocess_count + 1 >= $5
                      THEN 'Reprocess limit of ' || $5 || ' reached: the job is poison' ELSE j.last_error END,
    updated_at = now(), lease = NULL, heartbeat_at = NULL
FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::bigint[]) AS t(id, lease, at, after_us)
WHERE j.id = t.id AND j.lease = t.lease AND j.status = 'running'
RETURNING j.id, j.status;

-- name: JobFinishMany
-- A final unsuccessful status ($3: cancelled, critical or unprocessable) with an optional error.
UPDATE /*schema*/.jobs j
SET status = t.status, completed_at = now(), last_error = coalesce(t.error, j.last_error),
    updated_at = now(), lease = NULL, heartbeat_at = NULL
FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[]) AS t(id, lease, status, error)
WHERE j.id = t.id AND j.lease = t.lease AND j.status = 'running'
RETURNING j.id, j.status;

-- name: JobReleaseMany
-- Gives claimed jobs back unrun (stop, cancelled subscription): pending, attempt restored.
UPDATE /*schema*/.jobs j
SET status = 'pending', attempt = greatest(j.attempt - 1, 0), updated_at = now(), lease = NULL,
    heartbeat_at = NULL
FROM unnest($1::uuid[], $2::uuid[]) AS t(id, lease)
WHERE j.id = t.id AND j.lease = t.lease AND j.status = 'running'
RETURNING j.id, j.status;

-- name: JobHeartbeat
-- Refreshes the heartbeat of every job this node holds, in one statement, and returns the ids of
-- those whose lease is gone (rescued, cancelled, deleted): those are not touched. It never waits
-- for a row lock: a row locked by another statement (most often this node's own outcome write)
-- is skipped this time; as of the statement's snapshot it still runs under its lease, so it is
-- not reported lost, and its next beat catches up. Both halves join the id list to the table; a
-- form that tested each row against the whole id array (= ANY of a computed array) grew with the
-- square of the jobs held: 0.3 to 2.8 s for 10,000.
WITH beat AS (
    UPDATE /*schema*/.jobs j
    SET heartbeat_at = now()
    FROM (SELECT l.id
          FROM unnest($1::uuid[], $2::uuid[]) AS t(id, lease)
          JOIN /*schema*/.jobs l ON l.id = t.id AND l.lease = t.lease
          WHERE l.status = 'running'
          FOR UPDATE OF l SKIP LOCKED) AS held
    WHERE j.id = held.id
    RETURNING j.id
)
SELECT t.id
FROM unnest($1::uuid[], $2::uuid[]) AS t(id, lease)
WHERE NOT EXISTS (SELECT 1 FROM /*schema*/.jobs s
                  WHERE s.id = t.id AND s.lease = t.lease AND s.status = 'running');

-- name: JobCancel
-- Cancels the live jobs with id $1, unique key $2 or fingerprint $3 (the other two are null).
-- A pending job is cancelled for good; a running one too, but it keeps its lease and heartbeat
-- time: its handler may still run, so it goes on holding its unique key. The node running it
-- finds that the job no longer runs under its lease (JobHeartbeat), disposes the handler, writes
-- no outcome and lets go of the lease (JobLetGoMany); the reaper lets go of it after the stall
-- timeout when no node does (MaintenanceLetGoStalled). Returns the status each job had.
WITH chosen AS (
    SELECT c.id, c.status
    FROM /*schema*/.jobs c
    WHERE c.status IN ('pending', 'running') AND (c.id = $1 OR c.unique_key = $2 OR c.fingerprint = $3)
    ORDER BY c.id
    FOR UPDATE
)
UPDATE /*schema*/.jobs j
SET status = 'cancelled', completed_at = now(), updated_at = now(),
    lease = CASE WHEN chosen.status = 'running' THEN j.lease END,
    heartbeat_at = CASE WHEN chosen.status = 'running' THEN coalesce(j.heartbeat_at, now()) END
FROM chosen
WHERE j.id = chosen.id
RETURNING chosen.status AS previous;

-- name: JobLetGoMany
-- The node that ran these cancelled jobs lets go of their leases: their handlers' subscriptions
-- are disposed, so their unique keys are free again. Fenced like an outcome write, but on
-- status = 'cancelled': a job rescued, deleted or claimed again meanwhile is not touched. Returns
-- the id and status of each job let go of.
UPDATE /*schema*/.jobs j
SET lease = NULL, heartbeat_at = NULL
FROM unnest($1::uuid[], $2::uuid[]) AS t(id, lease)
WHERE j.id = t.id AND j.lease = t.lease AND j.status = 'cancelled'
RETURNING j.id, j.status;

-- name: JobFindMany
-- Jobs by id wherever they are: live, archive or dead-letter table (the janitor moves a job in
-- one statement, so a job is in exactly one of them). The payload only when $2 is true.
SELECT 'live' AS location, id, queue, status, priority, CASE WHEN $2 THEN payload::text END AS payload,
       unique_key, fingerprint, attempt, max_attempts, reprocess_count, created_at, run_at, updated_at,
       completed_at, last_error
FROM /*schema*/.jobs WHERE id = ANY ($1::uuid[])
UNION ALL
SELECT 'archive', id, queue, status, priority, CASE WHEN $2 THEN payload::text END, unique_key, fingerprint,
       attempt, max_attempts, reprocess_count, created_at, run_at, updated_at, completed_at, last_error
FROM /*schema*/.jobs_archive WHERE id = ANY ($1::uuid[])
UNION ALL
SELECT 'dead', id, queue, status, priority, CASE WHEN $2 THEN payload::text END, unique_key, fingerprint,
       attempt, max_attempts, reprocess_count, created_at, run_at, updated_at, completed_at, last_error
FROM /*schema*/.jobs_dead WHERE id = ANY ($1::uuid[]);
