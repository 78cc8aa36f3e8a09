package io.github.reactivepgqueue.examples.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.TestSchema;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The micro-batch pipeline example runs start to end against a real PostgreSQL. */
@ExtendWith(PostgresExtension.class)
class BatchPipelineIT {
    /** Finished jobs wherever they are: the live table or the archive. */
    private static final String FINISHED = "(SELECT status, attempt, payload, last_error FROM {schema}.jobs"
            + " UNION ALL SELECT status, attempt, payload, last_error FROM {schema}.jobs_archive)";

    private final TestSchema db;

    BatchPipelineIT(TestSchema db) {
        this.db = db;
    }

    @Test
    void everyJobIsWrittenInBoundedBatchesAndTheFailedBatchIsRetried() {
        WarehouseSink sink = BatchPipeline.runOn(db.connectionFactory(), db.name(),
                new WarehouseSink(BatchPipeline.FAILING_WRITE)).block(Duration.ofSeconds(90));

        // every job completed, none left pending or running, no lease held (with the janitor on, as
        // here, a job that succeeds moves to the archive in the statement that records its success)
        assertThat(db.count("SELECT count(*) FROM " + FINISHED + " f WHERE status = 'completed'"))
                .isEqualTo(BatchPipeline.JOBS);
        assertThat(db.count("SELECT count(*) FROM {schema}.jobs WHERE status <> 'completed' OR lease IS NOT NULL"))
                .isZero();

        // batches were bounded, and every job reached the sink in a successful write exactly once
        List<WarehouseSink.Write> writes = sink.writes();
        assertThat(writes).allSatisfy(w -> assertThat(w.readings()).hasSizeBetween(1, BatchPipeline.MAX_BATCH));
        List<Reading> written = writes.stream().filter(w -> !w.failed()).flatMap(w -> w.readings().stream()).toList();
        assertThat(written).hasSize(BatchPipeline.JOBS).doesNotHaveDuplicates();

        // the failing write failed, and its readings were written again by a later batch
        List<WarehouseSink.Write> failed = writes.stream().filter(WarehouseSink.Write::failed).toList();
        assertThat(failed).hasSize(1);
        assertThat(failed.get(0).number()).isEqualTo(BatchPipeline.FAILING_WRITE);
        List<Reading> retried = failed.get(0).readings();
        assertThat(retried).isNotEmpty();
        assertThat(new HashSet<>(written)).containsAll(retried);

        // in the database: exactly the jobs of the failed batch took a second attempt, with the error kept
        List<Map<String, Object>> second = db.query("SELECT payload->>'meterId' AS meter, (payload->>'seq')::int AS seq,"
                + " last_error FROM " + FINISHED + " f WHERE attempt = 2");
        assertThat(second.stream().map(row -> row.get("meter") + "/" + row.get("seq")).collect(Collectors.toSet()))
                .isEqualTo(retried.stream().map(r -> r.meterId() + "/" + r.seq()).collect(Collectors.toSet()));
        assertThat(second).allSatisfy(row -> assertThat((String) row.get("last_error"))
                .startsWith("batch write failed: warehouse unavailable"));
        assertThat(db.count("SELECT count(*) FROM " + FINISHED + " f WHERE attempt = 1 AND last_error IS NULL"))
                .isEqualTo(BatchPipeline.JOBS - retried.size());
    }
}
