/**
 * What the runnable examples and the benchmark share: {@link ExampleDatabase} picks the PostgreSQL
 * server (a URL argument, else {@code PGQUEUE_DATABASE_URL}, else an embedded server), and
 * {@code simplelogger.properties} keeps the libraries' logs quiet. Not part of the library.
 */
@NullMarked
package io.github.reactivepgqueue.examples.support;

import org.jspecify.annotations.NullMarked;
