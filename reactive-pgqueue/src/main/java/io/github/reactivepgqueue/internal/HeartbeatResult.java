package io.github.reactivepgqueue.internal;

/** What one heartbeat did: leases it refreshed and leases it found lost. */
record HeartbeatResult(int held, int lost) {
}
