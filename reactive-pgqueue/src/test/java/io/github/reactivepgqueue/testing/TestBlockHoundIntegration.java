package io.github.reactivepgqueue.testing;

import reactor.blockhound.BlockHound;
import reactor.blockhound.integration.BlockHoundIntegration;

/**
 * Known, harmless blocking calls of third-party code on reactive threads:
 * <ul>
 *   <li>the SCRAM login of r2dbc-postgresql seeds its nonce from SecureRandom, which reads a file
 *       once;</li>
 *   <li>cancelling a periodic task of a Reactor scheduler ({@code Flux.interval}) removes it from
 *       the executor's delay queue under that queue's lock, held only for the removal. Reactor's
 *       own BlockHound integration allows the same lock for one-shot tasks ({@code WorkerTask},
 *       {@code SchedulerTask}) but not yet for periodic ones; without this, stopping a loop from
 *       an event loop while the timer thread holds the lock fails a test at random;</li>
 *   <li>Netty 4.2's adaptive buffer allocator takes a short lock when it adds a magazine under
 *       contention (a known false positive of BlockHound with Netty 4.2).</li>
 * </ul>
 */
public final class TestBlockHoundIntegration implements BlockHoundIntegration {
    @Override
    public void applyTo(BlockHound.Builder builder) {
        builder.allowBlockingCallsInside("com.ongres.scram.common.ScramFunctions", "nonce");
        builder.allowBlockingCallsInside("reactor.core.scheduler.PeriodicWorkerTask", "dispose");
        builder.allowBlockingCallsInside("reactor.core.scheduler.PeriodicSchedulerTask", "dispose");
        builder.allowBlockingCallsInside("reactor.core.scheduler.InstantPeriodicWorkerTask", "dispose");
        builder.allowBlockingCallsInside("io.netty.buffer.AdaptivePoolingAllocator$MagazineGroup", "tryExpandMagazines");
    }
}
