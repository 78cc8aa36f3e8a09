package io.github.reactivepgqueue.internal;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * Sends {@link Signal}s to every node of a schema with {@code pg_notify} on a pooled connection.
 * Sending is best effort: a failure is logged and swallowed, because every signal has a fallback
 * (the heartbeat finds lost leases, awaiting nodes also look on their own interval).
 */
public final class Signals {
    private static final Logger log = LoggerFactory.getLogger(Signals.class);

    private final Db db;
    private final Sql sql;
    private final String channel;
    private final Set<Signal> posted = EnumSet.noneOf(Signal.class);
    private final Sinks.Many<Boolean> kick = Sinks.many().multicast().directBestEffort();
    private final Disposable poster;

    public Signals(Db db, Sql sql) {
        this.db = db;
        this.sql = sql;
        this.channel = channelOf(sql.schema());
        // Posted signals are sent one notification at a time; what is posted meanwhile shares the next.
        this.poster = kick.asFlux()
                .onBackpressureLatest()
                .concatMap(k -> send(takePosted()), 1)
                .subscribe();
    }

    /**
     * Sends {@code signal} soon without waiting: posts from many callers coalesce into one
     * notification, and at most one is in flight, so posting on a hot path costs nothing.
     */
    public void post(Signal signal) {
        synchronized (posted) {
            if (!posted.add(signal)) {
                return;
            }
        }
        synchronized (kick) {
            kick.tryEmitNext(Boolean.TRUE);
        }
    }

    private Set<Signal> takePosted() {
        synchronized (posted) {
            Set<Signal> taken = EnumSet.copyOf(posted);
            posted.clear();
            return taken;
        }
    }

    /** Stops sending posted signals. */
    public void close() {
        poster.dispose();
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

    /** Sends {@code signals} (nothing if empty); never fails. */
    public Mono<Void> send(Set<Signal> signals) {
        if (signals.isEmpty()) {
            return Mono.empty();
        }
        String payload = Signal.encode(signals);
        return db.withConnection(conn -> conn.createStatement(sql.get(SqlName.SignalSend))
                        .bind("$1", channel).bind("$2", payload).execute())
                .flatMap(result -> result.map((row, meta) -> Boolean.TRUE))
                .then()
                .onErrorResume(e -> {
                    log.debug("Sending signals {} failed (the others fall back to polling): {}", signals,
                            ErrorText.summary(e));
                    return Mono.empty();
                });
    }
}
