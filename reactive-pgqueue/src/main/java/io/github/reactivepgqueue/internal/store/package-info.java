/** The job store: PostgreSQL access through named SQL statements. <strong>Not API.</strong> */
@NullMarked
package io.github.reactivepgqueue.internal.store;

import org.jspecify.annotations.NullMarked;
