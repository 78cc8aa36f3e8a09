package io.github.reactivepgqueue;

/**
 * What a node's start does with the schedules declared on its builder
 * ({@link PgQueueBuilder#schedule(Schedule)}) when the database already has a schedule of the same
 * name.
 *
 * @since 0.1.0
 */
public enum DeclaredSchedules {
    /**
     * The declaration replaces the stored definition (the default): the code is where schedules
     * are defined, and a deploy that changes one changes it. Its state stays: paused or not, its
     * last slot and counts; its next slot too, unless its timing (cron, zone, interval, start)
     * changed.
     */
    CODE_WINS,
    /**
     * A stored schedule stays as it is; only schedules the database does not have are added. For
     * schedules managed at runtime ({@link PgQueue#schedules()}), which code only seeds.
     */
    DATABASE_WINS
}
