/** A plain Reactor pipeline that writes claimed jobs to another system in micro-batches. */
@NullMarked
package io.github.reactivepgqueue.examples.pipeline;

import org.jspecify.annotations.NullMarked;
