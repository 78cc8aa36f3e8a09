package io.github.reactivepgqueue.internal;

import io.github.reactivepgqueue.internal.store.JobStore;
import io.github.reactivepgqueue.internal.store.SchemaName;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Scheduler;

/**
 * Sends {@link Signal}s to every node of a schema with {@code pg_notify} on a pooled connection.
 * Sending is best effort: a failure is logged and swallowed, because every signal has a fallback
 * (the heartbeat finds lost leases, awaiting nodes also look on their own interval). Its posting
 * loop is a {@link ServiceLoop} that runs on wake-ups only (each post is one); it has no options,
 * so no config record.
 */
public final class Signals {
    private static final Logger log = LoggerFactory.getLogger(Signals.class);
    /** Longer queue names are not put in notifications (whose payload is limited to 8,000 bytes). */
    static final int MAX_QUEUE_BYTES = 1000;

    private final JobStore store;
    private final String channel;
    private final Set<Signal> posted = EnumSet.noneOf(Signal.class);
    private final Set<String> postedQueues = new LinkedHashSet<>();
    private final Sinks.Many<Boolean> kick = Sinks.many().multicast().directBestEffort();
    private final ServiceLoop<SignalsResult> poster;

    public Signals(JobStore store, Scheduler scheduler) {
        this.store = store;
        this.channel = channelOf(store.schema());
        // Posted signals are sent one statement at a time; what is posted meanwhile shares the next.
        this.poster = ServiceLoop.onWakeups("Sending posted signals", this::runOnce, log, scheduler);
    }

    /** Starts sending posted signals (once; later calls do nothing). */
    public void start() {
        poster.start(Duration.ZERO, kick.asFlux());
    }

    /** The posting loop's runs, for tests to await. */
    public ServiceLoop<SignalsResult> loop() {
        return poster;
    }

    /** Sends what is posted right now, in one statement; never fails. */
    public Mono<SignalsResult> runOnce() {
        return Mono.defer(() -> {
            List<String> payloads = takePosted();
            return sendPayloads(payloads).thenReturn(new SignalsResult(payloads.size()));
        });
    }

    /**
     * Sends {@code signal} soon without waiting: posts from many callers coalesce into one
     * notification, and at most one send is in flight, so posting on a hot path costs nothing.
     */
    public void post(Signal signal) {
        synchronized (posted) {
            if (!posted.add(signal)) {
                return;
            }
        }
        kick();
    }

    /** Tells the nodes serving {@code queue} that jobs of it are due now, as {@link #post} does. */
    public void postDue(String queue) {
        synchronized (posted) {
            if (!postedQueues.add(queue)) {
                return;
            }
        }
        kick();
    }

    private void kick() {
        synchronized (kick) {
            kick.tryEmitNext(Boolean.TRUE);
        }
    }

    private List<String> takePosted() {
        synchronized (posted) {
            List<String> payloads = payloads(posted, postedQueues);
            posted.clear();
            postedQueues.clear();
            return payloads;
        }
    }

    /** The payloads for some signals and some queues with jobs due: one of letters, one per queue. */
    static List<String> payloads(Set<Signal> signals, Collection<String> dueQueues) {
        List<String> payloads = new ArrayList<>(dueQueues.size() + 1);
        if (!signals.isEmpty()) {
            payloads.add(Signal.encode(signals));
        }
        for (String queue : dueQueues) {
            payloads.add(queue.getBytes(StandardCharsets.UTF_8).length <= MAX_QUEUE_BYTES
                    ? Notice.ENQUEUED_PREFIX + queue : "e");
        }
        return payloads;
    }

    /** Stops sending posted signals. */
    public void stop() {
        poster.stop();
    }

    /**
     * The notification channel of a schema: derived from its name by a hash, never the name
     * itself, so it is always a short, safe identifier (channel names share the 63-byte limit).
     */
    public static String channelOf(SchemaName schema) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(schema.name().getBytes(StandardCharsets.UTF_8));
            return "pgqueue_" + HexFormat.of().formatHex(digest, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    public String channel() {
        return channel;
    }

    /** Sends {@code signals} (nothing if empty) now; never fails. */
    public Mono<Void> send(Set<Signal> signals) {
        return sendPayloads(payloads(signals, List.of()));
    }

    /** Sends {@code signals} and tells the nodes serving {@code dueQueues} to claim, now; never fails. */
    public Mono<Void> send(Set<Signal> signals, Collection<String> dueQueues) {
        return sendPayloads(payloads(signals, dueQueues));
    }

    private Mono<Void> sendPayloads(List<String> payloads) {
        if (payloads.isEmpty()) {
            return Mono.empty();
        }
        return store.sendSignals(channel, payloads)
                .onErrorResume(e -> {
                    log.debug("Sending signals {} failed (the others fall back to polling): {}", payloads,
                            ErrorText.summary(e));
                    return Mono.empty();
                });
    }
}
