package io.github.reactivepgqueue.testing;

import reactor.blockhound.BlockHound;
import reactor.blockhound.integration.BlockHoundIntegration;

/**
 * Known, harmless blocking calls of third-party code on reactive threads: the SCRAM login of
 * r2dbc-postgresql seeds its nonce from SecureRandom, which reads a file once.
 */
public final class TestBlockHoundIntegration implements BlockHoundIntegration {
    @Override
    public void applyTo(BlockHound.Builder builder) {
        builder.allowBlockingCallsInside("com.ongres.scram.common.ScramFunctions", "nonce");
    }
}
