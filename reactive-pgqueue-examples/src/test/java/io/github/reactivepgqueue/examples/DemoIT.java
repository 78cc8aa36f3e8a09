package io.github.reactivepgqueue.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.reactivepgqueue.testing.PostgresExtension;
import io.github.reactivepgqueue.testing.TestSchema;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The demo runs start to end against a real PostgreSQL, in this class's schema, so the README's
 * command cannot rot; then the tables are checked: every job ended as the demo designed it.
 * No timing is asserted.
 */
@ExtendWith(PostgresExtension.class)
class DemoIT {
    private final TestSchema db;

    DemoIT(TestSchema db) {
        this.db = db;
    }

    @Test
    @Timeout(120)
    void everyJobEndsAsDesigned() {
        DemoSummary summary = Demo.runOn(db.connectionFactory(), db.name()).block(Duration.ofSeconds(100));

        // every stored job finished and the janitor moved it: nothing pending or running is left
        assertThat(db.rows("jobs")).isZero();
        assertThat(summary.stored()).isGreaterThan(2500);
        assertThat(count("jobs_archive", "queue <> $1", ShopJobs.STOCK_SYNC)
                + count("jobs_dead", "queue <> $1", ShopJobs.STOCK_SYNC)).isEqualTo(summary.stored());
        for (Progress.QueueLine line : summary.last().queues()) {
            assertThat(count("jobs_archive", "queue = $1", line.queue())).as(line.queue()).isEqualTo(line.completed());
            assertThat(count("jobs_dead", "queue = $1", line.queue())).as(line.queue()).isEqualTo(line.dead());
        }

        // dead letters only where designed: unprocessable invoices and webhooks out of attempts
        List<Map<String, Object>> dead = db.query(
                "SELECT queue, status FROM {schema}.jobs_dead GROUP BY queue, status ORDER BY queue, status");
        assertThat(dead).extracting(row -> row.get("queue") + "/" + row.get("status"))
                .containsExactly("invoices/unprocessable", "webhooks/failed");
        assertThat(summary.deadLetters()).extracting(DemoSummary.DeadLetters::queue).containsExactly("invoices", "webhooks");

        // the invoices without a billing country, and only they, are unprocessable after one attempt
        assertThat(count("jobs_dead", "queue = 'invoices' AND payload->>'billingCountry' IS NULL"
                + " AND attempt = 1 AND last_error LIKE '%has no billing country%'"))
                .isEqualTo(count("jobs_dead", "queue = 'invoices'")).isPositive();
        assertThat(count("jobs_archive", "queue = 'invoices' AND payload->>'billingCountry' IS NULL")).isZero();

        // the defunct endpoint's deliveries used every attempt and are dead; so is any other dead delivery
        assertThat(count("jobs_dead", "payload->>'host' = $1 AND last_error LIKE '%connection refused%'",
                ShopJobs.DEFUNCT_HOST)).isPositive();
        assertThat(count("jobs_archive", "payload->>'host' = $1", ShopJobs.DEFUNCT_HOST)).isZero();
        assertThat(count("jobs_dead", "queue = 'webhooks' AND attempt <> max_attempts")).isZero();

        // the flaky deliveries were retried and then delivered; every failed attempt but the last was retried
        assertThat(count("jobs_archive", "queue = 'webhooks' AND attempt > 1")).isPositive();
        long failedBeforeLast = db.count("SELECT coalesce(sum(attempt - 1), 0) FROM (SELECT attempt FROM {schema}.jobs_archive"
                + " WHERE queue = 'webhooks' UNION ALL SELECT attempt FROM {schema}.jobs_dead WHERE queue = 'webhooks') a");
        assertThat(summary.last().queues()).filteredOn(line -> line.queue().equals(ShopJobs.WEBHOOKS))
                .extracting(Progress.QueueLine::retries).containsExactly(failedBeforeLast);

        // the scheduled reports ran, none before its run-at, which lay in the future when enqueued
        assertThat(count("jobs_archive", "queue = 'reports'")).isPositive();
        assertThat(count("jobs_archive", "queue = 'reports'"
                + " AND (run_at < created_at + make_interval(secs => $1) OR completed_at < run_at)",
                (double) ShopJobs.REPORTS_FROM.toSeconds())).isZero();

        // the schedule fired: one job per slot, run at its slot, the slots a whole number of intervals
        // apart; each ran once and completed; the schedule is paused, its last slot the latest job's
        long syncs = count("jobs_archive", "queue = $1", ShopJobs.STOCK_SYNC);
        assertThat(syncs).isPositive().isEqualTo(summary.last().stockSyncs());
        assertThat(count("jobs_dead", "queue = $1", ShopJobs.STOCK_SYNC)).isZero();
        assertThat(db.count("SELECT count(DISTINCT run_at) FROM {schema}.jobs_archive WHERE queue = $1",
                ShopJobs.STOCK_SYNC)).isEqualTo(syncs);
        String keyPrefix = "schedule:" + ShopJobs.STOCK_SYNC + ":";
        assertThat(count("jobs_archive", "queue = $1 AND (CASE WHEN left(unique_key, length($2)) = $2"
                + " THEN substr(unique_key, length($2) + 1)::timestamptz <> run_at ELSE true END"
                + " OR attempt <> 1 OR completed_at < run_at)", ShopJobs.STOCK_SYNC, keyPrefix)).isZero();
        assertThat(count("jobs_archive", "queue = $1 AND mod(((extract(epoch FROM run_at - (SELECT min(run_at)"
                + " FROM {schema}.jobs_archive WHERE queue = $1)) * 1000000)::bigint), $2) <> 0", ShopJobs.STOCK_SYNC,
                ShopJobs.STOCK_SYNC_EVERY.toNanos() / 1000)).isZero();
        assertThat(summary.stockSync().paused()).isTrue();
        assertThat(summary.stockSync().lastSlot()).isEqualTo(((java.time.OffsetDateTime) db.query(
                "SELECT max(run_at) AS last FROM {schema}.jobs_archive WHERE queue = $1", ShopJobs.STOCK_SYNC)
                .get(0).get("last")).toInstant());

        // the unique key stored one invoice; the rolled-back sign-up left nothing anywhere
        assertThat(count("jobs_archive", "unique_key = 'invoice-pdf:INV-2026-00042'")).isEqualTo(1);
        for (String table : List.of("jobs", "jobs_archive", "jobs_dead")) {
            assertThat(count(table, "unique_key = 'welcome:u-rolled-back'")).as(table).isZero();
        }
    }

    private long count(String table, String where, Object... params) {
        return db.count("SELECT count(*) FROM {schema}." + table + " WHERE " + where, params);
    }
}
