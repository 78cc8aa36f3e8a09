package io.github.reactivepgqueue;

import java.util.List;

/**
 * What {@link PgQueue#migrate()} did.
 *
 * @param fromVersion the schema version before (0 for an empty schema)
 * @param toVersion   the schema version after
 * @param applied     the migrations applied by this call, in order; empty when the schema was current
 * @since 0.1.0
 */
public record MigrationResult(int fromVersion, int toVersion, List<String> applied) {
    public MigrationResult {
        applied = List.copyOf(applied);
    }

    /** Whether this call changed the schema. */
    public boolean changed() {
        return !applied.isEmpty();
    }
}
