/**
 * Handler-owned permits: a {@link io.github.reactivepgqueue.permit.PermitStrategy} decides, per job,
 * whether it may run now, and if not, what becomes of it.
 */
@NullMarked
package io.github.reactivepgqueue.permit;

import org.jspecify.annotations.NullMarked;
