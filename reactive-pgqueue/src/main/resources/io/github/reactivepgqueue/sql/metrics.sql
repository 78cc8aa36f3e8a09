-- Statements of the metrics (run only when a meter registry is configured). /*schema*/ is replaced
-- by the validated, quoted schema name.

-- name: MetricsQueueDepth
-- The pending jobs of every queue that has some: due now, scheduled for later, and how long the
-- oldest due one has waited (seconds since its run_at; 0 when none is due). One grouped scan of
-- the claim index (partial on status = 'pending', so its size follows the backlog).
SELECT queue,
       count(*) FILTER (WHERE run_at <= now()) AS due,
       count(*) FILTER (WHERE run_at > now()) AS scheduled,
       coalesce(extract(epoch FROM now() - min(run_at) FILTER (WHERE run_at <= now())), 0)::float8
           AS oldest_due_seconds
FROM /*schema*/.jobs
WHERE status = 'pending'
GROUP BY queue;
