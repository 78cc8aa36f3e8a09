package io.github.reactivepgqueue.proof;

import io.github.reactivepgqueue.Job;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import reactor.core.publisher.Mono;

/** A {@link Ledger} in the test JVM's memory, for nodes that run in the test's own JVM. */
public final class MemoryLedger implements Ledger {
    private final Queue<LedgerEntry> entries = new ConcurrentLinkedQueue<>();
    private final Map<RunKey, AtomicInteger> starts = new ConcurrentHashMap<>();
    private final Map<UUID, Long> firstStart = new ConcurrentHashMap<>();
    private final AtomicInteger total = new AtomicInteger();

    @Override
    public Mono<Void> record(Job job, LedgerEntry.Event event, String node) {
        return Mono.fromRunnable(() -> recordNow(job, event, node));
    }

    /** Records at once (for handlers that do their own work synchronously). */
    public void recordNow(Job job, LedgerEntry.Event event, String node) {
        RunKey key = RunKey.of(job);
        if (event == LedgerEntry.Event.START) {
            firstStart.putIfAbsent(job.id(), System.nanoTime());
            starts.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
            total.incrementAndGet();
        }
        entries.add(new LedgerEntry(key, LedgerEntry.leaseOf(job), event, node));
    }

    @Override
    public List<LedgerEntry> entries() {
        return new ArrayList<>(entries);
    }

    /** Handler starts so far. */
    public int runs() {
        return total.get();
    }

    /** When the job's handler first started ({@link System#nanoTime()}), or null. */
    public Long firstStart(UUID id) {
        return firstStart.get(id);
    }

    /** Whether the job's handler has started. */
    public boolean started(UUID id) {
        return firstStart.containsKey(id);
    }

    /** The jobs whose handler started at least once. */
    public int jobsStarted() {
        return firstStart.size();
    }

    /** The claims of one job that ran. */
    public List<RunKey> runsOf(UUID id) {
        return starts.keySet().stream().filter(k -> k.id().equals(id)).toList();
    }

    /** Handler starts by claim. */
    public Map<RunKey, Integer> startsByKey() {
        Map<RunKey, Integer> copy = new LinkedHashMap<>();
        starts.forEach((k, v) -> copy.put(k, v.get()));
        return copy;
    }
}
