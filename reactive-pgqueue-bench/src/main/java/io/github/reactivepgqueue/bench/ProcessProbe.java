package io.github.reactivepgqueue.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.management.OperatingSystemMXBean;

/** Heap and CPU readings of this JVM, for the {@code inflight} workload. */
final class ProcessProbe {
    private static final MemoryMXBean MEMORY = ManagementFactory.getMemoryMXBean();
    private static final OperatingSystemMXBean OS = ManagementFactory.getOperatingSystemMXBean();

    private ProcessProbe() {
    }

    /** Heap in use after full collections (call on the main thread only: it blocks). */
    static long heapUsedAfterGc() {
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return MEMORY.getHeapMemoryUsage().getUsed();
    }

    /** CPU time this process has used, in nanoseconds, or -1 if the JVM cannot tell. */
    static long processCpuNanos() {
        return OS instanceof com.sun.management.OperatingSystemMXBean sun ? sun.getProcessCpuTime() : -1;
    }

    /** This process's share of the whole machine's CPU (0..1) since the last call, or -1. */
    static double processCpuLoad() {
        return OS instanceof com.sun.management.OperatingSystemMXBean sun ? sun.getProcessCpuLoad() : -1;
    }

    /** The whole machine's CPU load (0..1) since the last call, or -1. */
    static double machineCpuLoad() {
        return OS instanceof com.sun.management.OperatingSystemMXBean sun ? sun.getCpuLoad() : -1;
    }
}
