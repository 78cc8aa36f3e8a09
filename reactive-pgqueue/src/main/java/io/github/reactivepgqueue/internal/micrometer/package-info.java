/**
 * The Micrometer implementation of the library's metrics. <strong>Not API.</strong> The only
 * package of the library that refers to Micrometer (an optional dependency); it is loaded only
 * when a {@code MeterRegistry} is configured, so applications without Micrometer never load it.
 * The metrics are listed in {@code docs/observability.md}.
 */
@NullMarked
package io.github.reactivepgqueue.internal.micrometer;

import org.jspecify.annotations.NullMarked;
