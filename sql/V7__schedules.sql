-- reactive-pgqueue schema, version 7: recurring jobs (schedules).
-- Applied like V1: unqualified, in the first schema of search_path.
--
-- A schedule enqueues one job per slot: a time its cron expression (in its time zone) or its fixed
-- interval names. Exactly one job per slot, on any number of nodes and with no leader, comes from
-- next_slot: a node that finds a schedule due locks its row (FOR UPDATE SKIP LOCKED, so nodes
-- never wait for each other), inserts the slot's job and moves next_slot past it in the same
-- transaction. A second node either skips the locked row or, once the first has committed, no
-- longer finds it due; a node killed midway rolls back both, and the next one does the slot. All
-- times are the database's, so nodes with skewed clocks agree.
CREATE TABLE schedules (
    name            text        PRIMARY KEY CHECK (name <> ''),
    queue           text        NOT NULL CHECK (queue <> ''),
    cron            text,                              -- 5 or 6 fields, or a nickname such as @daily
    time_zone       text,                              -- the zone the cron expression is read in
    every_micros    bigint      CHECK (every_micros > 0),
    starts_at       timestamptz,                       -- the first slot of an interval; none before it
    payload         jsonb       NOT NULL DEFAULT 'null',
    payload_from_code boolean   NOT NULL DEFAULT false, -- made by a factory registered on the nodes
    priority        integer     NOT NULL DEFAULT 0,
    max_attempts    integer     CHECK (max_attempts >= 1), -- null: the nodes' default
    unique_key      text        NOT NULL,              -- a pattern: {name} and {slot} are filled in
    missed          text        NOT NULL CHECK (missed IN ('skip', 'run_once', 'catch_up')),
    catch_up        integer     NOT NULL DEFAULT 0 CHECK (catch_up >= 0),
    on_time_micros  bigint      NOT NULL CHECK (on_time_micros >= 0), -- a slot later than this is missed
    paused          boolean     NOT NULL DEFAULT false,
    next_slot       timestamptz NOT NULL,              -- the earliest slot not enqueued yet
    last_slot       timestamptz,                       -- the latest slot enqueued
    last_job        uuid,                              -- the job of the latest enqueue (slot or trigger)
    last_enqueued_at timestamptz,
    missed_slots    bigint      NOT NULL DEFAULT 0,    -- slots not run, by the missed-slot policy
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((cron IS NULL) <> (every_micros IS NULL)),
    CHECK ((cron IS NULL) = (time_zone IS NULL))
);

-- The due schedules in slot order, and the earliest next slot that arms each node's timer: one
-- index probe whatever the number of schedules.
CREATE INDEX schedules_due_idx ON schedules (next_slot) WHERE NOT paused;

INSERT INTO schema_version (version, description) VALUES (7, 'schedules');
