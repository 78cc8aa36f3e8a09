-- reactive-pgqueue schema, version 5: autovacuum settings for the churn of a queue table.
-- Applied like V1: unqualified, in the first schema of search_path.
--
-- Every job writes the live table three times (insert, claim, completion) and, with the janitor
-- on, leaves it in the completing statement: the table's dead rows grow with throughput, not with
-- its size. PostgreSQL's defaults vacuum a table once a fifth of it is dead, which suits tables
-- whose rows stay; a live table holding 1,000,000 future jobs would collect 200,000 dead rows, and
-- as many dead entries at the head of the claim index that every claim steps over, before
-- autovacuum came. So the live table is vacuumed and analyzed by row count instead: at the next
-- autovacuum round (autovacuum_naptime, 1 minute by default) once 5,000 rows are dead or changed,
-- whatever its size, which keeps the claim index lean and the statistics behind the admin
-- estimates fresh; vacuum of this table is not throttled (its pages are few and hot, and a
-- throttled vacuum of a busy queue table falls behind). Measured in docs/performance.md ("The
-- live table under churn"). The archive and dead-letter tables are written once per row and
-- emptied by retention: PostgreSQL's defaults suit them.
ALTER TABLE jobs SET (
    autovacuum_vacuum_scale_factor = 0.0,
    autovacuum_vacuum_threshold = 5000,
    autovacuum_vacuum_insert_scale_factor = 0.0,
    autovacuum_vacuum_insert_threshold = 10000,
    autovacuum_analyze_scale_factor = 0.0,
    autovacuum_analyze_threshold = 5000,
    autovacuum_vacuum_cost_delay = 0
);

INSERT INTO schema_version (version, description) VALUES (5, 'autovacuum');
