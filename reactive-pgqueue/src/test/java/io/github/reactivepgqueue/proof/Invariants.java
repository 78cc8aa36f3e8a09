package io.github.reactivepgqueue.proof;

import static org.awaitility.Awaitility.await;

import io.github.reactivepgqueue.testing.Rows;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.spi.ConnectionFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.assertj.core.api.SoftAssertions;
import org.awaitility.core.ConditionTimeoutException;

/**
 * The global invariants of reliability.md §4, checked at the end of a fault test against a schema:
 * <ul>
 *   <li><b>I1 conservation</b>: every enqueued job is in exactly one of the live, archive and
 *       dead-letter tables, and no other job is;</li>
 *   <li><b>I2 at-least-once</b>: every job has finished (completed, or one of the dead statuses),
 *       with {@code 1 <= attempt <= max_attempts} when it completed or failed and
 *       {@code attempt <= max_attempts} otherwise, and no lease left on it;</li>
 *   <li><b>I3 once per claim</b> (with a {@link Ledger}): no claim ran twice or succeeded twice
 *       (a claim is its lease token, or its (id, attempt, reprocess count) when the ledger has no
 *       token: a job given back unrun by a stop is claimed again under the same attempt), every
 *       completed job has a recorded success under the attempt and reprocess count stored on its
 *       row, and no job succeeded more than once unless reruns are allowed (a claim whose lease was
 *       lost after its handler succeeded: at-least-once, never twice under one claim);</li>
 *   <li><b>I5 no leaks</b> (with application names or pools): no session of those applications
 *       idle in a transaction, none at all once the nodes are closed, and every pool idle;</li>
 *   <li><b>I6 no stuck job</b>: no running job whose heartbeat is older than the stall limit
 *       (lease plus reaper window plus slack).</li>
 * </ul>
 * Every violation found is reported at once. Blocking: call it on the test thread.
 */
public final class Invariants {
    private static final Pattern SIMPLE_NAME = Pattern.compile("[a-z_][a-z0-9_]{0,62}");
    private static final Duration SESSION_WAIT = Duration.ofSeconds(15);

    private final ConnectionFactory factory;
    private final String schema;
    private final Set<UUID> enqueued = new LinkedHashSet<>();
    private boolean enqueuedKnown;
    private Ledger ledger;
    private final List<String> applications = new ArrayList<>();
    private final List<ConnectionPool> pools = new ArrayList<>();
    private boolean closed;
    private boolean allCompleted;
    private boolean rerunsAllowed;
    private Duration stallLimit = Duration.ofSeconds(30);

    private Invariants(ConnectionFactory factory, String schema) {
        this.factory = factory;
        this.schema = quote(schema);
    }

    /** A checker of {@code schema}, reading through {@code factory}. */
    public static Invariants of(ConnectionFactory factory, String schema) {
        return new Invariants(factory, schema);
    }

    /** The schema name quoted, after checking that it is a plain lower-case identifier. */
    static String quote(String schema) {
        if (!SIMPLE_NAME.matcher(schema).matches()) {
            throw new IllegalArgumentException("Not a plain schema name: " + schema);
        }
        return '"' + schema + '"';
    }

    /** Jobs whose enqueue committed (I1); without any, I1 checks only that no job is in two tables. */
    public Invariants enqueued(Collection<UUID> ids) {
        enqueued.addAll(ids);
        enqueuedKnown = true;
        return this;
    }

    /** The ledger the handlers wrote (I3). */
    public Invariants ledger(Ledger ledger) {
        this.ledger = ledger;
        return this;
    }

    /** Application names of the nodes' sessions (I5). */
    public Invariants applications(String... names) {
        applications.addAll(List.of(names));
        return this;
    }

    /** Pools that must be idle (I5). */
    public Invariants pools(ConnectionPool... idle) {
        pools.addAll(List.of(idle));
        return this;
    }

    /** The nodes are closed: no session of their applications may remain (I5). */
    public Invariants closed() {
        this.closed = true;
        return this;
    }

    /** Every job must have completed, none may be dead (a stronger I2 for tests without failures). */
    public Invariants allCompleted() {
        this.allCompleted = true;
        return this;
    }

    /**
     * A job may have succeeded under more than one claim: a handler that succeeded after its lease
     * was lost (the node lost the database, the reaper rescued the job) is at-least-once delivery.
     * A claim that ran twice is still a violation.
     */
    public Invariants rerunsAllowed() {
        this.rerunsAllowed = true;
        return this;
    }

    /** I6: a running job whose heartbeat is older than this is stuck (default 30 s). */
    public Invariants stallLimit(Duration limit) {
        this.stallLimit = limit;
        return this;
    }

    /** Checks every invariant configured, reports all violations together, and sums up the state. */
    public Summary check() {
        SoftAssertions soft = new SoftAssertions();
        List<Map<String, Object>> rows = Rows.query(factory, "SELECT id, 'live' AS place, status, attempt, max_attempts,"
                + " reprocess_count, lease IS NOT NULL AS leased,"
                + " (status = 'running' AND heartbeat_at < now() - $1 * interval '1 microsecond') AS stuck"
                + " FROM " + schema + ".jobs"
                + " UNION ALL SELECT id, 'archive', status, attempt, max_attempts, reprocess_count, false, false"
                + " FROM " + schema + ".jobs_archive"
                + " UNION ALL SELECT id, 'dead', status, attempt, max_attempts, reprocess_count, false, false"
                + " FROM " + schema + ".jobs_dead", stallLimit.toNanos() / 1000);

        // I1
        Map<UUID, List<String>> places = rows.stream().collect(Collectors.groupingBy(r -> (UUID) r.get("id"),
                Collectors.mapping(r -> (String) r.get("place"), Collectors.toList())));
        soft.assertThat(places.entrySet().stream().filter(e -> e.getValue().size() > 1).map(Object::toString).toList())
                .as("I1: jobs in more than one table").isEmpty();
        if (enqueuedKnown) {
            soft.assertThat(enqueued.stream().filter(id -> !places.containsKey(id)).toList())
                    .as("I1: enqueued jobs in no table (lost)").isEmpty();
            soft.assertThat(places.keySet().stream().filter(id -> !enqueued.contains(id)).toList())
                    .as("I1: jobs in the tables that were never enqueued").isEmpty();
        }

        // I2 and I6
        List<String> unfinished = new ArrayList<>();
        List<String> badAttempts = new ArrayList<>();
        List<String> leased = new ArrayList<>();
        List<String> notCompleted = new ArrayList<>();
        List<String> stuck = new ArrayList<>();
        Map<UUID, RunKey> completedKeys = new HashMap<>();
        for (Map<String, Object> r : rows) {
            String status = (String) r.get("status");
            int attempt = (Integer) r.get("attempt");
            int max = (Integer) r.get("max_attempts");
            String row = r.get("id") + " " + r.get("place") + " " + status + " attempt " + attempt + "/" + max;
            if (Boolean.TRUE.equals(r.get("stuck"))) {
                stuck.add(row);
            }
            if (status.equals("pending") || status.equals("running")) {
                unfinished.add(row);
                continue;
            }
            boolean usedAnAttempt = status.equals("completed") || status.equals("failed");
            if (attempt > max || (usedAnAttempt && attempt < 1)) {
                badAttempts.add(row);
            }
            if (Boolean.TRUE.equals(r.get("leased"))) {
                leased.add(row);
            }
            if (status.equals("completed")) {
                completedKeys.put((UUID) r.get("id"), new RunKey((UUID) r.get("id"), attempt,
                        (Integer) r.get("reprocess_count")));
            } else {
                notCompleted.add(row);
            }
        }
        soft.assertThat(unfinished).as("I2: jobs not finished").isEmpty();
        soft.assertThat(badAttempts).as("I2: finished jobs whose attempt is out of bounds").isEmpty();
        soft.assertThat(leased).as("I2: finished jobs still holding a lease").isEmpty();
        if (allCompleted) {
            soft.assertThat(notCompleted).as("I2: jobs that did not complete").isEmpty();
        }
        soft.assertThat(stuck).as("I6: running jobs without a heartbeat for more than " + stallLimit).isEmpty();

        // I3
        int runs = 0;
        int rerunJobs = 0;
        if (ledger != null) {
            List<LedgerEntry> entries = ledger.entries();
            Map<LedgerEntry.Event, Map<LedgerEntry.Claim, Long>> byEvent = entries.stream().collect(Collectors.groupingBy(
                    LedgerEntry::event, Collectors.groupingBy(LedgerEntry::claim, Collectors.counting())));
            Map<LedgerEntry.Claim, Long> starts = byEvent.getOrDefault(LedgerEntry.Event.START, Map.of());
            Map<LedgerEntry.Claim, Long> successClaims = byEvent.getOrDefault(LedgerEntry.Event.SUCCESS, Map.of());
            Set<RunKey> successes = successClaims.keySet().stream().map(LedgerEntry.Claim::key).collect(Collectors.toSet());
            runs = starts.values().stream().mapToInt(Long::intValue).sum();
            soft.assertThat(twice(starts)).as("I3: claims that ran more than once").isEmpty();
            soft.assertThat(twice(successClaims)).as("I3: claims that succeeded more than once").isEmpty();
            soft.assertThat(successClaims.keySet().stream().filter(k -> !starts.containsKey(k)).toList())
                    .as("I3: successes without a start").isEmpty();
            soft.assertThat(completedKeys.values().stream().filter(k -> !successes.contains(k)).toList())
                    .as("I3: completed jobs whose stored claim has no recorded success").isEmpty();
            Map<UUID, Long> successesPerJob = successClaims.keySet().stream()
                    .collect(Collectors.groupingBy(c -> c.key().id(), Collectors.counting()));
            List<UUID> succeededTwice = successesPerJob.entrySet().stream().filter(e -> e.getValue() > 1)
                    .map(Map.Entry::getKey).toList();
            if (!rerunsAllowed) {
                soft.assertThat(succeededTwice).as("I3: jobs that succeeded under more than one claim").isEmpty();
            }
            rerunJobs = (int) starts.keySet().stream().collect(Collectors.groupingBy(c -> c.key().id(), Collectors.counting()))
                    .values().stream().filter(n -> n > 1).count();
            if (enqueuedKnown) {
                soft.assertThat(starts.keySet().stream().map(c -> c.key().id()).filter(id -> !enqueued.contains(id))
                        .distinct().toList()).as("I3: runs of jobs never enqueued").isEmpty();
            }
        }

        // I5
        if (!applications.isEmpty()) {
            soft.assertThat(awaitSessions("state LIKE 'idle in transaction%'"))
                    .as("I5: sessions idle in a transaction").isEmpty();
            if (closed) {
                soft.assertThat(awaitSessions("true")).as("I5: sessions left by closed nodes").isEmpty();
            }
        }
        for (ConnectionPool pool : pools) {
            soft.assertThat(awaitIdle(pool)).as("I5: connections still acquired from a pool").isZero();
        }
        soft.assertAll();

        long completed = completedKeys.size();
        return new Summary(rows.size(), completed, rows.size() - completed, runs, rerunJobs);
    }

    private static <K> List<K> twice(Map<K, Long> counts) {
        return counts.entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey).toList();
    }

    /** The sessions of the applications matching {@code condition}, once there are none or after a wait. */
    private List<Map<String, Object>> awaitSessions(String condition) {
        String sql = "SELECT pid, application_name, state, left(query, 80) AS query FROM pg_stat_activity"
                + " WHERE application_name = ANY ($1) AND pid <> pg_backend_pid() AND " + condition;
        String[] names = applications.toArray(String[]::new);
        try {
            return await().atMost(SESSION_WAIT).pollInterval(Duration.ofMillis(100))
                    .until(() -> Rows.query(factory, sql, (Object) names), List::isEmpty);
        } catch (ConditionTimeoutException e) {
            return Rows.query(factory, sql, (Object) names);
        }
    }

    private static int awaitIdle(ConnectionPool pool) {
        try {
            return await().atMost(SESSION_WAIT).pollInterval(Duration.ofMillis(50))
                    .until(() -> pool.getMetrics().map(m -> m.acquiredSize()).orElse(0), n -> n == 0);
        } catch (ConditionTimeoutException e) {
            return pool.getMetrics().map(m -> m.acquiredSize()).orElse(0);
        }
    }

    /**
     * What the check found.
     *
     * @param jobs      jobs in the three tables
     * @param completed completed jobs
     * @param others    jobs that did not complete (dead, or unfinished)
     * @param runs      handler starts in the ledger
     * @param rerunJobs jobs whose handler ran under more than one claim
     */
    public record Summary(long jobs, long completed, long others, int runs, int rerunJobs) {
        @Override
        public String toString() {
            return jobs + " jobs (" + completed + " completed, " + others + " not), " + runs + " handler runs, "
                    + rerunJobs + " jobs run under more than one claim";
        }
    }
}
