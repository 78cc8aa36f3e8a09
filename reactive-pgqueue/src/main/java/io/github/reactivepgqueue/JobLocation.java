package io.github.reactivepgqueue;

/**
 * Which table holds a job. Live jobs are pending, running, or finished and not yet moved by the
 * janitor; the janitor moves completed jobs to the archive and dead ones to the dead-letter table.
 *
 * @since 0.1.0
 */
public enum JobLocation {
    /** The live jobs table. */
    LIVE,
    /** The archive of completed jobs. */
    ARCHIVE,
    /** The dead-letter table. */
    DEAD
}
