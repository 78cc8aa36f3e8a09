-- Statements of the migrator. /*schema*/ is replaced by the validated, quoted schema name.

-- name: MigrationLock
-- Serializes migrators of one schema across all nodes; released at commit or rollback.
SELECT pg_advisory_xact_lock($1);

-- name: MigrationSchemaExists
SELECT count(*) AS n FROM pg_namespace WHERE nspname = $1;

-- name: MigrationSchemaCreate
CREATE SCHEMA IF NOT EXISTS /*schema*/;

-- name: MigrationSearchPath
-- The migrations create their objects unqualified; this points them at the schema for this
-- transaction only.
SET LOCAL search_path TO /*schema*/;

-- name: MigrationVersionTableExists
SELECT count(*) AS n
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = 'schema_version';

-- name: MigrationGetVersion
SELECT coalesce(max(version), 0) AS version FROM /*schema*/.schema_version;
