package io.github.reactivepgqueue.internal.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.reactivepgqueue.DatabaseUnavailableException;
import io.r2dbc.spi.R2dbcBadGrammarException;
import io.r2dbc.spi.R2dbcDataIntegrityViolationException;
import io.r2dbc.spi.R2dbcNonTransientResourceException;
import io.r2dbc.spi.R2dbcPermissionDeniedException;
import io.r2dbc.spi.R2dbcRollbackException;
import io.r2dbc.spi.R2dbcTimeoutException;
import io.r2dbc.spi.R2dbcTransientResourceException;
import java.io.IOException;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/** Which write errors retrying cannot cure, by SQLSTATE, wherever they sit in the causes. */
class WriteErrorsTest {

    @Test
    void privilegeConstraintAndDataErrorsArePermanent() {
        assertThat(PgJobStore.isPermanent(new R2dbcPermissionDeniedException("permission denied", "42501"))).isTrue();
        assertThat(PgJobStore.isPermanent(new R2dbcBadGrammarException("no such table", "42P01"))).isTrue();
        assertThat(PgJobStore.isPermanent(new R2dbcDataIntegrityViolationException("check", "23514"))).isTrue();
        assertThat(PgJobStore.isPermanent(new R2dbcNonTransientResourceException("bad byte", "22021"))).isTrue();
        // wrapped, as a mapped error keeps the driver's as its cause
        assertThat(PgJobStore.isPermanent(new IllegalStateException("mapped",
                new R2dbcPermissionDeniedException("permission denied", "42501")))).isTrue();
    }

    @Test
    void everythingElseIsTransient() {
        assertThat(PgJobStore.isPermanent(new R2dbcRollbackException("serialization", "40001"))).isFalse();
        assertThat(PgJobStore.isPermanent(new R2dbcRollbackException("deadlock", "40P01"))).isFalse();
        assertThat(PgJobStore.isPermanent(new R2dbcTransientResourceException("lock timeout", "55P03"))).isFalse();
        assertThat(PgJobStore.isPermanent(new R2dbcTimeoutException("statement timeout", "57014"))).isFalse();
        assertThat(PgJobStore.isPermanent(new R2dbcNonTransientResourceException("connection lost", "08006")))
                .isFalse();
        assertThat(PgJobStore.isPermanent(new R2dbcNonTransientResourceException("no state"))).isFalse();
        assertThat(PgJobStore.isPermanent(new IOException("connection reset"))).isFalse();
        assertThat(PgJobStore.isPermanent(new TimeoutException())).isFalse();
        assertThat(PgJobStore.isPermanent(new DatabaseUnavailableException("no connection", new TimeoutException())))
                .isFalse();
    }
}
