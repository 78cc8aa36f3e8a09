package io.github.reactivepgqueue;

import static io.github.reactivepgqueue.testing.Fixtures.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.github.reactivepgqueue.internal.NodeProbe;
import io.github.reactivepgqueue.internal.NodeProbe.ScheduleRun;
import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.StatementCounter;
import io.github.reactivepgqueue.testing.TestSchema;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Recurring jobs against a real PostgreSQL: the runtime API, one job per slot whatever the number
 * of nodes, the missed-slot policies on back-dated schedules (run once here, no waiting), changes
 * reaching other nodes by signal, declared schedules, payload factories, and what an idle node pays.
 */
@ExtendWith(PostgresExtension.class)
class SchedulesIT {
    private final TestSchema db;
    private final List<PgQueue> queues = new ArrayList<>();

    SchedulesIT(TestSchema db) {
        this.db = db;
        db.migratedQueue();
    }

    @BeforeEach
    void empty() {
        db.execute("DELETE FROM {schema}.schedules");
        db.deleteAllJobs();
    }

    @AfterEach
    void closeQueues() {
        queues.forEach(q -> q.close().block(TIMEOUT));
        queues.clear();
    }

    private PgQueue queue(PgQueueBuilder builder) {
        PgQueue queue = builder.build();
        queues.add(queue);
        return queue;
    }

    private PgQueue queue() {
        return queue(db.queueBuilder());
    }

    private static ScheduleRun runOnce(PgQueue queue) {
        return NodeProbe.runSchedulesOnce(queue.node()).block(TIMEOUT);
    }

    private List<Map<String, Object>> jobs(String queue) {
        return db.query("SELECT id, run_at, unique_key, payload::text AS payload, priority, max_attempts "
                + "FROM {schema}.jobs WHERE queue = $1 ORDER BY run_at", queue);
    }

    private static Instant instant(Object timestamptz) {
        return ((OffsetDateTime) timestamptz).toInstant();
    }

    @Test
    void schedulesAreAddedReadChangedPausedAndRemovedAtRuntime() {
        Schedules schedules = queue().schedules();
        Instant before = db.now();

        ScheduleInfo added = schedules.add(Schedule.cron("report", "reports", "30 2 * * *")
                .zone(ZoneId.of("Europe/Berlin")).payload(Map.of("kind", "daily")).priority(3).maxAttempts(2)
                .missed(MissedSlots.catchUp(4))).block(TIMEOUT);
        assertThat(added.name()).isEqualTo("report");
        assertThat(added.cron()).isEqualTo("30 2 * * *");
        assertThat(added.zone()).isEqualTo(ZoneId.of("Europe/Berlin"));
        assertThat(added.payloadJson()).isEqualTo("{\"kind\": \"daily\"}");
        assertThat(added.missed()).isEqualTo(MissedSlots.catchUp(4));
        assertThat(added.nextSlot()).isAfter(before).isBefore(before.plus(Duration.ofHours(25)));
        assertThat(added.nextSlot().atZone(ZoneId.of("Europe/Berlin")).toLocalTime()).hasToString("02:30");
        assertThat(added.nextFireTime()).contains(added.nextSlot());
        assertThat(added.lastSlot()).isNull();

        assertThatThrownBy(() -> schedules.add(Schedule.every("report", "other", Duration.ofMinutes(1))).block(TIMEOUT))
                .isInstanceOf(DuplicateScheduleException.class).hasMessageContaining("report");
        assertThatThrownBy(() -> schedules.update(Schedule.every("absent", "q", Duration.ofMinutes(1))).block(TIMEOUT))
                .isInstanceOf(NoSuchScheduleException.class);
        assertThatThrownBy(() -> schedules.pause("absent").block(TIMEOUT)).isInstanceOf(NoSuchScheduleException.class);
        assertThatThrownBy(() -> schedules.trigger("absent").block(TIMEOUT)).isInstanceOf(NoSuchScheduleException.class);

        // a change that keeps the timing keeps the next slot; one that changes it moves it
        ScheduleInfo samePlace = schedules.update(Schedule.cron("report", "reports2", "30 2 * * *")
                .zone(ZoneId.of("Europe/Berlin"))).block(TIMEOUT);
        assertThat(samePlace.queue()).isEqualTo("reports2");
        assertThat(samePlace.nextSlot()).isEqualTo(added.nextSlot());
        ScheduleInfo moved = schedules.put(Schedule.every("report", "reports2", Duration.ofHours(2))).block(TIMEOUT);
        assertThat(moved.every()).isEqualTo(Duration.ofHours(2));
        assertThat(moved.cron()).isNull();
        assertThat(Duration.between(db.now(), moved.nextSlot())).isBetween(Duration.ofMinutes(119),
                Duration.ofHours(2));

        ScheduleInfo paused = schedules.pause("report").block(TIMEOUT);
        assertThat(paused.paused()).isTrue();
        assertThat(paused.nextFireTime()).isEmpty();
        db.execute("UPDATE {schema}.schedules SET next_slot = now() - interval '5 hours'");
        ScheduleInfo resumed = schedules.resume("report").block(TIMEOUT);
        assertThat(resumed.paused()).isFalse();
        assertThat(resumed.nextSlot()).as("slots passed while paused are not run").isAfter(db.now());
        assertThat(schedules.resume("report").block(TIMEOUT).nextSlot()).isEqualTo(resumed.nextSlot());

        schedules.add(Schedule.every("another", "q", Duration.ofMinutes(1))).block(TIMEOUT);
        assertThat(schedules.list().map(ScheduleInfo::name).collectList().block(TIMEOUT))
                .containsExactly("another", "report");
        assertThat(schedules.find("report").block(TIMEOUT).queue()).isEqualTo("reports2");
        assertThat(schedules.remove("report").block(TIMEOUT)).isTrue();
        assertThat(schedules.remove("report").block(TIMEOUT)).isFalse();
        assertThat(schedules.find("report").blockOptional(TIMEOUT)).isEmpty();
    }

    @Test
    void badSchedulesAreRefusedWhereTheyAreMade() {
        assertThatThrownBy(() -> Schedule.cron("x", "q", "61 * * * *")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'x'").hasMessageContaining("61");
        assertThatThrownBy(() -> Schedule.every("x", "q", Duration.ZERO)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Schedule.every(" ", "q", Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Schedule.every("x", "", Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> MissedSlots.catchUp(-1)).isInstanceOf(IllegalArgumentException.class);
        // a timing that never names a time, and a payload over the limit, fail the add and write nothing
        Schedules schedules = queue(db.queueBuilder().maxPayloadBytes(100)).schedules();
        assertThatThrownBy(() -> schedules.add(Schedule.cron("never", "q", "0 0 30 2 *")).block(TIMEOUT))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("names no time");
        assertThatThrownBy(() -> schedules.add(Schedule.every("big", "q", Duration.ofSeconds(1))
                .payload(Map.of("x", "y".repeat(200)))).block(TIMEOUT)).isInstanceOf(InvalidJobException.class);
        assertThat(schedules.list().collectList().block(TIMEOUT)).isEmpty();
    }

    @Test
    void aDueSlotGetsOneJobAtItsSlotTimeWithTheSlotKeyAndTheScheduleMovesOn() {
        PgQueue queue = queue();
        Instant start = db.now().minusSeconds(5);
        queue.schedules().add(Schedule.every("tick", "ticks", Duration.ofHours(1)).startAt(start)
                .payload(Map.of("n", 1)).priority(-2).maxAttempts(7)).block(TIMEOUT);

        assertThat(runOnce(queue)).isEqualTo(new ScheduleRun(1, 1, 0, 0));
        assertThat(runOnce(queue)).as("not due any more").isEqualTo(new ScheduleRun(0, 0, 0, 0));

        List<Map<String, Object>> jobs = jobs("ticks");
        assertThat(jobs).hasSize(1);
        Map<String, Object> job = jobs.get(0);
        assertThat(instant(job.get("run_at"))).as("the job runs at its slot").isEqualTo(start);
        assertThat(job.get("unique_key")).isEqualTo("schedule:tick:" + start);
        assertThat(job.get("payload")).isEqualTo("{\"n\": 1}");
        assertThat(job.get("priority")).isEqualTo(-2);
        assertThat(job.get("max_attempts")).isEqualTo(7);
        ScheduleInfo info = queue.schedules().find("tick").block(TIMEOUT);
        assertThat(info.lastSlot()).isEqualTo(start);
        assertThat(info.lastJob()).isEqualTo(job.get("id"));
        assertThat(info.lastEnqueuedAt()).isNotNull();
        assertThat(info.nextSlot()).isEqualTo(start.plus(Duration.ofHours(1)));
        assertThat(info.missedSlots()).isZero();
    }

    /** A schedule every minute started 5.5 minutes ago: six slots due, the latest 30 s late. */
    private ScheduleInfo fired(PgQueue queue, String name, MissedSlots policy, Duration onTimeWithin) {
        Instant start = db.now().minus(Duration.ofSeconds(330));
        queue.schedules().add(Schedule.every(name, name, Duration.ofMinutes(1)).startAt(start).missed(policy)
                .onTimeWithin(onTimeWithin)).block(TIMEOUT);
        runOnce(queue);
        return queue.schedules().find(name).block(TIMEOUT);
    }

    private List<Instant> runAts(String queue) {
        return jobs(queue).stream().map(j -> instant(j.get("run_at"))).toList();
    }

    @Test
    void missedSlotsFollowTheSchedulesPolicy() {
        PgQueue queue = queue();
        Duration minute = Duration.ofMinutes(1);

        ScheduleInfo once = fired(queue, "once", MissedSlots.runOnce(), minute);
        Instant start = once.startAt();
        assertThat(runAts("once")).containsExactly(start.plus(Duration.ofMinutes(5)));
        assertThat(once.missedSlots()).isEqualTo(5);
        assertThat(once.nextSlot()).isEqualTo(start.plus(Duration.ofMinutes(6)));

        ScheduleInfo skip = fired(queue, "skip", MissedSlots.skip(), minute);
        assertThat(runAts("skip")).as("the latest is on time").hasSize(1);
        assertThat(skip.missedSlots()).isEqualTo(5);

        ScheduleInfo skipLate = fired(queue, "skiplate", MissedSlots.skip(), Duration.ofSeconds(10));
        assertThat(runAts("skiplate")).as("the latest is late too").isEmpty();
        assertThat(skipLate.missedSlots()).isEqualTo(6);

        ScheduleInfo catchUp = fired(queue, "catchup", MissedSlots.catchUp(2), minute);
        Instant s = catchUp.startAt();
        assertThat(runAts("catchup")).containsExactly(s.plus(Duration.ofMinutes(3)), s.plus(Duration.ofMinutes(4)),
                s.plus(Duration.ofMinutes(5)));
        assertThat(catchUp.lastSlot()).isEqualTo(s.plus(Duration.ofMinutes(5)));

        fired(queue, "all", MissedSlots.catchUp(100), minute);
        assertThat(runAts("all")).hasSize(6);
    }

    @Test
    void slotsEnqueuedAndMissedAreCounted() {
        io.micrometer.core.instrument.simple.SimpleMeterRegistry registry =
                new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
        PgQueue queue = queue(db.queueBuilder().meterRegistry(registry));
        fired(queue, "counted", MissedSlots.catchUp(2), Duration.ofMinutes(1));

        assertThat(registry.get("pgqueue.schedule.enqueued").tag("schedule", "counted").counter().count())
                .isEqualTo(3);
        assertThat(registry.get("pgqueue.schedule.missed").tag("schedule", "counted").counter().count())
                .isEqualTo(5);
    }

    @Test
    void nodesRacingForTheSameDueSlotsEnqueueEachOnce() {
        List<PgQueue> nodes = IntStream.range(0, 3).mapToObj(i -> queue()).toList();
        Instant start = db.now().minusSeconds(20);
        int schedules = 40;
        Flux.range(0, schedules).concatMap(i -> nodes.get(0).schedules().add(Schedule.every("race-" + i, "race",
                Duration.ofSeconds(1)).startAt(start).missed(MissedSlots.catchUp(1000)))).blockLast(TIMEOUT);

        // three nodes run at once, again and again, while more slots come due
        List<ScheduleRun> runs = Flux.range(0, 5)
                .concatMap(round -> Flux.fromIterable(nodes).flatMap(n -> NodeProbe.runSchedulesOnce(n.node())))
                .collectList().block(TIMEOUT);

        assertThat(runs).extracting(ScheduleRun::held).as("no node ever tried a slot another had taken")
                .containsOnly(0L);
        long enqueued = runs.stream().mapToLong(ScheduleRun::enqueued).sum();
        assertThat(enqueued).isEqualTo(db.count("SELECT count(*) FROM {schema}.jobs"));
        // each schedule has one job per slot from its start to its last slot, none missing
        for (Map<String, Object> row : db.query("SELECT s.name, s.last_slot, count(j.id) AS jobs, "
                + "count(DISTINCT j.run_at) AS slots FROM {schema}.schedules s LEFT JOIN {schema}.jobs j "
                + "ON j.unique_key LIKE 'schedule:' || s.name || ':%' GROUP BY s.name, s.last_slot")) {
            long expected = Duration.between(start, instant(row.get("last_slot"))).toSeconds() + 1;
            assertThat((Long) row.get("jobs")).as("jobs of %s", row.get("name")).isEqualTo(expected);
            assertThat((Long) row.get("slots")).isEqualTo(expected);
        }
    }

    @Test
    void aChangeOnOneNodeReachesTheOthersBySignal() {
        // the started node checks once an hour: only the signal of the add (and then its timer) can
        // make it enqueue the slot in the test's time
        PgQueue worker = queue(db.queueBuilder().scheduleCheckInterval(Duration.ofHours(1)));
        worker.start().block(TIMEOUT);
        PgQueue admin = queue(db.queueBuilder().runSchedules(false));

        Mono<ScheduleRun> fired = NodeProbe.scheduleRuns(worker.node()).filter(r -> r.enqueued() > 0).next()
                .cache();
        fired.subscribe();
        admin.schedules().add(Schedule.every("signalled", "signalled", Duration.ofMillis(300))).block(TIMEOUT);
        assertThat(fired.block(TIMEOUT).enqueued()).isPositive();
        assertThat(jobs("signalled")).isNotEmpty();

        // paused elsewhere: the node's next look finds nothing to do and its timer is off
        admin.schedules().pause("signalled").block(TIMEOUT);
        await().atMost(TIMEOUT).until(() -> !NodeProbe.scheduleTimerSet(worker.node()));
        long jobs = jobs("signalled").size();
        assertThat(runOnce(worker).enqueued()).isZero();
        assertThat(jobs("signalled")).hasSize((int) jobs);
    }

    @Test
    void declaredSchedulesAreUpsertedAtStartAsTheOptionSays() {
        Schedule original = Schedule.every("declared", "d", Duration.ofHours(1)).payload(Map.of("v", 1));
        PgQueue first = queue(db.queueBuilder().runSchedules(false).schedule(original));
        first.start().block(TIMEOUT);
        ScheduleInfo stored = first.schedules().find("declared").block(TIMEOUT);
        assertThat(stored.payloadJson()).isEqualTo("{\"v\": 1}");

        // the database wins: the stored definition stays
        PgQueue second = queue(db.queueBuilder().runSchedules(false).declaredSchedules(DeclaredSchedules.DATABASE_WINS)
                .schedule(original.payload(Map.of("v", 2))));
        second.start().block(TIMEOUT);
        assertThat(second.schedules().find("declared").block(TIMEOUT).payloadJson()).isEqualTo("{\"v\": 1}");

        // the code wins (the default): the definition is replaced, the next slot kept (same timing)
        first.schedules().pause("declared").block(TIMEOUT);
        PgQueue third = queue(db.queueBuilder().runSchedules(false).schedule(original.payload(Map.of("v", 3))));
        third.start().block(TIMEOUT);
        ScheduleInfo replaced = third.schedules().find("declared").block(TIMEOUT);
        assertThat(replaced.payloadJson()).isEqualTo("{\"v\": 3}");
        assertThat(replaced.nextSlot()).isEqualTo(stored.nextSlot());
        assertThat(replaced.paused()).as("state is not definition").isTrue();

        assertThatThrownBy(() -> db.queueBuilder().schedule(original).schedule(original).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("declared twice");
    }

    @Test
    void aPayloadMadeInCodeIsEnqueuedOnlyByNodesThatHaveItsFactory() {
        Instant start = db.now().minusSeconds(1);
        Schedule made = Schedule.every("made", "made", Duration.ofHours(1)).startAt(start)
                .payload((name, slot) -> Map.of("schedule", name, "slot", slot.toString()));
        PgQueue without = queue();
        PgQueue with = queue(db.queueBuilder().schedule(made));
        with.schedules().put(made).block(TIMEOUT);

        assertThat(runOnce(without).schedules()).as("no factory here: not taken").isZero();
        assertThat(runOnce(with).enqueued()).isEqualTo(1);
        assertThat(jobs("made").get(0).get("payload"))
                .isEqualTo("{\"slot\": \"" + start + "\", \"schedule\": \"made\"}");
        assertThat(with.schedules().find("made").block(TIMEOUT).payloadFromCode()).isTrue();
    }

    @Test
    void aSlotWhoseJobCannotBeMadeIsCountedMissedAndHoldsUpNoOtherSchedule() {
        Instant start = db.now().minusSeconds(1);
        Schedule broken = Schedule.every("broken", "b", Duration.ofHours(1)).startAt(start)
                .payload((name, slot) -> {
                    throw new IllegalStateException("no payload today");
                });
        PgQueue queue = queue(db.queueBuilder().schedule(broken));
        queue.schedules().put(broken).block(TIMEOUT);
        queue.schedules().add(Schedule.every("fine", "f", Duration.ofHours(1)).startAt(start)).block(TIMEOUT);

        ScheduleRun run = runOnce(queue);
        assertThat(run.schedules()).isEqualTo(2);
        assertThat(run.enqueued()).isEqualTo(1);
        assertThat(jobs("f")).hasSize(1);
        ScheduleInfo info = queue.schedules().find("broken").block(TIMEOUT);
        assertThat(info.missedSlots()).isEqualTo(1);
        assertThat(info.nextSlot()).isAfter(start);
    }

    @Test
    void triggerEnqueuesAJobNowOutsideTheSlots() {
        PgQueue queue = queue();
        ScheduleInfo added = queue.schedules().add(Schedule.every("manual", "m", Duration.ofHours(1))
                .uniqueKey("only-one:{name}")).block(TIMEOUT);

        EnqueueResult first = queue.schedules().trigger("manual").block(TIMEOUT);
        assertThat(first.isDuplicate()).isFalse();
        assertThat(jobs("m")).extracting(j -> j.get("unique_key")).containsExactly("only-one:manual");
        // the key is held by the live job: a second trigger is a duplicate of it
        EnqueueResult second = queue.schedules().trigger("manual").block(TIMEOUT);
        assertThat(second).isEqualTo(new EnqueueResult.Duplicate(first.id(), "only-one:manual"));

        ScheduleInfo after = queue.schedules().find("manual").block(TIMEOUT);
        assertThat(after.lastJob()).isEqualTo(first.id());
        assertThat(after.nextSlot()).as("the slots go on as they were").isEqualTo(added.nextSlot());
    }

    @Test
    void tenThousandSchedulesNotDueCostAnIdleNodeOneStatementPerLook() {
        db.execute("INSERT INTO {schema}.schedules (name, queue, every_micros, unique_key, missed, on_time_micros, "
                + "next_slot) SELECT 'idle-' || i, 'idle', 3600000000, 'k', 'run_once', 60000000, "
                + "now() + interval '1 hour' + i * interval '1 second' FROM generate_series(1, 10000) AS i");
        StatementCounter counter = new StatementCounter(db.connectionFactory());
        PgQueue queue = queue(PgQueue.builder(counter).schema(db.name()).janitor(false));

        for (int i = 0; i < 5; i++) {
            assertThat(runOnce(queue)).isEqualTo(new ScheduleRun(0, 0, 0, 0));
        }
        assertThat(counter.work()).hasSize(5).allMatch(sql -> sql.contains("next_slot - now()"));
        assertThat(NodeProbe.scheduleTimerSet(queue.node())).as("armed for the earliest slot").isTrue();
    }

    @Test
    void aScheduledJobRunsOnAStartedNode() {
        List<UUID> ran = new java.util.concurrent.CopyOnWriteArrayList<>();
        PgQueue node = queue(db.queueBuilder().pollInterval(Duration.ofHours(1))
                .scheduleCheckInterval(Duration.ofHours(1))
                .handler(ReactiveHandler.of("every", job -> {
                    ran.add(job.id());
                    return Mono.just(Outcome.success());
                }))
                .schedule(Schedule.every("every", "every", Duration.ofMillis(200))));
        node.start().block(TIMEOUT);
        // polls and checks once an hour: the timer and the insert's notification run them
        await().atMost(TIMEOUT).until(() -> ran.size() >= 3);
        assertThat(node.schedules().find("every").block(TIMEOUT).lastSlot()).isNotNull();
    }
}
