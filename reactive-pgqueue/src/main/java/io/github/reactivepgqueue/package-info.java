/**
 * reactive-pgqueue: a persisted job queue backed by PostgreSQL, reactive end to end on R2DBC.
 *
 * <p>Start with {@link io.github.reactivepgqueue.PgQueue#builder(io.r2dbc.spi.ConnectionFactory)}.
 * Arguments and results are never {@code null} unless a method says so.
 */
@NullMarked
package io.github.reactivepgqueue;

import org.jspecify.annotations.NullMarked;
