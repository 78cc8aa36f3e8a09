/** A Spring WebFlux shop that enqueues jobs from HTTP requests and runs them in the same application. */
@NullMarked
package io.github.reactivepgqueue.examples.webflux;

import org.jspecify.annotations.NullMarked;
