/** The demo: a small online shop's job queue at work, and the runner of the small examples. */
@NullMarked
package io.github.reactivepgqueue.examples;

import org.jspecify.annotations.NullMarked;
