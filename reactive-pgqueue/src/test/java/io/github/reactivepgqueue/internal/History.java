package io.github.reactivepgqueue.internal;

import static org.awaitility.Awaitility.await;

import io.github.reactivepgqueue.EnqueueResult;
import io.github.reactivepgqueue.JobStatus;
import io.github.reactivepgqueue.NewJob;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * One generated history: each step runs on the real library ({@link QueueUnderTest}) and on the
 * reference model ({@link QueueModel}), checks what the library answered against the model's
 * expectation, and writes a line to the trace that failures print. {@link #check()} compares
 * every job in the database with the model and checks the invariants after each step.
 */
final class History {
    /** A job to enqueue: its delay in minutes, its attempts, its unique key (null for none). */
    record JobSpec(long delayMinutes, int maxAttempts, String uniqueKey) {
        @Override
        public String toString() {
            return "{delay " + delayMinutes + "m, max " + maxAttempts + (uniqueKey == null ? "" : ", key " + uniqueKey)
                    + "}";
        }
    }

    private final QueueUnderTest queue;
    private final QueueModel model = new QueueModel();
    /** Every claim handed out in this history, for writes from zombies. */
    private final List<ClaimedRow> claims = new ArrayList<>();
    private final List<String> trace = new ArrayList<>();
    /** What the generated steps made happen (not the drain): counted by the test and printed per run. */
    private final Set<String> events = new java.util.TreeSet<>();
    private boolean draining;

    private History(QueueUnderTest queue) {
        this.queue = queue;
    }

    /** A new history on emptied tables. */
    static History start(QueueUnderTest queue) {
        queue.reset();
        return new History(queue);
    }

    void enqueue(List<JobSpec> specs) {
        List<NewJob> jobs = new ArrayList<>();
        for (JobSpec spec : specs) {
            NewJob job = NewJob.of(QueueUnderTest.QUEUE, jobs.size()).delay(Duration.ofMinutes(spec.delayMinutes()))
                    .maxAttempts(spec.maxAttempts());
            jobs.add(spec.uniqueKey() == null ? job : job.uniqueKey(spec.uniqueKey()));
        }
        List<EnqueueResult> results = queue.enqueue(jobs);
        expect(results.size() == specs.size(), "one result per job, got " + results);
        List<String> outcome = new ArrayList<>();
        for (int i = 0; i < specs.size(); i++) {
            JobSpec spec = specs.get(i);
            ModelJob holder = model.holderOf(spec.uniqueKey());
            EnqueueResult result = results.get(i);
            if (holder != null) {
                expect(result instanceof EnqueueResult.Duplicate d && d.id().equals(holder.id),
                        "job " + spec + " should be a duplicate of " + holder + ", got " + result);
                outcome.add("duplicate of " + holder);
                event("enqueue of a duplicate unique key");
                if (holder.cancelledUnderLease()) {
                    event("enqueue met a key held by a job cancelled while it ran");
                }
            } else {
                expect(result instanceof EnqueueResult.Enqueued, "job " + spec + " should be enqueued, got " + result);
                ModelJob job = model.enqueued(result.id(), spec.uniqueKey(), spec.maxAttempts(), spec.delayMinutes());
                outcome.add(job + " " + spec);
            }
        }
        log("enqueue: " + String.join(", ", outcome));
    }

    void claim(int worker, int limit) {
        List<ModelJob> due = model.due();
        List<ClaimedRow> rows = queue.claim(worker, limit);
        List<ModelJob> taken = new ArrayList<>();
        for (ClaimedRow row : rows) {
            ModelJob job = model.job(row.id());
            expect(job != null && due.contains(job) && !taken.contains(job),
                    "claimed " + (job == null ? row.id() : job) + ", which is not due, or claimed twice; due: " + due);
            expect(row.attempt() == job.attempt + 1, "claimed " + job + " as attempt " + row.attempt() + ", expected "
                    + (job.attempt + 1));
            expect(row.lease() != null && !row.lease().equals(job.lease), "claim of " + job + " without a new lease");
            model.claimed(job, row.lease());
            claims.add(row);
            taken.add(job);
        }
        expect(rows.size() == Math.min(limit, due.size()),
                "claim of up to " + limit + " took " + taken + " while " + due + " were due");
        log(worker(worker) + " claims up to " + limit + ": " + taken.stream().map(j -> j + " (attempt " + j.attempt + ")")
                .toList());
    }

    /**
     * One beat of {@code worker}; then, for every lease found lost, what its job runner does once
     * the handler is cancelled: it lets go of the lease, which frees the unique key of a job that
     * was cancelled while it ran.
     */
    void beat(int worker) {
        List<ClaimedRow> held = held(worker);
        Set<UUID> alive = held.stream().filter(row -> model.current(model.job(row.id()), row.lease()))
                .map(ClaimedRow::id).collect(Collectors.toSet());
        int lost = queue.beat(worker);
        expect(lost == held.size() - alive.size(), "heartbeat of " + worker(worker) + " reported " + lost
                + " lost leases, expected " + (held.size() - alive.size()));
        alive.forEach(id -> model.beaten(model.job(id)));
        Set<UUID> stillHeld = held(worker).stream().map(ClaimedRow::id).collect(Collectors.toSet());
        expect(stillHeld.equals(alive), "after its heartbeat " + worker(worker) + " still holds " + stillHeld);
        List<ModelJob> letGo = new ArrayList<>();
        for (ClaimedRow row : held) {
            if (!alive.contains(row.id())) {
                ModelJob job = model.job(row.id());
                boolean cancelled = model.cancelledUnder(job, row.lease());
                queue.letGo(row);
                if (cancelled) {
                    model.letGo(job);
                    letGo.add(job);
                }
            }
        }
        log(worker(worker) + " heartbeat: alive " + jobs(alive) + ", lost " + (held.size() - alive.size())
                + (letGo.isEmpty() ? "" : ", cancelled ones let go of: " + letGo));
        if (lost > 0) {
            event("heartbeat found a lease lost");
        }
        if (!letGo.isEmpty()) {
            event("a node let go of a job cancelled while it ran");
        }
    }

    void complete(int worker, int pick, ModelOutcome outcome) {
        List<ClaimedRow> held = held(worker);
        if (held.isEmpty()) {
            log(worker(worker) + " holds nothing to complete");
            return;
        }
        write(queue.worker(worker).leases, held.get(pick % held.size()), outcome, worker(worker));
    }

    /** A write from a process that no longer holds the claim in memory (it crashed and came back, it froze). */
    void zombieWrite(int pick, ModelOutcome outcome) {
        if (claims.isEmpty()) {
            log("no claim handed out yet for a zombie to write");
            return;
        }
        write(null, claims.get(pick % claims.size()), outcome, "a zombie");
    }

    private void write(Leases leases, ClaimedRow row, ModelOutcome outcome, String who) {
        ModelJob job = model.job(row.id());
        boolean current = model.current(job, row.lease());
        // a write that finds its job cancelled under its lease lets go of the lease, and changes nothing else
        boolean letsGo = !current && model.cancelledUnder(job, row.lease());
        String before = current ? null : letsGo ? queue.liveRowWithoutLease(job.id) : queue.liveRow(job.id);
        long stale = queue.write(leases, row, outcome);
        String what = who + " writes " + outcome + " for " + job + " (attempt " + row.attempt() + ")";
        if (current) {
            expect(stale == 0, what + ": the lease is current, yet the write was counted stale");
            outcome.apply(model, job);
            expect(model.settle(job, row.lease(), job.status == JobStatus.COMPLETED),
                    what + ": a second accepted outcome for one claim");
            log(what + ": accepted, now " + describe(job));
            if (leases == null) {
                event("zombie write accepted (its lease was still current)");
            }
            if (job.status == JobStatus.FAILED || job.status == JobStatus.BAD_JOB) {
                event("outcome ended a job " + job.status.databaseValue());
            }
        } else {
            expect(stale == 1, what + ": the lease is no longer current, yet the write was not counted stale");
            String after = letsGo ? queue.liveRowWithoutLease(job.id) : queue.liveRow(job.id);
            expect(before.equals(after), what + ": a fenced-off write changed the row\n  before: " + before
                    + "\n  after:  " + after);
            if (letsGo) {
                model.letGo(job);
                log(what + ": fenced off (cancelled meanwhile); its lease let go of");
                event("write fenced off by a cancel let go of the lease");
            } else {
                log(what + ": fenced off (lease lost)");
            }
            event("write fenced off (" + (leases == null ? "zombie" : "worker") + ")");
        }
    }

    void advanceClock(int ticks) {
        queue.advanceClock(ticks);
        for (int i = 0; i < ticks; i++) {
            model.advance();
        }
        log("time passes: now " + model.now() + " min");
    }

    void reap() {
        List<ModelJob> stalled = model.jobs().stream().filter(model::stalled).toList();
        List<ModelJob> leasesStalled = model.jobs().stream().filter(model::leaseStalled).toList();
        ReaperResult rescued = queue.reap();
        leasesStalled.forEach(model::letGo);
        int pending = 0;
        int failed = 0;
        int poison = 0;
        for (ModelJob job : stalled) {
            model.rescue(job);
            switch (job.status) {
                case PENDING -> pending++;
                case FAILED -> failed++;
                default -> poison++;
            }
        }
        expect(rescued.equals(new ReaperResult(pending, failed, poison, leasesStalled.size())),
                "the reaper rescued " + rescued + ", expected " + stalled + " -> " + pending + " pending, " + failed
                        + " failed, " + poison + " bad_job; and let go of " + leasesStalled);
        log("reaper: " + stalled.stream().map(this::describe).toList()
                + (leasesStalled.isEmpty() ? "" : "; let go of cancelled " + leasesStalled));
        if (!leasesStalled.isEmpty()) {
            event("reaper let go of a cancelled job's lease");
        }
        stalled.forEach(job -> event("reaper rescued a job to " + job.status.databaseValue()));
        if (stalled.size() > 2) {
            event("reaper needed more than one batch");
        }
    }

    void janitor() {
        long moved = queue.moveFinished();
        int expected = model.moveFinished();
        expect(moved == expected, "the janitor moved " + moved + " jobs, expected " + expected);
        log("janitor: moved " + moved);
        if (moved > 2) {
            event("janitor needed more than one batch");
        }
    }

    void retention() {
        long deleted = queue.deleteExpired();
        int expected = model.deleteExpired();
        expect(deleted == expected, "retention deleted " + deleted + " jobs, expected " + expected);
        log("retention (zero): deleted " + deleted);
        if (deleted > 0) {
            event("retention deleted jobs");
        }
    }

    void crash(int worker) {
        List<ClaimedRow> held = held(worker);
        queue.worker(worker).crash();
        log(worker(worker) + " crashes, forgetting " + jobs(held.stream().map(ClaimedRow::id).toList()));
        if (!held.isEmpty()) {
            event("worker crashed holding jobs");
        }
    }

    void restartDatabase() {
        queue.restartDatabase();
        log("database restart: every session of the library terminated");
        event("database restart");
    }

    void cancel(int pick) {
        if (model.jobs().isEmpty()) {
            log("nothing to cancel");
            return;
        }
        ModelJob job = model.jobs().get(pick % model.jobs().size());
        String before = describe(job);
        int cancelled = queue.cancel(job.id);
        int expected = model.cancel(job) ? 1 : 0;
        expect(cancelled == expected, "cancel of " + before + " cancelled " + cancelled + ", expected " + expected);
        log("admin cancels " + before + ": " + (cancelled == 1 ? "cancelled" : "not live"));
        if (cancelled == 1) {
            event("admin cancelled a " + (before.contains("running") ? "running" : "pending") + " job");
        }
    }

    /** Requeues the {@code pick}-th dead-lettered job; any job (not requeued then) when none is dead. */
    void requeue(int pick) {
        if (model.jobs().isEmpty()) {
            log("nothing to requeue");
            return;
        }
        List<ModelJob> dead = model.jobs().stream().filter(j -> j.location == ModelJob.Location.DEAD).toList();
        List<ModelJob> candidates = dead.isEmpty() ? model.jobs() : dead;
        ModelJob job = candidates.get(pick % candidates.size());
        String before = describe(job);
        boolean requeued = queue.requeue(job.id);
        boolean expected = model.requeue(job);
        expect(requeued == expected, "requeue of " + before + " answered " + requeued + ", expected " + expected);
        log("admin requeues " + before + ": " + (requeued ? "pending again" : "not requeued"));
        if (requeued) {
            event("admin requeued a dead job");
        }
    }

    /**
     * The end of every history: time passes until every running job is stalled and every pending
     * job due, the reaper runs, W1 claims everything and succeeds; repeated until nothing is live.
     * Then every job must be archived or dead-lettered within its attempts (I2), none stuck (I6),
     * and no session of the library left inside a transaction (I5).
     */
    void drain() {
        log("--- drain ---");
        draining = true;
        for (int round = 0; round < 5 && model.jobs().stream().anyMatch(ModelJob::holdsKey); round++) {
            advanceClock(3);
            reap();
            check();
            claim(0, 1000);
            check();
            while (!held(0).isEmpty()) {
                complete(0, 0, ModelOutcome.SUCCESS);
                check();
            }
        }
        janitor();
        check();
        List<ModelJob> notFinished = model.jobs().stream().filter(j -> j.location == ModelJob.Location.LIVE).toList();
        expect(notFinished.isEmpty(), "jobs still live after the drain: " + notFinished.stream().map(this::describe)
                .toList());
        // I5: the library leaves no session inside a transaction (a signal may be on its way out)
        if (queue.sessionsInTransaction() != 0) {
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(5))
                    .until(() -> queue.sessionsInTransaction() == 0);
        }
    }

    /** Compares every job in the database with the model and checks I1-I4. */
    void check() {
        List<Map<String, Object>> rows = queue.rows();
        Map<UUID, Map<String, Object>> byId = new HashMap<>();
        for (Map<String, Object> row : rows) {
            UUID id = (UUID) row.get("id");
            Map<String, Object> other = byId.put(id, row);
            if (other != null) {
                expect(false, () -> "I1: job " + id + " is in two tables: " + other.get("location") + " and "
                        + row.get("location"));
            }
        }
        Set<UUID> expected = new HashSet<>();
        for (ModelJob job : model.jobs()) {
            if (job.location != ModelJob.Location.DELETED) {
                expected.add(job.id);
            }
            checkJob(job, byId.get(job.id));
        }
        expect(byId.keySet().equals(expected), () -> "I1: the tables hold " + byId.size() + " jobs, the model "
                + expected.size() + "; unknown ids: " + byId.keySet().stream().filter(id -> !expected.contains(id))
                .toList());
    }

    private void checkJob(ModelJob job, Map<String, Object> row) {
        if (job.location == ModelJob.Location.DELETED) {
            expect(row == null, () -> "I1: " + job + " should have been deleted by retention, found " + row);
            return;
        }
        expect(row != null, () -> "I1: " + describe(job) + " is in no table");
        Supplier<String> actual = () -> job + " in the database: " + row;
        expect(job.location.name().equals(row.get("location")), () -> "location of " + describe(job) + "; " + actual.get());
        expect(job.status == JobStatus.fromDatabase((String) row.get("status")), () -> "status of " + describe(job)
                + "; " + actual.get());
        expect(job.attempt == (Integer) row.get("attempt"), () -> "attempt of " + describe(job) + "; " + actual.get());
        expect(job.reprocessCount == (Integer) row.get("reprocess_count"), () -> "reprocess count of " + describe(job)
                + "; " + actual.get());
        int attempt = (Integer) row.get("attempt");
        int maxAttempts = (Integer) row.get("max_attempts");
        expect(maxAttempts == job.maxAttempts && attempt >= 0 && attempt <= maxAttempts,
                () -> "I2: attempts out of bounds; " + actual.get());
        expect(job.successes <= 1, () -> "I3: " + describe(job) + " succeeded " + job.successes + " times");
        expect((job.status == JobStatus.COMPLETED) == (job.successes == 1),
                () -> "I3: " + describe(job) + " is completed without exactly one accepted success");
        if (job.location == ModelJob.Location.LIVE) {
            expect(Objects.equals(job.lease, row.get("lease")), () -> "lease of " + describe(job) + "; " + actual.get());
            if (job.status == JobStatus.PENDING) {
                expect((job.dueAt <= model.now()) == (Boolean) row.get("due"), () -> "due time of " + describe(job) + "; "
                        + actual.get());
            }
            if (job.status == JobStatus.RUNNING) {
                expect(model.stalled(job) == (Boolean) row.get("stalled"), () -> "heartbeat of " + describe(job) + "; "
                        + actual.get());
            }
        }
    }

    private List<ClaimedRow> held(int worker) {
        List<ClaimedRow> held = new ArrayList<>(queue.worker(worker).leases.snapshot());
        held.sort(Comparator.comparingInt(row -> model.job(row.id()).number));
        return held;
    }

    private List<ModelJob> jobs(java.util.Collection<UUID> ids) {
        return ids.stream().map(model::job).sorted(Comparator.comparingInt(j -> j.number)).toList();
    }

    private String describe(ModelJob job) {
        return job + "[" + job.location.name().toLowerCase() + " " + job.status.databaseValue() + " attempt "
                + job.attempt + "/" + job.maxAttempts + (job.reprocessCount > 0 ? " reprocessed " + job.reprocessCount
                : "") + (job.status == JobStatus.PENDING && job.dueAt > model.now() ? " due at " + job.dueAt : "")
                + "]";
    }

    private static String worker(int worker) {
        return "W" + (worker + 1);
    }

    /** What the generated steps made happen, for coverage statistics. */
    Set<String> events() {
        return events;
    }

    private void event(String event) {
        if (!draining) {
            events.add(event);
        }
    }

    private void log(String line) {
        trace.add(trace.size() + 1 + ". " + line);
    }

    private void expect(boolean condition, String message) {
        expect(condition, () -> message);
    }

    private void expect(boolean condition, Supplier<String> message) {
        if (!condition) {
            throw new AssertionError(message.get() + "\nWhat happened:\n  " + String.join("\n  ", trace));
        }
    }

    @Override
    public String toString() {
        return "History(" + trace.size() + " steps, " + model.jobs().size() + " jobs)";
    }
}
