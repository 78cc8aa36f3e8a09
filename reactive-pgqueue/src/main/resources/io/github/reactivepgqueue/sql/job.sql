-- Statements on the jobs table. /*schema*/ is replaced by the validated, quoted schema name;
-- everything else is bound.

-- name: JobInsertMany
-- Inserts a batch of jobs in one statement. A job whose unique key is held by a live job (or by
-- an earlier job of the same batch) is skipped, and the holder's id is returned instead. Rows come
-- back in input order (ord starts at 1). holder_id is NULL only when the holder committed after
-- this statement's snapshot was taken; the caller retries those rows.
-- run_at: the absolute time if given, else now() plus the delay in microseconds (database clock).
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
    RETURNING id, unique_key
)
SELECT i.ord,
       ins.id IS NOT NULL AS inserted,
       coalesce(ins.id, same_batch.id, live.id) AS holder_id
FROM input i
LEFT JOIN inserted ins ON ins.id = i.id
LEFT JOIN inserted same_batch ON ins.id IS NULL AND same_batch.unique_key = i.unique_key
LEFT JOIN LATERAL (
    SELECT j.id FROM /*schema*/.jobs j
    WHERE ins.id IS NULL AND j.unique_key = i.unique_key AND j.status IN ('pending', 'running')
) live ON true
ORDER BY i.ord;
