-- Statements of recurring jobs (schedules). /*schema*/ is replaced by the validated, quoted schema
-- name; everything else is bound. Slots are computed in Java (cron expressions), always from the
-- database's now(), which each statement that needs it returns: nodes with skewed clocks agree.

-- fragment: Columns
-- A schedule as the store reads it, in this order.
name, queue, cron, time_zone, every_micros, starts_at, payload::text AS payload, payload_from_code, priority,
max_attempts, unique_key, missed, catch_up, on_time_micros, paused, next_slot, last_slot, last_job, last_enqueued_at,
missed_slots, created_at, updated_at, now() AS now

-- fragment: Definition
-- The columns an insert writes, from parameters $1..$14 in this order, and $15, its first slot.
(name, queue, cron, time_zone, every_micros, starts_at, payload, payload_from_code, priority, max_attempts,
 unique_key, missed, catch_up, on_time_micros, next_slot)
VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, $11, $12, $13, $14, $15)

-- name: ScheduleNextIn
-- How long, in microseconds, until the earliest next slot of the schedules this node enqueues
-- (not paused; a payload made in code only if the node has its factory, $1); negative when due.
-- No row: no schedule. One probe of schedules_due_idx whatever the number of schedules.
SELECT (EXTRACT(epoch FROM (next_slot - now())) * 1000000)::bigint AS micros
FROM /*schema*/.schedules
WHERE NOT paused AND (NOT payload_from_code OR name = ANY ($1::text[]))
ORDER BY next_slot
LIMIT 1;

-- name: ScheduleLockDue
-- Locks at most $2 schedules this node enqueues that are due within $3 microseconds (a slot's job
-- is enqueued just before it, to run at it), earliest first, skipping those another node has
-- locked (it is enqueueing their slots). Once that node commits, their next slot has moved on and
-- the re-check of the condition on the new row version leaves them out: a slot is taken once.
-- Runs in the transaction that inserts the slots' jobs and advances them (ScheduleAdvance).
SELECT /*fragment Columns*/
FROM /*schema*/.schedules
WHERE NOT paused AND next_slot <= now() + $3::bigint * interval '1 microsecond'
  AND (NOT payload_from_code OR name = ANY ($1::text[]))
ORDER BY next_slot
LIMIT $2
FOR UPDATE SKIP LOCKED;

-- name: ScheduleAdvance
-- Moves each locked schedule $1 on to its next slot $2, records its latest enqueued slot $3 and job
-- $4 (null: none this time, keep the old ones), and adds $5 missed slots.
UPDATE /*schema*/.schedules AS s
SET next_slot = a.next_slot,
    last_slot = coalesce(a.last_slot, s.last_slot),
    last_job = coalesce(a.last_job, s.last_job),
    last_enqueued_at = CASE WHEN a.last_job IS NULL THEN s.last_enqueued_at ELSE now() END,
    missed_slots = s.missed_slots + a.missed
FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[], $4::uuid[], $5::bigint[])
         AS a(name, next_slot, last_slot, last_job, missed)
WHERE s.name = a.name;

-- name: ScheduleNow
-- The database's time, for the slots of a schedule being added or changed.
SELECT now() AS now;

-- name: ScheduleInsert
-- Adds a schedule; no row if one of that name exists.
INSERT INTO /*schema*/.schedules /*fragment Definition*/
ON CONFLICT (name) DO NOTHING
RETURNING /*fragment Columns*/;

-- name: ScheduleUpsert
-- Adds a schedule or replaces the definition of the one of that name. Its state stays (paused,
-- last slot, counts), and so does its next slot unless the timing changed: then it is $16.
INSERT INTO /*schema*/.schedules AS s /*fragment Definition*/
ON CONFLICT (name) DO UPDATE
SET queue = excluded.queue, cron = excluded.cron, time_zone = excluded.time_zone,
    every_micros = excluded.every_micros, starts_at = excluded.starts_at, payload = excluded.payload,
    payload_from_code = excluded.payload_from_code, priority = excluded.priority,
    max_attempts = excluded.max_attempts, unique_key = excluded.unique_key, missed = excluded.missed,
    catch_up = excluded.catch_up, on_time_micros = excluded.on_time_micros,
    next_slot = CASE WHEN s.cron IS DISTINCT FROM excluded.cron OR s.time_zone IS DISTINCT FROM excluded.time_zone
                          OR s.every_micros IS DISTINCT FROM excluded.every_micros
                          OR s.starts_at IS DISTINCT FROM excluded.starts_at THEN $16
                ELSE s.next_slot END,
    updated_at = now()
RETURNING /*fragment Columns*/;

-- name: ScheduleUpdate
-- Replaces the definition of schedule $1 as ScheduleUpsert does (the next slot, if the timing
-- changed, is $15); no row if it does not exist.
UPDATE /*schema*/.schedules AS s
SET queue = $2, cron = $3, time_zone = $4, every_micros = $5, starts_at = $6, payload = $7::jsonb,
    payload_from_code = $8, priority = $9, max_attempts = $10, unique_key = $11, missed = $12, catch_up = $13,
    on_time_micros = $14,
    next_slot = CASE WHEN s.cron IS DISTINCT FROM $3 OR s.time_zone IS DISTINCT FROM $4
                          OR s.every_micros IS DISTINCT FROM $5 OR s.starts_at IS DISTINCT FROM $6 THEN $15
                ELSE s.next_slot END,
    updated_at = now()
WHERE s.name = $1
RETURNING /*fragment Columns*/;

-- name: ScheduleLock
-- Schedule $1, locked until the transaction ends (waiting for a node that is enqueueing its slots).
SELECT /*fragment Columns*/
FROM /*schema*/.schedules
WHERE name = $1
FOR UPDATE;

-- name: SchedulePause
-- Pauses schedule $1, or sets it going again from next slot $2 (which the caller computed after
-- now(), as it read the row locked by ScheduleLock): the slots that passed meanwhile are not run.
UPDATE /*schema*/.schedules
SET paused = $3, next_slot = coalesce($2, next_slot), updated_at = now()
WHERE name = $1
RETURNING /*fragment Columns*/;

-- name: ScheduleTriggered
-- Records a job enqueued for schedule $1 outside its slots (a trigger): job $2.
UPDATE /*schema*/.schedules
SET last_job = $2, last_enqueued_at = now()
WHERE name = $1;

-- name: ScheduleDelete
-- Removes schedule $1; a row if it existed. Its jobs already enqueued stay.
DELETE FROM /*schema*/.schedules WHERE name = $1 RETURNING name;

-- name: ScheduleFind
-- Schedule $1, if it exists.
SELECT /*fragment Columns*/ FROM /*schema*/.schedules WHERE name = $1;

-- name: ScheduleList
-- At most $2 schedules in name order after the name $1 (null: from the first).
SELECT /*fragment Columns*/
FROM /*schema*/.schedules
WHERE $1::text IS NULL OR name > $1
ORDER BY name
LIMIT $2;
