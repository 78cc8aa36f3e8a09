package io.github.reactivepgqueue.internal.store;

/**
 * The names of the library's SQL statements, entity first and then the verb. Each lives in the
 * resource file it names, under a {@code -- name: <Name>} header, so grepping a name finds both
 * the SQL and every call site.
 */
public enum SqlName {
    MigrationLock("migration.sql"),
    MigrationSchemaExists("migration.sql"),
    MigrationSchemaCreate("migration.sql"),
    MigrationSearchPath("migration.sql"),
    MigrationVersionTableExists("migration.sql"),
    MigrationGetVersion("migration.sql"),

    JobInsertMany("job.sql"),
    JobInsertManyNoKeys("job.sql"),
    JobClaim("job.sql"),
    JobNextDue("job.sql"),
    JobCompleteMany("job.sql"),
    JobCompleteArchiveMany("job.sql"),
    JobRetryMany("job.sql"),
    JobRescheduleMany("job.sql"),
    JobFinishMany("job.sql"),
    JobReleaseMany("job.sql"),
    JobHeartbeat("job.sql"),
    JobCancel("job.sql"),
    JobLetGoMany("job.sql"),
    JobFindMany("job.sql"),

    MaintenanceRescueStalled("maintenance.sql"),
    MaintenanceLetGoStalled("maintenance.sql"),
    MaintenanceMoveFinished("maintenance.sql"),
    MaintenanceDeleteArchived("maintenance.sql"),
    MaintenanceDeleteDead("maintenance.sql"),
    MaintenanceProbe("maintenance.sql"),

    AdminList("admin.sql"),
    AdminListQueue("admin.sql"),
    AdminListStatus("admin.sql"),
    AdminListQueueStatus("admin.sql"),
    AdminCount("admin.sql"),
    AdminRequeueDead("admin.sql"),
    AdminDelete("admin.sql"),
    AdminPurge("admin.sql"),
    AdminPause("admin.sql"),
    AdminResume("admin.sql"),
    AdminPaused("admin.sql"),

    ScheduleNextIn("schedule.sql"),
    ScheduleLockDue("schedule.sql"),
    ScheduleAdvance("schedule.sql"),
    ScheduleNow("schedule.sql"),
    ScheduleInsert("schedule.sql"),
    ScheduleUpsert("schedule.sql"),
    ScheduleUpdate("schedule.sql"),
    ScheduleLock("schedule.sql"),
    SchedulePause("schedule.sql"),
    ScheduleTriggered("schedule.sql"),
    ScheduleDelete("schedule.sql"),
    ScheduleFind("schedule.sql"),
    ScheduleList("schedule.sql"),

    SignalSend("signal.sql"),
    SignalListening("signal.sql"),

    MetricsQueueDepth("metrics.sql");

    private final String file;

    SqlName(String file) {
        this.file = file;
    }

    /** The resource file, relative to the library's {@code sql/} resource folder. */
    public String file() {
        return file;
    }
}
