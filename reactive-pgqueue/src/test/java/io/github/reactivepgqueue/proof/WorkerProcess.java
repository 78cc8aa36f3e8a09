package io.github.reactivepgqueue.proof;

import static org.awaitility.Awaitility.await;

import io.github.reactivepgqueue.testing.DatabaseCoordinates;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A {@link WorkerMain} node in a child JVM (the test's java binary and class path), with its output
 * in {@code target/proof-workers/<node>.log}. {@link #kill()} is {@code kill -9}, {@link #terminate()}
 * is SIGTERM; {@link #close()} kills it if it is still alive.
 */
public final class WorkerProcess implements AutoCloseable {
    private static final Path LOGS = Path.of("target", "proof-workers");

    private final String node;
    private final Process process;
    private final Path log;

    private WorkerProcess(String node, Process process, Path log) {
        this.node = node;
        this.process = process;
        this.log = log;
    }

    /** Options of a worker node. */
    public record Options(String schema, String queue, int concurrency, Duration heartbeat, Duration grace,
                          Duration poll) {
    }

    /** Starts a worker named {@code node} (also its sessions' application name) and waits until it runs. */
    public static WorkerProcess start(DatabaseCoordinates db, String node, Options options) {
        WorkerProcess worker = launch(db, node, options);
        worker.awaitReady();
        return worker;
    }

    /** Starts a worker named {@code node} without waiting for it; see {@link #awaitReady()}. */
    public static WorkerProcess launch(DatabaseCoordinates db, String node, Options options) {
        return launch(db, node, options, List.of());
    }

    /**
     * Starts a worker named {@code node} with {@code extra} arguments ({@code key=value}, see
     * {@link WorkerMain}) without waiting for it; see {@link #awaitReady()}.
     */
    public static WorkerProcess launch(DatabaseCoordinates db, String node, Options options, List<String> extra) {
        try {
            Files.createDirectories(LOGS);
            Path log = LOGS.resolve(node + ".log");
            Files.deleteIfExists(log);
            List<String> command = new ArrayList<>(List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                    "-cp", System.getProperty("java.class.path"), WorkerMain.class.getName(),
                    "host=" + db.host(), "port=" + db.port(), "database=" + db.database(), "user=" + db.user(),
                    "schema=" + options.schema(), "queue=" + options.queue(), "node=" + node,
                    "concurrency=" + options.concurrency(), "heartbeatMs=" + options.heartbeat().toMillis(),
                    "graceMs=" + options.grace().toMillis(), "pollMs=" + options.poll().toMillis()));
            command.addAll(extra);
            ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(log.toFile());
            builder.environment().put(WorkerMain.PASSWORD_VARIABLE, db.password());
            return new WorkerProcess(node, builder.start(), log);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot start the worker " + node, e);
        }
    }

    /** Waits until the worker's node has started; fails with its output if it exited instead. */
    public void awaitReady() {
        await(node + " started").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50)).until(() -> {
            if (!process.isAlive()) {
                throw new IllegalStateException(node + " exited with " + process.exitValue() + ":\n" + output());
            }
            return output().contains(WorkerMain.READY);
        });
    }

    /** The worker's name, which is also the application name of its sessions. */
    public String node() {
        return node;
    }

    /** {@code kill -9}: the JVM dies at once, writing nothing more. Returns after it has exited. */
    public void kill() {
        process.destroyForcibly();
        waitFor(Duration.ofSeconds(30));
    }

    /** SIGTERM: the worker closes its node with its stop grace period and exits. */
    public void terminate() {
        process.destroy();
    }

    /** Waits until the process has exited; whether it did within {@code atMost}. */
    public boolean waitFor(Duration atMost) {
        try {
            return process.waitFor(atMost.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Whether the process still runs. */
    public boolean isAlive() {
        return process.isAlive();
    }

    /** What the worker printed so far. */
    public String output() {
        try {
            return Files.exists(log) ? Files.readString(log) : "";
        } catch (IOException e) {
            return "(cannot read " + log + ": " + e + ")";
        }
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            kill();
        }
    }
}
