package io.github.reactivepgqueue.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * CPU time used during a measurement: by this JVM (the client, with the library), and by the rest
 * of the machine (read from {@code /proc/stat}; absent where there is none), which is mostly the
 * PostgreSQL server when it runs on this host. On the two shared cores, every CPU second the
 * client spends is one the server cannot use, so the split says where a drain's time goes.
 */
final class CpuMeter {
    /** Clock ticks per second of {@code /proc/stat} ({@code getconf CLK_TCK}, 100 on Linux). */
    private static final double TICKS_PER_SECOND = 100.0;
    private static final Path STAT = Path.of("/proc/stat");

    private final long clientStart;
    private final long machineStart;

    private CpuMeter() {
        this.clientStart = ProcessProbe.processCpuNanos();
        this.machineStart = machineTicks();
    }

    /** Starts measuring now. */
    static CpuMeter start() {
        return new CpuMeter();
    }

    /** CPU milliseconds per 1,000 jobs since the start, this JVM and the rest; null where unreadable. */
    Map<String, Object> per1000Jobs(long jobs) {
        long client = ProcessProbe.processCpuNanos();
        long machine = machineTicks();
        if (clientStart < 0 || client < 0) {
            return Fields.of("client_cpu_ms_per_1000_jobs", null, "rest_cpu_ms_per_1000_jobs", null);
        }
        double clientMs = (client - clientStart) / 1e6;
        Double restMs = machineStart < 0 || machine < 0 ? null
                : Fields.round(((machine - machineStart) / TICKS_PER_SECOND * 1000 - clientMs) * 1000 / jobs, 1);
        return Fields.of("client_cpu_ms_per_1000_jobs", Fields.round(clientMs * 1000 / jobs, 1),
                "rest_cpu_ms_per_1000_jobs", restMs);
    }

    /** Busy ticks of all cores (user, nice, system, irq, softirq, steal), or -1. */
    private static long machineTicks() {
        try {
            String[] cpu = Files.readAllLines(STAT).get(0).trim().split("\\s+");
            if (!cpu[0].equals("cpu")) {
                return -1;
            }
            // cpu user nice system idle iowait irq softirq steal ...
            return Long.parseLong(cpu[1]) + Long.parseLong(cpu[2]) + Long.parseLong(cpu[3])
                    + Long.parseLong(cpu[6]) + Long.parseLong(cpu[7]) + Long.parseLong(cpu[8]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }
}
