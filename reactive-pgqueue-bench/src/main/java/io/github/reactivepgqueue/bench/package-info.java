/** The benchmark runner of reactive-pgqueue: workloads that print one JSON line each (docs/performance.md). */
@NullMarked
package io.github.reactivepgqueue.bench;

import org.jspecify.annotations.NullMarked;
