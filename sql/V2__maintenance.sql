-- reactive-pgqueue schema, version 2: pausing queues.
-- Applied like V1: unqualified, in the first schema of search_path.

-- Queues paused on every node: the claim statement skips them, running jobs finish.
CREATE TABLE paused_queues (
    queue     text        PRIMARY KEY,
    paused_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO schema_version (version, description) VALUES (2, 'maintenance');
